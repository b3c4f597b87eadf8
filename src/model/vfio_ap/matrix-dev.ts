/**
 * The vfio_ap matrix device: the driver's copy of the host AP configuration, the list of mdevs
 * (newest first, as list_add puts them) and the two vfio_ap locks.
 * @kernel vfio_ap_private.h struct ap_matrix_dev; vfio_ap_drv.c vfio_ap_matrix_dev_create
 */
import type { KernelCtx } from '../kernel.js';
import { KernelMutex } from '../lock/kernel-mutex.js';
import { ApConfig } from '../ap/ap-config.js';
import type { ApBus } from '../ap/ap-bus.js';
import type { MatrixMdev } from './matrix-mdev.js';

export class MatrixDev {
  /** @kernel matrix_dev->info: refreshed by on_config_changed. */
  info: ApConfig;
  /** Newest first. @kernel matrix_dev->mdev_list */
  readonly mdevList: MatrixMdev[] = [];
  /** @kernel matrix_dev->guests_lock */
  readonly guestsLock: KernelMutex;
  /** @kernel matrix_dev->mdevs_lock */
  readonly mdevsLock: KernelMutex;
  /** mdev limits from QCI at driver init. @kernel vfio_ap_ops.c vfio_ap_matrix_init */
  readonly apmMax: number;
  readonly aqmMax: number;
  readonly admMax: number;

  constructor(
    readonly k: KernelCtx,
    readonly bus: ApBus,
    apxa: boolean,
  ) {
    this.info = bus.qci.clone();
    this.guestsLock = new KernelMutex(k.lockdep, 'matrix_dev->guests_lock');
    this.mdevsLock = new KernelMutex(k.lockdep, 'matrix_dev->mdevs_lock');
    this.apmMax = apxa ? bus.maxAdapterId : 63;
    this.aqmMax = apxa ? bus.maxDomainId : 15;
    this.admMax = apxa ? bus.maxDomainId : 15;
  }

  findMdev(uuid: string): MatrixMdev | undefined {
    return this.mdevList.find((m) => m.uuid === uuid);
  }

  /** The first mdev (list order) whose matrix holds the APQN. @kernel vfio_ap_ops.c vfio_ap_mdev_for_queue */
  mdevForApqn(apid: number, apqi: number): MatrixMdev | undefined {
    return this.mdevList.find((m) => m.matrix.apm.test(apid) && m.matrix.aqm.test(apqi));
  }
}
