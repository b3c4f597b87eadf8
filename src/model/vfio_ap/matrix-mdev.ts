/**
 * One vfio_ap mediated device: what the administrator assigned (`matrix`), the filtered view that
 * is or would be in the guest's CRYCB (`shadowApcb`), the guest it is attached to, and the queues
 * linked to it.
 * @kernel vfio_ap_private.h struct ap_matrix_mdev, struct ap_matrix
 */
import { ApMask } from '../ap/ap-mask.js';
import type { Apqn } from '../ap/apqn.js';
import type { VfioApQueue } from '../ap/ap-queue.js';
import type { Kvm } from '../kvm/guest.js';

/** @kernel vfio_ap_private.h struct ap_matrix */
export interface ApMatrix {
  apm: ApMask;
  aqm: ApMask;
  adm: ApMask;
  readonly apmMax: number;
  readonly aqmMax: number;
  readonly admMax: number;
}

export function emptyMatrix(apmMax: number, aqmMax: number, admMax: number): ApMatrix {
  return { apm: ApMask.zero(), aqm: ApMask.zero(), adm: ApMask.zero(), apmMax, aqmMax, admMax };
}

/** @kernel vfio_ap_ops.c vfio_ap_matrix_copy (the bitmaps only) */
export function matrixCopy(dst: ApMatrix, src: { apm: ApMask; aqm: ApMask; adm: ApMask }): void {
  dst.apm = src.apm.clone();
  dst.aqm = src.aqm.clone();
  dst.adm = src.adm.clone();
}

/** A mask triple as id lists (ascending): what dumps, pictures and the control channel show. */
export interface MatrixIds {
  readonly adapters: readonly number[];
  readonly domains: readonly number[];
  readonly controlDomains: readonly number[];
}

/** The ids of a matrix, a shadow APCB, a guest's APCB or the host configuration. */
export function matrixIds(m: { apm: ApMask; aqm: ApMask; adm: ApMask }): MatrixIds {
  return { adapters: m.apm.ids(), domains: m.aqm.ids(), controlDomains: m.adm.ids() };
}

export type MdevState = 'active' | 'removing' | 'removed';

export class MatrixMdev {
  readonly matrix: ApMatrix;
  readonly shadowApcb: ApMatrix;
  kvm: Kvm | undefined;
  /** Queues bound to vfio_ap whose APQN is in matrix.apm x matrix.aqm. */
  readonly qtable = new Map<Apqn, VfioApQueue>();
  /** Resources added to the host configuration, waiting for the end of the scan (§14.4). */
  apmAdd = ApMask.zero();
  aqmAdd = ApMask.zero();
  admAdd = ApMask.zero();
  state: MdevState = 'active';
  /** Its IOMMU group's number while it is registered with VFIO (vfio/iommu-group-ida.ts). */
  iommuGroup: number | undefined;
  /** QEMU registered a request eventfd (VFIO_DEVICE_SET_IRQS index 0). */
  reqTrigger = false;
  /** QEMU registered a config-change eventfd (index 1). */
  cfgChgTrigger = false;
  /** How often the config-change eventfd was signalled (what the guest's QEMU would see). */
  cfgChgSignals = 0;

  constructor(
    readonly uuid: string,
    apmMax: number,
    aqmMax: number,
    admMax: number,
  ) {
    this.matrix = emptyMatrix(apmMax, aqmMax, admMax);
    this.shadowApcb = emptyMatrix(apmMax, aqmMax, admMax);
  }

  /** dev_warn prefix: `vfio_ap_mdev <uuid>: ` (the mdev-bus driver's name, then the device). */
  get devPrefix(): string {
    return `vfio_ap_mdev ${this.uuid}: `;
  }
}
