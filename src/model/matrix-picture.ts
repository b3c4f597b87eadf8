/**
 * A picture of the AP matrix for `apsysfs ctl show`: for every APQN of the adapters × domains grid,
 * whether it is absent, reserved for the host, free for pass-through, assigned to an mdev, or in
 * a guest's APCB. Pure data; the text rendering lives with the CLI.
 *
 * Read without taking locks, in one synchronous pass: like looking at kernel memory with a
 * debugger, it cannot be held up by (or disturb) a task that holds vfio_ap's locks, which is
 * exactly when a picture is wanted.
 */
import type { Host } from './host.js';
import type { ApMask } from './ap/ap-mask.js';
import { matrixIds, type MatrixIds, type MatrixMdev } from './vfio_ap/matrix-mdev.js';

/**
 * - `absent`: no queue device (adapter or domain not in the host configuration) and no mdev;
 * - `host`: a queue reserved for the default drivers by apmask AND aqmask (zcrypt's);
 * - `free`: a queue not reserved (vfio_ap's) that no mdev holds;
 * - `assigned`: in the matrix of an mdev (present or not: over-provisioning), not in a guest;
 * - `in-use`: in the APCB of the guest attached to that mdev.
 */
export type ApqnState = 'absent' | 'host' | 'free' | 'assigned' | 'in-use';

export const APQN_STATES: readonly ApqnState[] = ['absent', 'host', 'free', 'assigned', 'in-use'];

export interface PictureAdapter {
  readonly id: number;
  /** `CEX7C`...; null when the adapter is not in the host configuration. */
  readonly type: string | null;
  /** In the host configuration (QCI apm). */
  readonly inConfig: boolean;
}

export interface PictureDomain {
  readonly id: number;
  /** A usage domain of the host configuration (QCI aqm). */
  readonly usage: boolean;
  /** A control domain of the host configuration (QCI adm). */
  readonly control: boolean;
}

export interface PictureCell {
  readonly state: ApqnState;
  /** A queue device exists for the APQN. */
  readonly present: boolean;
  /** apmask and aqmask reserve it for the default drivers. */
  readonly reserved: boolean;
  /** The driver the queue device is bound to; null when absent or unbound. */
  readonly driver: string | null;
  /** The mdev whose matrix holds it (the first in list order, as `status` finds it). */
  readonly mdev: string | null;
  /** The guest whose APCB holds it. */
  readonly guest: string | null;
}

export interface PictureMdev {
  readonly uuid: string;
  /** The attached guest, or null. */
  readonly guest: string | null;
  /** What was assigned (`matrix`, `control_domains`). */
  readonly matrix: MatrixIds;
  /** The filtered view (`guest_matrix`). */
  readonly guestMatrix: MatrixIds;
  /** The attached guest's APCB, or null. */
  readonly apcb: MatrixIds | null;
}

export interface MatrixPicture {
  /** Rows: adapters in the host configuration, with a card device, or assigned to any mdev. */
  readonly adapters: readonly PictureAdapter[];
  /** Columns: usage domains of the host configuration or assigned (as domains or control domains) to any mdev. */
  readonly domains: readonly PictureDomain[];
  /** cells[row][column]. */
  readonly cells: readonly (readonly PictureCell[])[];
  /** Host control domains (QCI adm), including those that are not usage domains. */
  readonly controlDomains: readonly number[];
  /** Newest first, as the kernel lists them. */
  readonly mdevs: readonly PictureMdev[];
  /** Cells per state over the whole picture. */
  readonly counts: Readonly<Record<ApqnState, number>>;
}

export interface PictureOptions {
  /** Keep only these rows / columns (a zoom; counts cover what is kept). */
  readonly adapters?: ApMask;
  readonly domains?: ApMask;
}

export function matrixPicture(host: Host, opts: PictureOptions = {}): MatrixPicture {
  const bus = host.bus;
  const qci = bus.qci;
  const mdevs = host.matrixDev.mdevList;

  let rowMask = qci.apm.clone();
  for (const id of bus.cards.keys()) rowMask.set(id);
  let colMask = qci.aqm.clone();
  for (const m of mdevs) {
    rowMask = rowMask.or(m.matrix.apm);
    colMask = colMask.or(m.matrix.aqm).or(m.matrix.adm);
  }
  if (opts.adapters) rowMask = rowMask.and(opts.adapters);
  if (opts.domains) colMask = colMask.and(opts.domains);

  const adapters: PictureAdapter[] = rowMask.ids().map((id) => {
    const hw = bus.hw.adapters.get(id);
    const inConfig = qci.apm.test(id);
    return { id, type: inConfig && hw ? hw.typeName : bus.cards.get(id)?.typeName ?? null, inConfig };
  });
  const domains: PictureDomain[] = colMask.ids().map((id) => ({ id, usage: qci.aqm.test(id), control: qci.adm.test(id) }));

  const counts: Record<ApqnState, number> = { absent: 0, host: 0, free: 0, assigned: 0, 'in-use': 0 };
  const cells = adapters.map(({ id: apid }) =>
    domains.map(({ id: apqi }) => {
      const c = cell(host, mdevs, apid, apqi);
      counts[c.state]++;
      return c;
    }),
  );
  return {
    adapters,
    domains,
    cells,
    controlDomains: qci.adm.ids(),
    mdevs: mdevs.map(pictureMdev),
    counts,
  };
}

function cell(host: Host, mdevs: readonly MatrixMdev[], apid: number, apqi: number): PictureCell {
  const q = host.bus.queue(apid, apqi);
  const reserved = host.bus.ownedByDefDrv(apid, apqi);
  const mdev = mdevs.find((m) => m.matrix.apm.test(apid) && m.matrix.aqm.test(apqi));
  const kvm = mdev?.kvm;
  const inGuest = kvm !== undefined && kvm.apcb.apm.test(apid) && kvm.apcb.aqm.test(apqi);
  const state: ApqnState = inGuest ? 'in-use' : mdev ? 'assigned' : !q ? 'absent' : reserved ? 'host' : 'free';
  return {
    state,
    present: q !== undefined,
    reserved,
    driver: q?.driver?.name ?? null,
    mdev: mdev?.uuid ?? null,
    guest: inGuest ? kvm.name : null,
  };
}


function pictureMdev(m: MatrixMdev): PictureMdev {
  return {
    uuid: m.uuid,
    guest: m.kvm?.name ?? null,
    matrix: matrixIds(m.matrix),
    guestMatrix: matrixIds(m.shadowApcb),
    apcb: m.kvm ? matrixIds(m.kvm.apcb) : null,
  };
}
