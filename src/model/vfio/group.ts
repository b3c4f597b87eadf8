/**
 * The VFIO group of an mdev (/dev/vfio/N): opening it, opening and closing the device through it,
 * and the KVM pointer the kvm-vfio device sets on it.
 *
 * Lock order of the device open/close: group->group_lock → device->dev_set->lock → the driver's
 * open_device/close_device (vfio_ap: pqap_hook_rwsem, then guests_lock → kvm->lock → mdevs_lock).
 *
 * group->kvm is written by the kvm-vfio device, which may do so with kvm->lock held (its release).
 * Shipped (v6.2, 2b48f52f2bff "vfio: fix deadlock between group lock and kvm lock"): it is guarded
 * by the spinlock group->kvm_ref_lock, and the open takes its KVM reference under that spinlock.
 * Flawed (51cdc8bc120e "kvm/vfio: Fix potential deadlock on vfio group_lock", v6.2-rc5 to -rc7):
 * vfio_file_set_kvm took group->group_lock, so kvm_vfio_release ran kvm->lock → group_lock while
 * the open runs group_lock → … → kvm->lock (scenario 'kvm-vfio-release').
 * @kernel drivers/vfio/group.c struct vfio_group, vfio_group_fops_open/_release, vfio_df_group_open,
 *         vfio_df_group_close, vfio_device_group_get_kvm_safe, vfio_group_set_kvm
 */
import { Errno, KernelError } from '../errno.js';
import type { KernelCtx } from '../kernel.js';
import type { Kvm } from '../kvm/guest.js';
import { KernelMutex } from '../lock/kernel-mutex.js';
import { flawWindow, flawed } from '../scenarios/flaw.js';
import { type VfioDevice, vfioDeviceGetKvmSafe, vfioDevicePutKvm, vfioDfClose, vfioDfOpen, withLock } from './vfio-main.js';

export class VfioGroup {
  /** @kernel group->group_lock */
  readonly groupLock: KernelMutex;
  /** @kernel group->kvm_ref_lock (a spinlock: held only around reading or writing `kvm`) */
  readonly kvmRefLock: KernelMutex;
  /** group->kvm: set by the kvm-vfio device (KVM_DEV_VFIO_FILE_ADD), cleared by its FILE_DEL/release. */
  kvm: Kvm | undefined;
  /** group->opened_file: the process (named after its guest) that has /dev/vfio/N open. */
  openedBy: string | undefined;

  constructor(
    readonly k: KernelCtx,
    /** Names the instance in reports: the mdev's uuid (its IOMMU group has one device). */
    readonly name: string,
  ) {
    this.groupLock = new KernelMutex(k.lockdep, '&group->group_lock', name);
    this.kvmRefLock = new KernelMutex(k.lockdep, '&group->kvm_ref_lock', name);
  }
}

/**
 * open("/dev/vfio/N") by the QEMU of guest `by`. Throws EBUSY when another process has the group
 * open (a second QEMU for the same mdev). @kernel group.c vfio_group_fops_open
 */
export function vfioGroupFopsOpen(group: VfioGroup, by: string, op: string): Promise<void> {
  return withLock(group.groupLock, { op, fn: 'vfio_group_fops_open' }, async () => {
    if (group.openedBy !== undefined) throw new KernelError(Errno.EBUSY, `open: ${group.name} is already open by ${group.openedBy}`);
    group.openedBy = by;
  });
}

/** The last reference to the group file went away. @kernel group.c vfio_group_fops_release */
export function vfioGroupFopsRelease(group: VfioGroup, op: string): Promise<void> {
  return withLock(group.groupLock, { op, fn: 'vfio_group_fops_release' }, async () => {
    group.openedBy = undefined;
  });
}

/**
 * VFIO_GROUP_GET_DEVICE_FD: open the device under group_lock → dev_set->lock, with the KVM
 * reference fetched first (under kvm_ref_lock; flawed: straight from group->kvm, under group_lock
 * only). Throws what open_device throws (EINVAL without a KVM, EPERM, ENODEV, EBUSY, EDEADLK).
 * @kernel group.c vfio_df_group_open
 */
export function vfioDfGroupOpen(device: VfioDevice, op: string): Promise<void> {
  const group = device.group;
  return withLock(group.groupLock, { op, fn: 'vfio_df_group_open' }, async () => {
    // The window of 'kvm-vfio-release': group_lock held, about to go for dev_set->lock and then kvm->lock.
    await flawWindow(device.k, 'kvm-vfio-release');
    await withLock(device.devSet.lock, { op, fn: 'vfio_df_group_open' }, async () => {
      const first = device.openCount === 0;
      if (first) await getKvm(device, op);
      try {
        await vfioDfOpen(device);
      } catch (e) {
        if (first) vfioDevicePutKvm(device);
        throw e;
      }
    });
  });
}

/** @kernel group.c vfio_device_group_get_kvm_safe (flawed: vfio_device_open(…, group->kvm) before 2b48f52f2bff) */
async function getKvm(device: VfioDevice, op: string): Promise<void> {
  const group = device.group;
  if (flawed(device.k, 'kvm-vfio-release')) {
    vfioDeviceGetKvmSafe(device, group.kvm);
    return;
  }
  await withLock(group.kvmRefLock, { op, fn: 'vfio_device_group_get_kvm_safe' }, async () => vfioDeviceGetKvmSafe(device, group.kvm));
}

/**
 * Close the device file: group_lock → dev_set->lock → close_device on the last close, then drop
 * the KVM reference. Throws ENODEV when the device is not open (in the model a detach names the
 * mdev, not a file, so two may race for one open). @kernel group.c vfio_df_group_close
 */
export function vfioDfGroupClose(device: VfioDevice, op: string): Promise<void> {
  return withLock(device.group.groupLock, { op, fn: 'vfio_df_group_close' }, () =>
    withLock(device.devSet.lock, { op, fn: 'vfio_df_group_close' }, async () => {
      if (device.openCount === 0) throw new KernelError(Errno.ENODEV, `close: ${device.name} is not open`);
      await vfioDfClose(device);
      if (device.openCount === 0) vfioDevicePutKvm(device);
    }),
  );
}

/**
 * Associate the group with a KVM (or none). Shipped: under the kvm_ref_lock spinlock. Flawed
 * ('kvm-vfio-release'): under group_lock, which the kvm-vfio release then takes under kvm->lock.
 * @kernel group.c vfio_group_set_kvm (vfio_main.c vfio_file_set_kvm)
 */
export function vfioFileSetKvm(group: VfioGroup, kvm: Kvm | undefined, op: string): Promise<void> {
  const site = { op, fn: 'vfio_file_set_kvm' };
  const lock = flawed(group.k, 'kvm-vfio-release') ? group.groupLock : group.kvmRefLock;
  return withLock(lock, site, async () => {
    group.kvm = kvm;
  });
}
