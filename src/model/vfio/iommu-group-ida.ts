/**
 * IOMMU group numbers. Every mdev is a VFIO device with an emulated IOMMU, in a group of its own:
 * vfio_register_emulated_iommu_dev allocates the group (its number is /sys/kernel/iommu_groups/N
 * and /dev/vfio/N, and the mdev's `iommu_group` link points there), vfio_unregister_group_dev
 * frees it. The numbers come from one IDA for the whole kernel: the smallest free one. The
 * simulated machine has no PCI functions, so the mdevs' groups are the only ones.
 * @kernel drivers/iommu/iommu.c iommu_group_alloc (ida_alloc), iommu_group_release (ida_free);
 *         drivers/vfio/group.c vfio_noiommu_group_alloc, vfio_device_remove_group
 */
export class IommuGroupIda {
  private readonly used = new Set<number>();

  /** ida_alloc: the smallest number not in use. */
  alloc(): number {
    let id = 0;
    while (this.used.has(id)) id++;
    this.used.add(id);
    return id;
  }

  /** A saved state's number (state-restore.ts): throws if it is taken, which the topology parser rules out. */
  take(id: number): void {
    if (this.used.has(id)) throw new Error(`IOMMU group ${id} is in use`);
    this.used.add(id);
  }

  /** ida_free. */
  free(id: number): void {
    this.used.delete(id);
  }
}
