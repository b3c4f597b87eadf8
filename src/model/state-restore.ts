/**
 * The last step of a boot from a saved state (model/state.ts): after the scan has bound every queue
 * by the masks and the mdevs are created and assigned, put back what a running system had and a
 * boot would not give it. Bindings change through the bus verbs (so vfio_ap links and unlinks its
 * queues as it would); the rest is set as saved: queue states, each mdev's guest_matrix, zcrypt's
 * nodes, the scan counter. Guests start last, so their APCB is the saved guest_matrix.
 *
 * A topology without saved-state fields changes nothing here: every queue already has the state
 * defaultQueueState describes.
 */
import type { Host } from './host.js';
import { ApMask } from './ap/ap-mask.js';
import { mkqid } from './ap/apqn.js';
import { ZcdnDevice } from './zcrypt/zcdn.js';
import { defaultQueueState, type QueueState } from './state.js';
import type { QueueSpec, Topology } from './topology.js';

/** Whether `t` carries anything beyond the machine at boot (an op line is logged then). */
function hasState(t: Topology): boolean {
  return (
    t.queues.length > 0 || t.guests.length > 0 || t.zcryptNodes.length > 0 || t.scans !== 1 || !t.driversAutoprobe ||
    t.mdevs.some((m) => m.guestMatrix || m.iommuGroup !== undefined) || t.adapters.some((a) => a.driver !== 'cex4card')
  );
}

export async function restoreState(host: Host): Promise<void> {
  const t = host.topology;
  if (!hasState(t)) return;
  const bus = host.bus;
  const specs = new Map<number, QueueSpec>(t.queues.map((q) => [mkqid(q.apid, q.apqi), q]));

  for (const a of t.adapters) {
    const card = bus.cards.get(a.id);
    if (card && a.driver === 'none' && card.driver) await bus.unbindStore(card.driver.name, card.name);
  }
  for (const q of [...bus.queues()]) {
    const want = specs.get(q.qid)?.driver;
    if (want === undefined || want === (q.driver?.name ?? 'none')) continue;
    if (q.driver) await bus.unbindStore(q.driver.name, q.name);
    if (want !== 'none') await bus.bindStore(want, q.name);
  }

  // Binding changes reset queues and unplug adapters; the saved values win.
  for (const q of bus.queues()) {
    const spec = specs.get(q.qid);
    const s: QueueState = {
      ...defaultQueueState({ reserved: bus.ownedByDefDrv(q.apid, q.apqi), config: q.card.config, chkstop: q.card.chkstop, interrupts: bus.interrupts }),
      ...spec,
    };
    q.devState = s.devState;
    q.smState = s.smState;
    q.interrupt = s.interrupt;
    q.config = s.config;
    q.chkstop = s.chkstop;
    q.zcryptOnline = s.online;
    if (q.vfio) q.vfio.resetStatus = spec?.resetStatus ?? 0;
  }
  for (const a of t.adapters) {
    const card = bus.cards.get(a.id);
    if (card) card.zcryptOnline = a.online;
  }
  for (const spec of t.mdevs) {
    const mdev = host.mdev(spec.uuid);
    if (!mdev || !spec.guestMatrix) continue;
    mdev.shadowApcb.apm = ApMask.fromIds(spec.guestMatrix.adapters);
    mdev.shadowApcb.aqm = ApMask.fromIds(spec.guestMatrix.domains);
    mdev.shadowApcb.adm = ApMask.fromIds(spec.guestMatrix.controlDomains);
  }
  renumberIommuGroups(host);
  for (const n of t.zcryptNodes) {
    const dev = new ZcdnDevice(n.name, n.minor);
    Object.assign(dev.perms, { ioctlm: n.ioctlmask, apm: n.apmask, aqm: n.aqmask, adm: n.admask });
    host.zcrypt.nodes.set(n.name, dev);
  }
  for (const g of t.guests) {
    if (g.mdev) await host.attachGuest(g.mdev, g.name);
    else host.guest(g.name);
  }
  bus.scanCount = BigInt(t.scans);
  bus.drivers_autoprobe = t.driversAutoprobe;
  host.events.add('op', 'info', `saved state restored: ${t.queues.length} queue(s) as saved, ${t.guests.filter((g) => g.mdev).length} guest(s) attached, ${t.zcryptNodes.length} zcrypt node(s)`);
}

/**
 * The saved IOMMU group numbers: the boot created the mdevs in file order with the smallest free
 * numbers; the saved ones replace them, and an mdev saved without one takes the smallest number
 * left. Nothing has looked at the tree yet, so no removal needs announcing.
 */
function renumberIommuGroups(host: Host): void {
  const ida = host.mdevCore.iommuGroups;
  const mdevs = host.topology.mdevs.map((spec) => ({ spec, mdev: host.mdev(spec.uuid) }));
  for (const { mdev } of mdevs) if (mdev?.iommuGroup !== undefined) ida.free(mdev.iommuGroup);
  for (const { spec, mdev } of mdevs) if (mdev && spec.iommuGroup !== undefined) ida.take((mdev.iommuGroup = spec.iommuGroup));
  for (const { spec, mdev } of mdevs) if (mdev && spec.iommuGroup === undefined) mdev.iommuGroup = ida.alloc();
}
