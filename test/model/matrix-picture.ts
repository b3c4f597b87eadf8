/**
 * The picture behind `apsysfs ctl show`: one state per APQN, rows and columns, zoom, counts.
 */
import t from 'tap';
import { ApMask } from '../../src/model/ap/ap-mask.js';
import { matrixPicture, type MatrixPicture } from '../../src/model/matrix-picture.js';
import { adapterRemove } from '../../src/model/host-config.js';
import { OK, U1, U2, createMdev, hostFromFixture, hostWith, sysfs } from '../helpers/model.js';

const states = (p: MatrixPicture): string[] => p.cells.map((row) => row.map((c) => c.state).join(' '));

/** The mdevs fixture with adapter 0x20 (which the host has not got) left to vfio_ap too. */
const MDEVS = [
  { uuid: U1, adapters: ['0x05'], domains: ['0x0004', '0x0047'], controlDomains: ['0x0004'] },
  { uuid: U2, adapters: ['0x06'], domains: ['0x0004', '0x0006'], controlDomains: ['0x0004'] },
];

t.test('every state, rows and columns of the host plus what mdevs assign', async (t) => {
  const host = await hostWith({ apmask: '+0-4,+7-0x1f,+0x21-255', mdevs: MDEVS });
  const sys = sysfs(host);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${U2}/assign_adapter`, '0x20'), OK, 'an adapter the host has not got');
  t.equal(await sys.write(`devices/vfio_ap/matrix/${U2}/assign_control_domain`, '0x30'), OK, 'a control domain column');
  await host.attachGuest(U1, 'vm1');
  const p = matrixPicture(host);
  t.same(p.adapters, [
    { id: 4, type: 'CEX7C', inConfig: true },
    { id: 5, type: 'CEX7C', inConfig: true },
    { id: 6, type: 'CEX7A', inConfig: true },
    { id: 0x0b, type: 'CEX7P', inConfig: true },
    { id: 0x20, type: null, inConfig: false },
  ]);
  t.same(p.domains.map((d) => [d.id, d.usage, d.control]), [[4, true, true], [6, true, true], [0x30, false, false], [0x47, true, true], [0x54, true, true]]);
  t.same(states(p), [
    'host host absent host host',
    'in-use free absent in-use free',
    'assigned assigned absent free free',
    'host host absent host host',
    'assigned assigned absent absent absent',
  ]);
  t.same(p.cells[1]![0], { state: 'in-use', present: true, reserved: false, driver: 'vfio_ap', mdev: U1, guest: 'vm1' });
  t.same(p.cells[4]![0], { state: 'assigned', present: false, reserved: false, driver: null, mdev: U2, guest: null }, 'over-provisioned');
  t.same(p.cells[0]![0], { state: 'host', present: true, reserved: true, driver: 'cex4queue', mdev: null, guest: null });
  t.same(p.counts, { absent: 7, host: 8, free: 4, assigned: 4, 'in-use': 2 });
  t.same(p.controlDomains, [1, 4, 6, 0x47, 0x54]);
  t.same(p.mdevs.map((m) => [m.uuid, m.guest, m.apcb?.adapters]), [[U2, null, undefined], [U1, 'vm1', [5]]]);
  t.same(p.mdevs[0]!.matrix, { adapters: [6, 0x20], domains: [4, 6], controlDomains: [4, 0x30] });
  t.same(p.mdevs[0]!.guestMatrix, { adapters: [6], domains: [4, 6], controlDomains: [4] });
});

t.test('zoom: only the rows and columns asked for', async (t) => {
  const host = await hostFromFixture('mdevs');
  const p = matrixPicture(host, { adapters: ApMask.fromIds([5, 6, 7]), domains: ApMask.fromIds([4]) });
  t.same(p.adapters.map((a) => a.id), [5, 6]);
  t.same(p.domains.map((d) => d.id), [4]);
  t.same(states(p), ['assigned', 'assigned']);
  t.same(p.counts, { absent: 0, host: 0, free: 0, assigned: 2, 'in-use': 0 });
});

t.test('in-use follows the guest\'s APCB: a removal request clears it, an adapter leaving the host unplugs it', async (t) => {
  const host = await hostFromFixture('mdevs');
  await host.attachGuest(U1, 'vm1');
  await adapterRemove(host, 5);
  const p = matrixPicture(host);
  t.same(p.adapters.find((a) => a.id === 5), { id: 5, type: null, inConfig: false }, 'still a row: assigned');
  t.same(states(p)[1], 'assigned absent assigned absent');
  const m = host.mdev(U1)!;
  const removing = host.mdevCore.remove(m, () => 1);
  await new Promise((r) => setImmediate(r));
  t.same(host.guest('vm1').apcb.apm.ids(), []);
  await host.detachGuest(U1);
  await removing;
  t.same(matrixPicture(host).mdevs.map((x) => x.uuid), [U2]);
});

t.test('an empty machine', async (t) => {
  const host = await hostWith({ adapters: [], usageDomains: [], controlDomains: [], apDomain: -1 });
  await createMdev(host, U1);
  const p = matrixPicture(host);
  t.same([p.adapters, p.domains, p.cells], [[], [], []]);
  t.same(p.mdevs.map((m) => m.uuid), [U1]);
});
