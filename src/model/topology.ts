/**
 * The topology file: what machine apsysfs shows (docs/topology.md, docs/topology.schema.json).
 *
 * `parseTopology` validates and normalises parsed JSON into a frozen `Topology`; every refusal is
 * `KernelError(Errno.EINVAL, '<field path>: <offending value> <why>')`. `serializeTopology` is the
 * inverse, with compact id ranges, for `ctl save`.
 *
 * Besides the machine at boot, a file can carry the state a running system reached (what
 * `ctl save` writes, model/state.ts): bindings and queue states that differ from what the first
 * scan makes, each mdev's guest_matrix, the guests and the mdevs they have open, zcrypt's device
 * nodes, the scan counter. model/state-restore.ts puts them back after the boot.
 *
 * The card values (TAPQ facility bits, queue depth, message size) follow the kernel structures:
 * @kernel arch/s390/include/asm/ap.h struct ap_tapq_hwinfo, struct ap_config_info
 * @kernel ap_bus.h AP_DEVICE_TYPE_CEX4..CEX8, AP_DEFAULT_MAX_MSG_SIZE
 */
import { ApMask, parseBitmapStr } from './ap/ap-mask.js';
import { AP_DEVICES, AP_DOMAINS, mkqid, parseQueueName, qidCard, qidQueue, queueName } from './ap/apqn.js';
import type { ApDevState, ApSmState } from './ap/ap-queue.js';
import { Errno, KernelError } from './errno.js';

export type CardMode = 'accel' | 'cca' | 'ep11';

export interface AdapterSpec {
  readonly id: number; // APID 0..255
  readonly hwtype: number; // 10..14 = CEX4..CEX8
  readonly rawHwtype: number; // default = hwtype
  readonly mode: CardMode;
  readonly typeName: string; // 'CEX7C' etc. (what zcrypt's `type` attribute shows)
  readonly configured: boolean; // default true
  readonly chkstop: boolean; // default false
  readonly online: boolean; // zcrypt online, default true
  readonly depth: number; // TAPQ queue depth field (qd)
  readonly functions: number; // TAPQ facility bits, shown by ap_functions as `0x%08X`
  readonly maxMsgSize: number; // bytes
  readonly serialnr: string; // CCA/EP11 cards; '' for accelerators
  readonly driver: 'cex4card' | 'none'; // the card's driver; 'none' after an unbind, default cex4card
}

/** A queue's driver in a saved state: 'none' when it is bound to none. */
export type QueueDriver = 'cex4queue' | 'vfio_ap' | 'none';

/**
 * A queue whose state differs from what the first scan gives it (saved states only). Absent
 * fields take that default: the driver the masks choose (cex4queue if reserved, else vfio_ap), the
 * card's config and chkstop, OPERATING/idle with interrupts as the bus uses them (UNINITIATED for
 * a deconfigured or checkstopped queue), zcrypt online, last reset response 0.
 */
export interface QueueSpec {
  readonly apid: number;
  readonly apqi: number;
  readonly driver?: QueueDriver;
  readonly devState?: ApDevState;
  readonly smState?: ApSmState;
  readonly interrupt?: boolean;
  readonly config?: boolean;
  readonly chkstop?: boolean;
  readonly online?: boolean;
  /** vfio_ap's last reset response code (vfio_ap queues only). */
  readonly resetStatus?: number;
}

/** A simulated guest (a QEMU process), with the mdev it has open if any. */
export interface GuestSpec {
  readonly name: string;
  readonly mdev?: string;
}

/** One of /sys/class/zcrypt's additional device nodes. */
export interface ZcryptNodeSpec {
  readonly name: string;
  readonly minor: number;
  readonly ioctlmask: ApMask;
  readonly apmask: ApMask;
  readonly aqmask: ApMask;
  readonly admask: ApMask;
}

/** An id triple (guest_matrix): adapters, domains, control domains, each sorted unique. */
export interface MatrixSpec {
  readonly adapters: readonly number[];
  readonly domains: readonly number[];
  readonly controlDomains: readonly number[];
}

export interface MdevSpec {
  readonly uuid: string; // lower case
  readonly adapters: readonly number[];
  readonly domains: readonly number[];
  readonly controlDomains: readonly number[];
  /**
   * The guest_matrix (shadow APCB) as saved; absent in a hand-written file, where the kernel's
   * filter derives it. The hot-unplug paths do not filter again, so a running system can hold a
   * view the filter would not compute (spec §12, §14.7).
   */
  readonly guestMatrix?: MatrixSpec;
  /**
   * The number of its IOMMU group as saved; absent in a hand-written file, where each mdev gets
   * the smallest free number in file order, as creating them in that order would give.
   */
  readonly iommuGroup?: number;
}

export interface Topology {
  readonly qci: boolean;
  readonly apxa: boolean;
  /** ap_max_adapter_id / ap_max_domain_id as shown (63/15 without APXA). */
  readonly maxAdapterId: number;
  readonly maxDomainId: number;
  /** Subset of APSC APXA QACT RC8A APSB, in that order. */
  readonly features: readonly string[];
  /** Sorted by id, unique. */
  readonly adapters: readonly AdapterSpec[];
  /** QCI aqm, sorted unique. */
  readonly usageDomains: readonly number[];
  /** QCI adm, sorted unique. */
  readonly controlDomains: readonly number[];
  readonly apmask: ApMask;
  readonly aqmask: ApMask;
  /** -1 = none (then the bus selects it on the first scan). */
  readonly apDomain: number;
  readonly configTime: number;
  readonly pollThread: boolean;
  readonly pollTimeout: number;
  readonly interrupts: boolean;
  readonly mdevs: readonly MdevSpec[];
  /** What /sys/bus/ap/scans reads (1 after the boot scan). */
  readonly scans: number;
  readonly driversAutoprobe: boolean;
  /** Queues whose state differs from the first scan's, sorted by APQN. */
  readonly queues: readonly QueueSpec[];
  /** Every guest that was started, in start order. */
  readonly guests: readonly GuestSpec[];
  /** In the order they were created. */
  readonly zcryptNodes: readonly ZcryptNodeSpec[];
}

/** Every property name the file format accepts, per object; docs/topology.schema.json must match. */
export const topologyFields = {
  topology: [
    '$schema', 'qci', 'apxa', 'features', 'maxAdapterId', 'maxDomainId', 'adapters', 'usageDomains',
    'controlDomains', 'apmask', 'aqmask', 'apDomain', 'configTime', 'pollThread', 'pollTimeout',
    'interrupts', 'mdevs', 'scans', 'driversAutoprobe', 'queues', 'guests', 'zcryptNodes',
  ],
  adapter: [
    'id', 'type', 'configured', 'chkstop', 'online', 'rawHwtype', 'depth', 'functions', 'maxMsgSize',
    'serialnr', 'driver',
  ],
  mdev: ['uuid', 'adapters', 'domains', 'controlDomains', 'guestMatrix', 'iommuGroup'],
  guestMatrix: ['adapters', 'domains', 'controlDomains'],
  queue: ['id', 'driver', 'devState', 'smState', 'interrupt', 'config', 'chkstop', 'online', 'resetStatus'],
  guest: ['name', 'mdev'],
  zcryptNode: ['name', 'minor', 'ioctlmask', 'apmask', 'aqmask', 'admask'],
} as const;

/** QCI facility names in the order `/sys/bus/ap/features` prints them (ap_bus.c features_show). */
export const QCI_FEATURES = ['APSC', 'APXA', 'QACT', 'RC8A', 'APSB'] as const;

/**
 * TAPQ GR2 facility bits, MSB first (struct ap_tapq_hwinfo: apsc, mex4k, crt4k, cca, accel, ep11,
 * apxa); lszcrypt -V prints them as the letters S M C D A X N.
 */
export const TAPQ_FAC = {
  APSC: 0x80000000,
  MEX4K: 0x40000000,
  CRT4K: 0x20000000,
  CCA: 0x10000000,
  ACCEL: 0x08000000,
  EP11: 0x04000000,
  APXA: 0x02000000,
} as const;

const MODE_BIT: Record<CardMode, number> = { cca: TAPQ_FAC.CCA, accel: TAPQ_FAC.ACCEL, ep11: TAPQ_FAC.EP11 };
const MODE_BITS = TAPQ_FAC.CCA | TAPQ_FAC.ACCEL | TAPQ_FAC.EP11;
const MODE_LETTER: Record<string, CardMode> = { C: 'cca', A: 'accel', P: 'ep11' };
const MODE_NAME: Record<CardMode, string> = { cca: 'CCA', accel: 'ACCEL', ep11: 'EP11' };

/** ap_bus.h AP_DEVICE_TYPE_CEX4 = 10 ... AP_DEVICE_TYPE_CEX8 = 14. */
const HWTYPE_CEX4 = 10;
/** ap_bus.h AP_DEFAULT_MAX_MSG_SIZE: what max_msg_size shows when TAPQ's ml field is 0. */
export const AP_DEFAULT_MAX_MSG_SIZE = 12 * 1024;
/** ap_bus.c: max_msg_size = ml * AP_TAPQ_ML_FIELD_CHUNK_SIZE for ml 1..15. */
const AP_TAPQ_ML_FIELD_CHUNK_SIZE = 4096;

/**
 * Default TAPQ facility bits per mode.
 * - cca  0x92000000 = S, D, N: lszcrypt -V shows `S--D--N--` for CEX5C and `S--D--NF-` for CEX8C in
 *   an LPAR (real outputs quoted in avocado-vt's utils_zcrypt test and the IBM cex device plugin
 *   docs; F is the newer class bit, left out here).
 * - ep11 0x06000000 = X, N: a CEX8P in an LPAR shows `-----XNF-` (same source); again without F.
 * - accel 0xEA000000 = S, M, C, A, N: zcrypt_cex4.c gives an accelerator 4K keys only with both
 *   MEX4K and CRT4K, which every CEX5A and later has; S on accelerators is our assumption, no real
 *   output of an accelerator was found.
 * The N (APXA) bit is dropped on a machine without APXA.
 */
const DEFAULT_FUNCTIONS: Record<CardMode, number> = {
  cca: TAPQ_FAC.APSC | TAPQ_FAC.CCA | TAPQ_FAC.APXA,
  ep11: TAPQ_FAC.EP11 | TAPQ_FAC.APXA,
  accel: TAPQ_FAC.APSC | TAPQ_FAC.MEX4K | TAPQ_FAC.CRT4K | TAPQ_FAC.ACCEL | TAPQ_FAC.APXA,
};
/**
 * TAPQ qd field. lszcrypt -V prints depth + 1, and real CEX5C/CEX8C/CEX8P cards in an LPAR show
 * QDEPTH 08 (same sources as above), so the sysfs `depth` file reads 7.
 */
const DEFAULT_DEPTH = 7;

export function defaultFunctions(mode: CardMode, apxa: boolean): number {
  const f = DEFAULT_FUNCTIONS[mode];
  return (apxa ? f : f & ~TAPQ_FAC.APXA) >>> 0;
}

/**
 * Serial numbers come from a firmware query. CCA serials are 8 characters (zcrypt_ccamisc.h
 * cca_info.serial), EP11 ones 16 (`%16.16s`, ep11_card_info.serial). The digits here are invented:
 * a fixed prefix plus the APID, so every card has a distinct, stable one.
 */
export function defaultSerialnr(mode: CardMode, id: number): string {
  const hex2 = id.toString(16).toUpperCase().padStart(2, '0');
  if (mode === 'cca') return `93AAC0${hex2}`;
  if (mode === 'ep11') return `93AAEP11000000${hex2}`;
  return '';
}
const SERIAL_LENGTH: Record<CardMode, number> = { cca: 8, ep11: 16, accel: 0 };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CARD_TYPE = /^CEX([4-8])([CAP])$/i;
const NUMBER = /^(?:0[xX][0-9a-fA-F]+|[0-9]+)$/;

/** poll_timeout_store refuses anything above this (ns). */
const POLL_TIMEOUT_MAX = 120_000_000_000;

// ---------------------------------------------------------------------------------------------
// Errors and small readers

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function invalid(path: string, why: string): KernelError {
  return new KernelError(Errno.EINVAL, `${path}: ${why}`);
}
function bad(path: string, value: unknown, why: string): KernelError {
  return invalid(path, `${show(value)} ${why}`);
}

type JsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Typo protection: every key must be one the format knows. */
function checkFields(obj: JsonObject, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const near = allowed.find(f => f.toLowerCase() === key.toLowerCase() || editDistance(f, key) <= 2);
    throw invalid(join(path, key), `unknown field${near ? ` (did you mean "${near}"?)` : ''}`);
  }
}

function object(v: unknown, path: string): JsonObject {
  if (!isObject(v)) throw bad(path, v, 'is not an object');
  return v;
}
function array(v: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(v)) throw bad(path, v, 'is not a list');
  return v;
}
function bool(v: unknown, path: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw bad(path, v, 'is not a boolean (true or false)');
  return v;
}
/** A JSON integer, or a decimal / `0x` hex string of one. */
function integer(v: unknown, path: string, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && NUMBER.test(v)) return Number(v.toLowerCase());
  throw bad(path, v, `is not ${what}`);
}
function inRange(v: unknown, path: string, what: string, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = integer(v, path, `${what} (${lo}..${hi})`);
  if (n < lo || n > hi) throw bad(path, v, `is not ${what} (${lo}..${hi})`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// IDs: 5, "5", "0x05" or the inclusive range "0x00-0x3f"

interface IdSpace {
  readonly noun: 'adapter' | 'domain';
  readonly maxName: 'maxAdapterId' | 'maxDomainId';
  readonly max: number;
}

function idToken(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'string' && NUMBER.test(v)) return Number(v.toLowerCase());
  return undefined;
}

function checkId(n: number, v: unknown, path: string, space: IdSpace): number {
  const limit = space.noun === 'adapter' ? AP_DEVICES : AP_DOMAINS;
  if (n < 0 || n >= limit) {
    throw bad(path, v, `is not ${space.noun === 'adapter' ? 'an adapter' : 'a domain'} id (0..${limit - 1})`);
  }
  if (n > space.max) throw bad(path, v, `is beyond ${space.maxName} (${space.max})`);
  return n;
}

/** One id or one inclusive range, as [lo, hi]. */
function idRange(v: unknown, path: string, space: IdSpace): readonly [number, number] {
  const single = idToken(v);
  if (single !== undefined) {
    const n = checkId(single, v, path, space);
    return [n, n];
  }
  const m = typeof v === 'string' ? /^\s*([^-\s]+)\s*-\s*([^-\s]+)\s*$/.exec(v) : null;
  const lo = m ? idToken(m[1]) : undefined;
  const hi = m ? idToken(m[2]) : undefined;
  const article = space.noun === 'adapter' ? 'an adapter' : 'a domain';
  if (lo === undefined || hi === undefined) {
    throw bad(path, v, `is not ${article} id or range (an integer, "0x2a", or "0x00-0x3f")`);
  }
  checkId(lo, v, path, space);
  checkId(hi, v, path, space);
  if (lo > hi) throw bad(path, v, `is not ${article} range (start > end)`);
  return [lo, hi];
}

/** A list of ids and ranges, normalised to sorted unique ids (overlaps merge, as for a set). */
function idList(v: unknown, path: string, space: IdSpace): readonly number[] {
  if (v === undefined) return Object.freeze([]);
  const items = array(v, path);
  const seen = new Uint8Array(256);
  items.forEach((item, i) => {
    const [lo, hi] = idRange(item, `${path}[${i}]`, space);
    seen.fill(1, lo, hi + 1);
  });
  const ids: number[] = [];
  seen.forEach((b, id) => b && ids.push(id));
  return Object.freeze(ids);
}

// ---------------------------------------------------------------------------------------------
// The parts

interface Machine {
  readonly qci: boolean;
  readonly apxa: boolean;
  readonly features: readonly string[];
  readonly maxAdapterId: number;
  readonly maxDomainId: number;
}

/**
 * QCI, APXA, features and the max ids hang together (ap_bus.c ap_init_qci_info): without QCI there
 * are no features; the max ids are 63/15 unless QCI reports APXA with non-zero Na/Nd.
 */
function machine(json: JsonObject): Machine {
  const qci = bool(json.qci, 'qci', true);
  const features: string[] | undefined = json.features === undefined ? undefined : [];
  if (features) {
    for (const [i, f] of array(json.features, 'features').entries()) {
      const path = `features[${i}]`;
      if (typeof f !== 'string' || !(QCI_FEATURES as readonly string[]).includes(f)) {
        throw bad(path, f, `is not a QCI feature (${QCI_FEATURES.join(' ')})`);
      }
      if (features.includes(f)) throw bad(path, f, 'is listed twice');
      features.push(f);
    }
    if (!qci && features.length > 0) throw bad('features', json.features, 'needs qci (features are QCI facility bits)');
  }
  const apxa = bool(json.apxa, 'apxa', features ? features.includes('APXA') : qci);
  if (apxa && !qci) throw bad('apxa', true, 'needs qci (APXA is reported by QCI)');
  if (features && features.includes('APXA') !== apxa) {
    throw bad('features', json.features, `must ${apxa ? '' : 'not '}list APXA when apxa is ${apxa}`);
  }
  const normalised = features
    ? QCI_FEATURES.filter(f => features.includes(f))
    : qci
      ? QCI_FEATURES.filter(f => f !== 'APSB' && (apxa || f !== 'APXA'))
      : [];
  return {
    qci,
    apxa,
    features: Object.freeze(normalised),
    maxAdapterId: maxId(json.maxAdapterId, 'maxAdapterId', apxa, 63, 255),
    maxDomainId: maxId(json.maxDomainId, 'maxDomainId', apxa, 15, 84),
  };
}

function maxId(v: unknown, path: string, apxa: boolean, legacy: number, apxaDefault: number): number {
  if (!apxa) {
    if (v !== undefined && integer(v, path, 'an id') !== legacy) {
      throw bad(path, v, `needs apxa (without APXA the kernel shows ${legacy})`);
    }
    return legacy;
  }
  const n = inRange(v, path, 'an id', 0, 255, apxaDefault);
  if (n === 0) throw bad(path, v, `is not possible with APXA (QCI reporting 0 leaves the default ${legacy})`);
  return n;
}

function adapterList(v: unknown, m: Machine): readonly AdapterSpec[] {
  if (v === undefined) throw invalid('adapters', 'missing (list the adapters, or [] for none)');
  const space: IdSpace = { noun: 'adapter', maxName: 'maxAdapterId', max: m.maxAdapterId };
  const owner = new Map<number, number>();
  const out: AdapterSpec[] = [];
  for (const [i, entry] of array(v, 'adapters').entries()) {
    const path = `adapters[${i}]`;
    const o = object(entry, path);
    checkFields(o, topologyFields.adapter, path);
    if (o.id === undefined) throw invalid(`${path}.id`, 'missing');
    const [lo, hi] = idRange(o.id, `${path}.id`, space);
    for (let id = lo; id <= hi; id++) {
      const first = owner.get(id);
      if (first !== undefined) throw bad(`${path}.id`, o.id, `lists adapter ${id} again (also adapters[${first}])`);
      owner.set(id, i);
    }
    if (lo !== hi && o.serialnr !== undefined) {
      throw bad(`${path}.serialnr`, o.serialnr, 'needs a single id, not a range');
    }
    for (let id = lo; id <= hi; id++) out.push(adapter(o, path, id, m.apxa));
  }
  out.sort((a, b) => a.id - b.id);
  return Object.freeze(out);
}

function adapter(o: JsonObject, path: string, id: number, apxa: boolean): AdapterSpec {
  const m = typeof o.type === 'string' ? CARD_TYPE.exec(o.type) : null;
  if (!m) {
    if (o.type === undefined) throw invalid(`${path}.type`, 'missing (CEX4..CEX8 followed by C, A or P)');
    throw bad(`${path}.type`, o.type, 'is not a card type (CEX4..CEX8 followed by C, A or P)');
  }
  const typeName = m[0].toUpperCase();
  const mode = MODE_LETTER[m[2]!.toUpperCase()]!;
  const hwtype = HWTYPE_CEX4 + Number(m[1]) - 4;
  const functions =
    o.functions === undefined
      ? defaultFunctions(mode, apxa)
      : inRange(o.functions, `${path}.functions`, 'a 32-bit facility word', 0, 0xffffffff, 0);
  if ((functions & MODE_BITS) >>> 0 !== MODE_BIT[mode]) {
    const bit = `0x${MODE_BIT[mode].toString(16).toUpperCase()}`;
    throw bad(`${path}.functions`, o.functions, `must have exactly the ${MODE_NAME[mode]} mode bit (${bit}) of a ${typeName}`);
  }
  const maxMsgSize = inRange(
    o.maxMsgSize, `${path}.maxMsgSize`, 'a message size in bytes',
    AP_TAPQ_ML_FIELD_CHUNK_SIZE, 15 * AP_TAPQ_ML_FIELD_CHUNK_SIZE, AP_DEFAULT_MAX_MSG_SIZE,
  );
  if (maxMsgSize % AP_TAPQ_ML_FIELD_CHUNK_SIZE !== 0) {
    throw bad(`${path}.maxMsgSize`, o.maxMsgSize, 'is not a TAPQ message size (a multiple of 4096)');
  }
  return Object.freeze({
    id,
    hwtype,
    rawHwtype: inRange(o.rawHwtype, `${path}.rawHwtype`, 'a raw type from the compatible one up', hwtype, 255, hwtype),
    mode,
    typeName,
    configured: bool(o.configured, `${path}.configured`, true),
    chkstop: bool(o.chkstop, `${path}.chkstop`, false),
    online: bool(o.online, `${path}.online`, true),
    depth: inRange(o.depth, `${path}.depth`, 'a TAPQ queue depth', 0, 15, DEFAULT_DEPTH),
    functions: functions >>> 0,
    maxMsgSize,
    serialnr: serialnr(o.serialnr, `${path}.serialnr`, mode, id),
    driver: oneOf(o.driver, `${path}.driver`, CARD_DRIVERS, 'cex4card'),
  });
}

const CARD_DRIVERS = ['cex4card', 'none'] as const;

/** One of `values`, or `dflt` when absent. */
function oneOf<T extends string>(v: unknown, path: string, values: readonly T[], dflt: T): T;
function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T | undefined;
function oneOf<T extends string>(v: unknown, path: string, values: readonly T[], dflt?: T): T | undefined {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw bad(path, v, `is not one of ${values.join(', ')}`);
  return v as T;
}

function serialnr(v: unknown, path: string, mode: CardMode, id: number): string {
  if (v === undefined) return defaultSerialnr(mode, id);
  if (mode === 'accel') throw bad(path, v, 'is not allowed: accelerators have no serial number');
  const len = SERIAL_LENGTH[mode];
  if (typeof v !== 'string' || !/^[\x21-\x7e]+$/.test(v) || v.length > len) {
    throw bad(path, v, `is not a serial number (1..${len} printable characters)`);
  }
  return v;
}

/** Kernel parameter form (ap.apmask=): ap_parse_bitmap_str applied to an all-zero mask; absent → all ones. */
function mask(v: unknown, path: string): ApMask {
  if (v === undefined) return ApMask.full();
  if (typeof v !== 'string') throw bad(path, v, 'is not a mask string (e.g. "0xff", "+0-15,-4")');
  try {
    return parseBitmapStr(v, ApMask.zero());
  } catch (e) {
    if (e instanceof KernelError) throw bad(path, v, `is not a mask: ${e.why}`);
    throw e;
  }
}

function mdevList(v: unknown, m: Machine, apmask: ApMask, aqmask: ApMask): readonly MdevSpec[] {
  if (v === undefined) return Object.freeze([]);
  const apids: IdSpace = { noun: 'adapter', maxName: 'maxAdapterId', max: m.maxAdapterId };
  const apqis: IdSpace = { noun: 'domain', maxName: 'maxDomainId', max: m.maxDomainId };
  const uuids = new Map<string, number>();
  const groups = new Map<number, number>(); // IOMMU group number → index of the mdev in it
  const assigned = new Map<number, number>(); // APQN → index of the mdev holding it
  const out: MdevSpec[] = [];
  for (const [i, entry] of array(v, 'mdevs').entries()) {
    const path = `mdevs[${i}]`;
    const o = object(entry, path);
    checkFields(o, topologyFields.mdev, path);
    if (typeof o.uuid !== 'string' || !UUID.test(o.uuid)) {
      if (o.uuid === undefined) throw invalid(`${path}.uuid`, 'missing');
      throw bad(`${path}.uuid`, o.uuid, 'is not a UUID');
    }
    const uuid = o.uuid.toLowerCase();
    const twin = uuids.get(uuid);
    if (twin !== undefined) throw bad(`${path}.uuid`, o.uuid, `is already used by mdevs[${twin}]`);
    uuids.set(uuid, i);
    const matrix: MatrixSpec = {
      adapters: idList(o.adapters, `${path}.adapters`, apids),
      domains: idList(o.domains, `${path}.domains`, apqis),
      controlDomains: idList(o.controlDomains, `${path}.controlDomains`, apqis),
    };
    const guestMatrix = o.guestMatrix === undefined ? undefined : guestMatrixOf(o.guestMatrix, `${path}.guestMatrix`, matrix, apids, apqis);
    const iommuGroup = o.iommuGroup === undefined ? undefined : iommuGroupOf(o.iommuGroup, `${path}.iommuGroup`, groups, i);
    const mdev: MdevSpec = Object.freeze({ uuid, ...matrix, ...(guestMatrix && { guestMatrix }), ...(iommuGroup !== undefined && { iommuGroup }) });
    for (const a of mdev.adapters) {
      for (const q of mdev.domains) {
        const apqn = mkqid(a, q);
        // vfio_ap_mdev_verify_no_sharing: the kernel refuses the assignment with EADDRINUSE.
        const holder = assigned.get(apqn);
        if (holder !== undefined) {
          throw invalid(
            path,
            `APQN ${queueName(apqn)} is already assigned to mdevs[${holder}] (${out[holder]!.uuid}); ` +
              'the kernel never lets two mdevs share an APQN',
          );
        }
        // vfio_ap_mdev_validate_masks: an APQN reserved for the host drivers cannot be assigned.
        if (apmask.test(a) && aqmask.test(q)) {
          throw invalid(
            path,
            `APQN ${queueName(apqn)} is reserved for the host (apmask bit ${a} and aqmask bit ${q} are set); ` +
              'the kernel would have refused to assign it',
          );
        }
        assigned.set(apqn, i);
      }
    }
    out.push(mdev);
  }
  return Object.freeze(out);
}

/**
 * A saved guest_matrix: inside the mdev's matrix, as every path that changes the shadow keeps it
 * (vfio_ap_mdev_filter_matrix intersects, the hot-unplug paths only clear bits).
 */
/** An IOMMU group number: ida_alloc's range (0..INT_MAX), one mdev per group. */
function iommuGroupOf(v: unknown, path: string, groups: Map<number, number>, i: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw bad(path, v, 'is not an IOMMU group number (an integer 0..2147483647)');
  const twin = groups.get(v);
  if (twin !== undefined) throw bad(path, v, `is already the group of mdevs[${twin}]`);
  groups.set(v, i);
  return v;
}

function guestMatrixOf(v: unknown, path: string, matrix: MatrixSpec, apids: IdSpace, apqis: IdSpace): MatrixSpec {
  const o = object(v, path);
  checkFields(o, topologyFields.guestMatrix, path);
  const spaces = { adapters: apids, domains: apqis, controlDomains: apqis } as const;
  const out = {} as Record<keyof MatrixSpec, readonly number[]>;
  for (const key of ['adapters', 'domains', 'controlDomains'] as const) {
    const ids = idList(o[key], `${path}.${key}`, spaces[key]);
    const outside = ids.find(id => !matrix[key].includes(id));
    if (outside !== undefined) throw bad(`${path}.${key}`, o[key], `holds ${outside}, which the mdev's ${key} do not: a guest_matrix is always inside the matrix`);
    out[key] = ids;
  }
  return Object.freeze(out);
}

// ---------------------------------------------------------------------------------------------
// Saved state: queues, guests, zcrypt nodes

const QUEUE_DRIVERS: readonly QueueDriver[] = ['cex4queue', 'vfio_ap', 'none'];
const DEV_STATES: readonly ApDevState[] = ['uninitiated', 'operating', 'shutdown', 'error'];
const SM_STATES: readonly ApSmState[] = ['reset_start', 'reset_wait', 'setirq_wait', 'idle', 'working', 'queue_full', 'assoc_wait'];

function queueList(v: unknown, m: Machine, adapters: readonly AdapterSpec[], usageDomains: readonly number[], apmask: ApMask, aqmask: ApMask): readonly QueueSpec[] {
  if (v === undefined) return Object.freeze([]);
  const seen = new Map<number, number>();
  const out: QueueSpec[] = [];
  for (const [i, entry] of array(v, 'queues').entries()) {
    const path = `queues[${i}]`;
    const o = object(entry, path);
    checkFields(o, topologyFields.queue, path);
    if (o.id === undefined) throw invalid(`${path}.id`, 'missing');
    const qid = typeof o.id === 'string' ? parseQueueName(o.id.toLowerCase()) : undefined;
    if (qid === undefined) throw bad(`${path}.id`, o.id, 'is not a queue name ("05.0004")');
    const apid = qidCard(qid);
    const apqi = qidQueue(qid);
    if (!m.qci || !adapters.some(a => a.id === apid) || !usageDomains.includes(apqi)) {
      throw bad(`${path}.id`, o.id, 'is not a queue of this machine (its adapter and usage domain must be listed, with qci)');
    }
    const twin = seen.get(qid);
    if (twin !== undefined) throw bad(`${path}.id`, o.id, `is already described by queues[${twin}]`);
    seen.set(qid, i);
    const driver = oneOf(o.driver, `${path}.driver`, QUEUE_DRIVERS);
    // ap_device_probe: a default driver only takes reserved queues, vfio_ap only the others.
    const reserved = apmask.test(apid) && aqmask.test(apqi);
    if (driver === 'cex4queue' && !reserved) throw bad(`${path}.driver`, driver, 'may not hold a queue that apmask/aqmask leave to vfio_ap');
    if (driver === 'vfio_ap' && reserved) throw bad(`${path}.driver`, driver, 'may not hold a queue reserved for the host (apmask and aqmask bits set)');
    const effective = driver ?? (reserved ? 'cex4queue' : 'vfio_ap');
    if (o.resetStatus !== undefined && effective !== 'vfio_ap') throw bad(`${path}.resetStatus`, o.resetStatus, 'is only kept for a queue bound to vfio_ap');
    const spec: Record<string, unknown> = { apid, apqi };
    const put = (key: string, value: unknown): void => {
      if (value !== undefined) spec[key] = value;
    };
    put('driver', driver);
    put('devState', oneOf(o.devState, `${path}.devState`, DEV_STATES));
    put('smState', oneOf(o.smState, `${path}.smState`, SM_STATES));
    for (const key of ['interrupt', 'config', 'chkstop', 'online'] as const) if (o[key] !== undefined) put(key, bool(o[key], `${path}.${key}`, false));
    if (o.resetStatus !== undefined) put('resetStatus', inRange(o.resetStatus, `${path}.resetStatus`, 'a response code', 0, 255, 0));
    out.push(Object.freeze(spec) as unknown as QueueSpec);
  }
  out.sort((a, b) => mkqid(a.apid, a.apqi) - mkqid(b.apid, b.apqi));
  return Object.freeze(out);
}

/** The guest names `ctl guest attach --guest` accepts. */
const GUEST_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function guestList(v: unknown, mdevs: readonly MdevSpec[]): readonly GuestSpec[] {
  if (v === undefined) return Object.freeze([]);
  const names = new Map<string, number>();
  const users = new Map<string, number>();
  const out: GuestSpec[] = [];
  for (const [i, entry] of array(v, 'guests').entries()) {
    const path = `guests[${i}]`;
    const o = object(entry, path);
    checkFields(o, topologyFields.guest, path);
    if (o.name === undefined) throw invalid(`${path}.name`, 'missing');
    if (typeof o.name !== 'string' || !GUEST_NAME.test(o.name)) throw bad(`${path}.name`, o.name, 'is not a guest name (letters, digits and ._:-, at most 64)');
    const twin = names.get(o.name);
    if (twin !== undefined) throw bad(`${path}.name`, o.name, `is already used by guests[${twin}]`);
    names.set(o.name, i);
    if (o.mdev === undefined) {
      out.push(Object.freeze({ name: o.name }));
      continue;
    }
    const uuid = typeof o.mdev === 'string' ? o.mdev.toLowerCase() : undefined;
    if (uuid === undefined || !mdevs.some(m => m.uuid === uuid)) throw bad(`${path}.mdev`, o.mdev, 'is not the uuid of one of the mdevs');
    // One KVM per mdev: a second open of the device is the VFIO core's business, not a second guest.
    const user = users.get(uuid);
    if (user !== undefined) throw bad(`${path}.mdev`, o.mdev, `is already open by guests[${user}]`);
    users.set(uuid, i);
    out.push(Object.freeze({ name: o.name, mdev: uuid }));
  }
  return Object.freeze(out);
}

/** zcrypt_api.c: a node name is at most 31 characters, without surrounding blanks or '/'. */
const ZCDN_NAME = /^[^\s/](?:[^/]{0,29}[^\s/])?$/;
const ZCRYPT_MAX_MINOR_NODES = 256;

function zcryptNodeList(v: unknown): readonly ZcryptNodeSpec[] {
  if (v === undefined) return Object.freeze([]);
  const names = new Map<string, number>();
  const minors = new Map<number, number>();
  const out: ZcryptNodeSpec[] = [];
  for (const [i, entry] of array(v, 'zcryptNodes').entries()) {
    const path = `zcryptNodes[${i}]`;
    const o = object(entry, path);
    checkFields(o, topologyFields.zcryptNode, path);
    if (o.name === undefined) throw invalid(`${path}.name`, 'missing');
    if (typeof o.name !== 'string' || !ZCDN_NAME.test(o.name)) throw bad(`${path}.name`, o.name, 'is not a zcrypt node name (1..31 characters, no "/", no surrounding blanks)');
    const twin = names.get(o.name);
    if (twin !== undefined) throw bad(`${path}.name`, o.name, `is already used by zcryptNodes[${twin}]`);
    names.set(o.name, i);
    // zcdn_create takes the lowest free minor.
    let free = 0;
    while (minors.has(free)) free++;
    const minor = inRange(o.minor, `${path}.minor`, 'a minor number', 0, ZCRYPT_MAX_MINOR_NODES - 1, free);
    const other = minors.get(minor);
    if (other !== undefined) throw bad(`${path}.minor`, o.minor ?? minor, `is already used by zcryptNodes[${other}]`);
    minors.set(minor, i);
    const zero = (key: string): ApMask => (o[key] === undefined ? ApMask.zero() : mask(o[key], `${path}.${key}`));
    const masks = { ioctlmask: zero('ioctlmask'), apmask: zero('apmask'), aqmask: zero('aqmask'), admask: zero('admask') };
    const node = { name: o.name, minor } as ZcryptNodeSpec;
    // A copy per read, as for the bus masks.
    for (const [key, value] of Object.entries(masks)) Object.defineProperty(node, key, { enumerable: true, get: () => value.clone() });
    out.push(Object.freeze(node));
  }
  return Object.freeze(out);
}

// ---------------------------------------------------------------------------------------------

/**
 * Pure: validates and normalises parsed JSON. Throws KernelError(Errno.EINVAL, message) whose message
 * names the field path and the offending value, e.g. `adapters[2].id: 300 is not an adapter id
 * (0..255)` or `mdevs[0].uuid: "xyz" is not a UUID`. The result is frozen; each read of `apmask` /
 * `aqmask` returns a fresh copy.
 * Throws: EINVAL for any field the format or the kernel would not accept (docs/topology.md).
 */
export function parseTopology(json: unknown): Topology {
  const o = object(json, 'topology');
  checkFields(o, topologyFields.topology, '');
  if (o.$schema !== undefined && typeof o.$schema !== 'string') throw bad('$schema', o.$schema, 'is not a string');
  const m = machine(o);
  const domains: IdSpace = { noun: 'domain', maxName: 'maxDomainId', max: m.maxDomainId };
  const adapters = adapterList(o.adapters, m);
  const usageDomains = idList(o.usageDomains, 'usageDomains', domains);
  const controlDomains =
    o.controlDomains === undefined ? usageDomains : idList(o.controlDomains, 'controlDomains', domains);
  const apmask = mask(o.apmask, 'apmask');
  const aqmask = mask(o.aqmask, 'aqmask');

  let apDomain = -1;
  if (o.apDomain !== undefined && o.apDomain !== -1) {
    const n = idToken(o.apDomain);
    if (n === undefined) throw bad('apDomain', o.apDomain, 'is not a domain id (-1 for none)');
    // What ap_domain reads. A running system keeps it when its domain later leaves the
    // configuration or aqmask (ap_domain_store checks aqmask only when it is written), so a saved
    // state may name any domain up to maxDomainId.
    apDomain = checkId(n, o.apDomain, 'apDomain', domains);
  }
  const interrupts = bool(o.interrupts, 'interrupts', true);
  const pollThread = bool(o.pollThread, 'pollThread', false);
  // poll_thread_store: with interrupts in use no thread is started and poll_thread reads 0.
  if (pollThread && interrupts) {
    throw bad('pollThread', true, 'is impossible while interrupts are in use (set interrupts to false)');
  }

  const mdevs = mdevList(o.mdevs, m, apmask, aqmask);
  const top = {
    ...m,
    adapters,
    usageDomains,
    controlDomains,
    apDomain,
    configTime: inRange(o.configTime, 'configTime', 'a scan interval in seconds', 5, 120, 30),
    pollThread,
    pollTimeout: inRange(o.pollTimeout, 'pollTimeout', 'a poll interval in ns', 0, POLL_TIMEOUT_MAX, 250_000),
    interrupts,
    mdevs,
    scans: inRange(o.scans, 'scans', 'a scan count (the boot scan makes 1)', 1, Number.MAX_SAFE_INTEGER, 1),
    driversAutoprobe: bool(o.driversAutoprobe, 'driversAutoprobe', true),
    queues: queueList(o.queues, m, adapters, usageDomains, apmask, aqmask),
    guests: guestList(o.guests, mdevs),
    zcryptNodes: zcryptNodeList(o.zcryptNodes),
  };
  // ApMask is mutable and defaultTopology is shared by every Host in the process: each read of a
  // mask hands out a fresh copy, so no Host can change the topology it was built from.
  Object.defineProperties(top, {
    apmask: { enumerable: true, get: () => apmask.clone() },
    aqmask: { enumerable: true, get: () => aqmask.clone() },
  });
  return Object.freeze(top) as Topology;
}

// ---------------------------------------------------------------------------------------------
// serializeTopology

const hex = (n: number, width: number): string => `0x${n.toString(16).padStart(width, '0')}`;

/** Runs of consecutive ids: [[lo, hi], ...]. */
function runs(ids: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const id of ids) {
    const last = out[out.length - 1];
    if (last && last[1] === id - 1) last[1] = id;
    else out.push([id, id]);
  }
  return out;
}

function compactIds(ids: readonly number[], width: number): string[] {
  return runs(ids).map(([lo, hi]) => (lo === hi ? hex(lo, width) : `${hex(lo, width)}-${hex(hi, width)}`));
}

/** The kernel parameter form, relative to zero: "+0-3,+8"; "0x0" when empty. */
function maskText(m: ApMask): string {
  const ids = [...m.ids()];
  return ids.length === 0 ? '0x0' : runs(ids).map(([lo, hi]) => (lo === hi ? `+${lo}` : `+${lo}-${hi}`)).join(',');
}

/** An adapter's fields that differ from the defaults (without its id). */
function adapterFields(a: AdapterSpec, apxa: boolean): JsonObject {
  const f: JsonObject = { type: a.typeName };
  if (!a.configured) f.configured = false;
  if (a.chkstop) f.chkstop = true;
  if (!a.online) f.online = false;
  if (a.rawHwtype !== a.hwtype) f.rawHwtype = a.rawHwtype;
  if (a.depth !== DEFAULT_DEPTH) f.depth = a.depth;
  if (a.functions !== defaultFunctions(a.mode, apxa)) f.functions = `0x${a.functions.toString(16).padStart(8, '0')}`;
  if (a.maxMsgSize !== AP_DEFAULT_MAX_MSG_SIZE) f.maxMsgSize = a.maxMsgSize;
  if (a.serialnr !== defaultSerialnr(a.mode, a.id)) f.serialnr = a.serialnr;
  if (a.driver !== 'cex4card') f.driver = a.driver;
  return f;
}

/** Consecutive adapters with equal non-default fields (and no own serial number) become one range entry. */
function compactAdapters(t: Topology): JsonObject[] {
  const out: { lo: number; hi: number; fields: JsonObject; key: string }[] = [];
  for (const a of t.adapters) {
    const fields = adapterFields(a, t.apxa);
    const key = JSON.stringify(fields);
    const last = out[out.length - 1];
    if (last && last.hi === a.id - 1 && last.key === key && fields.serialnr === undefined) last.hi = a.id;
    else out.push({ lo: a.id, hi: a.id, fields, key });
  }
  return out.map(({ lo, hi, fields }) => ({ id: lo === hi ? hex(lo, 2) : `${hex(lo, 2)}-${hex(hi, 2)}`, ...fields }));
}

const matrixFields = (m: MatrixSpec): JsonObject => ({
  adapters: compactIds(m.adapters, 2),
  domains: compactIds(m.domains, 4),
  controlDomains: compactIds(m.controlDomains, 4),
});

/** The saved-state fields, each only when it says more than its default. */
function stateFields(t: Topology): JsonObject {
  const f: JsonObject = {};
  if (t.scans !== 1) f.scans = t.scans;
  if (!t.driversAutoprobe) f.driversAutoprobe = false;
  if (t.queues.length) f.queues = t.queues.map(({ apid, apqi, ...rest }) => ({ id: queueName(mkqid(apid, apqi)), ...rest }));
  if (t.guests.length) f.guests = t.guests.map(g => ({ ...g }));
  if (t.zcryptNodes.length) {
    f.zcryptNodes = t.zcryptNodes.map(n => ({
      name: n.name,
      minor: n.minor,
      ioctlmask: maskText(n.ioctlmask),
      apmask: maskText(n.apmask),
      aqmask: maskText(n.aqmask),
      admask: maskText(n.admask),
    }));
  }
  return f;
}

/** The inverse, for `ctl save`: a Topology back to the file format (compact ranges). */
export function serializeTopology(t: Topology): unknown {
  return {
    adapters: compactAdapters(t),
    usageDomains: compactIds(t.usageDomains, 4),
    controlDomains: compactIds(t.controlDomains, 4),
    qci: t.qci,
    apxa: t.apxa,
    features: [...t.features],
    maxAdapterId: t.maxAdapterId,
    maxDomainId: t.maxDomainId,
    apmask: maskText(t.apmask),
    aqmask: maskText(t.aqmask),
    apDomain: t.apDomain,
    configTime: t.configTime,
    pollThread: t.pollThread,
    pollTimeout: t.pollTimeout,
    interrupts: t.interrupts,
    mdevs: t.mdevs.map(m => ({
      uuid: m.uuid,
      ...matrixFields(m),
      ...(m.guestMatrix && { guestMatrix: matrixFields(m.guestMatrix) }),
      ...(m.iommuGroup !== undefined && { iommuGroup: m.iommuGroup }),
    })),
    ...stateFields(t),
  };
}
