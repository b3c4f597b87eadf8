/**
 * Reading an mdev's matrix or shadow under mdevs_lock, as the show functions do; returns a copy.
 * @kernel vfio_ap_ops.c matrix_show, guest_matrix_show, control_domains_show
 */
import { inTask } from '../kernel.js';
import type { MatrixDev } from './matrix-dev.js';
import type { ApMatrix, MatrixMdev } from './matrix-mdev.js';

export function readMatrix(md: MatrixDev, mdev: MatrixMdev, which: 'matrix' | 'shadowApcb', fn: string): Promise<ApMatrix> {
  const site = { op: `read ${fn.replace(/_show$/, '')} (${mdev.uuid})`, fn };
  return inTask(md.k, site.op, async () => {
    await md.mdevsLock.lock(site);
    try {
      const m = mdev[which];
      return { apm: m.apm.clone(), aqm: m.aqm.clone(), adm: m.adm.clone(), apmMax: m.apmMax, aqmMax: m.aqmMax, admMax: m.admMax };
    } finally {
      md.mdevsLock.unlock();
    }
  });
}
