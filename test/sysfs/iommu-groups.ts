/**
 * Each mdev's IOMMU group (vfio_register_emulated_iommu_dev): /sys/kernel/iommu_groups/N, the
 * mdev's `iommu_group` link that libvirt resolves to find /dev/vfio/N, the smallest free number
 * (ida_alloc), the group going when vfio_unregister_group_dev returns (after the guest let go),
 * and the kernel's log lines.
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import { parseTopology, serializeTopology } from '../../src/model/topology.js';
import { captureTopology } from '../../src/model/state.js';
import { Host } from '../../src/model/host.js';
import { OK, U1, U2, U3, createMdev, hostWith, noLockdepReports, settle, sysfs } from '../helpers/model.js';

const MATRIX = 'devices/vfio_ap/matrix';
const groupOf = (sys: ReturnType<typeof sysfs>, uuid: string): string | undefined => sys.readlink(`${MATRIX}/${uuid}/iommu_group`)?.split('/').pop();

t.test('one group per mdev, the smallest free number, gone with the mdev', async (t) => {
  const host = await hostWith();
  const sys = sysfs(host);
  t.same(sys.ls('kernel/iommu_groups'), [], 'no mdev, no group');
  await createMdev(host, U1);
  await createMdev(host, U2);
  t.equal(groupOf(sys, U1), '0');
  t.equal(groupOf(sys, U2), '1');
  t.same(sys.ls('kernel/iommu_groups'), ['0', '1']);
  t.same(sys.ls('kernel/iommu_groups/1/devices'), [U2]);
  t.equal(await sys.read('kernel/iommu_groups/0/type'), 'unknown\n', 'no default domain');
  t.equal(await sys.read('kernel/iommu_groups/0/reserved_regions'), '', 'a non-API group has no reserved regions');
  t.equal(await sys.write('kernel/iommu_groups/0/type', 'DMA\n'), Errno.EINVAL, 'the type of a group without a default domain cannot change');

  t.equal(await sys.write(`${MATRIX}/${U1}/remove`, '1'), OK);
  t.same(sys.ls('kernel/iommu_groups'), ['1'], 'group 0 went with its mdev');
  await createMdev(host, U3);
  t.equal(groupOf(sys, U3), '0', 'ida_alloc hands out the smallest free number again');
  const lines = host.events.kernelLines().filter((l) => l.includes('iommu group'));
  t.same(lines, [
    `vfio_ap_mdev ${U1}: Adding to iommu group 0`,
    `vfio_ap_mdev ${U2}: Adding to iommu group 1`,
    `vfio_ap_mdev ${U1}: Removing from iommu group 0`,
    `vfio_ap_mdev ${U3}: Adding to iommu group 0`,
  ]);
});

t.test('the group stays while a remove waits for the guest, and goes before the directory', async (t) => {
  const host = await hostWith();
  const sys = sysfs(host);
  await createMdev(host, U1);
  await host.attachGuest(U1, 'vm0');
  const removing = sys.write(`${MATRIX}/${U1}/remove`, '1');
  await settle();
  t.equal(groupOf(sys, U1), '0', 'vfio_unregister_group_dev has not returned: the device is still in its group');
  t.same(sys.ls('kernel/iommu_groups/0/devices'), [U1]);
  await host.detachGuest(U1);
  t.equal(await removing, OK);
  t.same(sys.ls('kernel/iommu_groups'), []);
});

t.test('a saved state keeps the numbers, holes included', async (t) => {
  const host = await hostWith();
  await createMdev(host, U1);
  await createMdev(host, U2);
  await createMdev(host, U3);
  t.equal(await sysfs(host).write(`${MATRIX}/${U1}/remove`, '1'), OK);
  const saved = JSON.stringify(serializeTopology(captureTopology(host)));
  const again = await Host.fromTopology(parseTopology(JSON.parse(saved)));
  t.teardown(() => again.shutdown());
  const sys = sysfs(again);
  t.equal(groupOf(sys, U2), '1');
  t.equal(groupOf(sys, U3), '2');
  t.same(sys.ls('kernel/iommu_groups'), ['1', '2']);
  await createMdev(again, U1);
  t.equal(groupOf(sys, U1), '0', 'the hole is the smallest free number after the restore too');

  const topo = serializeTopology(parseTopology(JSON.parse(saved))) as { mdevs: { iommuGroup?: number }[] };
  t.same(topo.mdevs.map((m) => m.iommuGroup), [1, 2], 'serialized with the state');
  t.throws(
    () => parseTopology({ ...JSON.parse(saved), mdevs: topo.mdevs.map((m) => ({ ...m, iommuGroup: 1 })) }),
    /mdevs\[1\]\.iommuGroup: 1 is already the group of mdevs\[0\]/,
    'two mdevs in one group are refused',
  );
  t.throws(() => parseTopology({ ...JSON.parse(saved), mdevs: [{ ...topo.mdevs[0], iommuGroup: -1 }] }), /is not an IOMMU group number/);
});

noLockdepReports(t);
