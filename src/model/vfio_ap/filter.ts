/**
 * Deriving the guest's view (shadow APCB) from the assigned matrix.
 * @kernel vfio_ap_ops.c vfio_ap_mdev_filter_matrix, vfio_ap_mdev_filter_cdoms, _queue_passable
 */
import { ApMask } from '../ap/ap-mask.js';
import type { VfioApQueue } from '../ap/ap-queue.js';
import { mkqid } from '../ap/apqn.js';
import type { MatrixDev } from './matrix-dev.js';
import type { MatrixMdev } from './matrix-mdev.js';

/** A reset that answered normal (0), deconfigured (3) or checkstopped (4) leaves a queue passable. */
export function queuePassable(q: VfioApQueue | undefined): boolean {
  if (!q) return false;
  return q.resetStatus === 0 || q.resetStatus === 3 || q.resetStatus === 4;
}

/**
 * shadow = matrix ∩ host configuration, then drop every adapter that has a non-passable queue among
 * the shadow's domains: the AP architecture cannot leave out a single APQN, only whole adapters.
 * Returns whether the shadow's apm/aqm changed and which adapters were filtered out of a previous
 * shadow (the caller resets their queues).
 */
export function filterMatrix(md: MatrixDev, mdev: MatrixMdev): { changed: boolean; apmFiltered: ApMask } {
  const s = mdev.shadowApcb;
  const prevApm = s.apm;
  const prevAqm = s.aqm;
  const apmFiltered = ApMask.zero();
  s.apm = mdev.matrix.apm.and(md.info.apm);
  s.aqm = mdev.matrix.aqm.and(md.info.aqm);
  const domains = s.aqm.ids();
  for (const apid of s.apm.ids()) {
    for (const apqi of domains) {
      if (!queuePassable(mdev.qtable.get(mkqid(apid, apqi)))) {
        s.apm.clear(apid);
        if (prevApm.test(apid)) apmFiltered.set(apid);
        break;
      }
    }
  }
  return { changed: !prevApm.equals(s.apm) || !prevAqm.equals(s.aqm), apmFiltered };
}

/** shadow.adm = matrix.adm ∩ host control domains; returns whether it changed. */
export function filterCdoms(md: MatrixDev, mdev: MatrixMdev): boolean {
  const prev = mdev.shadowApcb.adm;
  mdev.shadowApcb.adm = mdev.matrix.adm.and(md.info.adm);
  return !prev.equals(mdev.shadowApcb.adm);
}
