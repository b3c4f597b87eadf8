/**
 * Nothing lost: a Host's whole state saved as a topology (model/state.ts) and booted again
 * (Host.fromTopology + model/state-restore.ts) shows the same tree, file for file and byte for
 * byte, and the same hidden state that decides later answers (queue links, reset codes, APCBs).
 */
import t, { type Test } from 'tap';
import { Host } from '../../src/model/host.js';
import { captureFile, captureTopology } from '../../src/model/state.js';
import { parseTopology, serializeTopology } from '../../src/model/topology.js';
import { adapterAdd, adapterRemove, controlDomainRemove, domainRemove } from '../../src/model/host-config.js';
import { ModelTarget } from '../../src/stress/model-target.js';
import { generateOps } from '../../src/stress/ops.js';
import { dumpSysfs } from '../helpers/state-dump.js';
import { OK, U1, U2, U3, hostWith, noLockdepReports, sysfs, type Sys } from '../helpers/model.js';

const TYPE = 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough';

/** What a boot from the saved state shows, and the hidden state that decides later answers. */
async function view(host: Host): Promise<string> {
  const hidden: string[] = [];
  for (const q of host.bus.queues()) hidden.push(`${q.name} link=${q.vfio?.matrixMdev?.uuid ?? '-'} reset=${q.vfio?.resetStatus ?? '-'}`);
  for (const m of host.matrixDev.mdevList) hidden.push(`${m.uuid} qtable=${[...m.qtable.keys()].sort((a, b) => a - b).join(',')} kvm=${m.kvm?.name ?? '-'}`);
  for (const [name, kvm] of host.kvms) hidden.push(`kvm ${name} apcb=${kvm.apcb.apm.toString()} ${kvm.apcb.aqm.toString()} ${kvm.apcb.adm.toString()}`);
  hidden.push(`autoprobe=${host.bus.drivers_autoprobe} ap_domain=${host.bus.apDomainIndex}`);
  return `${await dumpSysfs(sysfs(host).fs)}\n${hidden.join('\n')}`;
}

/** Save, write the file as JSON text, boot it; the two views must be equal. */
async function roundTrip(t: Test, host: Host, what: string): Promise<Host> {
  const text = JSON.stringify(serializeTopology(captureTopology(host)));
  const again = await Host.fromTopology(parseTopology(JSON.parse(text)));
  const [a, b] = [await view(host), await view(again)];
  if (a !== b) {
    const al = a.split('\n');
    const bl = b.split('\n');
    const diff = al.map((l, i) => (l === bl[i] ? undefined : `- ${l}\n+ ${bl[i]}`)).filter(Boolean).slice(0, 8);
    t.fail(`${what}: the restored tree differs\n${diff.join('\n')}`);
  } else t.pass(`${what}: same tree (${a.split('\n').length} lines)`);
  t.equal(again.lockdep.reports.length, 0, `${what}: the restore took locks in order`);
  return again;
}

async function writeAll(sys: Sys, writes: readonly (readonly [string, string])[]): Promise<void> {
  for (const [path, text] of writes) {
    const errno = await sys.write(path, text);
    if (errno !== OK) throw new Error(`${path} <- ${JSON.stringify(text)}: errno ${errno}`);
  }
}

t.test('the default machine saves to itself', async (t) => {
  const host = await hostWith();
  await roundTrip(t, host, 'default');
  const file = serializeTopology(captureTopology(host)) as Record<string, unknown>;
  t.notOk('queues' in file || 'guests' in file || 'zcryptNodes' in file || 'scans' in file, 'no saved-state field without state');
});

t.test('a busy machine: masks, mdevs, unbinds, guests, host changes, zcrypt nodes, counters', async (t) => {
  const host = await hostWith({ apmask: '+0-4,+7-255' });
  const sys = sysfs(host);
  const d = (u: string) => `devices/vfio_ap/matrix/${u}`;
  await writeAll(sys, [
    ['bus/ap/aqmask', '-0x47'],
    [`${TYPE}/create`, `${U1}\n`],
    [`${TYPE}/create`, `${U2}\n`],
    [`${TYPE}/create`, `${U3}\n`],
    [`${d(U1)}/assign_adapter`, '5'],
    [`${d(U1)}/assign_adapter`, '6'],
    [`${d(U1)}/assign_domain`, '4'],
    [`${d(U1)}/assign_domain`, '6'],
    [`${d(U1)}/assign_control_domain`, '4'],
    [`${d(U2)}/ap_config`, '0x0000000000000000000000000000000000000000000000000000000000000001,0x0000000000000000010000000000000000000000000000000000000000000000,0x0\n'],
    [`${d(U3)}/assign_adapter`, '0x20'],
    ['bus/ap/drivers/vfio_ap/unbind', '06.0004'],
    ['bus/ap/drivers/cex4queue/unbind', '04.0054'],
    ['bus/ap/drivers/cex4card/unbind', 'card0b'],
    ['devices/ap/card04/online', '0'],
    ['devices/ap/card0b/config', '0'],
    ['class/zcrypt/create', 'tenant1'],
    ['class/zcrypt/create', '\n'],
    ['class/zcrypt/tenant1/apmask', '+4-6'],
    ['class/zcrypt/destroy', 'tenant1'],
    ['class/zcrypt/create', 'tenant2'],
    ['class/zcrypt/tenant2/ioctlmask', '0xff'],
    ['bus/ap/ap_domain', '6'],
    ['bus/ap/scans', '1'],
    ['devices/ap/card05/05.0006/reset', '1'],
  ]);
  await host.attachGuest(U1, 'vm1');
  await host.attachGuest(U2, 'vm2');
  await host.detachGuest(U2);
  await adapterRemove(host, 0x0b);
  await domainRemove(host, 0x54);
  await controlDomainRemove(host, 4); // the andnot bug: U1's guest keeps control domain 4
  await adapterAdd(host, 0x20, { type: 'CEX8A' });
  // Unassign the only domain of the adapter that lost a queue: a view no filter would compute.
  await writeAll(sys, [[`${d(U1)}/unassign_domain`, '4'], ['bus/ap/drivers_autoprobe', '0']]);
  t.equal(await sys.read(`${d(U1)}/guest_matrix`), '05.0006\n', 'adapter 6 stays out without a witness');
  const file = serializeTopology(captureTopology(host)) as Record<string, unknown>;
  t.match(file, { scans: 6, driversAutoprobe: false, guests: [{ name: 'vm1', mdev: U1 }, { name: 'vm2' }] });
  t.match(file.zcryptNodes, [{ name: 'zcrypt_1', minor: 1 }, { name: 'tenant2', minor: 0, ioctlmask: '+0-7' }]);
  const again = await roundTrip(t, host, 'busy');
  // The restored machine goes on the same way: detaching resets the same queues, hot plug works.
  await host.detachGuest(U1);
  await again.detachGuest(U1);
  await writeAll(sysfs(host), [['bus/ap/drivers/vfio_ap/bind', '06.0004'], [`${d(U1)}/assign_domain`, '4']]);
  await writeAll(sysfs(again), [['bus/ap/drivers/vfio_ap/bind', '06.0004'], [`${d(U1)}/assign_domain`, '4']]);
  t.equal(await view(again), await view(host), 'the same after more operations on both');
});

t.test('an mdev whose removal waits for its guest is saved with its guest', async (t) => {
  const host = await hostWith({ apmask: '+0-4,+7-255' });
  const sys = sysfs(host);
  await writeAll(sys, [[`${TYPE}/create`, `${U1}\n`], [`devices/vfio_ap/matrix/${U1}/assign_adapter`, '5'], [`devices/vfio_ap/matrix/${U1}/assign_domain`, '4']]);
  await host.attachGuest(U1, 'vm1');
  const removing = sys.write(`devices/vfio_ap/matrix/${U1}/remove`, '1');
  await new Promise((r) => setImmediate(r));
  const top = captureTopology(host);
  t.same(top.guests, [{ name: 'vm1', mdev: U1 }]);
  t.same(top.mdevs.map((m) => m.uuid), [U1]);
  await host.detachGuest(U1);
  t.equal(await removing, OK);
});

t.test('random operation mixes save and restore to the same tree', async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const target = await ModelTarget.create({});
    for (const op of generateOps({ seed, client: 0, count: 300 })) await target.run(op);
    await roundTrip(t, target.host, `seed ${seed}`);
    // The file is what `ctl save` writes: it validates as it is.
    t.doesNotThrow(() => parseTopology(captureFile(target.host)), `seed ${seed}: captureFile validates`);
  }
});

noLockdepReports(t);
