/**
 * Linking queues to mdevs, plugging and unplugging resources in a running guest, and queue resets.
 * Every function here expects the caller to hold the update locks (mdevs_lock at least).
 * @kernel vfio_ap_ops.c vfio_ap_mdev_link_*, vfio_ap_mdev_unlink_*, vfio_ap_mdev_hot_unplug_*,
 *         vfio_ap_mdev_update_guest_apcb, vfio_ap_mdev_reset_queue, reset_queues_for_apids
 */
import type { ApMask } from '../ap/ap-mask.js';
import { mkqid, queueName } from '../ap/apqn.js';
import type { VfioApQueue } from '../ap/ap-queue.js';
import type { MatrixDev } from './matrix-dev.js';
import type { MatrixMdev } from './matrix-mdev.js';

/** @kernel vfio_ap_mdev_link_queue */
export function linkQueue(mdev: MatrixMdev, q: VfioApQueue): void {
  if (mdev.qtable.has(q.apqn)) return;
  q.matrixMdev = mdev;
  mdev.qtable.set(q.apqn, q);
}

/** @kernel vfio_ap_unlink_queue_fr_mdev + vfio_ap_unlink_mdev_fr_queue */
export function unlinkQueue(mdev: MatrixMdev, q: VfioApQueue): void {
  mdev.qtable.delete(q.apqn);
  q.matrixMdev = undefined;
}

/** The vfio_ap queue object of (apid, apqi) if that queue device exists and is bound to vfio_ap. */
export function vfioQueue(md: MatrixDev, apid: number, apqi: number): VfioApQueue | undefined {
  return md.bus.queue(apid, apqi)?.vfio;
}

/** @kernel vfio_ap_mdev_link_adapter: link (apid, q) for every assigned domain q bound to vfio_ap. */
export function linkAdapter(md: MatrixDev, mdev: MatrixMdev, apid: number): void {
  for (const apqi of mdev.matrix.aqm.ids()) {
    const q = vfioQueue(md, apid, apqi);
    if (q) linkQueue(mdev, q);
  }
}

/** @kernel vfio_ap_mdev_link_domain */
export function linkDomain(md: MatrixDev, mdev: MatrixMdev, apqi: number): void {
  for (const apid of mdev.matrix.apm.ids()) {
    const q = vfioQueue(md, apid, apqi);
    if (q) linkQueue(mdev, q);
  }
}

/**
 * Push the shadow APCB into the guest (only when one is attached) and signal the config-change
 * eventfd. Requires kvm->lock (kvm_arch_crypto_set_masks asserts it).
 * @kernel vfio_ap_mdev_update_guest_apcb
 */
export function updateGuestApcb(md: MatrixDev, mdev: MatrixMdev): void {
  if (!mdev.kvm) return;
  mdev.kvm.setMasks(mdev.shadowApcb.apm, mdev.shadowApcb.aqm, mdev.shadowApcb.adm);
  signalCfgChg(mdev);
}

export function signalCfgChg(mdev: MatrixMdev): void {
  if (mdev.cfgChgTrigger) mdev.cfgChgSignals++;
}

/**
 * ZAPQ the queue and remember its response. Normal/in-progress/busy answers complete through the
 * reset worker (which the caller waits for); deconfigured/checkstopped free the interrupt
 * resources at once; anything else is a WARN and leaves the queue non-passable (§12).
 * @kernel vfio_ap_mdev_reset_queue, apq_reset_check
 */
export async function resetQueue(md: MatrixDev, q: VfioApQueue): Promise<void> {
  const rc = md.bus.hw.queueResponse(q.apqn >> 8, q.apqn & 0xff);
  q.resetStatus = rc;
  if (rc === 0 || rc === 3 || rc === 4) return;
  md.k.events.kernel('warn', `WARNING: at drivers/s390/crypto/vfio_ap_ops.c vfio_ap_mdev_reset_queue: PQAP/ZAPQ for ${queueName(q.apqn)} failed with invalid rc=${rc}`);
}

/** Reset a list of queues and wait for all of them. @kernel vfio_ap_mdev_reset_qlist */
export async function resetQlist(md: MatrixDev, qlist: readonly VfioApQueue[]): Promise<void> {
  for (const q of qlist) await resetQueue(md, q);
}

/** Reset the linked queues (apid, q ∈ shadow.aqm) of adapters the filter took away. @kernel reset_queues_for_apids */
export async function resetQueuesForApids(md: MatrixDev, mdev: MatrixMdev, apm: ApMask): Promise<void> {
  const qlist: VfioApQueue[] = [];
  const domains = mdev.shadowApcb.aqm.ids();
  for (const apid of apm.ids()) {
    for (const apqi of domains) {
      const q = mdev.qtable.get(mkqid(apid, apqi));
      if (q) qlist.push(q);
    }
  }
  await resetQlist(md, qlist);
}

/**
 * Unplug adapters or domains: unlink their queues, collect those that were in the guest's view for
 * a reset, drop them from the shadow, update the guest, reset, then let the queues forget the mdev.
 * The kernel writes this twice, once per dimension; one body serves both here.
 * @kernel vfio_ap_mdev_hot_unplug_adapters / _domains (+ vfio_ap_mdev_unlink_adapter / _domain)
 */
async function hotUnplug(md: MatrixDev, mdev: MatrixMdev, dim: 'apm' | 'aqm', ids: ApMask): Promise<void> {
  const qlist: VfioApQueue[] = [];
  let apcbUpdate = false;
  const s = mdev.shadowApcb;
  const other = dim === 'apm' ? mdev.matrix.aqm : mdev.matrix.apm;
  for (const id of ids.ids()) {
    for (const o of other.ids()) {
      const [apid, apqi] = dim === 'apm' ? [id, o] : [o, id];
      const q = mdev.qtable.get(mkqid(apid, apqi));
      if (!q) continue;
      mdev.qtable.delete(q.apqn);
      if (s.apm.test(apid) && s.aqm.test(apqi)) qlist.push(q);
      else q.matrixMdev = undefined;
    }
    if (s[dim].test(id)) {
      s[dim].clear(id);
      apcbUpdate = true;
    }
  }
  // Only update the APCB if needed, to avoid disturbing the guest.
  if (apcbUpdate) updateGuestApcb(md, mdev);
  await resetQlist(md, qlist);
  for (const q of qlist) q.matrixMdev = undefined;
}

/** @kernel vfio_ap_mdev_hot_unplug_adapters */
export const hotUnplugAdapters = (md: MatrixDev, mdev: MatrixMdev, apids: ApMask): Promise<void> => hotUnplug(md, mdev, 'apm', apids);

/** @kernel vfio_ap_mdev_hot_unplug_domains */
export const hotUnplugDomains = (md: MatrixDev, mdev: MatrixMdev, apqis: ApMask): Promise<void> => hotUnplug(md, mdev, 'aqm', apqis);
