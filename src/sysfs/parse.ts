/**
 * The kernel's parsers for attribute writes, errno-exact. Input is the written buffer as a C
 * string (cut at the first NUL by the sysfs layer, latin1: one char per byte).
 */
import { byteAt, isdigit, parseIntegerFixupRadix, parseIntegerLimit } from '../model/ap/ap-mask.js';
import { Errno, KernelError } from '../model/errno.js';

/**
 * Unsigned long, base 0 (or the given base): one leading '+', digits, one trailing "\n", nothing
 * else. Base 0 reads "0x"+hex digit as hex, a leading "0" as octal ("08" and "0x" alone leave a
 * character over), else decimal. Returns a JS number (exact up to 2^53; the ERANGE decision is
 * made on the exact 64-bit value).
 * @kernel lib/kstrtox.c kstrtoul → kstrtoull → _kstrtoull (unsigned long is 64-bit on s390x)
 * Throws: ERANGE if the value exceeds 2^64-1 (checked before trailing garbage); EINVAL if there
 * is no digit, a '-' sign, whitespace, or anything after the digits but one "\n".
 */
export function kstrtoul(buf: string, base = 0): number {
  let p = byteAt(buf, 0) === 0x2b /* + */ ? 1 : 0;
  const fix = parseIntegerFixupRadix(buf, p, base);
  const r = parseIntegerLimit(buf, fix.pos, fix.base);
  if (r.overflow) throw new KernelError(Errno.ERANGE, `kstrtoul: ${JSON.stringify(buf)} exceeds unsigned long`);
  if (r.consumed === 0) throw new KernelError(Errno.EINVAL, `kstrtoul: no digits in ${JSON.stringify(buf)}`);
  p = fix.pos + r.consumed;
  if (byteAt(buf, p) === 0x0a /* \n */) p++;
  if (byteAt(buf, p) !== 0) throw new KernelError(Errno.EINVAL, `kstrtoul: trailing characters in ${JSON.stringify(buf)}`);
  return Number(r.value);
}

/**
 * Only the first character (two for "on"/"off") is examined: true for e E y Y t T 1 and
 * o/O + n/N; false for d D n N f F 0 and o/O + f/F. Everything after is ignored ("yes", "0\n",
 * "offline" all parse). The e/E/d/D letters ("enabled"/"disabled") are in v6.17's kstrtobool.
 * @kernel lib/kstrtox.c kstrtobool
 * Throws: EINVAL for anything else, including the empty string and "o" alone.
 */
export function kstrtobool(buf: string): boolean {
  switch (buf.charAt(0)) {
    case 'e':
    case 'E':
    case 'y':
    case 'Y':
    case 't':
    case 'T':
    case '1':
      return true;
    case 'd':
    case 'D':
    case 'n':
    case 'N':
    case 'f':
    case 'F':
    case '0':
      return false;
    case 'o':
    case 'O':
      switch (buf.charAt(1)) {
        case 'n':
        case 'N':
          return true;
        case 'f':
        case 'F':
          return false;
      }
  }
  throw new KernelError(Errno.EINVAL, `kstrtobool: ${JSON.stringify(buf.slice(0, 2))} is not a boolean`);
}

/** @kernel lib/ctype.c _ctype[] _S: \t \n \v \f \r, space, and latin1 NBSP (0xa0). */
const isspace = (c: number): boolean => (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0;

/**
 * One "%i" or "%d" conversion as the kernel's vsscanf does it: skip whitespace, an optional '-'
 * (a '+' is NOT accepted), at least one decimal digit must follow; %i then detects the base like
 * base 0 ("0x" hex only with a hex digit after it, leading "0" octal, so "08" reads 0), %d is
 * decimal. Trailing text is ignored. The 64-bit wrapped result is stored into an int, i.e.
 * truncated to 32 bits two's complement.
 * @kernel lib/vsprintf.c vsscanf (case 'i' / 'd', simple_strntoll)
 * Returns: the int, or undefined when no conversion happened (sscanf would return 0).
 */
export function sscanfInt(buf: string, conv: '%i' | '%d'): number | undefined {
  const base = conv === '%i' ? 0 : 10;
  let p = 0;
  if (byteAt(buf, p) === 0) return undefined;
  while (isspace(byteAt(buf, p))) p++;
  const negative = byteAt(buf, p) === 0x2d; /* - */
  if (!isdigit(byteAt(buf, negative ? p + 1 : p))) return undefined;
  if (negative) p++;
  const fix = parseIntegerFixupRadix(buf, p, base);
  const { value } = parseIntegerLimit(buf, fix.pos, fix.base);
  return Number(BigInt.asIntN(32, negative ? -value : value));
}
