/**
 * The VFIO side of attach/detach (src/model/vfio): QEMU opens the mdev's group, adds it to the
 * guest's kvm-vfio device (which points the group at the guest), opens the device under
 * group_lock → dev_set->lock; stopping closes the device and releases the kvm-vfio device under
 * kvm->lock. In the shipped design that release only takes the group's kvm_ref_lock.
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import { vfioDeviceOf } from '../../src/model/vfio/register.js';
import { kvmDeviceRelease, kvmVfioCreate, kvmVfioFileAdd, kvmVfioFileDel, kvmVfioOf } from '../../src/model/vfio/kvm-vfio.js';
import { vfioGroupFopsOpen, vfioGroupFopsRelease } from '../../src/model/vfio/group.js';
import { OK, U1, U2, U3, errnoOf, hostFromFixture, hostWith, kerr, noLockdepReports } from '../helpers/model.js';

const GROUP = '&group->group_lock';
const DEV_SET = '&new_dev_set->lock';
const KVM_REF = '&group->kvm_ref_lock';
const KV = '&kv->lock';
const GUESTS = 'matrix_dev->guests_lock';
const KVM = '&kvm->lock';

const edgeSet = (host: Host): Set<string> => new Set(host.lockdep.edges().map((e) => `${e.from} -> ${e.to}`));

t.test('attach: group open, kvm-vfio FILE_ADD, device open; detach undoes all of it', async (t) => {
  const host = await hostFromFixture('mdevs');
  const m = host.mdev(U1)!;
  const device = vfioDeviceOf(host.matrixDev, m);
  const kvm = host.guest('vm1');
  t.equal(kvm.refs, 1);
  await host.attachGuest(U1, 'vm1');
  t.equal(device.group.openedBy, 'vm1', 'QEMU has /dev/vfio/N open');
  t.equal(device.group.kvm, kvm, 'the kvm-vfio device pointed the group at the guest');
  t.same(kvmVfioOf(kvm)?.files, [device.group], 'the group is on the kvm-vfio device');
  t.equal(device.openCount, 1);
  t.equal(device.kvm, kvm, 'device->kvm: the reference taken for the open');
  t.equal(m.kvm, kvm, 'vfio_ap set_kvm ran');
  t.equal(kvm.refs, 3, 'one reference for the VFIO device, one for vfio_ap');

  await host.detachGuest(U1);
  t.equal(device.openCount, 0);
  t.equal(device.kvm, undefined);
  t.equal(m.kvm, undefined);
  t.equal(device.group.kvm, undefined, 'the kvm-vfio release cleared the group');
  t.equal(kvmVfioOf(kvm), undefined, 'the kvm-vfio device is gone with QEMU');
  t.equal(device.group.openedBy, undefined);
  t.equal(kvm.refs, 1);

  await host.attachGuest(U1, 'vm2');
  t.equal(device.group.kvm, host.guest('vm2'), 'a new QEMU, a new kvm-vfio device');
  await host.detachGuest(U1);
});

t.test('the shipped lock order: group_lock → dev_set->lock → vfio_ap; kvm->lock takes only kvm_ref_lock', async (t) => {
  const host = await hostFromFixture('mdevs');
  await host.attachGuest(U1, 'vm1');
  await host.detachGuest(U1);
  const edges = edgeSet(host);
  for (const e of [`${GROUP} -> ${DEV_SET}`, `${DEV_SET} -> ${KVM_REF}`, `${DEV_SET} -> ${GUESTS}`, `${GROUP} -> ${KVM}`, `${KV} -> ${KVM_REF}`, `${KVM} -> ${KVM_REF}`]) {
    t.ok(edges.has(e), e);
  }
  t.notOk(edges.has(`${KVM} -> ${GROUP}`), 'nothing under kvm->lock takes the group lock (2b48f52f2bff)');
  t.notOk(edges.has(`${KV} -> ${GROUP}`));
  t.equal(host.lockdep.reports.length, 0);
});

t.test('errors: EBUSY for an open mdev, EPERM leaves the group off the kvm-vfio device, ENODEV', async (t) => {
  const host = await hostFromFixture('mdevs');
  await host.attachGuest(U1, 'vm1');
  const g1 = vfioDeviceOf(host.matrixDev, host.mdev(U1)!).group;
  const g2 = vfioDeviceOf(host.matrixDev, host.mdev(U2)!).group;
  await t.rejects(host.attachGuest(U1, 'vm2'), { ...kerr(Errno.EBUSY), why: /already open by vm1/ }, 'another QEMU cannot open the group');
  t.equal(g1.kvm, host.guest('vm1'), 'untouched by the refused open');
  t.equal(kvmVfioOf(host.guest('vm2')), undefined, 'vm2 never got as far as its kvm-vfio device');

  await t.rejects(host.attachGuest(U2, 'vm1'), kerr(Errno.EPERM), 'one mdev per guest');
  t.same(kvmVfioOf(host.guest('vm1'))?.files, [g1], 'FILE_DEL took the refused group off again');
  t.equal(g2.kvm, undefined);
  t.equal(g2.openedBy, undefined, 'and QEMU closed it');
  t.equal(host.guest('vm1').refs, 3, 'no reference leaked');
  await host.attachGuest(U2, 'vm2');

  await host.detachGuest(U1);
  await host.detachGuest(U2);
  await t.rejects(host.detachGuest(U2), kerr(Errno.ENODEV), 'not open');
  await t.rejects(host.detachGuest(U3), kerr(Errno.ENODEV), 'no such mdev');
  t.equal(host.lockdep.reports.length, 0);
});

t.test('a guest without a crypto block: the device opens, vfio_ap attaches nothing, detach works', async (t) => {
  const host = await hostFromFixture('mdevs');
  const { Kvm } = await import('../../src/model/kvm/guest.js');
  host.kvms.set('plain', new Kvm(host.k, 'plain', false));
  await host.attachGuest(U1, 'plain');
  t.equal(host.mdev(U1)!.kvm, undefined);
  t.equal(vfioDeviceOf(host.matrixDev, host.mdev(U1)!).openCount, 1);
  await host.detachGuest(U1);
  t.equal(vfioDeviceOf(host.matrixDev, host.mdev(U1)!).openCount, 0);
});

t.test('kvm-vfio device verbs: one per VM, FILE_ADD twice, FILE_DEL of a stranger', async (t) => {
  const host = await hostWith();
  const kvm = host.guest('vm1');
  const m = await host.mdevCore.create(`${U1}\n`, 37);
  const group = vfioDeviceOf(host.matrixDev, m).group;
  await host.task('qemu vm1', async () => {
    const kv = await kvmVfioCreate(host.k, kvm, 'test');
    t.equal(await errnoOf(kvmVfioCreate(host.k, kvm, 'test')), Errno.EBUSY, 'only one kvm-vfio device per VM');
    t.equal(await errnoOf(kvmVfioFileDel(kv, group, 'test')), Errno.ENOENT);
    t.equal(await errnoOf(kvmVfioFileAdd(kv, group, 'test')), OK);
    t.equal(await errnoOf(kvmVfioFileAdd(kv, group, 'test')), Errno.EEXIST);
    t.equal(group.kvm, kvm);
    t.equal(await errnoOf(kvmVfioFileDel(kv, group, 'test')), OK);
    t.equal(group.kvm, undefined);
    t.equal(await errnoOf(kvmVfioFileAdd(kv, group, 'test')), OK);
    await kvmDeviceRelease(kv, 'test');
    t.equal(group.kvm, undefined);
    t.same(kv.files, []);
    t.equal(kvmVfioOf(kvm), undefined);
    t.equal(await errnoOf(vfioGroupFopsOpen(group, 'vm1', 'test')), OK);
    t.equal(await errnoOf(vfioGroupFopsOpen(group, 'vm2', 'test')), Errno.EBUSY, 'a group is open once');
    await vfioGroupFopsRelease(group, 'test');
  });
  t.equal(host.lockdep.reports.length, 0);
});

t.test('flawed kvm-vfio (51cdc8bc120e): attach then detach, one after the other, is reported like Krowiak\'s splat', async (t) => {
  const host = await hostFromFixture('mdevs', { scenario: 'kvm-vfio-release', expectLockdepReports: true });
  await host.attachGuest(U1, 'vm1');
  t.equal(host.lockdep.reports.length, 0, 'the open alone is fine');
  await host.detachGuest(U1);
  t.equal(host.lockdep.reports.length, 1, 'the release under kvm->lock takes the group lock');
  const r = host.lockdep.reports[0]!;
  t.match(r, { kind: 'circular', taking: GROUP, held: KVM });
  t.same(
    r.chain.map((l) => [l.from, l.to, l.first.fn]),
    [
      [GROUP, DEV_SET, 'vfio_df_group_open'],
      [DEV_SET, GUESTS, 'vfio_ap_mdev_set_kvm'],
      [GUESTS, KVM, 'vfio_ap_mdev_set_kvm'],
    ],
    'the chain the kernel printed: group_lock → dev_set->lock → guests_lock → kvm->lock',
  );
  t.match(r.text, `guest detach ${U1}/`);
  t.match(r.text, `is trying to acquire lock:\n  ${U1} (&group->group_lock){+.+.}, at: vfio_file_set_kvm [guest detach ${U1}]`);
  t.match(r.text, 'but task is already holding lock:\n  vm1 (&kvm->lock){+.+.}, at: kvm_device_release');
  t.match(r.text, `-> #3 (&kvm->lock){+.+.}:\n       vfio_ap_mdev_set_kvm [open ${U1}]`);
  t.match(r.text, `-> #1 (&new_dev_set->lock){+.+.}:\n       vfio_df_group_open [guest attach ${U1} vm1]`);
  t.match(r.text, 'Chain exists of:\n  &group->group_lock --> matrix_dev->guests_lock --> &kvm->lock');
  t.match(r.text, ' Possible unsafe locking scenario:\n\n       CPU0                    CPU1\n       ----                    ----\n  lock(&kvm->lock);\n                               lock(matrix_dev->guests_lock);\n                               lock(&kvm->lock);\n  lock(&group->group_lock);');
  t.equal(host.mdev(U1)!.kvm, undefined, 'sequentially nothing hangs: the guest is detached');
});

noLockdepReports(t);
