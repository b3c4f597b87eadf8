/**
 * `apsysfs ctl` against a real mount: the daemon in a child process, the CLI in others, the tree
 * read with the shell. Guests, blocking remove, host configuration changes, the event log.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { mountTree, repoRoot, type MountedTree } from '../helpers/mount.js';
import { run, sh, type ShellResult } from '../helpers/shell.js';

const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');
const MDEVS = 'test/fixtures/topologies/mdevs.json';
const U1 = 'a297db4a-f4c2-11e6-90f6-d3b88d6c9525';
const U2 = '62177883-f1bb-47f0-914d-32a22e3a8804';

const ctl = (m: MountedTree, ...args: string[]): Promise<ShellResult> => run(process.execPath, [CLI, 'ctl', '--mount', m.root, ...args]);

/** Run `ctl`, fail the test with its stderr unless it exits 0; its stdout. */
async function ok(t: Test, m: MountedTree, ...args: string[]): Promise<string> {
  const r = await ctl(m, ...args);
  t.equal(r.code, 0, `ctl ${args.join(' ')}${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
  return r.stdout;
}

const cat = async (file: string): Promise<string> => (await sh(`cat ${file}`)).stdout;

t.test('guest attach: queue status reads "in use"; detach: "assigned" again', async (t) => {
  const m = await mountTree(t, { topology: MDEVS });
  const status = `${m.root}/devices/ap/card05/05.0004/status`;
  t.equal(await cat(status), 'assigned\n');
  const out = await ok(t, m, 'guest', 'attach', U1, '--guest', 'vm1');
  t.match(out, new RegExp(`^mdev ${U1}: guest vm1 `));
  t.equal(await cat(status), 'in use\n');
  t.equal(await cat(`${m.root}/devices/ap/card05/05.0006/status`), 'unassigned\n');
  const shown = JSON.parse(await ok(t, m, '--json', 'guest', 'show', U1)) as { apcb: unknown };
  t.same(shown.apcb, { adapters: [5], domains: [4, 0x47], controlDomains: [4] });
  const refused = await ctl(m, 'guest', 'attach', U2, '--guest', 'vm1');
  t.equal(refused.code, 1);
  t.equal(refused.stderr, `apsysfs: ctl guest attach ${U2}: EPERM: open: guest vm1 already uses mdev ${U1}\nsee 'apsysfs --help'\n`);
  await ok(t, m, 'guest', 'detach', U1);
  t.equal(await cat(status), 'assigned\n');
});

t.test('remove blocks while the guest runs; ctl guest detach lets it finish', async (t) => {
  const m = await mountTree(t, { topology: MDEVS });
  await ok(t, m, 'guest', 'attach', U1, '--guest', 'vm1');
  let done = false;
  const removing = sh(`echo 1 > ${m.root}/devices/vfio_ap/matrix/${U1}/remove`).then((r) => ((done = true), r));
  // The request callback's line says the removal is waiting for the guest.
  let log = '';
  for (let i = 0; i < 200 && !log.includes('Relaying device request to user (#0)'); i++) {
    log = await ok(t, m, 'log', '--kind', 'kernel');
    if (!log.includes('Relaying')) await new Promise((r) => setTimeout(r, 25));
  }
  t.match(log, `vfio_ap_mdev ${U1}: Relaying device request to user (#0)`);
  t.equal(done, false, 'the remove is still blocked');
  t.same(JSON.parse(await ok(t, m, '--json', 'guest', 'show', U1)).apcb, { adapters: [], domains: [], controlDomains: [] }, 'the request cleared the APCB');
  await ok(t, m, 'guest', 'detach', U1);
  const r = await removing;
  t.equal(r.code, 0, r.stderr);
  t.notOk((await sh(`ls ${m.root}/devices/vfio_ap/matrix`)).stdout.includes(U1), 'the mdev is gone');
});

t.test('host adapter remove and add under a running guest', async (t) => {
  const m = await mountTree(t, { topology: MDEVS });
  const dir = `${m.root}/devices/vfio_ap/matrix/${U1}`;
  await ok(t, m, 'guest', 'attach', U1, '--guest', 'vm1');
  const removed = await ok(t, m, 'host', 'adapter', 'remove', '5');
  t.match(removed, /^SE\/HMC: adapter 0x05 \(CEX7C\) removed from the configuration\n/);
  t.match(removed, /guest vm1 \(mdev .*\) APCB now: adapters none; domains 0004,0047; control domains 0004/);
  t.equal((await sh(`ls ${m.root}/devices/ap | grep card`)).stdout, 'card04\ncard06\ncard0b\n');
  t.equal(await cat(`${dir}/guest_matrix`), '.0004\n.0047\n', 'no adapter left: domains only (spec §12 item 3)');
  t.equal(await cat(`${dir}/matrix`), '05.0004\n05.0047\n', 'the assignment stays');
  await ok(t, m, 'host', 'adapter', 'add', '0x05');
  t.equal((await sh(`ls ${m.root}/devices/ap | grep card`)).stdout, 'card04\ncard05\ncard06\ncard0b\n');
  t.equal(await cat(`${dir}/guest_matrix`), '05.0004\n05.0047\n');
  t.equal(await cat(`${m.root}/devices/ap/card05/05.0047/status`), 'in use\n');
  await ok(t, m, 'host', 'domain', 'remove', '0x47');
  t.equal(await cat(`${dir}/guest_matrix`), '05.0004\n');
  t.equal((await sh(`ls ${m.root}/devices/ap/card05`)).stdout.includes('05.0047'), false);
  const exists = await ctl(m, 'host', 'control-domain', 'add', '4');
  t.equal(exists.code, 1);
  t.match(exists.stderr, /^apsysfs: ctl host control-domain add 4: EEXIST: control domain 0x0004 is already in the configuration\n/);
});

t.test('show, status, locks, log --follow', async (t) => {
  const m = await mountTree(t, { topology: MDEVS });
  await ok(t, m, 'guest', 'attach', U1, '--guest', 'vm1');
  const show = await ok(t, m, 'show');
  t.match(show, /\n05 CEX7C  1\* \.  1\* \.\n/);
  t.match(show, /\n06 CEX7A  2  2  \.  \.\n/);
  const picture = JSON.parse(await ok(t, m, 'show', '--json')) as { counts: Record<string, number> };
  t.same(picture.counts, { absent: 0, host: 8, free: 4, assigned: 2, 'in-use': 2 });
  t.match(await ok(t, m, 'status'), new RegExp(`\\nguests     vm1 \\(mdev ${U1}\\)\\n`));
  t.match(await ok(t, m, 'locks', '--check'), /^lock classes/);

  const follower = spawn(process.execPath, [CLI, 'ctl', '--mount', m.root, 'log', '--follow', '--kind', 'uevent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void follower.kill());
  let streamed = '';
  follower.stdout.setEncoding('utf8').on('data', (d: string) => (streamed += d));
  // The backlog comes first: once it is out, the follower is registered.
  for (let i = 0; i < 200 && !streamed.includes('add /devices/ap/card0b'); i++) await new Promise((r) => setTimeout(r, 25));
  await ok(t, m, 'host', 'adapter', 'add', '0x07', '--type', 'CEX8P');
  for (let i = 0; i < 200 && !streamed.includes('add /devices/ap/card07/07.0054'); i++) await new Promise((r) => setTimeout(r, 25));
  t.match(streamed, /\d+  uevent\s+add \/devices\/ap\/card07 DEV_TYPE=000E /);
  t.match(streamed, /\d+  uevent\s+add \/devices\/ap\/card07\/07\.0054 MODE=ep11\n/);
  const exit = new Promise((r) => follower.once('exit', r));
  await m.stop();
  t.equal(await exit, 0, 'the follower ends with the daemon');
});

t.test('no daemon serves the directory', async (t) => {
  const r = await run(process.execPath, [CLI, 'ctl', '--mount', t.testdir(), 'status']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^apsysfs: ctl: no apsysfs daemon serves .* \(no control socket .*\.sock\)\n/);
});
