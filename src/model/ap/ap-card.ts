/**
 * An AP card device (`/sys/devices/ap/cardXX`).
 * @kernel ap_card.c struct ap_card; zcrypt_card.c (the `online` state while bound to cex4card)
 */
import type { Apid } from './apqn.js';
import type { ApDriver } from './ap-driver.js';
import type { ApQueue } from './ap-queue.js';
import type { CardMode } from '../topology.js';

export class ApCard {
  readonly kind = 'card' as const;
  /** Queues of this card by APQI. */
  readonly queues = new Map<number, ApQueue>();
  driver: ApDriver | undefined;
  /** zcrypt's per-card online flag; meaningful while bound to cex4card (zcrypt_card.c online_store). */
  zcryptOnline = true;
  requestCount = 0n;

  constructor(
    readonly id: Apid,
    /** Compatible type, 10..14 = CEX4..CEX8 (`hwtype`). */
    readonly hwtype: number,
    readonly rawHwtype: number,
    readonly mode: CardMode,
    readonly typeName: string,
    readonly depth: number,
    readonly functions: number,
    readonly maxMsgSize: number,
    readonly serialnr: string,
    /** Configured (SCLP) state: `config`. */
    public config: boolean,
    public chkstop: boolean,
  ) {}

  get name(): string {
    return `card${this.id.toString(16).padStart(2, '0')}`;
  }
}
