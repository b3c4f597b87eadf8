/**
 * A running Host's whole state as a Topology: the host configuration as the SE/HMC left it, the
 * masks, every binding and queue state that differs from what a boot would give, the mdevs with
 * their assignments and guest_matrix (oldest first, so that a boot creates them in the same
 * order), the guests with the mdevs they have open, zcrypt's nodes and the bus counters.
 * Booting the result (Host.fromTopology, which ends with model/state-restore.ts) shows the same
 * tree. `ctl save` writes it; `apsysfs mount --state FILE` keeps it across restarts.
 *
 * Pure: reads the model in one synchronous pass, takes no lock (like `ctl show`), so the state is
 * consistent between two event-loop turns. Not kept: the event log, lockdep's history, the
 * eventfd counters, and a removal that is waiting for its guest (the mdev is saved as it is).
 */
import type { Host } from './host.js';
import type { ApDevState, ApQueue, ApSmState } from './ap/ap-queue.js';
import { parseTopology, type QueueDriver, type Topology } from './topology.js';

/** Every field of a queue a saved state can describe. */
export interface QueueState {
  readonly driver: QueueDriver;
  readonly devState: ApDevState;
  readonly smState: ApSmState;
  readonly interrupt: boolean;
  readonly config: boolean;
  readonly chkstop: boolean;
  readonly online: boolean;
  /** vfio_ap's last reset response; only for a queue bound to vfio_ap. */
  readonly resetStatus: number | undefined;
}

/**
 * The state the boot scan gives a queue: bound by the masks (ap_device_probe's gate), the card's
 * config and chkstop, initiated if usable (ap_queue_init_state), online, last reset normal.
 */
export function defaultQueueState(o: { reserved: boolean; config: boolean; chkstop: boolean; interrupts: boolean }): QueueState {
  const usable = o.config && !o.chkstop;
  const driver: QueueDriver = o.reserved ? 'cex4queue' : 'vfio_ap';
  return {
    driver,
    devState: usable ? 'operating' : 'uninitiated',
    smState: usable ? 'idle' : 'reset_start',
    interrupt: usable && o.interrupts,
    config: o.config,
    chkstop: o.chkstop,
    online: true,
    resetStatus: driver === 'vfio_ap' ? 0 : undefined,
  };
}

export function queueState(q: ApQueue): QueueState {
  return {
    driver: (q.driver?.name ?? 'none') as QueueDriver,
    devState: q.devState,
    smState: q.smState,
    interrupt: q.interrupt,
    config: q.config,
    chkstop: q.chkstop,
    online: q.zcryptOnline,
    resetStatus: q.vfio?.resetStatus,
  };
}

const ids = (m: { ids(): number[] }): number[] => m.ids();

/** The fields of `actual` that differ from `dflt` (resetStatus only while bound to vfio_ap). */
function queueDiff(actual: QueueState, dflt: QueueState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['driver', 'devState', 'smState', 'interrupt', 'config', 'chkstop', 'online'] as const) {
    if (actual[key] !== dflt[key]) out[key] = actual[key];
  }
  if (actual.resetStatus !== undefined && actual.resetStatus !== 0) out.resetStatus = actual.resetStatus;
  return out;
}

/** The state as a topology file's JSON (unnormalised: plain id lists, masks as `0x` + 64 digits). */
export function captureFile(host: Host): Record<string, unknown> {
  const { bus, hw, matrixDev: md } = host;
  const t = host.topology;
  const adapters = [...hw.adapters.values()]
    .sort((a, b) => a.id - b.id)
    .map((a) => {
      const card = bus.cards.get(a.id);
      return {
        id: a.id,
        type: a.typeName,
        configured: a.configured,
        chkstop: a.chkstop,
        online: card ? card.zcryptOnline : a.online,
        rawHwtype: a.rawHwtype,
        depth: a.depth,
        functions: a.functions,
        maxMsgSize: a.maxMsgSize,
        ...(a.mode !== 'accel' && { serialnr: a.serialnr }),
        ...(card && !card.driver && { driver: 'none' }),
      };
    });
  const queues: Record<string, unknown>[] = [];
  for (const q of bus.queues()) {
    const hwa = hw.adapters.get(q.apid);
    const dflt = defaultQueueState({
      reserved: bus.ownedByDefDrv(q.apid, q.apqi),
      config: hwa?.configured ?? q.card.config,
      chkstop: hwa?.chkstop ?? q.card.chkstop,
      interrupts: bus.interrupts,
    });
    const diff = queueDiff(queueState(q), dflt);
    if (Object.keys(diff).length) queues.push({ id: q.name, ...diff });
  }
  return {
    qci: hw.qciAvailable,
    apxa: t.apxa,
    features: [...bus.features],
    ...(t.apxa && { maxAdapterId: bus.maxAdapterId, maxDomainId: bus.maxDomainId }),
    adapters,
    usageDomains: ids(hw.usageDomains),
    controlDomains: ids(hw.controlDomains),
    apmask: bus.apPerms.apm.toString(),
    aqmask: bus.apPerms.aqm.toString(),
    apDomain: bus.apDomainIndex,
    configTime: bus.configTime,
    pollThread: bus.pollThread,
    pollTimeout: bus.pollTimeout,
    interrupts: bus.interrupts,
    // mdev_list is newest first; a boot creates them in file order.
    mdevs: [...md.mdevList].reverse().map((m) => ({
      uuid: m.uuid,
      adapters: ids(m.matrix.apm),
      domains: ids(m.matrix.aqm),
      controlDomains: ids(m.matrix.adm),
      guestMatrix: { adapters: ids(m.shadowApcb.apm), domains: ids(m.shadowApcb.aqm), controlDomains: ids(m.shadowApcb.adm) },
      ...(m.iommuGroup !== undefined && { iommuGroup: m.iommuGroup }),
    })),
    scans: Number(bus.scanCount),
    driversAutoprobe: bus.drivers_autoprobe,
    queues,
    guests: [...host.kvms.values()].map((kvm) => {
      const mdev = md.mdevList.find((m) => m.kvm === kvm);
      return { name: kvm.name, ...(mdev && { mdev: mdev.uuid }) };
    }),
    zcryptNodes: [...host.zcrypt.nodes.values()].map((n) => ({
      name: n.name,
      minor: n.minor,
      ioctlmask: n.perms.ioctlm.toString(),
      apmask: n.perms.apm.toString(),
      aqmask: n.perms.aqm.toString(),
      admask: n.perms.adm.toString(),
    })),
  };
}

/**
 * The whole state as a validated Topology. Throws KernelError(EINVAL) only if the model reached a
 * state the file format refuses, which would be a bug in one of the two.
 */
export function captureTopology(host: Host): Topology {
  return parseTopology(captureFile(host));
}
