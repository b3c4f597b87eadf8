/**
 * The AP bus: the masks that reserve APQNs for the default drivers, the card and queue devices,
 * the drivers and their bindings, and the bus attributes.
 * @kernel ap_bus.c
 */
import { Errno, KernelError } from '../errno.js';
import { inTask, type KernelCtx } from '../kernel.js';
import { KernelMutex } from '../lock/kernel-mutex.js';
import type { LockSite } from '../lock/lockdep.js';
import { ApMask, parseBitmapStr } from './ap-mask.js';
import { ApConfig } from './ap-config.js';
import type { ApCard } from './ap-card.js';
import type { ApQueue } from './ap-queue.js';
import type { ApDevice, ApDriver } from './ap-driver.js';
import { parseCardName, parseQueueName } from './apqn.js';
import type { Hardware } from './hardware.js';
import { initQueueState, resetQueueAtBus, scanBus } from './ap-scan.js';

export interface ApBusParams {
  readonly apxa: boolean;
  readonly maxAdapterId: number;
  readonly maxDomainId: number;
  readonly features: readonly string[];
  readonly apDomain: number;
  readonly configTime: number;
  readonly pollThread: boolean;
  readonly pollTimeout: number;
  readonly interrupts: boolean;
  readonly apmask: ApMask;
  readonly aqmask: ApMask;
}

/** A value parsed by the sysfs layer; the model calls it where the kernel parses (often under locks). */
export type Parse<T> = () => T;

export class ApBus {
  /** @kernel ap_bus.c ap_perms (apm, aqm) */
  readonly apPerms: { apm: ApMask; aqm: ApMask };
  /** @kernel ap_bus.c ap_perms_mutex (v6.17 name; ap_attr_mutex in 6.19+) */
  readonly apPermsMutex: KernelMutex;
  /** @kernel ap_bus.c ap_scan_bus_mutex */
  readonly scanMutex: KernelMutex;
  /** Current and previous QCI. @kernel ap_bus.c ap_qci_info, ap_qci_info_old */
  qci: ApConfig;
  qciOld: ApConfig;
  readonly cards = new Map<number, ApCard>();
  /** Registration order matters for autoprobe: zcrypt's drivers first, then vfio_ap. */
  readonly drivers: ApDriver[] = [];

  apDomainIndex: number;
  configTime: number;
  pollThread: boolean;
  pollTimeout: number;
  readonly interrupts: boolean;
  readonly maxAdapterId: number;
  readonly maxDomainId: number;
  readonly features: readonly string[];
  scanCount = 0n;
  /** Set once a scan has seen all queues bound; re-armed when a queue is added or probed. */
  bindingsCompleteSent = false;
  drivers_autoprobe = true;

  private readonly devLocks = new WeakMap<ApDevice, KernelMutex>();

  constructor(
    readonly k: KernelCtx,
    readonly hw: Hardware,
    p: ApBusParams,
  ) {
    this.apPerms = { apm: p.apmask.clone(), aqm: p.aqmask.clone() };
    this.apPermsMutex = new KernelMutex(k.lockdep, 'ap_perms_mutex');
    this.scanMutex = new KernelMutex(k.lockdep, 'ap_scan_bus_mutex');
    this.qci = ApConfig.empty();
    this.qciOld = ApConfig.empty();
    this.apDomainIndex = p.apDomain;
    this.configTime = p.configTime;
    this.pollThread = p.pollThread;
    this.pollTimeout = p.pollTimeout;
    this.interrupts = p.interrupts;
    this.maxAdapterId = p.apxa ? p.maxAdapterId : 63;
    this.maxDomainId = p.apxa ? p.maxDomainId : 15;
    this.features = p.features;
  }

  registerDriver(drv: ApDriver): void {
    this.drivers.push(drv);
  }

  driver(name: string): ApDriver | undefined {
    return this.drivers.find((d) => d.name === name);
  }

  /** All queue devices, cards ascending then domains ascending. */
  *queues(): Iterable<ApQueue> {
    for (const id of [...this.cards.keys()].sort((a, b) => a - b)) {
      const card = this.cards.get(id)!;
      for (const qi of [...card.queues.keys()].sort((a, b) => a - b)) yield card.queues.get(qi)!;
    }
  }

  queue(apid: number, apqi: number): ApQueue | undefined {
    return this.cards.get(apid)?.queues.get(apqi);
  }

  /** @kernel bus_find_device_by_name: `sysfs_streq` tolerates one trailing newline. */
  findDevice(name: string): ApDevice | undefined {
    return this.deviceByName(name.endsWith('\n') ? name.slice(0, -1) : name);
  }

  /** The card (`cardXX`) or queue (`XX.YYYY`) of exactly this name. */
  deviceByName(name: string): ApDevice | undefined {
    const card = parseCardName(name);
    if (card !== undefined) return this.cards.get(card);
    const qid = parseQueueName(name);
    return qid === undefined ? undefined : this.queue(qid >> 8, qid & 0xff);
  }

  /** @kernel ap_bus.c ap_owned_by_def_drv: reserved for the default drivers iff apmask AND aqmask bits set. */
  ownedByDefDrv(apid: number, apqi: number): boolean {
    return this.apPerms.apm.test(apid) && this.apPerms.aqm.test(apqi);
  }

  /**
   * @kernel ap_bus.c ap_apqn_in_matrix_owned_by_def_drv: is any APQN of apm x aqm reserved?
   * The trylock profile takes ap_perms_mutex here (the vfio_ap locks are already held: spec
   * decision 2); mainline requires the caller to hold it.
   */
  async apqnInMatrixOwnedByDefDrv(apm: ApMask, aqm: ApMask, site: LockSite): Promise<boolean> {
    const take = this.k.profile === 'trylock';
    if (take) await this.apPermsMutex.lock(site);
    else this.apPermsMutex.assertHeld();
    try {
      return apm.intersects(this.apPerms.apm) && aqm.intersects(this.apPerms.aqm);
    } finally {
      if (take) this.apPermsMutex.unlock();
    }
  }

  deviceLock(dev: ApDevice): KernelMutex {
    let m = this.devLocks.get(dev);
    if (!m) {
      m = new KernelMutex(this.k.lockdep, '&dev->mutex', dev.name);
      this.devLocks.set(dev, m);
    }
    return m;
  }

  // ---- masks -------------------------------------------------------------------------------

  /** @kernel ap_bus.c apmask_store */
  apmaskStore(buf: string): Promise<void> {
    return inTask(this.k, 'write apmask', () => this.maskStore('apm', buf));
  }

  /** @kernel ap_bus.c aqmask_store */
  aqmaskStore(buf: string): Promise<void> {
    return inTask(this.k, 'write aqmask', () => this.maskStore('aqm', buf));
  }

  /**
   * Throws: EINVAL (syntax, §3), EBUSY (newly reserved APQNs in use by a non-default driver, or in
   * the trylock profile when the in-use check cannot get the vfio_ap locks). Atomic on error.
   * @kernel ap_bus.c apmask_store/aqmask_store → apmask_commit/aqmask_commit
   */
  private async maskStore(which: 'apm' | 'aqm', buf: string): Promise<void> {
    const fn = which === 'apm' ? 'apmask_store' : 'aqmask_store';
    const site = { op: `write ${which === 'apm' ? 'apmask' : 'aqmask'}`, fn };
    await this.apPermsMutex.lock(site);
    let changed = false;
    try {
      const cur = this.apPerms[which];
      const next = parseBitmapStr(buf, cur);
      if (next.equals(cur)) return;
      const reserved = next.andNot(cur);
      if (!reserved.isEmpty()) {
        // v6.17 (spec decision 1): newly reserved IDs x the *current* other mask.
        const apm = which === 'apm' ? reserved : this.apPerms.apm;
        const aqm = which === 'aqm' ? reserved : this.apPerms.aqm;
        for (const drv of this.drivers) {
          if (!drv.inUse) continue;
          // __verify_card_reservations / __verify_queue_reservations: any error becomes EBUSY.
          let inUse: boolean;
          try {
            inUse = await drv.inUse(apm, aqm);
          } catch (e) {
            if (e instanceof KernelError) throw new KernelError(Errno.EBUSY, `${drv.name} in_use: ${e.why}`);
            throw e;
          }
          if (inUse) throw new KernelError(Errno.EBUSY, `${which === 'apm' ? 'apmask' : 'aqmask'}: newly reserved APQNs are in use by ${drv.name}`);
        }
      }
      this.apPerms[which] = next;
      changed = true;
    } finally {
      this.apPermsMutex.unlock();
    }
    if (!changed) return;
    // Rebinding happens after the mutex is released: the probe gate takes it again (§16 item 5).
    await this.reviseBindings();
    const key = which === 'apm' ? 'APMASK' : 'AQMASK';
    this.k.events.uevent('change', '/devices/ap', { [key]: `${this.apPerms[which].toString()}\n` });
  }

  // ---- probing and binding ----------------------------------------------------------------

  private matches(drv: ApDriver, dev: ApDevice): boolean {
    const hwtype = dev.kind === 'card' ? dev.hwtype : dev.card.hwtype;
    return drv.devType === dev.kind && drv.hwtypes.has(hwtype);
  }

  /**
   * The reservation gate of the bus probe: a DEFAULT driver only takes reserved queues, vfio_ap only
   * unreserved ones. Reads the masks under ap_perms_mutex. @kernel ap_bus.c ap_device_probe
   */
  private async probeGate(drv: ApDriver, dev: ApDevice): Promise<boolean> {
    if (dev.kind !== 'queue') return true;
    await this.apPermsMutex.lock({ op: 'probe', fn: 'ap_device_probe' });
    const reserved = this.ownedByDefDrv(dev.apid, dev.apqi);
    this.apPermsMutex.unlock();
    return drv.isDefault === reserved;
  }

  /**
   * The bus probe: the gate, then the driver's probe. Caller holds the device lock. Returns false
   * (the kernel's -ENODEV, "probe rejects match") when the gate refuses.
   */
  private async deviceProbe(drv: ApDriver, dev: ApDevice): Promise<boolean> {
    if (!(await this.probeGate(drv, dev))) return false;
    dev.driver = drv;
    try {
      await drv.probe(dev);
    } catch (e) {
      dev.driver = undefined;
      this.k.removals.removed(`failed probe ${dev.name}`);
      throw e;
    }
    drv.devices.add(dev);
    if (dev.kind === 'queue') this.bindingsCompleteSent = false;
    this.k.events.uevent('bind', this.devpath(dev), { DRIVER: drv.name });
    return true;
  }

  /**
   * Detach the device from its driver. Caller holds the device lock.
   * @kernel dd.c device_release_driver → ap_bus.c ap_device_remove (+ ap_queue_remove's ZAPQ)
   */
  private async deviceRelease(dev: ApDevice): Promise<void> {
    const drv = dev.driver;
    if (!drv) return;
    if (dev.kind === 'queue') dev.devState = 'shutdown';
    await drv.remove(dev);
    if (dev.kind === 'queue') resetQueueAtBus(this, dev);
    drv.devices.delete(dev);
    dev.driver = undefined;
    // The `driver` link, the driver's link to the device and the driver's attribute groups go.
    this.k.removals.removed(`unbind ${dev.name}`);
    this.k.events.uevent('unbind', this.devpath(dev), { DRIVER: drv.name });
  }

  /** Try every matching driver in registration order; the first that probes wins. @kernel dd.c device_attach */
  private async deviceAttach(dev: ApDevice): Promise<void> {
    for (const drv of this.drivers) {
      if (!this.matches(drv, dev)) continue;
      try {
        if (await this.deviceProbe(drv, dev)) return;
      } catch (e) {
        if (e instanceof KernelError && (e.errno === Errno.ENODEV || e.errno === Errno.ENXIO)) continue;
        // really_probe: a driver that matched but failed is logged and the next driver tries.
        this.k.events.kernel('err', `ap ${dev.name}: probe with driver ${drv.name} failed with error -${e instanceof KernelError ? e.errno : Errno.EIO}`);
      }
    }
  }

  /** Probe a newly registered device (device_add → bus_probe_device), under its device lock. */
  async probeNewDevice(dev: ApDevice): Promise<void> {
    if (!this.drivers_autoprobe) return;
    const lock = this.deviceLock(dev);
    await lock.lock({ op: 'device_add', fn: 'bus_probe_device' });
    try {
      await this.deviceAttach(dev);
    } finally {
      lock.unlock();
    }
  }

  /** Unbind a device that is going away (device_del). */
  async releaseGoneDevice(dev: ApDevice): Promise<void> {
    const lock = this.deviceLock(dev);
    await lock.lock({ op: 'device_del', fn: 'device_release_driver' });
    try {
      await this.deviceRelease(dev);
    } finally {
      lock.unlock();
    }
  }

  /**
   * After a mask change: reprobe every bound queue whose reservation disagrees with its driver.
   * Unbound queues are left alone (spec §6 caution). Failures are only logged, as in the kernel.
   * @kernel ap_bus.c ap_bus_revise_bindings → __ap_revise_reserved → device_reprobe
   */
  async reviseBindings(): Promise<void> {
    for (const q of this.queues()) {
      if (!q.driver) continue;
      if (q.driver.isDefault === this.ownedByDefDrv(q.apid, q.apqi)) continue;
      const lock = this.deviceLock(q);
      await lock.lock({ op: 'revise bindings', fn: '__ap_revise_reserved' });
      try {
        await this.deviceRelease(q);
        await this.deviceAttach(q);
      } finally {
        lock.unlock();
      }
    }
    this.checkBindingsComplete();
  }

  /**
   * `drivers/<drv>/bind`. Throws: ENODEV (no such device, wrong kind/type, or the probe gate
   * refuses), EBUSY (already bound to a driver), the probe's error otherwise.
   * @kernel drivers/base/bus.c bind_store → dd.c device_driver_attach
   */
  bindStore(drvName: string, buf: string): Promise<void> {
    return inTask(this.k, `write ${drvName}/bind`, async () => {
      const drv = this.driver(drvName);
      const dev = this.findDevice(buf);
      if (!drv || !dev || !this.matches(drv, dev)) throw new KernelError(Errno.ENODEV, `bind: no device ${JSON.stringify(buf.trim())} that ${drvName} matches`);
      const lock = this.deviceLock(dev);
      await lock.lock({ op: `write ${drvName}/bind`, fn: 'device_driver_attach' });
      try {
        if (dev.driver) throw new KernelError(Errno.EBUSY, `bind: ${dev.name} is already bound to ${dev.driver.name}`);
        if (!(await this.deviceProbe(drv, dev))) {
          throw new KernelError(Errno.ENODEV, `bind: ${drv.name} may not take ${dev.name}: it is ${drv.isDefault ? 'not ' : ''}reserved for the default drivers`);
        }
      } finally {
        lock.unlock();
      }
      this.checkBindingsComplete();
    });
  }

  /**
   * `drivers/<drv>/unbind`. Throws ENODEV unless the device is bound to exactly this driver.
   * @kernel drivers/base/bus.c unbind_store → device_driver_detach
   */
  unbindStore(drvName: string, buf: string): Promise<void> {
    return inTask(this.k, `write ${drvName}/unbind`, async () => {
      const drv = this.driver(drvName);
      const dev = this.findDevice(buf);
      if (!drv || !dev || dev.driver !== drv) throw new KernelError(Errno.ENODEV, `unbind: ${JSON.stringify(buf.trim())} is not bound to ${drvName}`);
      const lock = this.deviceLock(dev);
      await lock.lock({ op: `write ${drvName}/unbind`, fn: 'device_driver_detach' });
      try {
        if (dev.driver === drv) await this.deviceRelease(dev);
      } finally {
        lock.unlock();
      }
    });
  }

  /**
   * `bus/ap/drivers_probe`: attach an unbound device to whichever driver takes it.
   * @kernel drivers/base/bus.c drivers_probe_store (ENODEV for an unknown name; probe misses are not errors)
   */
  driversProbeStore(buf: string): Promise<void> {
    return inTask(this.k, 'write drivers_probe', async () => {
      const dev = this.findDevice(buf);
      if (!dev) throw new KernelError(Errno.ENODEV, `drivers_probe: no device ${JSON.stringify(buf.trim())}`);
      const lock = this.deviceLock(dev);
      await lock.lock({ op: 'write drivers_probe', fn: 'bus_rescan_devices_helper' });
      try {
        if (!dev.driver) await this.deviceAttach(dev);
      } finally {
        lock.unlock();
      }
      this.checkBindingsComplete();
    });
  }

  // ---- counters and completeness ----------------------------------------------------------

  /** `<bound>/<total>` over queues. @kernel ap_bus.c ap_calc_bound_apqns */
  bindingCounts(): { bound: number; total: number } {
    let bound = 0;
    let total = 0;
    for (const card of this.cards.values()) {
      for (const q of card.queues.values()) {
        total++;
        if (q.driver) bound++;
      }
    }
    return { bound, total };
  }

  /** Fire BINDINGS=complete once all queues are bound after a scan. @kernel ap_bus.c ap_check_bindings_complete */
  checkBindingsComplete(): void {
    if (this.scanCount === 0n || this.bindingsCompleteSent) return;
    const { bound, total } = this.bindingCounts();
    if (bound !== total) return;
    this.bindingsCompleteSent = true;
    this.k.events.uevent('change', '/devices/ap', { BINDINGS: 'complete' });
  }

  // ---- bus attributes ----------------------------------------------------------------------

  /** Throws EINVAL when not a number, out of range or not in aqmask. @kernel ap_bus.c ap_domain_store */
  apDomainStore(parse: Parse<number | undefined>): Promise<void> {
    return inTask(this.k, 'write ap_domain', async () => {
      const domain = parse();
      if (domain === undefined || domain < 0 || domain > this.maxDomainId) throw new KernelError(Errno.EINVAL, `ap_domain: not a domain 0..${this.maxDomainId}`);
      if (!this.apPerms.aqm.test(domain)) throw new KernelError(Errno.EINVAL, `ap_domain: domain ${domain} is not in aqmask`);
      this.apDomainIndex = domain;
    });
  }

  /** Throws EINVAL unless 5 <= value <= 120. @kernel ap_bus.c config_time_store */
  configTimeStore(value: number | undefined): void {
    if (value === undefined || value < 5 || value > 120) throw new KernelError(Errno.EINVAL, 'config_time: not 5..120');
    this.configTime = value;
  }

  /** Starting the poll thread is a no-op while interrupts are in use. @kernel ap_bus.c poll_thread_store */
  pollThreadStore(on: boolean): void {
    this.pollThread = on && !this.interrupts;
  }

  /** Throws EINVAL above 120 s. @kernel ap_bus.c poll_timeout_store */
  pollTimeoutStore(ns: number): void {
    if (ns > 120000000000) throw new KernelError(Errno.EINVAL, 'poll_timeout: above 120000000000 ns');
    this.pollTimeout = ns;
  }

  /** `scans` write: a synchronous bus scan. @kernel ap_bus.c scans_store → ap_bus_force_rescan */
  rescan(): Promise<void> {
    return inTask(this.k, 'write scans', () => scanBus(this));
  }

  /**
   * Card `config` write: SCLP configure/deconfigure, then the new state and a CONFIG uevent. The
   * queues follow on the next scan, as in the kernel.
   * @kernel ap_card.c config_store
   */
  cardConfigStore(card: ApCard, cfg: boolean): void {
    const hw = this.hw.adapters.get(card.id);
    if (hw) hw.configured = cfg;
    card.config = cfg;
    this.k.events.uevent('change', this.devpath(card), { CONFIG: cfg ? '1' : '0' });
  }

  /**
   * Queue `reset` write: flush, RESET_START, poke the state machine, which only runs for
   * initiated, configured, non-checkstopped queues (otherwise the read stays "Reset in progress.").
   * @kernel ap_queue.c reset_store
   */
  queueResetStore(q: ApQueue): void {
    q.smState = 'reset_start';
    if (q.devState === 'operating') initQueueState(this, q);
  }

  devpath(dev: ApDevice): string {
    return dev.kind === 'card' ? `/devices/ap/${dev.name}` : `/devices/ap/${dev.card.name}/${dev.name}`;
  }

}
