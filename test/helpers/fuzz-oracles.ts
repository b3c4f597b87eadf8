/**
 * Where the fuzzer can compute the kernel's answer itself, it does: small reference versions of
 * the kernel's parsers (kstrtoull, vsscanf "%i"/"%d", kstrtobool, ap_parse_bitmap_str, strsep,
 * uuid_is_valid, sysfs_streq, kobject_synth_uevent), written from the C and independent of
 * src/, and per attribute the outcome they imply for the current model state.
 *
 * An oracle narrows the documented errno set (src/sysfs/errno-sets.ts) to the answers that are
 * right for this input in this state, and may check the state after a successful write. It says
 * nothing (undefined) where the kernel's answer depends on more than it models (a NUL inside a
 * uevent action, an environment near the uevent buffer's limits).
 */
import { Errno } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import type { ApMask } from '../../src/model/ap/ap-mask.js';

export type Outcome = Errno | 0;

export interface Expectation {
  /** The acceptable answers (0 = success). */
  readonly outcomes: readonly Outcome[];
  /** Why, for the failure message. */
  readonly why: string;
  /** After a success: undefined if the state is what the write should have made it, else what is wrong. */
  readonly after?: (host: Host) => string | undefined;
}

const { EBUSY, EEXIST, EINVAL, ENODEV, ENOENT, ENOSPC, EOPNOTSUPP, ERANGE, EUSERS, EADDRINUSE, EADDRNOTAVAIL } = Errno;

const PAGE_SIZE = 4096;

/** What store() gets: the first PAGE_SIZE bytes, as a C string (kernfs NUL-terminates the copy). */
export function storeArgs(data: Buffer): { s: string; count: number; raw: Buffer } {
  const count = Math.min(data.length, PAGE_SIZE);
  const raw = data.subarray(0, count);
  const nul = raw.indexOf(0);
  return { s: (nul >= 0 ? raw.subarray(0, nul) : raw).toString('latin1'), count, raw };
}

// ---- lib/ctype.c, lib/kstrtox.c, lib/vsprintf.c ---------------------------------------------

const code = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const hexVal = (c: number): number => (isDigit(c) ? c - 48 : (c | 0x20) >= 97 && (c | 0x20) <= 102 ? (c | 0x20) - 87 : -1);
/** _ctype _S: 9..13, space, and latin1 NBSP. */
const isSpace = (c: number): boolean => (c >= 9 && c <= 13) || c === 32 || c === 160;
const U64 = (1n << 64n) - 1n;

/** _parse_integer_fixup_radix */
function fixupRadix(s: string, p: number, base: number): [number, number] {
  if (base === 0) base = code(s, p) === 48 ? ((code(s, p + 1) | 0x20) === 120 && hexVal(code(s, p + 2)) >= 0 ? 16 : 8) : 10;
  if (base === 16 && code(s, p) === 48 && (code(s, p + 1) | 0x20) === 120) p += 2;
  return [p, base];
}

/** _parse_integer_limit: digits taken, the value mod 2^64, whether it overflowed. */
function parseDigits(s: string, p: number, base: number): { n: number; v: bigint; overflow: boolean } {
  let v = 0n;
  let n = 0;
  let overflow = false;
  for (;;) {
    const d = hexVal(code(s, p + n));
    if (d < 0 || d >= base) break;
    const next = v * BigInt(base) + BigInt(d);
    if (next > U64) overflow = true;
    v = next & U64;
    n++;
  }
  return { n, v, overflow };
}

/** kstrtoull(s, 0): the value, or the errno. */
export function refKstrtoull(s: string): bigint | Errno {
  let p = code(s, 0) === 43 ? 1 : 0;
  const [q, base] = fixupRadix(s, p, 0);
  const r = parseDigits(s, q, base);
  if (r.overflow) return ERANGE;
  if (r.n === 0) return EINVAL;
  p = q + r.n;
  if (code(s, p) === 10) p++;
  return code(s, p) === 0 ? r.v : EINVAL;
}

/** sscanf(s, "%i") / "%d" into an int: undefined when nothing converts. */
export function refSscanfInt(s: string, base: 0 | 10): number | undefined {
  let p = 0;
  if (code(s, 0) === 0) return undefined;
  while (isSpace(code(s, p))) p++;
  const neg = code(s, p) === 45;
  if (!isDigit(code(s, neg ? p + 1 : p))) return undefined;
  if (neg) p++;
  const [q, b] = fixupRadix(s, p, base);
  const { v } = parseDigits(s, q, b);
  return Number(BigInt.asIntN(32, neg ? -v : v));
}

/** kstrtobool */
export function refKstrtobool(s: string): boolean | undefined {
  const c = s.charAt(0);
  if ('eEyYtT1'.includes(c) && c !== '') return true;
  if ('dDnNfF0'.includes(c) && c !== '') return false;
  if (c === 'o' || c === 'O') {
    const d = s.charAt(1);
    if (d === 'n' || d === 'N') return true;
    if (d === 'f' || d === 'F') return false;
  }
  return undefined;
}

// ---- ap_bus.c hex2bitmap / modify_bitmap (with the unsigned long fix) -------------------------

type Bits = Uint8Array;
const bitsOf = (m: ApMask): Bits => {
  const b = new Uint8Array(256);
  for (const id of m.ids()) b[id] = 1;
  return b;
};
const sameBits = (a: Bits, m: ApMask): boolean => a.every((v, i) => (v === 1) === m.test(i));
const anyBit = (a: Bits, f: (i: number) => boolean): boolean => a.some((v, i) => v === 1 && f(i));

export function refHex2bitmap(s: string): Bits | undefined {
  const bits = new Uint8Array(256);
  let p = 0;
  if (code(s, 0) === 48 && code(s, 1) === 120) p++;
  if (code(s, p) === 120) p++;
  for (let i = 0; i < 256 && hexVal(code(s, p)) >= 0; p++, i += 4) {
    const v = hexVal(code(s, p));
    for (let n = 0; n < 4; n++) if (v & (8 >> n)) bits[i + n] = 1;
  }
  if (code(s, p) === 10) p++;
  return code(s, p) === 0 ? bits : undefined;
}

function refStrtoul(s: string, p: number): { v: bigint; end: number } {
  const [q, base] = fixupRadix(s, p, 0);
  const r = parseDigits(s, q, base);
  return { v: r.v, end: r.n ? q + r.n : p };
}

export function refModifyBitmap(s: string, cur: Bits): Bits | undefined {
  const m = cur.slice();
  let p = 0;
  while (code(s, p) !== 0) {
    const sign = code(s, p++);
    if (sign !== 43 && sign !== 45) return undefined;
    const a = refStrtoul(s, p);
    if (a.end === p || a.v >= 256n) return undefined;
    let z = a.v;
    p = a.end;
    if (code(s, p) === 45) {
      p++;
      const e = refStrtoul(s, p);
      if (e.end === p || a.v > e.v || e.v >= 256n) return undefined;
      z = e.v;
      p = e.end;
    }
    for (let i = Number(a.v); i <= Number(z); i++) m[i] = sign === 43 ? 1 : 0;
    while (code(s, p) === 44 || code(s, p) === 10) p++;
  }
  return m;
}

export const refParseBitmapStr = (s: string, cur: Bits): Bits | undefined =>
  code(s, 0) === 43 || code(s, 0) === 45 ? refModifyBitmap(s, cur) : refHex2bitmap(s);

/** ap_config_store: kstrndup to 201 bytes, three strsep(",\n") fields, each hex2bitmap. */
export function refApConfig(s: string): [Bits, Bits, Bits] | undefined {
  let rest: string | undefined = s.slice(0, 201);
  const fields: Bits[] = [];
  for (let i = 0; i < 3; i++) {
    if (rest === undefined) return undefined;
    const m = /[,\n]/.exec(rest);
    const tok: string = m ? rest.slice(0, m.index) : rest;
    rest = m ? rest.slice(m.index + 1) : undefined;
    const bits = refHex2bitmap(tok);
    if (!bits) return undefined;
    fields.push(bits);
  }
  return [fields[0]!, fields[1]!, fields[2]!];
}

// ---- lib/uuid.c, lib/string.c, lib/kobject_uevent.c -------------------------------------------

export const refUuidValid = (s: string): boolean =>
  s.length >= 36 && [...s.slice(0, 36)].every((c, i) => ([8, 13, 18, 23].includes(i) ? c === '-' : hexVal(c.charCodeAt(0)) >= 0));

/** sysfs_streq: equal, one trailing "\n" on either side allowed. */
export const refStreq = (a: string, b: string): boolean => a === b || a + '\n' === b || a === b + '\n';

const ACTIONS = ['add', 'remove', 'change', 'move', 'online', 'offline', 'bind', 'unbind'];
/** lib/ctype.c: ASCII letters and digits, and latin1 192..255 but for × (215) and ÷ (247). */
const isAlnum = (c: number): boolean => isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || (c >= 192 && c !== 215 && c !== 247);

/**
 * kobject_synth_uevent on the `count` bytes written: EINVAL for an unknown action or arguments
 * that are not "UUID[ KEY=VALUE]...", else 0. Undefined where the C reads past a NUL or where the
 * uevent environment (64 entries, 2048 bytes) may overflow (ENOMEM).
 */
export function refUevent(raw: Buffer): Outcome | undefined {
  // With a NUL in the text the C compares past the string's end (strncmp over count bytes).
  if (raw.includes(0)) return undefined;
  const s = raw.toString('latin1');
  let count = s.length;
  if (count && (s[count - 1] === '\n' || s[count - 1] === '\0')) count--;
  if (!count) return EINVAL;
  const sp = s.slice(0, count).indexOf(' ');
  const action = sp >= 0 ? s.slice(0, sp) : s.slice(0, count);
  if (!ACTIONS.includes(action)) return EINVAL;
  if (sp < 0) return 0;
  // kobject_action_args gets the original count (its own trailing "\n" strip).
  const a = s.slice(sp + 1);
  let n = a.length;
  if (n && (a[n - 1] === '\n' || a[n - 1] === '\0')) n--;
  if (!n || n < 36 || !refUuidValid(a)) return EINVAL;
  const end = n - 1;
  let vars = 1;
  let bytes = 'SYNTH_UUID='.length + 36 + 1;
  let next = 36;
  while (next <= end) {
    if (a[next] !== ' ') return EINVAL;
    const key = ++next;
    if (key > end) return EINVAL;
    let p = key;
    while (p <= end && a[p] !== '=') if (!isAlnum(a.charCodeAt(p++))) return EINVAL;
    if (p === key || p > end) return EINVAL;
    const value = ++p;
    if (value > end) return EINVAL;
    while (p <= end && a[p] !== ' ') if (!isAlnum(a.charCodeAt(p++))) return EINVAL;
    if (p === value) return EINVAL;
    vars++;
    bytes += 'SYNTH_ARG_'.length + (value - 1 - key) + 1 + (p - value) + 1;
    if (vars > 64 || bytes > 2048) return EINVAL;
    next = p;
  }
  // kobject_uevent_env adds ACTION, DEVPATH, SUBSYSTEM, the device's own keys and SEQNUM.
  return vars > 48 || bytes > 1600 ? undefined : 0;
}

// ---- per attribute --------------------------------------------------------------------------

type Oracle = (host: Host, path: string, data: Buffer) => Expectation | undefined;

const ok = (why: string, after?: Expectation['after']): Expectation => ({ outcomes: [0], why, ...(after && { after }) });
const no = (errno: Errno, why: string): Expectation => ({ outcomes: [errno], why });
const seg = (path: string, i: number): string => path.split('/')[i] ?? '';

const uevent: Oracle = (_h, _p, data) => {
  const r = refUevent(storeArgs(data).raw);
  return r === undefined ? undefined : r ? no(r, 'kobject_synth_uevent refuses it') : ok('a known action with valid arguments');
};

const never: Oracle = () => ok('this store never fails');

function maskOracle(which: 'apm' | 'aqm'): Oracle {
  return (host, _p, data) => {
    const { s } = storeArgs(data);
    const cur = host.bus.apPerms[which];
    const next = refParseBitmapStr(s, bitsOf(cur));
    if (!next) return no(EINVAL, 'ap_parse_bitmap_str refuses it');
    const after = (h: Host) => (sameBits(next, h.bus.apPerms[which]) ? undefined : `${which === 'apm' ? 'apmask' : 'aqmask'} is ${h.bus.apPerms[which].toString()}`);
    const reserved = next.map((v, i) => (v && !cur.test(i) ? 1 : 0));
    if (!reserved.includes(1)) return ok('no newly reserved bit', after);
    // v6.17: newly reserved ids x the current other mask, against every mdev's matrix.
    const other = which === 'apm' ? host.bus.apPerms.aqm : host.bus.apPerms.apm;
    for (const m of host.matrixDev.mdevList) {
      const mine = which === 'apm' ? m.matrix.apm : m.matrix.aqm;
      const theirs = which === 'apm' ? m.matrix.aqm : m.matrix.apm;
      if (anyBit(reserved, (i) => mine.test(i)) && theirs.intersects(other)) return no(EBUSY, `newly reserved APQNs are assigned to ${m.uuid}`);
    }
    return ok('newly reserved APQNs are free', after);
  };
}

function sscanfRange(base: 0 | 10, lo: number, hi: number, get: (h: Host) => number, extra?: (h: Host, v: number) => boolean): Oracle {
  return (host, _p, data) => {
    const v = refSscanfInt(storeArgs(data).s, base);
    if (v === undefined || v < lo || v > hi || (extra && !extra(host, v))) return no(EINVAL, `sscanf gives ${v}`);
    return ok(`sscanf gives ${v}`, (h) => (get(h) === v ? undefined : `reads back ${get(h)}, not ${v}`));
  };
}

const apDevice = (host: Host, s: string) => {
  for (const c of host.bus.cards.values()) {
    if (refStreq(c.name, s)) return c;
    for (const q of c.queues.values()) if (refStreq(q.name, s)) return q;
  }
  return undefined;
};

const bindOracle: Oracle = (host, path, data) => {
  const drv = host.bus.driver(seg(path, 4));
  const dev = apDevice(host, storeArgs(data).s);
  if (!drv || !dev) return no(ENODEV, 'no such device');
  const hwtype = dev.kind === 'card' ? dev.hwtype : dev.card.hwtype;
  if (drv.devType !== dev.kind || !drv.hwtypes.has(hwtype)) return no(ENODEV, `${drv.name} does not match ${dev.name}`);
  if (dev.driver) return no(EBUSY, `${dev.name} is bound to ${dev.driver.name}`);
  if (dev.kind === 'queue' && drv.isDefault !== host.bus.ownedByDefDrv(dev.apid, dev.apqi)) return no(ENODEV, 'the probe gate refuses');
  return ok('an unbound device the driver may take', (h) => (apDevice(h, dev.name)?.driver?.name === drv.name ? undefined : `${dev.name} is not bound to ${drv.name}`));
};

const unbindOracle: Oracle = (host, path, data) => {
  const dev = apDevice(host, storeArgs(data).s);
  if (!dev || dev.driver?.name !== seg(path, 4)) return no(ENODEV, 'not bound to this driver');
  return ok('bound to this driver', (h) => (apDevice(h, dev.name)?.driver ? `${dev.name} is still bound` : undefined));
};

const card = (host: Host, path: string) => host.bus.cards.get(parseInt(seg(path, 3).slice(4), 16));
const queue = (host: Host, path: string) => {
  const [a, q] = seg(path, 4).split('.');
  return host.bus.queue(parseInt(a ?? '', 16), parseInt(q ?? '', 16));
};
const mdevOf = (host: Host, path: string) => host.matrixDev.findMdev(seg(path, 4));
const activeMdev = (host: Host, s: string) => host.matrixDev.mdevList.find((m) => m.state === 'active' && refStreq(m.uuid, s));

function numberOracle(max: (host: Host, path: string) => number, then: (host: Host, path: string, id: number) => Expectation): Oracle {
  return (host, path, data) => {
    const v = refKstrtoull(storeArgs(data).s);
    if (typeof v !== 'bigint') return no(v, 'kstrtoul refuses it');
    if (v > BigInt(max(host, path))) return no(ENODEV, `${v} is above the limit ${max(host, path)}`);
    return then(host, path, Number(v));
  };
}

type Dim = 'apm' | 'aqm' | 'adm';
const maxOf = (d: Dim) => (host: Host, path: string): number => {
  const m = mdevOf(host, path)!.matrix;
  return d === 'apm' ? m.apmMax : d === 'aqm' ? m.aqmMax : m.admMax;
};

/** What vfio_ap_mdev_validate_masks says about a candidate matrix of `mdev`. */
function validate(host: Host, uuid: string, apm: Bits, aqm: Bits): Expectation | undefined {
  const perms = host.bus.apPerms;
  if (anyBit(apm, (i) => perms.apm.test(i)) && anyBit(aqm, (i) => perms.aqm.test(i))) return no(EADDRNOTAVAIL, 'an APQN is reserved for the host');
  for (const o of host.matrixDev.mdevList) {
    if (o.uuid === uuid) continue;
    if (anyBit(apm, (i) => o.matrix.apm.test(i)) && anyBit(aqm, (i) => o.matrix.aqm.test(i))) return no(EADDRINUSE, `shared with ${o.uuid}`);
  }
  return undefined;
}

function assignOracle(d: 'apm' | 'aqm'): Oracle {
  return numberOracle(maxOf(d), (host, path, id) => {
    const m = mdevOf(host, path)!;
    const after = (h: Host) => (mdevOf(h, path)?.matrix[d].test(id) ? undefined : `bit ${id} is not set in ${d}`);
    if (m.matrix[d].test(id)) return ok('already assigned', after);
    const apm = bitsOf(m.matrix.apm);
    const aqm = bitsOf(m.matrix.aqm);
    (d === 'apm' ? apm : aqm)[id] = 1;
    return validate(host, m.uuid, apm, aqm) ?? ok('a free APQN set', after);
  });
}

function unassignOracle(d: Dim, set: boolean): Oracle {
  return numberOracle(maxOf(d), (_h, path, id) =>
    ok(`${set ? '' : 'un'}assign ${id}`, (h) => (mdevOf(h, path)?.matrix[d].test(id) === set ? undefined : `bit ${id} of ${d} is ${set ? 'clear' : 'set'}`)),
  );
}

const apConfigOracle: Oracle = (host, path, data) => {
  const masks = refApConfig(storeArgs(data).s);
  if (!masks) return no(EINVAL, 'not three valid masks');
  const [apm, aqm, adm] = masks;
  const m = mdevOf(host, path)!;
  const bad = validate(host, m.uuid, apm, aqm);
  if (bad) return bad;
  const x = m.matrix;
  if (anyBit(apm, (i) => i > x.apmMax) || anyBit(aqm, (i) => i > x.aqmMax) || anyBit(adm, (i) => i > x.admMax)) return no(ENODEV, 'a bit above the limits');
  return ok('a valid matrix', (h) => {
    const y = mdevOf(h, path)?.matrix;
    return y && sameBits(apm, y.apm) && sameBits(aqm, y.aqm) && sameBits(adm, y.adm) ? undefined : 'the matrix is not what was written';
  });
};

const createOracle: Oracle = (host, _p, data) => {
  const { s, count } = storeArgs(data);
  if (count < 36 || count > 37 || !refUuidValid(s)) return no(EINVAL, 'not 36/37 bytes of UUID');
  const uuid = s.slice(0, 36).toLowerCase();
  if (host.matrixDev.findMdev(uuid)) return no(EEXIST, `${uuid} exists`);
  if (host.mdevCore.availableInstances === 0) return no(EUSERS, 'no instances left');
  return ok(`creates ${uuid}`, (h) => (h.matrixDev.findMdev(uuid)?.state === 'active' ? undefined : `${uuid} does not exist`));
};

const removeOracle: Oracle = (host, path, data) => {
  const v = refKstrtoull(storeArgs(data).s);
  if (typeof v !== 'bigint') return no(EINVAL, 'kstrtoul refuses it (ERANGE too becomes EINVAL)');
  const uuid = seg(path, 4);
  if (v === 0n) return ok('0 does nothing', (h) => (h.matrixDev.findMdev(uuid) ? undefined : `${uuid} is gone`));
  return ok('removes it', (h) => (h.matrixDev.findMdev(uuid) ? `${uuid} is still there` : undefined));
};

const driversProbe = (exists: (h: Host, s: string) => boolean): Oracle => (host, _p, data) =>
  exists(host, storeArgs(data).s) ? ok('a device on this bus') : no(ENODEV, 'no such device');

const onlineCard: Oracle = (host, path, data) => {
  const v = refSscanfInt(storeArgs(data).s, 10);
  const c = card(host, path)!;
  if (v !== 0 && v !== 1) return no(EINVAL, `sscanf gives ${v}`);
  if (v === 1 && (!c.config || c.chkstop)) return no(ENODEV, 'not configured or checkstopped');
  return ok(`online ${v}`);
};

const onlineQueue: Oracle = (host, path, data) => {
  const v = refSscanfInt(storeArgs(data).s, 10);
  const q = queue(host, path)!;
  if (v !== 0 && v !== 1) return no(EINVAL, `sscanf gives ${v}`);
  if (v === 1 && (!q.config || q.chkstop || !q.card.config || q.card.chkstop)) return no(ENODEV, 'not configured or checkstopped');
  if (v === 1 && !q.card.zcryptOnline) return no(EINVAL, 'the card is offline');
  return ok(`online ${v}`);
};

const autoprobe: Oracle = (_h, _p, data) => {
  // drivers_autoprobe_store: buf[0] == '0' → 0, anything else (an empty C string too) → 1.
  const want = storeArgs(data).s.charAt(0) !== '0';
  return ok(`autoprobe ${want ? 1 : 0}`, (h) => (h.bus.drivers_autoprobe === want ? undefined : `drivers_autoprobe is ${h.bus.drivers_autoprobe ? 1 : 0}`));
};

/** zcdn_create_store / _destroy_store: strscpy(name, skip_spaces(buf), 32), then strim. */
function zcdnName(s: string): string {
  let i = 0;
  while (isSpace(code(s, i))) i++;
  let name = s.slice(i, i + 31);
  while (name.length && isSpace(name.charCodeAt(name.length - 1))) name = name.slice(0, -1);
  return name;
}

const zcdnCreate: Oracle = (host, _p, data) => {
  const name = zcdnName(storeArgs(data).s);
  if (name === '.' || name === '..') return undefined; // what kernfs makes of these was not read
  const nodes = host.zcrypt.nodes;
  if (name && nodes.has(name)) return no(EEXIST, `a node ${name} exists`);
  if (nodes.size >= 256) return no(ENOSPC, '256 nodes');
  const used = new Set([...nodes.values()].map((n) => n.minor));
  let minor = 0;
  while (used.has(minor)) minor++;
  // dev_set_name turns '/' into '!'; device_register then fails on any name sysfs already has.
  const devName = name ? name.replace(/\//g, '!') : `zcrypt_${minor}`;
  if (nodes.has(devName) || devName === 'create' || devName === 'destroy') return no(EEXIST, `${devName} clashes in sysfs`);
  return ok(`creates ${devName}`, (h) => (h.zcrypt.nodes.has(devName) ? undefined : `no node ${devName}`));
};

const zcdnDestroy: Oracle = (host, _p, data) => {
  const name = zcdnName(storeArgs(data).s);
  // find_zcdndev_by_name compares with the device names as they are (a '/' never matches).
  if (!host.zcrypt.nodes.has(name)) return no(ENOENT, `no node ${JSON.stringify(name)}`);
  return ok(`destroys ${name}`, (h) => (h.zcrypt.nodes.has(name) ? `${name} is still there` : undefined));
};

function zcdnMask(which: 'ioctlm' | 'apm' | 'aqm' | 'adm'): Oracle {
  return (host, path, data) => {
    const node = host.zcrypt.nodes.get(seg(path, 3));
    if (!node) return undefined;
    const next = refParseBitmapStr(storeArgs(data).s, bitsOf(node.perms[which]));
    if (!next) return no(EINVAL, 'ap_parse_bitmap_str refuses it');
    return ok('a valid mask', (h) => (sameBits(next, h.zcrypt.nodes.get(node.name)!.perms[which]) ? undefined : `${which} is ${h.zcrypt.nodes.get(node.name)!.perms[which].toString()}`));
  };
}

/** Oracles by WRITE_ERRNOS key. */
export const ORACLES: Readonly<Record<string, Oracle>> = {
  '/bus/ap/ap_domain': sscanfRange(0, 0, Number.MAX_SAFE_INTEGER, (h) => h.bus.apDomainIndex, (h, v) => v <= h.bus.maxDomainId && h.bus.apPerms.aqm.test(v)),
  '/bus/ap/config_time': sscanfRange(10, 5, 120, (h) => h.bus.configTime),
  '/bus/ap/poll_thread': (host, _p, data) => {
    const v = refKstrtobool(storeArgs(data).s);
    if (v === undefined) return no(EINVAL, 'kstrtobool refuses it');
    return ok(`poll_thread ${v}`, (h) => (h.bus.pollThread === (v && !host.bus.interrupts) ? undefined : `poll_thread is ${h.bus.pollThread}`));
  },
  '/bus/ap/poll_timeout': (_h, _p, data) => {
    const v = refKstrtoull(storeArgs(data).s);
    if (typeof v !== 'bigint') return no(v, 'kstrtoull refuses it');
    if (v > 120000000000n) return no(EINVAL, 'above 120 s');
    return ok(`${v} ns`, (h) => (BigInt(h.bus.pollTimeout) === v ? undefined : `poll_timeout is ${h.bus.pollTimeout}`));
  },
  '/bus/ap/apmask': maskOracle('apm'),
  '/bus/ap/aqmask': maskOracle('aqm'),
  '/bus/ap/scans': never,
  '/bus/ap/drivers_autoprobe': autoprobe,
  '/bus/ap/drivers_probe': driversProbe((h, s) => apDevice(h, s) !== undefined),
  '/bus/ap/uevent': uevent,
  '/bus/ap/drivers/<driver>/bind': bindOracle,
  '/bus/ap/drivers/<driver>/unbind': unbindOracle,
  '/bus/ap/drivers/<driver>/uevent': uevent,
  '/bus/matrix/drivers_autoprobe': never,
  '/bus/matrix/drivers_probe': driversProbe((_h, s) => refStreq('matrix', s)),
  '/bus/matrix/uevent': uevent,
  '/bus/matrix/drivers/vfio_ap/uevent': uevent,
  '/bus/mdev/drivers_autoprobe': never,
  '/bus/mdev/drivers_probe': driversProbe((h, s) => activeMdev(h, s) !== undefined),
  '/bus/mdev/uevent': uevent,
  '/bus/mdev/drivers/vfio_ap_mdev/bind': (host, _p, data) => (activeMdev(host, storeArgs(data).s) ? no(EBUSY, 'bound already') : no(ENODEV, 'no such mdev')),
  '/bus/mdev/drivers/vfio_ap_mdev/unbind': (host, _p, data) => (activeMdev(host, storeArgs(data).s) ? no(EOPNOTSUPP, 'apsysfs does not simulate it') : no(ENODEV, 'no such mdev')),
  '/bus/mdev/drivers/vfio_ap_mdev/uevent': uevent,
  '/devices/ap/uevent': uevent,
  '/devices/vfio_ap/uevent': uevent,
  '/devices/vfio_ap/matrix/uevent': uevent,
  '/devices/ap/<card>/request_count': never,
  '/devices/ap/<card>/config': (host, path, data) => sscanfRange(10, 0, 1, (h) => (card(h, path)!.config ? 1 : 0))(host, path, data),
  '/devices/ap/<card>/online': onlineCard,
  '/devices/ap/<card>/uevent': uevent,
  '/devices/ap/<card>/<queue>/request_count': never,
  '/devices/ap/<card>/<queue>/reset': never,
  '/devices/ap/<card>/<queue>/online': onlineQueue,
  '/devices/ap/<card>/<queue>/uevent': uevent,
  '/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create': createOracle,
  '/devices/vfio_ap/matrix/<uuid>/assign_adapter': assignOracle('apm'),
  '/devices/vfio_ap/matrix/<uuid>/unassign_adapter': unassignOracle('apm', false),
  '/devices/vfio_ap/matrix/<uuid>/assign_domain': assignOracle('aqm'),
  '/devices/vfio_ap/matrix/<uuid>/unassign_domain': unassignOracle('aqm', false),
  '/devices/vfio_ap/matrix/<uuid>/assign_control_domain': unassignOracle('adm', true),
  '/devices/vfio_ap/matrix/<uuid>/unassign_control_domain': unassignOracle('adm', false),
  '/devices/vfio_ap/matrix/<uuid>/ap_config': apConfigOracle,
  '/devices/vfio_ap/matrix/<uuid>/remove': removeOracle,
  '/devices/vfio_ap/matrix/<uuid>/uevent': uevent,
  '/class/zcrypt/create': zcdnCreate,
  '/class/zcrypt/destroy': zcdnDestroy,
  '/class/zcrypt/<zcdn>/ioctlmask': zcdnMask('ioctlm'),
  '/class/zcrypt/<zcdn>/apmask': zcdnMask('apm'),
  '/class/zcrypt/<zcdn>/aqmask': zcdnMask('aqm'),
  '/class/zcrypt/<zcdn>/admask': zcdnMask('adm'),
  '/class/zcrypt/<zcdn>/uevent': uevent,
  '/kernel/iommu_groups/<group>/type': () => no(EINVAL, 'an emulated-IOMMU group has no default domain'),
};
