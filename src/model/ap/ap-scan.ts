/**
 * The AP bus scan: compare the configuration (QCI) with the previous one, tell the drivers, add and
 * remove card and queue devices, update config/checkstop states, then tell the drivers the scan is
 * complete.
 * @kernel ap_bus.c ap_scan_bus, ap_scan_adapter, ap_scan_domains, ap_select_domain
 */
import { ApCard } from './ap-card.js';
import { ApQueue } from './ap-queue.js';
import { mkqid } from './apqn.js';
import type { ApBus } from './ap-bus.js';

/**
 * ZAPQ done by the AP bus when a queue leaves its driver: pending requests are flushed, interrupts
 * are off, and the device is UNINITIATED until cex4queue's probe (or a scan) initiates it again.
 * @kernel ap_queue.c ap_queue_remove, ap_zapq
 */
export function resetQueueAtBus(bus: ApBus, q: ApQueue): void {
  q.devState = 'uninitiated';
  q.smState = 'reset_start';
  q.interrupt = false;
}

/**
 * Bring a queue into OPERATING the way the state machine does once it runs: reset, enable
 * interrupts when the bus uses them, idle. Only configured, non-checkstopped queues run.
 * @kernel ap_queue.c ap_queue_init_state
 */
export function initQueueState(bus: ApBus, q: ApQueue): void {
  if (!q.config || q.chkstop) return;
  q.devState = 'operating';
  q.smState = 'idle';
  q.interrupt = bus.interrupts;
}

export async function scanBus(bus: ApBus): Promise<void> {
  await bus.scanMutex.lock({ op: 'scan', fn: 'ap_scan_bus' });
  try {
    bus.qciOld = bus.qci;
    bus.qci = bus.hw.qci();
    const changed = !bus.qci.equals(bus.qciOld);
    if (changed) {
      for (const drv of bus.drivers) await drv.onConfigChanged?.(bus.qci, bus.qciOld);
    }
    for (let apid = 0; apid < 256; apid++) await scanAdapter(bus, apid);
    bus.scanCount++;
    if (bus.scanCount === 1n) bus.k.events.uevent('change', '/devices/ap', { INITSCAN: 'done' });
    if (changed) {
      for (const drv of bus.drivers) await drv.onScanComplete?.(bus.qci, bus.qciOld);
    }
    selectDomain(bus);
    bus.checkBindingsComplete();
  } finally {
    bus.scanMutex.unlock();
  }
}

/** @kernel ap_bus.c ap_scan_adapter */
async function scanAdapter(bus: ApBus, apid: number): Promise<void> {
  const card = bus.cards.get(apid);
  const hw = bus.hw.adapters.get(apid);
  if (!bus.qci.apm.test(apid) || !hw || apid > bus.maxAdapterId) {
    if (card) await removeCard(bus, card);
    return;
  }
  let c = card;
  if (!c) {
    c = new ApCard(apid as never, hw.hwtype, hw.rawHwtype, hw.mode, hw.typeName, hw.depth, hw.functions, hw.maxMsgSize, hw.serialnr, hw.configured, hw.chkstop);
    bus.cards.set(apid, c);
    bus.k.events.uevent('add', bus.devpath(c), { DEV_TYPE: hw.hwtype.toString(16).toUpperCase().padStart(4, '0'), MODALIAS: `ap:t${hw.hwtype.toString(16).toUpperCase().padStart(2, '0')}`, MODE: hw.mode });
    await bus.probeNewDevice(c);
    // zcrypt's per-card online state as the topology describes it (an admin may have set it offline).
    if (c.driver) c.zcryptOnline = hw.online;
  } else if (c.config !== hw.configured || c.chkstop !== hw.chkstop) {
    const cfgChanged = c.config !== hw.configured;
    c.config = hw.configured;
    c.chkstop = hw.chkstop;
    if (cfgChanged) bus.k.events.uevent('change', bus.devpath(c), { CONFIG: c.config ? '1' : '0' });
  }
  await scanDomains(bus, c);
}

/** @kernel ap_bus.c ap_scan_domains */
async function scanDomains(bus: ApBus, card: ApCard): Promise<void> {
  for (let apqi = 0; apqi < 256; apqi++) {
    const q = card.queues.get(apqi);
    const wanted = bus.qci.aqm.test(apqi) && apqi <= bus.maxDomainId;
    if (!wanted) {
      if (q) await removeQueue(bus, q);
      continue;
    }
    if (!q) {
      const nq = new ApQueue(mkqid(card.id, apqi), card, card.config, card.chkstop);
      card.queues.set(apqi, nq);
      bus.bindingsCompleteSent = false;
      bus.k.events.uevent('add', bus.devpath(nq), { MODE: card.mode });
      await bus.probeNewDevice(nq);
      // Every queue a scan creates in a usable state is initiated after registration,
      // whichever driver took it (spec §5 device-state note).
      initQueueState(bus, nq);
      continue;
    }
    if (q.config !== card.config || q.chkstop !== card.chkstop) {
      const wasInitiated = q.devState === 'operating';
      const cfgChanged = q.config !== card.config;
      q.config = card.config;
      q.chkstop = card.chkstop;
      if (cfgChanged) bus.k.events.uevent('change', bus.devpath(q), { CONFIG: q.config ? '1' : '0' });
      // A scan re-inits only queues that were already initiated.
      if (wasInitiated || q.devState === 'operating') {
        if (q.config && !q.chkstop) initQueueState(bus, q);
        else q.smState = 'reset_start';
      }
    }
  }
}

async function removeQueue(bus: ApBus, q: ApQueue): Promise<void> {
  await bus.releaseGoneDevice(q);
  q.card.queues.delete(q.apqi);
  bus.k.removals.removed(`device_del ${q.name}`);
  bus.k.events.uevent('remove', bus.devpath(q));
}

async function removeCard(bus: ApBus, card: ApCard): Promise<void> {
  for (const q of [...card.queues.values()]) await removeQueue(bus, q);
  await bus.releaseGoneDevice(card);
  bus.cards.delete(card.id);
  bus.k.removals.removed(`device_del ${card.name}`);
  bus.k.events.uevent('remove', bus.devpath(card));
}

/**
 * Pick the default domain once: the lowest one in QCI aqm and aqmask that some usable card of
 * QCI apm and apmask serves. @kernel ap_bus.c ap_select_domain
 */
function selectDomain(bus: ApBus): void {
  if (bus.apDomainIndex >= 0) return;
  for (const apqi of bus.qci.aqm.ids(bus.maxDomainId)) {
    if (!bus.apPerms.aqm.test(apqi)) continue;
    for (const card of bus.cards.values()) {
      if (!bus.apPerms.apm.test(card.id)) continue;
      const q = card.queues.get(apqi);
      if (q && q.config && !q.chkstop) {
        bus.apDomainIndex = apqi;
        return;
      }
    }
  }
}
