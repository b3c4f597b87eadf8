/**
 * The per-mdev assignment files: assign_/unassign_ adapter, domain, control_domain and ap_config.
 * Each verb parses where the kernel parses (under the update locks), in the kernel's order.
 * @kernel vfio_ap_ops.c assign_adapter_store … ap_config_store, vfio_ap_mdev_validate_masks,
 *         vfio_ap_mdev_verify_no_sharing
 */
import { Errno, KernelError } from '../errno.js';
import { inTask } from '../kernel.js';
import type { LockSite } from '../lock/lockdep.js';
import { ApMask } from '../ap/ap-mask.js';
import { queueName, mkqid } from '../ap/apqn.js';
import type { Parse } from '../ap/ap-bus.js';
import type { MatrixDev } from './matrix-dev.js';
import { matrixCopy, type MatrixMdev } from './matrix-mdev.js';
import { withAssignLocks, withUpdateLocksForMdev } from './update-locks.js';
import { filterCdoms, filterMatrix } from './filter.js';
import { hotUnplugAdapters, hotUnplugDomains, linkAdapter, linkDomain, resetQueuesForApids, updateGuestApcb } from './hotplug.js';

type Masks = { apm: ApMask; aqm: ApMask; adm: ApMask };

function logApqns(md: MatrixDev, prefix: string, apm: ApMask, aqm: ApMask, line: (apqn: string) => string): void {
  const domains = aqm.ids();
  for (const apid of apm.ids()) for (const apqi of domains) md.k.events.kernel('warn', prefix + line(queueName(mkqid(apid, apqi))));
}

/**
 * Walk the mdev list (newest first); the first other mdev whose apm and aqm both intersect makes it
 * fail with EADDRINUSE after one log line per shared APQN. With no assignee this is the in-use
 * question an apmask/aqmask write asks.
 * @kernel vfio_ap_mdev_verify_no_sharing (+ vfio_ap_mdev_log_sharing_err / _log_in_use_err)
 */
export function verifyNoSharing(md: MatrixDev, assignee: MatrixMdev | undefined, apm: ApMask, aqm: ApMask): void {
  for (const other of md.mdevList) {
    if (other === assignee) continue;
    const sApm = apm.and(other.matrix.apm);
    if (sApm.isEmpty()) continue;
    const sAqm = aqm.and(other.matrix.aqm);
    if (sAqm.isEmpty()) continue;
    if (assignee) {
      logApqns(md, assignee.devPrefix, sApm, sAqm, (q) => `Userspace may not assign queue ${q} to mdev: already assigned to ${other.uuid}`);
      throw new KernelError(Errno.EADDRINUSE, `APQNs already assigned to ${other.uuid}`);
    }
    logApqns(md, other.devPrefix, sApm, sAqm, (q) => `Can not reserve queue ${q} for host driver: in use by mdev`);
    throw new KernelError(Errno.EADDRINUSE, `APQNs in use by ${other.uuid}`);
  }
}

/** Throws EADDRNOTAVAIL (an APQN reserved for the default drivers), EADDRINUSE (shared). @kernel vfio_ap_mdev_validate_masks */
async function validateMasks(md: MatrixDev, mdev: MatrixMdev, site: LockSite): Promise<void> {
  if (await md.bus.apqnInMatrixOwnedByDefDrv(mdev.matrix.apm, mdev.matrix.aqm, site)) {
    throw new KernelError(Errno.EADDRNOTAVAIL, 'an APQN of the new matrix is reserved for the host (apmask/aqmask)');
  }
  verifyNoSharing(md, mdev, mdev.matrix.apm, mdev.matrix.aqm);
}

/** Filter again; if the guest's view changed, push it and reset adapters that were filtered out. */
async function refilter(md: MatrixDev, mdev: MatrixMdev): Promise<void> {
  const { changed, apmFiltered } = filterMatrix(md, mdev);
  if (!changed) return;
  updateGuestApcb(md, mdev);
  await resetQueuesForApids(md, mdev, apmFiltered);
}

type Dim = 'adapter' | 'domain';

function checkMax(id: number, max: number, what: string): void {
  if (id > max) throw new KernelError(Errno.ENODEV, `${what} ${id} is above the limit ${max}`);
}

/**
 * assign_adapter / assign_domain. Throws: EINVAL, ERANGE (parse), ENODEV (above apm_max/aqm_max),
 * EADDRNOTAVAIL (an APQN of the new matrix is reserved for the host), EADDRINUSE (another mdev has
 * an APQN of the new matrix). Assigning an assigned id succeeds without re-validation.
 * @kernel vfio_ap_ops.c assign_adapter_store, assign_domain_store
 */
export function assignStore(md: MatrixDev, mdev: MatrixMdev, dim: Dim, parse: Parse<number>): Promise<void> {
  const file = `assign_${dim}`;
  const site = { op: `write ${file} (${mdev.uuid})`, fn: `${file}_store` };
  return inTask(md.k, site.op, () =>
    withAssignLocks(md, mdev, site, async () => {
      const id = parse();
      const m = mdev.matrix;
      const mask = dim === 'adapter' ? m.apm : m.aqm;
      checkMax(id, dim === 'adapter' ? m.apmMax : m.aqmMax, dim);
      if (mask.test(id)) return;
      mask.set(id);
      try {
        await validateMasks(md, mdev, site);
      } catch (e) {
        mask.clear(id);
        throw e;
      }
      if (dim === 'adapter') linkAdapter(md, mdev, id);
      else linkDomain(md, mdev, id);
      await refilter(md, mdev);
    }),
  );
}

/**
 * unassign_adapter / unassign_domain. Throws EINVAL, ERANGE, ENODEV only; a running guest does not
 * block it. Unassigning an unassigned id succeeds.
 * @kernel vfio_ap_ops.c unassign_adapter_store, unassign_domain_store
 */
export function unassignStore(md: MatrixDev, mdev: MatrixMdev, dim: Dim, parse: Parse<number>): Promise<void> {
  const file = `unassign_${dim}`;
  const site = { op: `write ${file} (${mdev.uuid})`, fn: `${file}_store` };
  return inTask(md.k, site.op, () =>
    withUpdateLocksForMdev(md, mdev, site, async () => {
      const id = parse();
      const m = mdev.matrix;
      const mask = dim === 'adapter' ? m.apm : m.aqm;
      checkMax(id, dim === 'adapter' ? m.apmMax : m.aqmMax, dim);
      if (!mask.test(id)) return;
      mask.clear(id);
      if (dim === 'adapter') await hotUnplugAdapters(md, mdev, ApMask.fromIds([id]));
      else await hotUnplugDomains(md, mdev, ApMask.fromIds([id]));
    }),
  );
}

/**
 * assign_control_domain. No reservation or sharing check. Throws EINVAL, ERANGE, ENODEV.
 * @kernel vfio_ap_ops.c assign_control_domain_store
 */
export function assignControlDomainStore(md: MatrixDev, mdev: MatrixMdev, parse: Parse<number>): Promise<void> {
  const site = { op: `write assign_control_domain (${mdev.uuid})`, fn: 'assign_control_domain_store' };
  return inTask(md.k, site.op, () =>
    withUpdateLocksForMdev(md, mdev, site, async () => {
      const id = parse();
      checkMax(id, mdev.matrix.admMax, 'control domain');
      if (mdev.matrix.adm.test(id)) return;
      mdev.matrix.adm.set(id);
      if (filterCdoms(md, mdev)) updateGuestApcb(md, mdev);
    }),
  );
}

/** @kernel vfio_ap_ops.c unassign_control_domain_store */
export function unassignControlDomainStore(md: MatrixDev, mdev: MatrixMdev, parse: Parse<number>): Promise<void> {
  const site = { op: `write unassign_control_domain (${mdev.uuid})`, fn: 'unassign_control_domain_store' };
  return inTask(md.k, site.op, () =>
    withUpdateLocksForMdev(md, mdev, site, async () => {
      const id = parse();
      checkMax(id, mdev.matrix.admMax, 'control domain');
      if (!mdev.matrix.adm.test(id)) return;
      mdev.matrix.adm.clear(id);
      if (mdev.shadowApcb.adm.test(id)) {
        mdev.shadowApcb.adm.clear(id);
        updateGuestApcb(md, mdev);
      }
    }),
  );
}

/** @kernel vfio_ap_ops.c ap_matrix_overflow_check */
function overflowCheck(mdev: MatrixMdev): void {
  const m = mdev.matrix;
  const over = (mask: ApMask, max: number) => mask.ids().some((b) => b > max);
  if (over(m.apm, m.apmMax) || over(m.aqm, m.aqmMax) || over(m.adm, m.admMax)) {
    throw new KernelError(Errno.ENODEV, 'ap_config: a set bit is above the mdev limits');
  }
}

/**
 * ap_config write: replace all three masks at once. Throws EINVAL (fewer than three fields or a
 * bad field), EADDRNOTAVAIL / EADDRINUSE (validation, before the range check), ENODEV (a bit above
 * the limits). On any error the old masks are restored.
 * @kernel vfio_ap_ops.c ap_config_store
 */
export function apConfigStore(md: MatrixDev, mdev: MatrixMdev, parse: Parse<Masks>): Promise<void> {
  const site = { op: `write ap_config (${mdev.uuid})`, fn: 'ap_config_store' };
  return inTask(md.k, site.op, () =>
    withAssignLocks(md, mdev, site, async () => {
      const mOld: Masks = { apm: mdev.matrix.apm.clone(), aqm: mdev.matrix.aqm.clone(), adm: mdev.matrix.adm.clone() };
      const mNew = parse();
      const removedApm = mOld.apm.andNot(mNew.apm);
      const removedAqm = mOld.aqm.andNot(mNew.aqm);
      const addedApm = mNew.apm.andNot(mOld.apm);
      const addedAqm = mNew.aqm.andNot(mOld.aqm);
      matrixCopy(mdev.matrix, mNew);
      try {
        await validateMasks(md, mdev, site);
        overflowCheck(mdev);
      } catch (e) {
        matrixCopy(mdev.matrix, mOld);
        throw e;
      }
      // Unplug with the old bitmaps in place, link with the new ones (as the kernel does).
      matrixCopy(mdev.matrix, mOld);
      await hotUnplugAdapters(md, mdev, removedApm);
      await hotUnplugDomains(md, mdev, removedAqm);
      matrixCopy(mdev.matrix, mNew);
      for (const apid of addedApm.ids()) linkAdapter(md, mdev, apid);
      for (const apqi of addedAqm.ids()) linkDomain(md, mdev, apqi);
      const { changed, apmFiltered } = filterMatrix(md, mdev);
      const cdomsChanged = filterCdoms(md, mdev);
      if (changed || cdomsChanged) {
        updateGuestApcb(md, mdev);
        await resetQueuesForApids(md, mdev, apmFiltered);
      }
    }),
  );
}
