/**
 * What QEMU does to the kernel when a guest starts with an mdev (`-device vfio-ap,sysfsdev=…`) and
 * when it stops: the system calls behind `apsysfs ctl guest attach` / `guest detach`.
 *
 * attach: open /dev/vfio/N (the mdev's group); create the VM's kvm-vfio device if it has none
 *   and add the group to it (which points the group at the VM); VFIO_GROUP_GET_DEVICE_FD, which
 *   opens the device (vfio_ap's set_kvm). If the device cannot be opened, the group leaves the
 *   kvm-vfio device and is closed again.
 * detach: QEMU exits. The device file is closed (unset_kvm), then the kvm-vfio device file, whose
 *   release runs under kvm->lock and clears the group's KVM, then the group file.
 */
import { Errno, KernelError } from '../errno.js';
import { inTask } from '../kernel.js';
import type { Kvm } from '../kvm/guest.js';
import type { MatrixDev } from '../vfio_ap/matrix-dev.js';
import type { MatrixMdev } from '../vfio_ap/matrix-mdev.js';
import { vfioDfGroupClose, vfioDfGroupOpen, vfioGroupFopsOpen, vfioGroupFopsRelease } from './group.js';
import { kvmDeviceRelease, kvmVfioCreate, kvmVfioFileAdd, kvmVfioFileDel, kvmVfioOf } from './kvm-vfio.js';
import { registeredVfioDevice, vfioDeviceOf } from './register.js';

/**
 * Start `kvm` with the mdev. Throws EBUSY (another QEMU has the mdev's group), and what open_device
 * throws: EPERM (the guest already has an mdev), ENODEV (the mdev is being removed), EDEADLK (a
 * flawed ordering's deadlock was broken).
 */
export function qemuAttach(md: MatrixDev, mdev: MatrixMdev, kvm: Kvm): Promise<void> {
  const device = vfioDeviceOf(md, mdev);
  const group = device.group;
  const op = `guest attach ${mdev.uuid} ${kvm.name}`;
  return inTask(md.k, op, async () => {
    await vfioGroupFopsOpen(group, kvm.name, op);
    try {
      const kv = kvmVfioOf(kvm) ?? (await kvmVfioCreate(md.k, kvm, op));
      await kvmVfioFileAdd(kv, group, op);
      try {
        await vfioDfGroupOpen(device, op);
      } catch (e) {
        // QEMU's error path puts the group: KVM_DEV_VFIO_FILE_DEL, unless the device is gone meanwhile.
        if (kvmVfioOf(kvm) === kv && kv.files.includes(group)) await kvmVfioFileDel(kv, group, op).catch(ignoreKernelError);
        throw e;
      }
    } catch (e) {
      await vfioGroupFopsRelease(group, op);
      throw e;
    }
  });
}

/**
 * Stop the guest that has the mdev open. Throws ENODEV when the mdev's device is not open, and
 * EDEADLK when a flawed ordering's deadlock was broken (the device may then still be open).
 */
export function qemuDetach(md: MatrixDev, mdev: MatrixMdev): Promise<void> {
  const op = `guest detach ${mdev.uuid}`;
  return inTask(md.k, op, async () => {
    const device = registeredVfioDevice(mdev);
    if (!device || device.openCount === 0) throw new KernelError(Errno.ENODEV, `close: ${mdev.uuid} is not open`);
    const kvm = device.kvm;
    await vfioDfGroupClose(device, op);
    try {
      const kv = kvm && kvmVfioOf(kvm);
      if (kv) await kvmDeviceRelease(kv, op);
    } finally {
      await vfioGroupFopsRelease(device.group, op);
    }
  });
}

function ignoreKernelError(e: unknown): void {
  if (!(e instanceof KernelError)) throw e;
}
