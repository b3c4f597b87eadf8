/**
 * Per-mdev attributes, in the kernel's order, plus the mdev core's `remove`.
 * @kernel vfio_ap_ops.c vfio_ap_mdev_attrs[]; drivers/vfio/mdev/mdev_sysfs.c mdev_device_attrs[] (remove)
 */
import type { Host } from '../../model/host.js';
import type { MatrixMdev } from '../../model/vfio_ap/matrix-mdev.js';
import { apConfigStore, assignControlDomainStore, assignStore, unassignControlDomainStore, unassignStore } from '../../model/vfio_ap/assign.js';
import { readMatrix } from '../../model/vfio_ap/matrix-read.js';
import { mapMaybe } from '../maybe-async.js';
import { ro, rw, wo, type AttrGroup } from '../attr.js';
import { formatApConfig, formatControlDomains, formatMatrix, parseApConfig } from '../emit.js';
import { kstrtoul } from '../parse.js';

export function vfioApMdevGroups(host: Host): AttrGroup<MatrixMdev>[] {
  const md = host.matrixDev;
  const num = (buf: string) => () => kstrtoul(buf, 0);
  const attrs: AttrGroup<MatrixMdev> = {
    attrs: [
      wo('assign_adapter', (m, buf) => assignStore(md, m, 'adapter', num(buf))),
      wo('unassign_adapter', (m, buf) => unassignStore(md, m, 'adapter', num(buf))),
      wo('assign_domain', (m, buf) => assignStore(md, m, 'domain', num(buf))),
      wo('unassign_domain', (m, buf) => unassignStore(md, m, 'domain', num(buf))),
      wo('assign_control_domain', (m, buf) => assignControlDomainStore(md, m, num(buf))),
      wo('unassign_control_domain', (m, buf) => unassignControlDomainStore(md, m, num(buf))),
      rw('ap_config', (m) => formatApConfig(m.matrix.apm, m.matrix.aqm, m.matrix.adm), (m, buf) => apConfigStore(md, m, () => parseApConfig(buf))),
      ro('control_domains', (m) => mapMaybe(readMatrix(md, m, 'matrix', 'control_domains_show'), (x) => formatControlDomains(x.adm, x.admMax))),
      ro('matrix', (m) => mapMaybe(readMatrix(md, m, 'matrix', 'matrix_show'), (x) => formatMatrix(x.apm, x.aqm, x.apmMax, x.aqmMax))),
      ro('guest_matrix', (m) => mapMaybe(readMatrix(md, m, 'shadowApcb', 'guest_matrix_show'), (x) => formatMatrix(x.apm, x.aqm, x.apmMax, x.aqmMax))),
    ],
  };
  // mdev_sysfs.c remove_store; the file removes itself, so it is gone while a removal runs.
  const remove: AttrGroup<MatrixMdev> = {
    isVisible: (m) => m.state === 'active',
    attrs: [wo('remove', (m, buf) => host.mdevCore.remove(m, () => kstrtoul(buf, 0)))],
  };
  return [attrs, remove];
}
