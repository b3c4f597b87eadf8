/**
 * Issue 5 acceptance: with a guest attached, every plug and unplug path of spec §14.6 reaches its
 * APCB at once. Each step is a real shell write into the mount (or a `ctl host` change) and is
 * followed by reading the guest's APCB (`ctl guest show --json`), `guest_matrix` and queue status.
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import { mountTree, repoRoot, type MountedTree } from '../helpers/mount.js';
import { run, sh } from '../helpers/shell.js';

const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');
const U1 = 'a297db4a-f4c2-11e6-90f6-d3b88d6c9525';

interface Apcb {
  adapters: number[];
  domains: number[];
  controlDomains: number[];
}

t.test('every §14.6 path reaches a running guest', async (t) => {
  const m = await mountTree(t, { topology: 'test/fixtures/topologies/mdevs.json' });
  const mdev = `${m.root}/devices/vfio_ap/matrix/${U1}`;
  const ctl = async (...args: string[]): Promise<string> => {
    const r = await run(process.execPath, [CLI, 'ctl', '--mount', m.root, ...args]);
    t.equal(r.code, 0, `ctl ${args.join(' ')} ${r.stderr}`);
    return r.stdout;
  };
  const write = async (file: string, value: string): Promise<void> => {
    const r = await sh(`echo ${value} > ${file}`, { shell: 'bash' });
    t.equal(r.code, 0, `echo ${value} > ${path.relative(m.root, file)} ${r.stderr}`);
  };
  const apcb = async (): Promise<Apcb> => (JSON.parse(await ctl('--json', 'guest', 'show', U1)) as { apcb: Apcb }).apcb;
  const cat = async (file: string): Promise<string> => (await sh(`cat ${file}`)).stdout;
  const step = async (t: Test, what: string, act: () => Promise<unknown>, want: Apcb, guestMatrix?: string): Promise<void> => {
    await act();
    t.same(await apcb(), want, `${what}: the guest's APCB`);
    if (guestMatrix !== undefined) t.equal(await cat(`${mdev}/guest_matrix`), guestMatrix, `${what}: guest_matrix`);
  };

  await ctl('guest', 'attach', U1, '--guest', 'vm1');
  t.same(await apcb(), { adapters: [5], domains: [4, 0x47], controlDomains: [4] }, 'attach installs the shadow');
  t.equal(await cat(`${m.root}/devices/ap/card05/05.0004/status`), 'in use\n');

  await step(t, 'assign_domain (plug)', () => write(`${mdev}/assign_domain`, '6'), { adapters: [5], domains: [4, 6, 0x47], controlDomains: [4] }, '05.0004\n05.0006\n05.0047\n');
  t.equal(await cat(`${m.root}/devices/ap/card05/05.0006/status`), 'in use\n');
  await step(t, 'unassign_domain (unplug)', () => write(`${mdev}/unassign_domain`, '6'), { adapters: [5], domains: [4, 0x47], controlDomains: [4] }, '05.0004\n05.0047\n');
  t.equal(await cat(`${m.root}/devices/ap/card05/05.0006/status`), 'unassigned\n');
  await step(t, 'assign_control_domain', () => write(`${mdev}/assign_control_domain`, '0x54'), { adapters: [5], domains: [4, 0x47], controlDomains: [4, 0x54] });
  await step(t, 'unassign_control_domain', () => write(`${mdev}/unassign_control_domain`, '0x54'), { adapters: [5], domains: [4, 0x47], controlDomains: [4] });

  // Adapter 0x0b is the host's until apmask lets it go; then it can be plugged.
  await write(`${m.root}/bus/ap/apmask`, '-0xb');
  await step(t, 'assign_adapter (plug)', () => write(`${mdev}/assign_adapter`, '0xb'), { adapters: [5, 0xb], domains: [4, 0x47], controlDomains: [4] }, '05.0004\n05.0047\n0b.0004\n0b.0047\n');

  // Unbinding one queue hides its whole adapter (§12: the architecture cannot leave out one APQN).
  await step(t, 'unbind a queue from vfio_ap (adapter unplug)', () => write(`${m.root}/bus/ap/drivers/vfio_ap/unbind`, '0b.0047'), { adapters: [5], domains: [4, 0x47], controlDomains: [4] }, '05.0004\n05.0047\n');
  t.equal(await cat(`${mdev}/matrix`), '05.0004\n05.0047\n0b.0004\n0b.0047\n', 'the assigned matrix is untouched');
  await step(t, 'bind it back (the last missing queue plugs the adapter)', () => write(`${m.root}/bus/ap/drivers/vfio_ap/bind`, '0b.0047'), { adapters: [5, 0xb], domains: [4, 0x47], controlDomains: [4] }, '05.0004\n05.0047\n0b.0004\n0b.0047\n');

  await step(t, 'unassign_adapter (unplug)', () => write(`${mdev}/unassign_adapter`, '0xb'), { adapters: [5], domains: [4, 0x47], controlDomains: [4] }, '05.0004\n05.0047\n');

  // ap_config replaces all three masks at once: 05.0006 in, 05.0047 out, control domain 6 added.
  const mask = (ids: number[]): string => `0x${ids.reduce((b, i) => b | (1n << BigInt(255 - i)), 0n).toString(16).padStart(64, '0')}`;
  await step(t, 'ap_config', () => write(`${mdev}/ap_config`, `${mask([5])},${mask([4, 6])},${mask([4, 6])}`), { adapters: [5], domains: [4, 6], controlDomains: [4, 6] }, '05.0004\n05.0006\n');

  // The host's configuration changes under the guest (§14.4, §14.5).
  await step(t, 'host domain remove', () => ctl('host', 'domain', 'remove', '6'), { adapters: [5], domains: [4], controlDomains: [4, 6] }, '05.0004\n');
  t.equal((await sh(`test -e ${m.root}/devices/ap/card05/05.0006`)).code, 1, 'its queue devices are gone');
  t.equal(await cat(`${mdev}/matrix`), '05.0004\n05.0006\n', 'over-provisioning: the matrix keeps the domain');
  await step(t, 'host domain add', () => ctl('host', 'domain', 'add', '6'), { adapters: [5], domains: [4, 6], controlDomains: [4, 6] }, '05.0004\n05.0006\n');
  t.equal(await cat(`${m.root}/devices/ap/card05/05.0006/status`), 'in use\n');
  await step(t, 'host adapter remove', () => ctl('host', 'adapter', 'remove', '5'), { adapters: [], domains: [4, 6], controlDomains: [4, 6] }, '.0004\n.0006\n');
  await step(t, 'host adapter add', () => ctl('host', 'adapter', 'add', '5'), { adapters: [5], domains: [4, 6], controlDomains: [4, 6] }, '05.0004\n05.0006\n');

  await ctl('guest', 'detach', U1);
  const shown = JSON.parse(await ctl('--json', 'guest', 'show', U1)) as { apcb: Apcb | null; guestMatrix: Apcb };
  t.equal(shown.apcb, null, 'detached: no guest APCB');
  t.same(shown.guestMatrix, { adapters: [5], domains: [4, 6], controlDomains: [4, 6] }, 'detached: the shadow an attach would install is kept');
  t.equal(await cat(`${m.root}/devices/ap/card05/05.0004/status`), 'assigned\n');
  t.match(await ctl('locks', '--check'), /^lock classes/, 'no lock-order inversion on the way');
});
