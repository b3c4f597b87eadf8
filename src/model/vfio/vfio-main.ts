/**
 * The VFIO core's device: its device set (whose lock serialises open and close), the open count
 * and the KVM reference it holds while open. The driver's open_device/close_device (vfio_ap's
 * set_kvm/unset_kvm) run under dev_set->lock.
 * @kernel drivers/vfio/vfio_main.c struct vfio_device, vfio_df_open, vfio_df_close,
 *         vfio_device_first_open, vfio_device_last_close, vfio_device_get_kvm_safe, vfio_device_put_kvm;
 *         include/linux/vfio.h struct vfio_device_set
 */
import type { KernelCtx } from '../kernel.js';
import type { Kvm } from '../kvm/guest.js';
import { KernelMutex } from '../lock/kernel-mutex.js';
import type { LockSite } from '../lock/lockdep.js';
import type { VfioGroup } from './group.js';

/** What the driver registers (`struct vfio_device_ops`): only the two the deadlocks need. */
export interface VfioDeviceOps {
  /** First open; `kvm` is device->kvm. */
  openDevice(kvm: Kvm | undefined): Promise<void>;
  /** Last close. */
  closeDevice(): Promise<void>;
}

/**
 * `struct vfio_device_set`. An mdev gets a set of its own (vfio_register_group_dev →
 * vfio_assign_device_set(device, device)); the class is named after the mutex_init in
 * vfio_assign_device_set, as lockdep prints it.
 */
export class VfioDeviceSet {
  readonly lock: KernelMutex;

  constructor(k: KernelCtx, name: string) {
    this.lock = new KernelMutex(k.lockdep, '&new_dev_set->lock', name);
  }
}

export class VfioDevice {
  readonly devSet: VfioDeviceSet;
  openCount = 0;
  /** device->kvm: the reference taken before the first open, dropped after the last close. */
  kvm: Kvm | undefined;

  constructor(
    readonly k: KernelCtx,
    /** dev_name(): the mdev's uuid. */
    readonly name: string,
    readonly group: VfioGroup,
    readonly ops: VfioDeviceOps,
  ) {
    this.devSet = new VfioDeviceSet(k, name);
  }
}

/**
 * Open one more file of the device: the first open calls the driver's open_device. The caller
 * holds dev_set->lock. On a failed first open the count is not raised.
 * @kernel vfio_main.c vfio_df_open → vfio_device_first_open
 */
export async function vfioDfOpen(device: VfioDevice): Promise<void> {
  device.devSet.lock.assertHeld();
  if (device.openCount === 0) await device.ops.openDevice(device.kvm);
  device.openCount++;
}

/**
 * Close one file of the device: the last close calls the driver's close_device. The caller holds
 * dev_set->lock. If close_device fails (in the model only: EDEADLK from a flawed ordering) the
 * device stays open.
 * @kernel vfio_main.c vfio_df_close → vfio_device_last_close
 */
export async function vfioDfClose(device: VfioDevice): Promise<void> {
  device.devSet.lock.assertHeld();
  if (device.openCount === 1) await device.ops.closeDevice();
  device.openCount--;
}

/**
 * Take a reference on `kvm` for the device (kvm_get_kvm_safe). Caller holds dev_set->lock, and in
 * the shipped code the group's kvm_ref_lock, under which `kvm` was read.
 * @kernel vfio_main.c vfio_device_get_kvm_safe
 */
export function vfioDeviceGetKvmSafe(device: VfioDevice, kvm: Kvm | undefined): void {
  device.devSet.lock.assertHeld();
  if (!kvm) return;
  kvm.refs++;
  device.kvm = kvm;
}

/** @kernel vfio_main.c vfio_device_put_kvm */
export function vfioDevicePutKvm(device: VfioDevice): void {
  device.devSet.lock.assertHeld();
  if (!device.kvm) return;
  device.kvm.refs--;
  device.kvm = undefined;
}

/** Run `fn` with `lock` held; released on every path. */
export async function withLock<T>(lock: KernelMutex, site: LockSite, fn: () => Promise<T>): Promise<T> {
  await lock.lock(site);
  try {
    return await fn();
  } finally {
    lock.unlock();
  }
}
