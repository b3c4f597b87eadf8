/**
 * Each mdev is a VFIO device in a group of its own (an emulated IOMMU), whose open_device and
 * close_device are vfio_ap's set_kvm and unset_kvm. Created on first use: the model has no
 * separate registration step.
 * @kernel vfio_ap_ops.c vfio_ap_mdev_probe → vfio_register_emulated_iommu_dev, vfio_ap_matrix_dev_ops
 */
import type { MatrixDev } from '../vfio_ap/matrix-dev.js';
import type { MatrixMdev } from '../vfio_ap/matrix-mdev.js';
import { closeDevice, openDevice } from '../vfio_ap/vfio-device.js';
import { VfioGroup } from './group.js';
import { VfioDevice } from './vfio-main.js';

const devices = new WeakMap<MatrixMdev, VfioDevice>();

/** The mdev's VFIO device, registered on first use. */
export function vfioDeviceOf(md: MatrixDev, mdev: MatrixMdev): VfioDevice {
  let device = devices.get(mdev);
  if (!device) {
    device = new VfioDevice(md.k, mdev.uuid, new VfioGroup(md.k, mdev.uuid), {
      openDevice: (kvm) => openDevice(md, mdev, kvm),
      // vfio_ap_mdev_unset_kvm does nothing when open_device attached no KVM (no crypto block).
      closeDevice: () => (mdev.kvm ? closeDevice(md, mdev) : Promise.resolve()),
    });
    devices.set(mdev, device);
  }
  return device;
}

/** The mdev's VFIO device if it was ever used. */
export const registeredVfioDevice = (mdev: MatrixMdev): VfioDevice | undefined => devices.get(mdev);
