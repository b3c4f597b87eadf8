/**
 * The documented errno set of every writable attribute: what write(2) on it may return besides
 * success, per the kernel function that handles it. docs/errno.md is the same table in prose; a
 * test keeps the two equal, and the fuzzers (test/fuzz/) check every answer against it.
 *
 * Keys are paths inside the mount with placeholders: `<driver>` an AP-bus driver (cex4card,
 * cex4queue, vfio_ap), `<card>` a card directory (card05), `<queue>` a queue directory
 * (05.0004), `<uuid>` an mdev, `<zcdn>` an additional zcrypt device node, `<group>` an IOMMU group.
 *
 * Not listed per attribute, because they do not depend on it: EACCES at open(2) for a file the
 * mode does not allow (kernfs_fop_open, even for root), ENODEV from write(2) on a file whose node
 * went away since it was opened (kernfs_get_active), EINTR/ERESTARTSYS where a lock is taken
 * interruptibly and a signal arrives (apmask/aqmask), EFAULT for a bad buffer.
 */
import { Errno } from '../model/errno.js';

export interface WriteErrnos {
  /** The errnos write(2) may return, sorted by number. Empty: the store never fails. */
  readonly errnos: readonly Errno[];
  /** The kernel function that decides (`file.c function`). */
  readonly kernel: string;
}

const { EAGAIN, EBUSY, EEXIST, EINTR, EINVAL, EIO, ENODEV, ENOENT, ENOMEM, ENOSPC, EOPNOTSUPP, ERANGE, EUSERS, EADDRINUSE, EADDRNOTAVAIL } = Errno;

const e = (kernel: string, ...errnos: Errno[]): WriteErrnos => ({ errnos: [...errnos].sort((a, b) => a - b), kernel });

/** kobject_synth_uevent: unknown action word or bad "UUID KEY=VALUE..." arguments; allocation. */
const UEVENT = (owner: string): WriteErrnos => e(`${owner} → lib/kobject_uevent.c kobject_synth_uevent`, EINVAL, ENOMEM);

export const WRITE_ERRNOS: Readonly<Record<string, WriteErrnos>> = {
  '/bus/ap/ap_domain': e('ap_bus.c ap_domain_store', EINVAL),
  '/bus/ap/config_time': e('ap_bus.c config_time_store', EINVAL),
  '/bus/ap/poll_thread': e('ap_bus.c poll_thread_store (kthread_run failure passes its errno)', EINVAL, ENOMEM),
  '/bus/ap/poll_timeout': e('ap_bus.c poll_timeout_store', EINVAL, ERANGE),
  '/bus/ap/apmask': e('ap_bus.c apmask_store', EINVAL, EBUSY, EINTR),
  '/bus/ap/aqmask': e('ap_bus.c aqmask_store', EINVAL, EBUSY, EINTR),
  '/bus/ap/scans': e('ap_bus.c scans_store'),
  '/bus/ap/drivers_autoprobe': e('drivers/base/bus.c drivers_autoprobe_store'),
  '/bus/ap/drivers_probe': e('drivers/base/bus.c drivers_probe_store', ENODEV),
  '/bus/ap/uevent': UEVENT('drivers/base/bus.c bus_uevent_store'),
  '/bus/ap/drivers/<driver>/bind': e('drivers/base/bus.c bind_store → dd.c device_driver_attach (probe errors passed on)', EAGAIN, ENOMEM, EBUSY, ENODEV),
  '/bus/ap/drivers/<driver>/unbind': e('drivers/base/bus.c unbind_store', ENODEV),
  '/bus/ap/drivers/<driver>/uevent': UEVENT('drivers/base/bus.c uevent_store (driver)'),
  '/bus/matrix/drivers_autoprobe': e('drivers/base/bus.c drivers_autoprobe_store'),
  '/bus/matrix/drivers_probe': e('drivers/base/bus.c drivers_probe_store', ENODEV),
  '/bus/matrix/uevent': UEVENT('drivers/base/bus.c bus_uevent_store'),
  '/bus/matrix/drivers/vfio_ap/uevent': UEVENT('drivers/base/bus.c uevent_store (driver)'),
  '/bus/mdev/drivers_autoprobe': e('drivers/base/bus.c drivers_autoprobe_store'),
  '/bus/mdev/drivers_probe': e('drivers/base/bus.c drivers_probe_store', ENODEV),
  '/bus/mdev/uevent': UEVENT('drivers/base/bus.c bus_uevent_store'),
  '/bus/mdev/drivers/vfio_ap_mdev/bind': e('drivers/base/bus.c bind_store → dd.c device_driver_attach', EAGAIN, ENOMEM, EBUSY, ENODEV),
  // EOPNOTSUPP is apsysfs's, not the kernel's: unbinding an mdev from vfio_ap_mdev is not simulated.
  '/bus/mdev/drivers/vfio_ap_mdev/unbind': e('drivers/base/bus.c unbind_store (+ apsysfs: not simulated)', ENODEV, EOPNOTSUPP),
  '/bus/mdev/drivers/vfio_ap_mdev/uevent': UEVENT('drivers/base/bus.c uevent_store (driver)'),
  '/devices/ap/uevent': UEVENT('drivers/base/core.c uevent_store'),
  '/devices/vfio_ap/uevent': UEVENT('drivers/base/core.c uevent_store'),
  '/devices/vfio_ap/matrix/uevent': UEVENT('drivers/base/core.c uevent_store'),
  '/devices/ap/<card>/request_count': e('ap_card.c request_count_store'),
  '/devices/ap/<card>/config': e('ap_card.c config_store (sclp_ap_configure/_deconfigure errors passed on)', EIO, ENOMEM, EINVAL, EOPNOTSUPP),
  '/devices/ap/<card>/online': e('zcrypt_card.c online_store', ENODEV, EINVAL),
  '/devices/ap/<card>/uevent': UEVENT('drivers/base/core.c uevent_store'),
  '/devices/ap/<card>/<queue>/request_count': e('ap_queue.c request_count_store'),
  '/devices/ap/<card>/<queue>/reset': e('ap_queue.c reset_store'),
  '/devices/ap/<card>/<queue>/online': e('zcrypt_queue.c online_store', ENODEV, EINVAL),
  '/devices/ap/<card>/<queue>/uevent': UEVENT('drivers/base/core.c uevent_store'),
  '/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create': e('mdev_sysfs.c create_store → mdev_core.c mdev_device_create', ENOMEM, EEXIST, ENODEV, EINVAL, EUSERS),
  '/devices/vfio_ap/matrix/<uuid>/assign_adapter': e('vfio_ap_ops.c assign_adapter_store', ENODEV, EINVAL, ERANGE, EADDRINUSE, EADDRNOTAVAIL),
  '/devices/vfio_ap/matrix/<uuid>/unassign_adapter': e('vfio_ap_ops.c unassign_adapter_store', ENODEV, EINVAL, ERANGE),
  '/devices/vfio_ap/matrix/<uuid>/assign_domain': e('vfio_ap_ops.c assign_domain_store', ENODEV, EINVAL, ERANGE, EADDRINUSE, EADDRNOTAVAIL),
  '/devices/vfio_ap/matrix/<uuid>/unassign_domain': e('vfio_ap_ops.c unassign_domain_store', ENODEV, EINVAL, ERANGE),
  '/devices/vfio_ap/matrix/<uuid>/assign_control_domain': e('vfio_ap_ops.c assign_control_domain_store', ENODEV, EINVAL, ERANGE),
  '/devices/vfio_ap/matrix/<uuid>/unassign_control_domain': e('vfio_ap_ops.c unassign_control_domain_store', ENODEV, EINVAL, ERANGE),
  '/devices/vfio_ap/matrix/<uuid>/ap_config': e('vfio_ap_ops.c ap_config_store', ENOMEM, ENODEV, EINVAL, EADDRINUSE, EADDRNOTAVAIL),
  '/devices/vfio_ap/matrix/<uuid>/remove': e('mdev_sysfs.c remove_store → mdev_core.c mdev_device_remove', EAGAIN, ENODEV, EINVAL),
  '/devices/vfio_ap/matrix/<uuid>/uevent': UEVENT('drivers/base/core.c uevent_store'),
  // A name clash in sysfs (a node called "create", or an automatic zcrypt_<minor> taken by a named node) fails device_register with EEXIST too.
  '/class/zcrypt/create': e('zcrypt_api.c zcdn_create_store → zcdn_create', EINTR, ENOMEM, EEXIST, ENOSPC),
  '/class/zcrypt/destroy': e('zcrypt_api.c zcdn_destroy_store → zcdn_destroy', ENOENT, EINTR),
  '/class/zcrypt/<zcdn>/ioctlmask': e('zcrypt_api.c ioctlmask_store → ap_bus.c ap_parse_mask_str', EINTR, ENOMEM, EINVAL),
  '/class/zcrypt/<zcdn>/apmask': e('zcrypt_api.c apmask_store → ap_bus.c ap_parse_mask_str', EINTR, ENOMEM, EINVAL),
  '/class/zcrypt/<zcdn>/aqmask': e('zcrypt_api.c aqmask_store → ap_bus.c ap_parse_mask_str', EINTR, ENOMEM, EINVAL),
  '/class/zcrypt/<zcdn>/admask': e('zcrypt_api.c admask_store → ap_bus.c ap_parse_mask_str', EINTR, ENOMEM, EINVAL),
  '/class/zcrypt/<zcdn>/uevent': UEVENT('drivers/base/core.c uevent_store'),
  // An mdev's group has no default domain: every write is refused before the type is parsed.
  '/kernel/iommu_groups/<group>/type': e('drivers/iommu/iommu.c iommu_group_store_type', EINVAL),
};

const PLACEHOLDER: Record<string, string> = {
  '<driver>': '(cex4card|cex4queue|vfio_ap)',
  '<card>': 'card[0-9a-f]{2}',
  '<queue>': '[0-9a-f]{2}\\.[0-9a-f]{4}',
  '<uuid>': '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
  '<zcdn>': '[^/]+',
  '<group>': '[0-9]+',
};

const MATCHERS: readonly [RegExp, string][] = Object.keys(WRITE_ERRNOS).map((key) => {
  const re = key
    .split(/(<[a-z]+>)/)
    .map((part) => PLACEHOLDER[part] ?? part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('');
  return [new RegExp(`^${re}$`), key];
});

/** The WRITE_ERRNOS key of a concrete path (`/devices/ap/card05/05.0004/online`), if it has one. */
export function writeErrnosKey(path: string): string | undefined {
  for (const [re, key] of MATCHERS) if (re.test(path)) return key;
  return undefined;
}
