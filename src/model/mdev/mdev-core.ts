/**
 * The mdev core for the matrix parent: the one type `vfio_ap-passthrough`, create and remove, and
 * `available_instances`.
 * @kernel drivers/vfio/mdev/mdev_sysfs.c create_store, remove_store, available_instances_show;
 *         mdev_core.c mdev_device_create, mdev_device_remove; vfio_ap_ops.c vfio_ap_mdev_probe/_remove
 */
import { Errno, KernelError } from '../errno.js';
import { inTask } from '../kernel.js';
import type { Parse } from '../ap/ap-bus.js';
import type { MatrixDev } from '../vfio_ap/matrix-dev.js';
import { MatrixMdev } from '../vfio_ap/matrix-mdev.js';
import { requestDevice, waitForClose } from '../vfio_ap/vfio-device.js';
import { resetQlist, unlinkQueue } from '../vfio_ap/hotplug.js';
import type { IommuGroupIda } from '../vfio/iommu-group-ida.js';

/** MAX_ZDEV_ENTRIES_EXT = 256 * 256 (asm/zcrypt.h), vfio_ap's max_instances. */
export const MAX_ZDEV_ENTRIES_EXT = 65536;
export const UUID_STRING_LEN = 36;

export const MDEV_TYPE = {
  /** `<parent driver>-<type sysfs name>` (mdev_sysfs.c mdev_type_add). */
  dirName: 'vfio_ap-passthrough',
  name: 'VFIO AP Passthrough Device',
  deviceApi: 'vfio-ap',
} as const;

/** @kernel lib/uuid.c uuid_is_valid: 36 chars, '-' at 8, 13, 18, 23, hex digits elsewhere. */
export function uuidIsValid(s: string): boolean {
  if (s.length < UUID_STRING_LEN) return false;
  for (let i = 0; i < UUID_STRING_LEN; i++) {
    const c = s[i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== '-') return false;
    } else if (!/[0-9a-fA-F]/.test(c)) return false;
  }
  return true;
}

export class MdevCore {
  availableInstances = MAX_ZDEV_ENTRIES_EXT;

  constructor(
    readonly md: MatrixDev,
    /** The kernel's IOMMU group numbers (one group per mdev). */
    readonly iommuGroups: IommuGroupIda,
  ) {}

  /**
   * `create`: the written length must be 36 or 37 bytes and the first 36 a UUID (EINVAL); an
   * existing UUID → EEXIST; no instances left → EUSERS. The device is named in lower case.
   */
  create(buf: string, count: number): Promise<MatrixMdev> {
    return inTask(this.md.k, 'write create', async () => {
      if (count < UUID_STRING_LEN || count > UUID_STRING_LEN + 1) throw new KernelError(Errno.EINVAL, `create: ${count} bytes written, a UUID is 36 (37 with a newline)`);
      if (!uuidIsValid(buf)) throw new KernelError(Errno.EINVAL, `create: ${JSON.stringify(buf.slice(0, UUID_STRING_LEN))} is not a UUID`);
      const uuid = buf.slice(0, UUID_STRING_LEN).toLowerCase();
      if (this.md.findMdev(uuid)) throw new KernelError(Errno.EEXIST, `create: ${uuid} exists`);
      if (this.availableInstances === 0) throw new KernelError(Errno.EUSERS, 'create: no instances available');
      this.availableInstances--;
      return this.probe(uuid);
    });
  }

  /**
   * @kernel vfio_ap_mdev_probe: a new mdev with empty matrix and shadow, registered with VFIO (its
   * IOMMU group and `iommu_group` link), then added at the list head under guests_lock.
   */
  private async probe(uuid: string): Promise<MatrixMdev> {
    const md = this.md;
    const mdev = new MatrixMdev(uuid, md.apmMax, md.aqmMax, md.admMax);
    mdev.iommuGroup = this.iommuGroups.alloc();
    md.k.events.kernel('info', `${mdev.devPrefix}Adding to iommu group ${mdev.iommuGroup}`);
    await md.guestsLock.lock({ op: 'write create', fn: 'vfio_ap_mdev_probe' });
    try {
      md.mdevList.unshift(mdev);
    } finally {
      md.guestsLock.unlock();
    }
    md.k.events.uevent('add', `/devices/vfio_ap/matrix/${uuid}`, { MDEV_TYPE: MDEV_TYPE.dirName });
    return mdev;
  }

  /**
   * `remove`: parse error → EINVAL (kstrtoul's ERANGE too); 0 → nothing; otherwise the mdev goes
   * away. If a guest has the device open this BLOCKS until it is closed (the VFIO core keeps
   * asking the driver to give it up); a second concurrent writer succeeds without doing anything.
   */
  remove(mdev: MatrixMdev, parse: Parse<number>): Promise<void> {
    return inTask(this.md.k, `write remove (${mdev.uuid})`, async () => {
      let val: number;
      try {
        val = parse();
      } catch (e) {
        if (e instanceof KernelError) throw new KernelError(Errno.EINVAL, `remove: ${e.why}`);
        throw e;
      }
      if (val === 0) return;
      if (mdev.state !== 'active') return;
      mdev.state = 'removing';
      // mdev_device_remove → mdev_remove_sysfs_files: the type links and the bus links go first.
      this.md.k.removals.removed(`mdev removing ${mdev.uuid}`);
      await this.removeDevice(mdev);
    });
  }

  /** @kernel vfio_ap_mdev_remove: wait for the device to be closed (no vfio_ap lock held), then tear down. */
  private async removeDevice(mdev: MatrixMdev): Promise<void> {
    const md = this.md;
    if (mdev.kvm) {
      await requestDevice(md, mdev, 0);
      await waitForClose(mdev);
    }
    // vfio_unregister_group_dev has returned: the device is out of its IOMMU group, which goes.
    if (mdev.iommuGroup !== undefined) {
      md.k.events.kernel('info', `${mdev.devPrefix}Removing from iommu group ${mdev.iommuGroup}`);
      this.iommuGroups.free(mdev.iommuGroup);
      mdev.iommuGroup = undefined;
      md.k.removals.removed(`iommu group of ${mdev.uuid}`);
    }
    const site = { op: `write remove (${mdev.uuid})`, fn: 'vfio_ap_mdev_remove' };
    await md.guestsLock.lock(site);
    await md.mdevsLock.lock(site);
    try {
      const queues = [...mdev.qtable.values()];
      await resetQlist(md, queues);
      for (const q of queues) unlinkQueue(mdev, q);
      const i = md.mdevList.indexOf(mdev);
      if (i >= 0) md.mdevList.splice(i, 1);
      mdev.state = 'removed';
      md.k.removals.removed(`device_del ${mdev.uuid}`);
    } finally {
      md.mdevsLock.unlock();
      md.guestsLock.unlock();
    }
    this.availableInstances++;
    md.k.events.uevent('remove', `/devices/vfio_ap/matrix/${mdev.uuid}`);
  }
}
