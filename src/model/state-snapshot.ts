/**
 * The state the stress runner's invariants are about, as plain data (`ctl` method `dump`): masks,
 * the configuration vfio_ap filters against, every queue's driver, link and last reset, every
 * mdev's matrix, guest_matrix and guest APCB, available_instances, lockdep's report count.
 *
 * Read in one synchronous pass without taking a lock (as `ctl show` reads), so one dump is one
 * consistent moment of the model, even while other tasks hold or wait for locks.
 */
import type { Host } from './host.js';
import { matrixIds, type MatrixIds } from './vfio_ap/matrix-mdev.js';

export interface SnapshotQueue {
  /** `05.0004` */
  readonly name: string;
  readonly apid: number;
  readonly apqi: number;
  /** The bound driver, null when unbound. */
  readonly driver: string | null;
  /** The mdev whose qtable holds the queue (vfio_ap queues only), else null. */
  readonly mdev: string | null;
  /** vfio_ap's last reset response code, null unless bound to vfio_ap. */
  readonly resetStatus: number | null;
}

export interface SnapshotMdev {
  readonly uuid: string;
  /** 'removing' while a removal waits for the guest to let go. */
  readonly state: 'active' | 'removing' | 'removed';
  readonly matrix: MatrixIds;
  readonly guestMatrix: MatrixIds;
  /** The attached guest and its APCB, null when none is attached. */
  readonly guest: string | null;
  readonly apcb: MatrixIds | null;
  /** Its IOMMU group's number; null once vfio_unregister_group_dev has returned (a removal past the guest). */
  readonly iommuGroup: number | null;
}

export interface StateSnapshot {
  readonly apmask: readonly number[];
  readonly aqmask: readonly number[];
  /** matrix_dev->info: the host configuration as vfio_ap last saw it. */
  readonly host: MatrixIds;
  /** What QCI reports now (the AP bus's copy). */
  readonly qci: MatrixIds;
  readonly queues: readonly SnapshotQueue[];
  /** Newest first, as matrix_dev->mdev_list. */
  readonly mdevs: readonly SnapshotMdev[];
  readonly availableInstances: number;
  readonly lockdep: { readonly reports: number; readonly kinds: Readonly<Record<string, number>> };
}

export function snapshotState(host: Host): StateSnapshot {
  const { bus, matrixDev: md } = host;
  const kinds: Record<string, number> = {};
  for (const r of host.lockdep.reports) kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
  return {
    apmask: bus.apPerms.apm.ids(),
    aqmask: bus.apPerms.aqm.ids(),
    host: matrixIds(md.info),
    qci: matrixIds(bus.qci),
    queues: [...bus.queues()].map((q) => ({
      name: q.name,
      apid: q.apid,
      apqi: q.apqi,
      driver: q.driver?.name ?? null,
      mdev: q.vfio?.matrixMdev?.uuid ?? null,
      resetStatus: q.vfio?.resetStatus ?? null,
    })),
    mdevs: md.mdevList.map((m) => ({
      uuid: m.uuid,
      state: m.state,
      matrix: matrixIds(m.matrix),
      guestMatrix: matrixIds(m.shadowApcb),
      guest: m.kvm?.name ?? null,
      apcb: m.kvm ? matrixIds(m.kvm.apcb) : null,
      iommuGroup: m.iommuGroup ?? null,
    })),
    availableInstances: host.mdevCore.availableInstances,
    lockdep: { reports: host.lockdep.reports.length, kinds },
  };
}
