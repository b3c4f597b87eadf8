/**
 * The `status` of a queue bound to vfio_ap.
 * @kernel vfio_ap_ops.c status_show (v6.19 takes guests_lock → mdevs_lock; v6.17 mdevs_lock only)
 */
import { inTask } from '../kernel.js';
import type { ApQueue } from '../ap/ap-queue.js';
import type { MatrixDev } from './matrix-dev.js';

export const AP_QUEUE_ASSIGNED = 'assigned';
export const AP_QUEUE_UNASSIGNED = 'unassigned';
export const AP_QUEUE_IN_USE = 'in use';

export function queueStatus(md: MatrixDev, q: ApQueue): Promise<string> {
  const site = { op: `read ${q.name}/status`, fn: 'status_show' };
  return inTask(md.k, site.op, async () => {
    await md.guestsLock.lock(site);
    await md.mdevsLock.lock(site);
    try {
      // The first mdev (list order) whose matrix holds the APQN, not the queue's link.
      const mdev = md.mdevForApqn(q.apid, q.apqi);
      if (!mdev) return `${AP_QUEUE_UNASSIGNED}\n`;
      const s = mdev.shadowApcb;
      if (mdev.kvm && s.apm.test(q.apid) && s.aqm.test(q.apqi)) return `${AP_QUEUE_IN_USE}\n`;
      return `${AP_QUEUE_ASSIGNED}\n`;
    } finally {
      md.mdevsLock.unlock();
      md.guestsLock.unlock();
    }
  });
}
