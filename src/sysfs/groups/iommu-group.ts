/**
 * /sys/kernel/iommu_groups/N of an mdev's group. The group of an emulated-IOMMU VFIO device has no
 * default domain and its device no IOMMU ops: `type` reads "unknown" and refuses every write,
 * `reserved_regions` is empty. No `name` file: only vfio's no-IOMMU groups are named.
 * @kernel drivers/iommu/iommu.c iommu_group_show_type, iommu_group_store_type,
 *         iommu_group_show_resv_regions (non-API groups)
 */
import { Errno, KernelError } from '../../model/errno.js';
import type { MatrixMdev } from '../../model/vfio_ap/matrix-mdev.js';
import { ro, rw, type AttrGroup } from '../attr.js';

/** The kobject is the mdev whose group this is (one device per group): a new group is a new mdev. */
export const iommuGroupAttrs: AttrGroup<MatrixMdev> = {
  attrs: [
    ro('reserved_regions', () => ''),
    rw(
      'type',
      () => 'unknown\n',
      (m) => {
        throw new KernelError(Errno.EINVAL, `iommu group ${m.iommuGroup} has no default domain (an emulated IOMMU): its type cannot change`);
      },
    ),
  ],
};
