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
  // The show itself, run with mdevs_lock held: a copy, then the unlock.
  const copyAndUnlock = (): ApMatrix => {
    try {
      const m = mdev[which];
      return { apm: m.apm.clone(), aqm: m.aqm.clone(), adm: m.adm.clone(), apmMax: m.apmMax, aqmMax: m.aqmMax, admMax: m.admMax };
    } finally {
      md.mdevsLock.unlock();
    }
  };
  if (!md.k.lockdep.currentTask()) {
    const now = md.k.lockdep.runTaskSync(site.op, () => (md.mdevsLock.lockNow(site) ? copyAndUnlock() : undefined));
    if (now) return now;
  }
  return inTask(md.k, site.op, async () => {
    await md.mdevsLock.lock(site);
    return copyAndUnlock();
  });
}
