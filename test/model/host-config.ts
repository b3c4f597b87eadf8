/**
 * Host configuration changes as the SE/HMC makes them (spec §14.4 config changed, §14.5 scan
 * complete, §14.6 hot plug/unplug, §19 items 10 and 17): devices appear and vanish, guests lose
 * and regain resources, assigned matrices keep what left (over-provisioning).
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import type { Kvm } from '../../src/model/kvm/guest.js';
import type { MatrixMdev } from '../../src/model/vfio_ap/matrix-mdev.js';
import { adapterAdd, adapterRemove, controlDomainAdd, controlDomainRemove, domainAdd, domainRemove, DEFAULT_ADAPTER_TYPE } from '../../src/model/host-config.js';
import { formatMatrix } from '../../src/sysfs/emit.js';
import { OK, U1, errnoOf, hostWith, maskOf, matrixText, sysfs, type Sys } from '../helpers/model.js';

const TYPE = 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough';

/**
 * Adapters 5 and 6 are left to vfio_ap; U1 holds 05/06 x 0004/0047, control domains 4 and 0x10
 * (0x10 is not in the host configuration), and guest vm1 runs on it.
 */
async function setup(opts: { attach?: boolean } = {}): Promise<{ host: Host; sys: Sys; m: MatrixMdev; kvm: Kvm; dir: string }> {
  const host = await hostWith({ apmask: '+0-4,+7-255' });
  const sys = sysfs(host);
  const dir = `devices/vfio_ap/matrix/${U1}`;
  const writes = [
    [`${TYPE}/create`, `${U1}\n`],
    [`${dir}/assign_adapter`, '5'],
    [`${dir}/assign_adapter`, '6'],
    [`${dir}/assign_domain`, '4'],
    [`${dir}/assign_domain`, '0x47'],
    [`${dir}/assign_control_domain`, '4'],
    [`${dir}/assign_control_domain`, '0x10'],
  ] as const;
  for (const [path, text] of writes) {
    const errno = await sys.write(path, text);
    if (errno !== OK) throw new Error(`setup: ${path} <- ${text}: errno ${errno}`);
  }
  if (opts.attach ?? true) await host.attachGuest(U1, 'vm1');
  return { host, sys, m: host.mdev(U1)!, kvm: host.guest('vm1'), dir };
}

const apcb = (kvm: Kvm): string => formatMatrix(kvm.apcb.apm, kvm.apcb.aqm, 255, 84) + `adm ${kvm.apcb.adm.ids().join(',')}`;
const shadow = (m: MatrixMdev): string => matrixText(m, 'shadowApcb') + `adm ${m.shadowApcb.adm.ids().join(',')}`;
const cards = (host: Host): string[] => [...host.bus.cards.values()].map((c) => c.name).sort();

t.test('adapter removed under a running guest: APCB and guest_matrix lose it, its devices vanish, the matrix keeps it', async (t) => {
  const { host, sys, m, kvm, dir } = await setup();
  t.equal(apcb(kvm), '05.0004\n05.0047\n06.0004\n06.0047\nadm 4');
  const updates = kvm.apcbUpdates;
  const resets = m.qtable.size;
  const change = await adapterRemove(host, 5);
  t.equal(apcb(kvm), '06.0004\n06.0047\nadm 4', 'hot unplug of the whole adapter');
  t.equal(kvm.apcbUpdates, updates + 1, 'one APCB write, at config changed');
  t.equal(await sys.read(`${dir}/guest_matrix`), '06.0004\n06.0047\n');
  t.equal(await sys.read(`${dir}/matrix`), '05.0004\n05.0047\n06.0004\n06.0047\n', 'over-provisioning: the assignment stays');
  t.equal(sys.ls('devices/ap/card05'), undefined, 'card05 is gone');
  t.equal(host.bus.queue(5, 4), undefined);
  t.equal(await sys.read('devices/ap/card06/06.0004/status'), 'in use\n');
  t.equal(m.qtable.size, resets - 2, 'the vanished queues are unlinked');
  t.same(change.devicesRemoved, ['card05', '05.0004', '05.0006', '05.0047', '05.0054']);
  t.same(change.devicesAdded, []);
  t.same(change.guestMatrixChanged, [U1]);
  t.same(change.guestsUpdated.map((g) => [g.guest, g.mdev, g.apm.ids()]), [['vm1', U1, [6]]]);
  t.match(change.what, /^SE\/HMC: adapter 0x05 \(CEX7C\) removed from the configuration$/);
  t.ok(host.events.entries().some((e) => e.kind === 'op' && e.text === change.what), 'the change is in the event log');
  t.ok(host.events.entries().some((e) => e.kind === 'uevent' && e.text === 'remove /devices/ap/card05'), 'uevent remove for the card');
  t.same(host.lockdep.reports, []);
});

t.test('adapter added back: the same card returns and the guest regains it at scan complete', async (t) => {
  const { host, sys, m, kvm } = await setup();
  await adapterRemove(host, 5);
  const updates = kvm.apcbUpdates;
  // The probe of each new queue must not plug (apm_add is pending); scan complete plugs once.
  const writesDuringScan: number[] = [];
  const off = host.events.subscribe((e) => {
    if (e.kind === 'uevent' && e.text.startsWith('bind /devices/ap/card05/')) writesDuringScan.push(kvm.apcbUpdates);
  });
  const change = await adapterAdd(host, 5);
  off();
  t.same(writesDuringScan, [updates, updates, updates, updates], 'no APCB write while the queues were probed');
  t.equal(kvm.apcbUpdates, updates + 1, 'one APCB write, at scan complete');
  t.equal(apcb(kvm), '05.0004\n05.0047\n06.0004\n06.0047\nadm 4');
  t.equal(shadow(m), '05.0004\n05.0047\n06.0004\n06.0047\nadm 4');
  t.equal(host.bus.cards.get(5)?.typeName, 'CEX7C', 'the card that was there, not the default type');
  t.equal(await sys.read('devices/ap/card05/serialnr'), '93AAC005\n');
  t.equal(await sys.read('devices/ap/card05/05.0047/status'), 'in use\n');
  t.equal(host.bus.queue(5, 4)?.driver?.name, 'vfio_ap');
  t.equal(host.bus.queue(5, 6)?.driver?.name, 'vfio_ap');
  t.same(change.devicesAdded, ['card05', '05.0004', '05.0006', '05.0047', '05.0054']);
  t.same(change.guestsUpdated.map((g) => [g.guest, g.apm.ids(), g.aqm.ids()]), [['vm1', [5, 6], [4, 0x47]]]);
  t.same(host.lockdep.reports, []);
});

t.test('usage domain removed and added back', async (t) => {
  const { host, sys, m, kvm, dir } = await setup();
  const change = await domainRemove(host, 0x47);
  t.equal(apcb(kvm), '05.0004\n06.0004\nadm 4');
  t.equal(await sys.read(`${dir}/matrix`), '05.0004\n05.0047\n06.0004\n06.0047\n');
  t.equal(await sys.read(`${dir}/guest_matrix`), '05.0004\n06.0004\n');
  t.same(change.devicesRemoved, ['04.0047', '05.0047', '06.0047', '0b.0047']);
  t.equal(sys.ls('devices/ap/card05')?.includes('05.0047'), false);
  t.equal(shadow(m), '05.0004\n06.0004\nadm 4');

  const back = await domainAdd(host, 0x47);
  t.equal(apcb(kvm), '05.0004\n05.0047\n06.0004\n06.0047\nadm 4');
  t.same(back.devicesAdded, ['04.0047', '05.0047', '06.0047', '0b.0047']);
  t.equal(host.bus.queue(4, 0x47)?.driver?.name, 'cex4queue', 'reserved for the host by apmask');
  t.equal(host.bus.queue(5, 0x47)?.driver?.name, 'vfio_ap');
  t.equal(await sys.read('devices/ap/card06/06.0047/status'), 'in use\n');
  t.same(host.lockdep.reports, []);
});

t.test('a new usage domain appears on every adapter; one the mdev names is plugged', async (t) => {
  const { host, sys, kvm, dir } = await setup();
  t.equal(await sys.write(`${dir}/assign_domain`, '0x30'), OK, 'assign a domain the host has not got');
  t.equal(apcb(kvm), '05.0004\n05.0047\n06.0004\n06.0047\nadm 4', 'not in the host configuration: kept out');
  const change = await domainAdd(host, 0x30);
  t.same(change.devicesAdded, ['04.0030', '05.0030', '06.0030', '0b.0030']);
  t.equal(apcb(kvm), '05.0004\n05.0030\n05.0047\n06.0004\n06.0030\n06.0047\nadm 4');
  t.same(host.lockdep.reports, []);
});

t.test('control domain added: a guest whose mdev names it gets it at scan complete', async (t) => {
  const { host, m, kvm } = await setup();
  t.same(m.matrix.adm.ids(), [4, 0x10]);
  t.same(kvm.apcb.adm.ids(), [4], '0x10 is not in the host configuration');
  const updates = kvm.apcbUpdates;
  const change = await controlDomainAdd(host, 0x10);
  t.same(kvm.apcb.adm.ids(), [4, 0x10]);
  t.equal(kvm.apcbUpdates, updates + 1);
  t.same(change.devicesAdded, [], 'control domains have no devices');
  t.same(host.bus.qci.adm.ids(), [1, 4, 6, 0x10, 0x47, 0x54]);
  t.same(host.lockdep.reports, []);
});

t.test('control domain removed: an assigned one stays in the APCB (the kernel\'s andnot bug, §19 item 10)', async (t) => {
  const { host, sys, m, kvm } = await setup();
  const updates = kvm.apcbUpdates;
  const change = await controlDomainRemove(host, 4);
  t.same(kvm.apcb.adm.ids(), [4], 'not unplugged');
  t.same(m.shadowApcb.adm.ids(), [4]);
  t.equal(kvm.apcbUpdates, updates);
  t.same(change.guestsUpdated, []);
  t.equal(await sys.read('bus/ap/ap_control_domain_mask'), maskOf([1, 6, 0x47, 0x54]), 'the bus sees it gone');
  t.same(host.lockdep.reports, []);
});

t.test('without a guest the shadow still follows; nobody is pushed', async (t) => {
  const { host, m } = await setup({ attach: false });
  const change = await adapterRemove(host, 6);
  t.same(m.shadowApcb.apm.ids(), [5]);
  t.same(change.guestsUpdated, []);
  t.same(change.guestMatrixChanged, [U1]);
  await adapterAdd(host, 6);
  t.same(m.shadowApcb.apm.ids(), [5, 6]);
  t.same(host.lockdep.reports, []);
});

t.test('a new adapter: default type, or the type asked for; reserved ones go to the host drivers', async (t) => {
  const host = await hostWith();
  const change = await adapterAdd(host, 7);
  t.equal(host.bus.cards.get(7)?.typeName, DEFAULT_ADAPTER_TYPE);
  t.same(change.devicesAdded, ['card07', '07.0004', '07.0006', '07.0047', '07.0054']);
  t.equal(host.bus.cards.get(7)?.driver?.name, 'cex4card');
  t.equal(host.bus.queue(7, 4)?.driver?.name, 'cex4queue');
  t.equal(host.bus.queue(7, 4)?.devState, 'operating');
  await adapterAdd(host, 0x20, { type: 'cex6a' });
  t.equal(host.bus.cards.get(0x20)?.typeName, 'CEX6A');
  t.equal(host.bus.cards.get(0x20)?.serialnr, '', 'accelerators have no serial number');
  await adapterRemove(host, 0x20);
  await adapterAdd(host, 0x20, { type: 'CEX8P' });
  t.equal(host.bus.cards.get(0x20)?.typeName, 'CEX8P', 'an explicit type wins over the card that was there');
  t.same(cards(host), ['card04', 'card05', 'card06', 'card07', 'card0b', 'card20']);
  t.same(host.lockdep.reports, []);
});

t.test('errors', async (t) => {
  const host = await hostWith();
  const noQci = await hostWith({ qci: false, apxa: false, features: undefined, maxAdapterId: undefined, maxDomainId: undefined, apDomain: -1, usageDomains: ['0x0004'], controlDomains: ['0x0004'] });
  const cases: [string, () => Promise<unknown>, Errno][] = [
    ['adapter add: already in the configuration', () => adapterAdd(host, 4), Errno.EEXIST],
    ['adapter add: not a card type', () => adapterAdd(host, 7, { type: 'CEX9C' }), Errno.EINVAL],
    ['adapter add: not an adapter id', () => adapterAdd(host, 256), Errno.EINVAL],
    ['adapter remove: not in the configuration', () => adapterRemove(host, 7), Errno.ENOENT],
    ['domain add: already in the configuration', () => domainAdd(host, 4), Errno.EEXIST],
    ['domain add: above ap_max_domain_id', () => domainAdd(host, 85), Errno.EINVAL],
    ['domain add: negative', () => domainAdd(host, -1), Errno.EINVAL],
    ['domain remove: not in the configuration', () => domainRemove(host, 5), Errno.ENOENT],
    ['control domain add: already in the configuration', () => controlDomainAdd(host, 1), Errno.EEXIST],
    ['control domain remove: not in the configuration', () => controlDomainRemove(host, 2), Errno.ENOENT],
    ['no QCI: adapter add', () => adapterAdd(noQci, 7), Errno.EOPNOTSUPP],
    ['no QCI: domain remove', () => domainRemove(noQci, 4), Errno.EOPNOTSUPP],
  ];
  for (const [name, act, errno] of cases) t.equal(await errnoOf(act), errno, name);
  t.same(cards(host), ['card04', 'card05', 'card06', 'card0b'], 'nothing changed');
  await t.rejects(adapterAdd(host, 7, { type: 'CEX9C' }), { message: /adapter 0x07: type: "CEX9C" is not a card type/ });
  t.same(host.lockdep.reports, []);
});
