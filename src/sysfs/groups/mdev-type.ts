/**
 * The vfio_ap-passthrough type directory. No `description`: vfio_ap has no show_description
 * (mdev_types_core_is_visible).
 * @kernel drivers/vfio/mdev/mdev_sysfs.c mdev_types_core_attrs[]
 */
import type { MdevCore } from '../../model/mdev/mdev-core.js';
import { MDEV_TYPE } from '../../model/mdev/mdev-core.js';
import { ro, wo, type AttrGroup } from '../attr.js';

export const mdevTypeAttrs: AttrGroup<MdevCore> = {
  attrs: [
    wo('create', async (core, buf, count) => {
      await core.create(buf, count);
    }),
    ro('available_instances', (core) => `${core.availableInstances}\n`),
    ro('device_api', () => `${MDEV_TYPE.deviceApi}\n`),
    ro('name', () => `${MDEV_TYPE.name}\n`),
  ],
};
