/**
 * Reading an mdev's matrix or shadow under mdevs_lock, as the show functions do; returns a copy.
 * Outside any task and with the lock free (a plain `cat`, nearly always) the lock is taken and
 * released in this call, as mutex_lock does without sleeping, and the copy comes back at once.
 * @kernel vfio_ap_ops.c matrix_show, guest_matrix_show, control_domains_show
 */
import { inTask } from '../kernel.js';
import type { MatrixDev } from './matrix-dev.js';
import type { ApMatrix, MatrixMdev } from './matrix-mdev.js';

export function readMatrix(md: MatrixDev, mdev: MatrixMdev, which: 'matrix' | 'shadowApcb', fn: string): ApMatrix | Promise<ApMatrix> {
  const site = { op: `read ${fn.replace(/_show$/, '')} (${mdev.uuid})`, fn };
  const copy = (): ApMatrix => {
    const m = mdev[which];
    return { apm: m.apm.clone(), aqm: m.aqm.clone(), adm: m.adm.clone(), apmMax: m.apmMax, aqmMax: m.aqmMax, admMax: m.admMax };
  };
  if (!md.k.lockdep.currentTask()) {
    const now = md.k.lockdep.runTaskSync(site.op, () => {
      if (!md.mdevsLock.lockNow(site)) return undefined;
      try {
        return copy();
      } finally {
        md.mdevsLock.unlock();
      }
    });
    if (now) return now;
  }
  return inTask(md.k, site.op, async () => {
    await md.mdevsLock.lock(site);
    try {
      return copy();
    } finally {
      md.mdevsLock.unlock();
    }
  });
}
