/**
 * 256-bit AP masks (apm, aqm, adm, apmask, aqmask) and the ap_bus.c parsers that write them.
 *
 * Bit numbering is the kernel's "inverted" one (set_bit_inv / test_bit_inv): bit 0 is the most
 * significant bit of the first byte, so the mask reads left to right as IDs 0..255. On s390
 * (big-endian, 64-bit longs) `%016lx` x 4 and `%08x` x 8 print the same 64 digits, which is why
 * the words here are 32-bit: word 0 holds IDs 0..31, ID 0 in its bit 31.
 *
 * The number scanner shared by ap_bus.c and sysfs/parse.ts (lib/kstrtox.c, lib/vsprintf.c) lives
 * at the end of this file because model/ may not import sysfs/.
 */
import { Errno, KernelError } from '../errno.js';

const WORDS = 8;
const MSB = 0x80000000;

const popcount32 = (v: number): number => {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
};

function checkBit(bit: number): void {
  // A bit outside the mask is a caller bug, not a kernel errno: set_bit_inv would scribble memory.
  if ((bit & 255) !== bit) throw new RangeError(`AP mask bit ${bit} outside 0..255`);
}

/** A 256-bit AP mask, MSB-first. Binary operations return new masks; set/clear mutate. */
export class ApMask {
  static readonly BITS = 256;

  private constructor(private readonly w: Uint32Array) {}

  static zero(): ApMask {
    return new ApMask(new Uint32Array(WORDS));
  }

  static full(): ApMask {
    return new ApMask(new Uint32Array(WORDS).fill(0xffffffff));
  }

  static fromIds(ids: Iterable<number>): ApMask {
    const m = ApMask.zero();
    for (const id of ids) m.set(id);
    return m;
  }

  /** From eight 32-bit words, word 0 first, ID 0 in bit 31 of word 0: the QCI apm/aqm/adm layout. */
  static fromWords(words: ArrayLike<number>): ApMask {
    if (words.length !== WORDS) throw new RangeError(`AP mask needs ${WORDS} words, got ${words.length}`);
    return new ApMask(Uint32Array.from(words));
  }

  /** The eight 32-bit words, word 0 first (the inverse of fromWords). */
  words(): number[] {
    return Array.from(this.w);
  }

  clone(): ApMask {
    return new ApMask(this.w.slice());
  }

  /** @kernel test_bit_inv. False for anything that is not an integer in 0..255. */
  test(bit: number): boolean {
    if ((bit & 255) !== bit) return false;
    return (this.w[bit >>> 5]! & (MSB >>> (bit & 31))) !== 0;
  }

  /** @kernel set_bit_inv. Throws RangeError outside 0..255 (a bug in the caller). */
  set(bit: number): this {
    checkBit(bit);
    this.w[bit >>> 5]! |= MSB >>> (bit & 31);
    return this;
  }

  /** @kernel clear_bit_inv. Throws RangeError outside 0..255 (a bug in the caller). */
  clear(bit: number): this {
    checkBit(bit);
    this.w[bit >>> 5]! &= ~(MSB >>> (bit & 31));
    return this;
  }

  /** Set bits from..to inclusive (modify_bitmap's `+a-z`). */
  setRange(from: number, to: number): this {
    checkBit(from);
    checkBit(to);
    for (let i = from; i <= to; i++) this.w[i >>> 5]! |= MSB >>> (i & 31);
    return this;
  }

  /** Clear bits from..to inclusive (modify_bitmap's `-a-z`). */
  clearRange(from: number, to: number): this {
    checkBit(from);
    checkBit(to);
    for (let i = from; i <= to; i++) this.w[i >>> 5]! &= ~(MSB >>> (i & 31));
    return this;
  }

  /** Copy o into this mask (the kernel's memcpy / bitmap_copy), for atomic installs. */
  assign(o: ApMask): this {
    this.w.set(o.w);
    return this;
  }

  isEmpty(): boolean {
    for (let i = 0; i < WORDS; i++) if (this.w[i] !== 0) return false;
    return true;
  }

  isFull(): boolean {
    for (let i = 0; i < WORDS; i++) if (this.w[i] !== 0xffffffff) return false;
    return true;
  }

  equals(o: ApMask): boolean {
    for (let i = 0; i < WORDS; i++) if (this.w[i] !== o.w[i]) return false;
    return true;
  }

  and(o: ApMask): ApMask {
    const r = new Uint32Array(WORDS);
    for (let i = 0; i < WORDS; i++) r[i] = this.w[i]! & o.w[i]!;
    return new ApMask(r);
  }

  or(o: ApMask): ApMask {
    const r = new Uint32Array(WORDS);
    for (let i = 0; i < WORDS; i++) r[i] = this.w[i]! | o.w[i]!;
    return new ApMask(r);
  }

  /** this & ~o. @kernel bitmap_andnot */
  andNot(o: ApMask): ApMask {
    const r = new Uint32Array(WORDS);
    for (let i = 0; i < WORDS; i++) r[i] = this.w[i]! & ~o.w[i]!;
    return new ApMask(r);
  }

  /** @kernel bitmap_intersects */
  intersects(o: ApMask): boolean {
    for (let i = 0; i < WORDS; i++) if ((this.w[i]! & o.w[i]!) !== 0) return true;
    return false;
  }

  /** @kernel bitmap_subset */
  isSubsetOf(o: ApMask): boolean {
    for (let i = 0; i < WORDS; i++) if ((this.w[i]! & ~o.w[i]!) !== 0) return false;
    return true;
  }

  /** Set bits in ascending order, only those <= max when given (for_each_set_bit_inv over max + 1 bits). */
  ids(max = ApMask.BITS - 1): number[] {
    const out: number[] = [];
    const lim = Math.min(max, ApMask.BITS - 1);
    if (!(lim >= 0)) return out;
    const last = lim >>> 5;
    for (let wi = 0; wi <= last; wi++) {
      let v = this.w[wi]!;
      while (v !== 0) {
        const lz = Math.clz32(v);
        const bit = (wi << 5) | lz;
        if (bit > lim) return out;
        out.push(bit);
        v = (v ^ (MSB >>> lz)) >>> 0;
      }
    }
    return out;
  }

  /** Lowest set bit <= max, or undefined. @kernel find_first_bit_inv */
  first(max = ApMask.BITS - 1): number | undefined {
    const lim = Math.min(max, ApMask.BITS - 1);
    if (!(lim >= 0)) return undefined;
    const last = lim >>> 5;
    for (let wi = 0; wi <= last; wi++) {
      const v = this.w[wi]!;
      if (v !== 0) {
        const bit = (wi << 5) | Math.clz32(v);
        return bit <= lim ? bit : undefined;
      }
    }
    return undefined;
  }

  /** @kernel bitmap_weight */
  count(): number {
    let n = 0;
    for (let i = 0; i < WORDS; i++) n += popcount32(this.w[i]!);
    return n;
  }

  /** '0x' + 64 lower-case hex digits, no newline: the apmask_show / ap_adapter_mask_show digits. */
  toString(): string {
    let s = '0x';
    for (let i = 0; i < WORDS; i++) s += this.w[i]!.toString(16).padStart(8, '0');
    return s;
  }

  toJSON(): string {
    return this.toString();
  }
}

const einval = (why: string): KernelError => new KernelError(Errno.EINVAL, why);

function checkBits(fn: string, bits: number): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > ApMask.BITS)
    throw new RangeError(`${fn}: bits ${bits} outside 0..${ApMask.BITS}`);
  if (bits & 0x07) throw einval(`${fn}: bits needs to be a multiple of 8`);
}

/**
 * Absolute mask syntax, into a new all-zero mask.
 * Optional `0x` or `x` prefix (lower-case x only: `0X` leaves `X` over), then up to bits/4 hex
 * digits MSB-first, padded with zeros on the right; one trailing "\n"; nothing else.
 * Empty input, "\n" and "0x" give all zeros.
 * @kernel ap_bus.c hex2bitmap (ap_hex2bitmap since v6.x)
 * Throws: EINVAL for a leftover character (non-hex, a digit beyond bits/4, a second "\n"), or bits not a multiple of 8.
 */
export function hex2bitmap(str: string, bits: number = ApMask.BITS): ApMask {
  checkBits('hex2bitmap', bits);
  const w = new Uint32Array(WORDS);
  let p = 0;
  if (byteAt(str, 0) === 0x30 /* 0 */ && byteAt(str, 1) === 0x78 /* x */) p++;
  if (byteAt(str, p) === 0x78 /* x */) p++;
  for (let i = 0; i < bits; i += 4, p++) {
    const b = hexval(byteAt(str, p));
    if (b < 0) break;
    const d = i >>> 2;
    w[d >>> 3]! |= b << ((7 - (d & 7)) << 2);
  }
  if (byteAt(str, p) === 0x0a /* \n */) p++;
  if (byteAt(str, p) !== 0) throw einval(`hex2bitmap: unexpected character at offset ${p}`);
  return ApMask.fromWords(w);
}

/**
 * Relative mask syntax applied to a copy of `current`: terms `+a`, `-a`, `+a-z`, `-a-z` (inclusive),
 * numbers as simple_strtoul base 0 (64-bit wrap-around on overflow), any run of ',' and "\n"
 * between terms, later terms win. `current` is never modified.
 * @kernel ap_bus.c modify_bitmap
 * Throws: EINVAL for a missing sign, a missing number, start >= bits, end >= bits, start > end,
 * or bits not a multiple of 8.
 */
export function modifyBitmap(str: string, current: ApMask, bits: number = ApMask.BITS): ApMask {
  checkBits('modify_bitmap', bits);
  const m = current.clone();
  const limit = BigInt(bits);
  let p = 0;
  while (byteAt(str, p) !== 0) {
    const sign = byteAt(str, p++);
    if (sign !== 0x2b /* + */ && sign !== 0x2d /* - */)
      throw einval(`modify_bitmap: expected '+' or '-' at offset ${p - 1}`);
    const a = simpleStrtoull(str, p, 0);
    if (a.end === p || a.value >= limit) throw einval(`modify_bitmap: bad bit number at offset ${p}`);
    let z = a.value;
    p = a.end;
    if (byteAt(str, p) === 0x2d /* - */) {
      p++;
      const e = simpleStrtoull(str, p, 0);
      if (e.end === p || a.value > e.value || e.value >= limit)
        throw einval(`modify_bitmap: bad range end at offset ${p}`);
      z = e.value;
      p = e.end;
    }
    if (sign === 0x2b) m.setRange(Number(a.value), Number(z));
    else m.clearRange(Number(a.value), Number(z));
    for (let c = byteAt(str, p); c === 0x2c /* , */ || c === 0x0a /* \n */; c = byteAt(str, ++p));
  }
  return m;
}

/**
 * What an apmask/aqmask write computes: '+' or '-' first → modifyBitmap on a copy of current;
 * anything else → hex2bitmap from zero. Atomic: throws before anything changes.
 * @kernel ap_bus.c ap_parse_bitmap_str
 * Throws: EINVAL (see hex2bitmap, modifyBitmap).
 */
export function parseBitmapStr(str: string, current: ApMask, bits: number = ApMask.BITS): ApMask {
  const c = byteAt(str, 0);
  return c === 0x2b || c === 0x2d ? modifyBitmap(str, current, bits) : hex2bitmap(str, bits);
}

// ---------------------------------------------------------------------------------------------
// The kernel's number scanning (lib/kstrtox.c, lib/vsprintf.c, lib/ctype.c), shared with
// sysfs/parse.ts. Strings are C strings decoded as latin1: one char per byte, and a NUL or the end
// of the string both read as the terminator.

/** The byte at i, or 0 (the terminator) past the end. */
export const byteAt = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0);

/** @kernel include/linux/ctype.h isdigit */
export const isdigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** Value of a hex digit (either case), or -1. @kernel lib/hexdump.c hex_to_bin; isxdigit is `>= 0`. */
export function hexval(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lc = c | 0x20;
  if (lc >= 0x61 && lc <= 0x66) return lc - 0x61 + 10;
  return -1;
}

/** @kernel include/linux/ctype.h isxdigit (no latin1 letter above 0x7f is a hex digit in _ctype[]) */
export const isxdigit = (c: number): boolean => hexval(c) >= 0;

const tolower = (c: number): number => c | 0x20; // @kernel include/linux/ctype.h _tolower

/**
 * Base autodetection for base 0 ("0x" + hex digit → 16, leading "0" → 8, else 10) and skipping a
 * "0x"/"0X" prefix for base 16 (for an explicit base 16 even when no digit follows).
 * @kernel lib/kstrtox.c _parse_integer_fixup_radix
 */
export function parseIntegerFixupRadix(s: string, pos: number, base: number): { pos: number; base: number } {
  if (base === 0) {
    if (byteAt(s, pos) === 0x30) base = tolower(byteAt(s, pos + 1)) === 0x78 && isxdigit(byteAt(s, pos + 2)) ? 16 : 8;
    else base = 10;
  }
  if (base === 16 && byteAt(s, pos) === 0x30 && tolower(byteAt(s, pos + 1)) === 0x78) pos += 2;
  return { pos, base };
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Digits in `base` from pos, at most maxChars. `value` wraps modulo 2^64 as the C does; `overflow`
 * says whether it did. `consumed` counts every digit taken, overflowed or not.
 * @kernel lib/kstrtox.c _parse_integer_limit
 */
export function parseIntegerLimit(
  s: string,
  pos: number,
  base: number,
  maxChars = Number.MAX_SAFE_INTEGER,
): { value: bigint; consumed: number; overflow: boolean } {
  const b = BigInt(base);
  let value = 0n;
  let consumed = 0;
  let overflow = false;
  while (consumed < maxChars) {
    const val = hexval(byteAt(s, pos + consumed));
    if (val < 0 || val >= base) break;
    const next = value * b + BigInt(val);
    if (next > U64_MAX) overflow = true;
    value = next & U64_MAX;
    consumed++;
  }
  return { value, consumed, overflow };
}

/**
 * Unsigned scan with 64-bit wrap-around; `end` === pos when no digit was taken (the prefix of an
 * unconverted "0x" is not consumed either, because base 0 only picks 16 when a hex digit follows).
 * No whitespace skipping, no sign.
 * @kernel lib/vsprintf.c simple_strntoull (simple_strtoul / simple_strtoull with max_chars INT_MAX)
 */
export function simpleStrtoull(s: string, pos: number, base: number): { value: bigint; end: number } {
  const fix = parseIntegerFixupRadix(s, pos, base);
  const r = parseIntegerLimit(s, fix.pos, fix.base);
  // A consumed "0x" with no digit after it (explicit base 16) still moves the end, as in the C.
  return { value: r.value, end: fix.pos + r.consumed };
}
