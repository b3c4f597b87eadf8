/**
 * An AP queue device (`/sys/devices/ap/cardXX/XX.YYYY`).
 * @kernel ap_queue.c struct ap_queue; ap_bus.h enum ap_dev_state, enum ap_sm_state
 */
import { queueName, type Apqn, qidCard, qidQueue } from './apqn.js';
import type { ApCard } from './ap-card.js';
import type { ApDriver } from './ap-driver.js';

/** @kernel ap_bus.h enum ap_dev_state */
export type ApDevState = 'uninitiated' | 'operating' | 'shutdown' | 'error';
/** @kernel ap_bus.h enum ap_sm_state (the states the sysfs `reset` file distinguishes) */
export type ApSmState = 'reset_start' | 'reset_wait' | 'setirq_wait' | 'idle' | 'working' | 'queue_full' | 'assoc_wait';

/** vfio_ap's per-queue object, present while the queue is bound to vfio_ap. @kernel vfio_ap_private.h struct vfio_ap_queue */
export interface VfioApQueue {
  readonly apqn: Apqn;
  /** The mdev this queue is linked to (in its qtable), if any. */
  matrixMdev: { readonly uuid: string } | undefined;
  /** Response code of the last reset (ZAPQ); 0 at probe. */
  resetStatus: number;
}

export class ApQueue {
  readonly kind = 'queue' as const;
  driver: ApDriver | undefined;
  devState: ApDevState = 'uninitiated';
  smState: ApSmState = 'reset_start';
  /** Adapter interruption enabled for this queue by the AP bus state machine. */
  interrupt = false;
  requestCount = 0n;
  /** zcrypt's per-queue online flag while bound to cex4queue (zcrypt_queue.c). */
  zcryptOnline = true;
  /** Present iff bound to vfio_ap (the `status` attribute exists iff this is set). */
  vfio: VfioApQueue | undefined;

  constructor(
    readonly qid: Apqn,
    readonly card: ApCard,
    public config: boolean,
    public chkstop: boolean,
  ) {}

  get apid(): number {
    return qidCard(this.qid);
  }
  get apqi(): number {
    return qidQueue(this.qid);
  }
  get name(): string {
    return queueName(this.qid);
  }
}
