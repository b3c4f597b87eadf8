/**
 * Malformed and hostile inputs for sysfs writes, per kind of attribute: numbers (kstrtoul and
 * sscanf "%i"/"%d"), booleans, 256-bit masks, ap_config triples, UUIDs, device names, uevent
 * actions, and generic garbage (random bytes, huge strings, non-UTF-8, NULs). Every generator is
 * driven by the seeded Rng, so a seed reproduces the exact byte sequence.
 */
import { Rng as BaseRng } from '../../src/stress/rng.js';

/** The stress runner's generator, with what the input generators draw besides. */
export class Rng extends BaseRng {
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }

  u64(): bigint {
    return (BigInt(this.next()) << 32n) | BigInt(this.next());
  }
}

export type InputKind = 'ulong' | 'int' | 'bool' | 'mask' | 'apconfig' | 'uuid' | 'device' | 'uevent' | 'any';

/** What the generators may draw on: names that exist now, numbers at this attribute's edges. */
export interface InputContext {
  /** Device names on the relevant bus (card05, 05.0004, matrix, mdev UUIDs). */
  readonly devices: readonly string[];
  /** UUIDs of existing mdevs. */
  readonly uuids: readonly string[];
  /** Interesting numbers for this attribute (limits; ±1 is added by the generator). */
  readonly bounds: readonly (number | bigint)[];
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const U64_MAX = (1n << 64n) - 1n;
const EDGE_NUMBERS: readonly bigint[] = [
  0n, 1n, 2n, 4n, 5n, 15n, 16n, 63n, 64n, 84n, 85n, 120n, 121n, 254n, 255n, 256n, 257n, 65535n, 65536n,
  (1n << 31n) - 1n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, (1n << 32n) + 4n, (1n << 32n) + 30n,
  (1n << 63n) - 1n, 1n << 63n, U64_MAX, U64_MAX + 1n, U64_MAX * 16n, 120000000000n, 120000000001n,
  10n ** 30n,
];

function edgeNumber(rng: Rng, ctx: InputContext): bigint {
  if (ctx.bounds.length && rng.chance(0.5)) {
    const v = BigInt(rng.pick(ctx.bounds));
    return v + BigInt(rng.range(-1, 1));
  }
  switch (rng.int(4)) {
    case 0:
      return rng.pick(EDGE_NUMBERS);
    case 1:
      return BigInt(rng.int(300));
    case 2:
      return BigInt(rng.next());
    default:
      return rng.u64();
  }
}

/** A number written the many ways the kernel parsers (and people) write numbers. */
function numberText(rng: Rng, v: bigint): string {
  const neg = v < 0n;
  const mag = neg ? -v : v;
  let s: string;
  switch (rng.int(9)) {
    case 0:
      s = `0x${mag.toString(16)}`;
      break;
    case 1:
      s = `0X${mag.toString(16).toUpperCase()}`;
      break;
    case 2:
      s = `0${mag.toString(8)}`;
      break;
    case 3:
      s = `x${mag.toString(16)}`;
      break;
    case 4:
      s = `${'0'.repeat(rng.range(1, 40))}${mag}`;
      break;
    case 5:
      s = mag.toString(rng.pick([2, 8, 16, 36]));
      break;
    default:
      s = mag.toString();
  }
  if (neg) s = `-${s}`;
  else if (rng.chance(0.12)) s = rng.pick(['+', '-', '++', '+-', '-+', '--']) + s;
  if (rng.chance(0.15)) s = rng.pick([' ', '\t', '\v', '\f', '\r', '\xa0', '\n', '  ', ' \t ']) + s;
  if (rng.chance(0.5)) s += rng.pick(['\n', '\n', '\n\n', ' ', ' \n', '\t', 'x', 'h', ',', '\0', '\0junk', '\n\0\n', 'e3', '.5', '_0', 'L', 'ULL', '\r\n', '\n5']);
  return s;
}

function genNumber(rng: Rng, ctx: InputContext): Buffer {
  if (rng.chance(0.05)) return b(rng.pick(['', '\n', '+', '-', '0x', '0X', 'x', '0x\n', '00', '08', '09', '0b1', '0o7', '1e3', '1_000', 'one', 'NaN', 'Infinity', '+\n', '-0', '-0\n', '0x-1']));
  if (rng.chance(0.03)) return Buffer.from(rng.pick(['５', '١٢', '𝟓', '٥\n', '５\n']), 'utf8');
  return b(numberText(rng, edgeNumber(rng, ctx) * (rng.chance(0.08) ? -1n : 1n)));
}

const BOOLS = ['y', 'Y', 'n', 'N', '1', '0', 'on', 'ON', 'On', 'off', 'OFF', 'oF', 'o', 'O', 'oX', 't', 'T', 'f', 'F', 'e', 'E', 'd', 'D', 'yes', 'no', 'true', 'false', 'enable', 'disabled', '2', '-1', '+1', ' y', '\ny', 'x', 'Z', '10', '01'];

function genBool(rng: Rng): Buffer {
  let s = rng.pick(BOOLS);
  if (rng.chance(0.5)) s += rng.pick(['\n', '\n\n', ' ', 'garbage', '\0', '\0y']);
  return b(s);
}

const HEX = '0123456789abcdefABCDEF';

function hexDigits(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += rng.chance(0.1) ? HEX[rng.int(HEX.length)] : '0123456789abcdef'[rng.int(16)];
  return s;
}

/** An absolute mask: prefix, up to 66 digits (64 is the limit), trailing junk. */
function absoluteMask(rng: Rng): string {
  const prefix = rng.pick(['0x', '0x', '0x', '', 'x', '0X', 'X', '00x', '0xx', '0', ' 0x']);
  const n = rng.pick([0, 1, 2, 8, 16, 32, 63, 64, 64, 64, 65, 66, rng.int(70)]);
  let s = prefix + hexDigits(rng, n);
  if (rng.chance(0.08)) {
    const at = rng.int(s.length + 1);
    s = s.slice(0, at) + rng.pick(['g', ' ', ',', '\n', '-', '+', 'z', '\0']) + s.slice(at);
  }
  if (rng.chance(0.5)) s += rng.pick(['\n', '\n', '\n\n', ' ', ',', '0', 'f', 'g', '\0', '\0ff', '\r\n']);
  return s;
}

function maskNumber(rng: Rng): string {
  const v = rng.chance(0.6) ? BigInt(rng.pick([0, 1, 4, 5, 6, 11, 15, 16, 63, 64, 84, 85, 127, 128, 254, 255, 256, 257, 1000, rng.int(300)])) : rng.pick(EDGE_NUMBERS);
  switch (rng.int(5)) {
    case 0:
      return `0x${v.toString(16)}`;
    case 1:
      return `0${v.toString(8)}`;
    case 2:
      return rng.chance(0.5) ? '' : rng.pick(['0x', 'x', ' 1', 'a', '-1', '08']);
    default:
      return v.toString();
  }
}

/** A relative mask: terms `+a`, `-a-z`, separators, with the sign or number sometimes wrong. */
function relativeMask(rng: Rng): string {
  const terms = rng.chance(0.03) ? rng.range(200, 1200) : rng.range(1, 6);
  let s = rng.chance(0.05) ? rng.pick([',', '\n']) : '';
  for (let i = 0; i < terms; i++) {
    if (i > 0) s += rng.pick([',', ',', ',', ',,', '\n', ',\n', ', ', ' ', '', ';', ',+']);
    s += rng.chance(0.95) ? rng.pick(['+', '-']) : rng.pick(['', '*', '~', ' +', '++']);
    s += maskNumber(rng);
    if (rng.chance(0.3)) s += `-${maskNumber(rng)}`;
  }
  if (rng.chance(0.4)) s += rng.pick(['\n', '\n\n', ',', ',\n', ' ', '\0', '-', '+']);
  return s;
}

function genMask(rng: Rng): Buffer {
  return b(rng.chance(0.5) ? absoluteMask(rng) : relativeMask(rng));
}

/** ap_config: three masks joined by ',' or "\n", or the wrong number of fields; 201-byte edges. */
function genApConfig(rng: Rng): Buffer {
  if (rng.chance(0.2)) {
    // Full-width fields: three are exactly 200 bytes + "\n" = AP_CONFIG_STRLEN (201); a longer tail is cut off.
    const full = (): string => `0x${hexDigits(rng, rng.pick([64, 64, 63, 65]))}`;
    let s = [full(), full(), full()].join(',');
    s += rng.pick(['\n', '', ',', ',0x1', '\ngarbage', `,${full()}`, ' ', 'zz']);
    return b(s);
  }
  const fields = rng.pick([0, 1, 2, 3, 3, 3, 3, 4, 5]);
  const parts: string[] = [];
  for (let i = 0; i < fields; i++) parts.push(rng.chance(0.85) ? absoluteMask(rng).replace(/[\n,]$/, '') : relativeMask(rng));
  let s = '';
  parts.forEach((p, i) => (s += (i ? rng.pick([',', ',', '\n', ', ', ',,', ';']) : '') + p));
  if (rng.chance(0.6)) s += rng.pick(['\n', '\n', '', ',', '\n\n', '\0', ',\n']);
  return b(s);
}

const hex = (rng: Rng, n: number): string => hexDigits(rng, n).toLowerCase();
const freshUuid = (rng: Rng): string => `${hex(rng, 8)}-${hex(rng, 4)}-${hex(rng, 4)}-${hex(rng, 4)}-${hex(rng, 12)}`;

function mutateText(rng: Rng, s: string): string {
  if (!s.length) return s;
  const i = rng.int(s.length);
  switch (rng.int(5)) {
    case 0:
      return s.slice(0, i) + rng.pick(['g', 'G', '-', ' ', '\0', '\n', 'x', 'Z', '{', '\xff']) + s.slice(i + 1);
    case 1:
      return s.slice(0, i) + s.slice(i + 1);
    case 2:
      return s.slice(0, i) + rng.pick(['0', '-', 'a', ' ', '\n']) + s.slice(i);
    case 3:
      return s.toUpperCase();
    default:
      return s.slice(0, i);
  }
}

function genUuid(rng: Rng, ctx: InputContext): Buffer {
  let u = ctx.uuids.length && rng.chance(0.35) ? rng.pick(ctx.uuids) : freshUuid(rng);
  switch (rng.int(10)) {
    case 0:
      u = u.toUpperCase();
      break;
    case 1:
    case 2:
      u = mutateText(rng, u);
      break;
    case 3:
      u = u.replace(/-/g, '');
      break;
    case 4:
      u = `{${u}}`;
      break;
  }
  if (rng.chance(0.6)) u += rng.pick(['\n', '\n', 'x', '\0', ' ', '\n\n', '\0\0', '-', '\r\n', 'é']);
  return b(u);
}

function genDevice(rng: Rng, ctx: InputContext): Buffer {
  let s: string;
  if (ctx.devices.length && rng.chance(0.6)) s = rng.pick(ctx.devices);
  else {
    const id = rng.chance(0.8) ? rng.int(256) : rng.int(70000);
    s = rng.pick([
      `card${id.toString(16).padStart(2, '0')}`,
      `card${id}`,
      `${id.toString(16).padStart(2, '0')}.${rng.int(256).toString(16).padStart(4, '0')}`,
      `${id.toString(16)}.${rng.int(300).toString(16)}`,
      'matrix',
      freshUuid(rng),
      'ap',
      'card',
      '.',
      '..',
      '../card05',
      '*',
    ]);
  }
  switch (rng.int(12)) {
    case 0:
      s = s.toUpperCase();
      break;
    case 1:
      s = mutateText(rng, s);
      break;
    case 2:
      s = ` ${s}`;
      break;
  }
  if (rng.chance(0.6)) s += rng.pick(['\n', '\n', '\n\n', ' ', '\0', '\0card05', '\r\n', '/', '\t']);
  return b(s);
}

const ACTIONS = ['add', 'remove', 'change', 'move', 'online', 'offline', 'bind', 'unbind'];

function genUevent(rng: Rng, ctx: InputContext): Buffer {
  let s = rng.chance(0.85) ? rng.pick(ACTIONS) : rng.pick(['', 'ADD', 'Add', 'chang', 'changes', 'addd', 'refresh', 'reload', 'kill', '\n']);
  if (rng.chance(0.1)) s = mutateText(rng, s);
  if (rng.chance(0.45)) {
    s += rng.pick([' ', ' ', '  ', '\t', '']);
    let u = rng.chance(0.5) && ctx.uuids.length ? rng.pick(ctx.uuids) : freshUuid(rng);
    if (rng.chance(0.25)) u = mutateText(rng, u);
    s += u;
    const pairs = rng.chance(0.05) ? rng.range(40, 120) : rng.range(0, 4);
    for (let i = 0; i < pairs; i++) {
      s += rng.pick([' ', ' ', ' ', '  ', '\t', '']);
      const key = rng.chance(0.9) ? rng.pick(['A', 'KEY', 'x1', 'FOO', 'a_b', '', 'K-Y', 'ÿ']) : hex(rng, rng.range(1, 30));
      s += key + rng.pick(['=', '=', '=', '', '==']) + rng.pick(['1', 'value', '', 'a b', 'v=1', 'ü', hex(rng, rng.range(1, 40))]);
    }
  }
  if (rng.chance(0.5)) s += rng.pick(['\n', '\n', '\0', '\n\n', ' ', ' \n']);
  return b(s);
}

/** Bytes no attribute should like: random, huge, non-UTF-8, all NUL, the 4096-byte edge. */
export function genAny(rng: Rng): Buffer {
  switch (rng.int(12)) {
    case 0:
      return rng.bytes(rng.int(9));
    case 1:
      return rng.bytes(rng.range(9, 300));
    case 2:
      return rng.bytes(rng.range(300, 5000));
    case 3: {
      let s = '';
      for (let i = rng.range(1, 80); i > 0; i--) s += String.fromCharCode(rng.range(0x20, 0x7e));
      return b(s);
    }
    case 4:
      return Buffer.from(rng.pick(['é', '€', '日本', '𝄞', '\u202e', '\ufeff1', 'ß\n', '\u00a05', '\u200b5']).repeat(rng.range(1, 8)), 'utf8');
    case 5:
      // Invalid UTF-8: overlong '/', a lone surrogate, stray continuation bytes, 0xfe 0xff.
      return Buffer.from(rng.pick([[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x80, 0x80], [0xfe, 0xff], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x31, 0xc3], [0xe2, 0x28, 0xa1]]));
    case 6:
      return Buffer.alloc(rng.range(1, 4200));
    case 7:
      return b(rng.pick(['\n', '\0', ' ', '\n\n', '\t', '\0\n', '-', '+', ',', '0', '1', '\xff', '%s%n', '${x}', '$(reboot)', '`id`', '../../etc/passwd']));
    case 8: {
      const n = rng.pick([4095, 4096, 4097, 8192, 65536]);
      return b(rng.pick(['1', 'f', '0', ',', '+1,', 'a'])
        .repeat(n)
        .slice(0, n));
    }
    case 9:
      return b(`0x${'f'.repeat(rng.range(64, 5000))}`);
    case 10:
      return b(`${'+1,'.repeat(rng.range(1, 2000))}`);
    default:
      return b(`${rng.int(1000)}${'\0'.repeat(rng.range(1, 10))}${rng.int(1000)}`);
  }
}

/** A few random byte-level edits: how near-valid input goes wrong. */
function mutateBytes(rng: Rng, buf: Buffer): Buffer {
  let out = Buffer.from(buf);
  for (let n = rng.range(1, 3); n > 0; n--) {
    const i = rng.int(out.length + 1);
    switch (rng.int(5)) {
      case 0:
        if (out.length) {
          const j = Math.min(i, out.length - 1);
          out[j] = out[j]! ^ (1 << rng.int(8));
        }
        break;
      case 1:
        out = Buffer.concat([out.subarray(0, i), rng.bytes(1), out.subarray(i)]);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, i), out.subarray(i + 1)]);
        break;
      case 3:
        out = Buffer.concat([out, out.subarray(0, rng.int(out.length + 1))]);
        break;
      default:
        out = out.subarray(0, i);
    }
  }
  return out;
}

const GENERATORS: Record<Exclude<InputKind, 'any'>, (rng: Rng, ctx: InputContext) => Buffer> = {
  ulong: genNumber,
  int: genNumber,
  bool: genBool,
  mask: genMask,
  apconfig: genApConfig,
  uuid: genUuid,
  device: genDevice,
  uevent: genUevent,
};

/** One input for an attribute whose values are of `kinds`: mostly kind-shaped, often mutated, sometimes anything. */
export function genInput(rng: Rng, kinds: readonly InputKind[], ctx: InputContext): Buffer {
  const kind = rng.chance(0.25) ? 'any' : rng.pick(kinds);
  if (kind === 'any') return genAny(rng);
  const buf = GENERATORS[kind](rng, ctx);
  return rng.chance(0.15) ? mutateBytes(rng, buf) : buf;
}
