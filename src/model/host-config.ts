/**
 * Changes of the LPAR's AP configuration as the SE/HMC makes them: an adapter, a usage domain or
 * a control domain enters or leaves the configuration. Each verb changes the hardware (what QCI
 * will report), then runs the bus scan the kernel runs when the AP configuration-change
 * notification arrives: `on_config_changed` (§14.4), the scan that adds and removes card and
 * queue devices (probe §14.1, remove §14.2), `on_scan_complete` (§14.5). Guests follow through
 * those handlers exactly as in the kernel; nothing here touches an mdev or a guest.
 * @kernel ap_bus.c ap_scan_bus (after an AP configuration change event); vfio_ap_drv.c
 *         vfio_ap_on_cfg_changed, vfio_ap_on_scan_complete
 */
import { Errno, KernelError } from './errno.js';
import type { Host } from './host.js';
import type { HwAdapter } from './ap/hardware.js';
import { ApMask } from './ap/ap-mask.js';
import { scanBus } from './ap/ap-scan.js';
import { parseTopology, type AdapterSpec } from './topology.js';

/** The adapter type a new adapter gets when none is given and the machine never had one there. */
export const DEFAULT_ADAPTER_TYPE = 'CEX8C';

export interface AdapterAddSpec {
  /** Card type as in a topology file: CEX4..CEX8 followed by C (CCA), A (accelerator) or P (EP11). */
  readonly type?: string;
}

/** One guest whose APCB the change rewrote, with what it holds now. */
export interface GuestUpdate {
  readonly guest: string;
  readonly mdev: string | undefined;
  readonly apm: ApMask;
  readonly aqm: ApMask;
  readonly adm: ApMask;
}

/** What a configuration change did, for the front end to report. */
export interface ConfigChange {
  /** `SE/HMC: adapter 0x07 (CEX8C) added to the configuration` and the like. */
  readonly what: string;
  /** Card and queue devices the scan created / removed (`card07`, `07.0004`), in scan order. */
  readonly devicesAdded: readonly string[];
  readonly devicesRemoved: readonly string[];
  /** mdevs whose guest_matrix (shadow APCB) changed. */
  readonly guestMatrixChanged: readonly string[];
  /** Guests whose APCB was rewritten (hot plug / hot unplug). */
  readonly guestsUpdated: readonly GuestUpdate[];
}

/**
 * Specs of adapters taken out of the configuration, so that adding one back without a type
 * restores the card that was there (the card stays in the machine; only the LPAR loses it).
 */
const removedAdapters = new WeakMap<Host, Map<number, AdapterSpec>>();

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/**
 * Add adapter `id` to the configuration (type from `spec`, else the card that was there before,
 * else the topology's, else CEX8C), then scan: card and queue devices appear and bind, and guests
 * whose mdev names the adapter get it at scan complete (if all its queues are passable).
 * Throws: EINVAL (id or type not valid for this machine), EEXIST (already in the configuration),
 * EOPNOTSUPP (the machine has no QCI: configuration changes are invisible to the kernel).
 */
export function adapterAdd(host: Host, id: number, spec: AdapterAddSpec = {}): Promise<ConfigChange> {
  return change(host, `adapter ${hex2(id)} add`, () => {
    const known = removedAdapters.get(host)?.get(id) ?? host.topology.adapters.find((a) => a.id === id);
    const adapter = buildAdapter(host, id, spec.type ?? known?.typeName ?? DEFAULT_ADAPTER_TYPE);
    if (host.hw.adapters.has(id)) throw new KernelError(Errno.EEXIST, `adapter ${hex2(id)} is already in the configuration`);
    // A card that comes back with its old type is the same card: same serial number, same state.
    const same = known && known.typeName === adapter.typeName ? known : adapter;
    const hw: HwAdapter = { ...same, configured: same.configured, chkstop: same.chkstop };
    host.hw.adapters.set(id, hw);
    removedAdapters.get(host)?.delete(id);
    return `adapter ${hex2(id)} (${hw.typeName}) added to the configuration`;
  });
}

/**
 * Take adapter `id` out of the configuration, then scan: at config-changed it leaves every guest's
 * APCB (no reset: the queues are gone), then its devices are removed. Assigned matrices keep it.
 * Throws: ENOENT (not in the configuration), EOPNOTSUPP (no QCI).
 */
export function adapterRemove(host: Host, id: number): Promise<ConfigChange> {
  return change(host, `adapter ${hex2(id)} remove`, () => {
    const hw = host.hw.adapters.get(id);
    if (!hw) throw new KernelError(Errno.ENOENT, `adapter ${hex2(id)} is not in the configuration`);
    host.hw.adapters.delete(id);
    let removed = removedAdapters.get(host);
    if (!removed) removedAdapters.set(host, (removed = new Map()));
    removed.set(id, hw);
    return `adapter ${hex2(id)} (${hw.typeName}) removed from the configuration`;
  });
}

/**
 * Add usage domain `id` to the configuration, then scan: a queue appears on every adapter, and
 * guests whose mdev names the domain get it at scan complete.
 * Throws: EINVAL (not a domain of this machine: above ap_max_domain_id), EEXIST, EOPNOTSUPP.
 */
export function domainAdd(host: Host, id: number): Promise<ConfigChange> {
  return maskChange(host, 'usage domain', host.hw.usageDomains, id, 'add');
}

/** Take usage domain `id` out of the configuration, then scan. Throws: ENOENT, EOPNOTSUPP. */
export function domainRemove(host: Host, id: number): Promise<ConfigChange> {
  return maskChange(host, 'usage domain', host.hw.usageDomains, id, 'remove');
}

/**
 * Add control domain `id` to the configuration, then scan (no device appears: control domains
 * have none); guests whose mdev names it as a control domain get it at scan complete.
 * Throws: EINVAL, EEXIST, EOPNOTSUPP.
 */
export function controlDomainAdd(host: Host, id: number): Promise<ConfigChange> {
  return maskChange(host, 'control domain', host.hw.controlDomains, id, 'add');
}

/**
 * Take control domain `id` out of the configuration, then scan. As in the kernel, an assigned
 * control domain stays in the guest's APCB (spec §14.4 "andnot" bug, §19 item 10).
 * Throws: ENOENT, EOPNOTSUPP.
 */
export function controlDomainRemove(host: Host, id: number): Promise<ConfigChange> {
  return maskChange(host, 'control domain', host.hw.controlDomains, id, 'remove');
}

function maskChange(host: Host, noun: 'usage domain' | 'control domain', mask: ApMask, id: number, action: 'add' | 'remove'): Promise<ConfigChange> {
  return change(host, `${noun} ${hex4(id)} ${action}`, () => {
    const max = host.bus.maxDomainId;
    if (!Number.isInteger(id) || id < 0 || id > max) throw new KernelError(Errno.EINVAL, `${noun} ${id} is not a domain of this machine (0..${max}, ap_max_domain_id)`);
    if (action === 'add') {
      if (mask.test(id)) throw new KernelError(Errno.EEXIST, `${noun} ${hex4(id)} is already in the configuration`);
      mask.set(id);
      return `${noun} ${hex4(id)} added to the configuration`;
    }
    if (!mask.test(id)) throw new KernelError(Errno.ENOENT, `${noun} ${hex4(id)} is not in the configuration`);
    mask.clear(id);
    return `${noun} ${hex4(id)} removed from the configuration`;
  });
}

/**
 * The SE/HMC changes the hardware (under ap_scan_bus_mutex, so no scan sees half a change: a
 * simulator convenience, the real machine changes whenever it likes), then the kernel's scan runs.
 * Validation happens inside `alter`, before anything changes.
 */
function change(host: Host, op: string, alter: () => string): Promise<ConfigChange> {
  return host.task(`SE/HMC: ${op}`, async () => {
    if (!host.hw.qciAvailable) throw new KernelError(Errno.EOPNOTSUPP, `${op}: the machine has no QCI, the kernel cannot see configuration changes`);
    const before = snapshot(host);
    const site = { op: `SE/HMC: ${op}`, fn: 'ap_scan_bus' };
    await host.bus.scanMutex.lock(site);
    let what: string;
    try {
      what = `SE/HMC: ${alter()}`;
    } finally {
      host.bus.scanMutex.unlock();
    }
    host.events.add('op', 'info', what);
    // What the AP configuration-change event triggers: a scan (ap_bus.c ap_scan_bus_wq_callback).
    await scanBus(host.bus);
    return diff(host, what, before, snapshot(host));
  });
}

interface Snapshot {
  readonly devices: readonly string[];
  readonly shadows: ReadonlyMap<string, string>;
  readonly apcbUpdates: ReadonlyMap<string, number>;
}

function snapshot(host: Host): Snapshot {
  const devices: string[] = [];
  for (const id of [...host.bus.cards.keys()].sort((a, b) => a - b)) {
    const card = host.bus.cards.get(id)!;
    devices.push(card.name);
    for (const qi of [...card.queues.keys()].sort((a, b) => a - b)) devices.push(card.queues.get(qi)!.name);
  }
  const shadows = new Map<string, string>();
  for (const m of host.matrixDev.mdevList) {
    const s = m.shadowApcb;
    shadows.set(m.uuid, `${s.apm.toString()}/${s.aqm.toString()}/${s.adm.toString()}`);
  }
  const apcbUpdates = new Map<string, number>();
  for (const [name, kvm] of host.kvms) apcbUpdates.set(name, kvm.apcbUpdates);
  return { devices, shadows, apcbUpdates };
}

function diff(host: Host, what: string, before: Snapshot, after: Snapshot): ConfigChange {
  const had = new Set(before.devices);
  const has = new Set(after.devices);
  const guestsUpdated: GuestUpdate[] = [];
  for (const [name, n] of after.apcbUpdates) {
    if (before.apcbUpdates.get(name) === n) continue;
    const kvm = host.kvms.get(name)!;
    const mdev = host.matrixDev.mdevList.find((m) => m.kvm === kvm);
    guestsUpdated.push({ guest: name, mdev: mdev?.uuid, apm: kvm.apcb.apm.clone(), aqm: kvm.apcb.aqm.clone(), adm: kvm.apcb.adm.clone() });
  }
  return {
    what,
    devicesAdded: after.devices.filter((d) => !had.has(d)),
    devicesRemoved: before.devices.filter((d) => !has.has(d)),
    guestMatrixChanged: [...after.shadows].filter(([uuid, s]) => before.shadows.has(uuid) && before.shadows.get(uuid) !== s).map(([uuid]) => uuid),
    guestsUpdated,
  };
}

/**
 * An adapter spec with the topology's defaults (functions, depth, serial number...), validated by
 * the topology parser so both agree. Throws EINVAL with the parser's words (`type: "CEX9C" is not
 * a card type ...`).
 */
function buildAdapter(host: Host, id: number, type: string): AdapterSpec {
  const t = host.topology;
  try {
    return parseTopology({
      qci: true,
      apxa: t.apxa,
      features: [...t.features],
      ...(t.apxa && { maxAdapterId: t.maxAdapterId, maxDomainId: t.maxDomainId }),
      adapters: [{ id, type }],
      usageDomains: [],
      controlDomains: [],
      mdevs: [],
    }).adapters[0]!;
  } catch (e) {
    if (e instanceof KernelError) throw new KernelError(e.errno, `adapter ${Number.isInteger(id) ? hex2(id) : String(id)}: ${e.why.replace(/^adapters\[0\]\./, '')}`);
    throw e;
  }
}
