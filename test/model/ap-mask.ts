import t from 'tap';
import {
  ApMask,
  hex2bitmap,
  modifyBitmap,
  parseBitmapStr,
  simpleStrtoull,
} from '../../src/model/ap/ap-mask.js';
import { Errno } from '../../src/model/errno.js';
import { Rng } from '../../src/stress/rng.js';

/** What tap matches a thrown KernelError against (name keeps tap's ErrorMatch type happy). */
const kerr = (errno: Errno): { name: string; errno: Errno } => ({ name: 'KernelError', errno });

/** '0x' + the given leading digits, padded with zeros to 64 digits: how a mask prints. */
const hx = (digits: string): string => `0x${digits.padEnd(64, '0')}`;
const ZERO = hx('');
const FULL = `0x${'f'.repeat(64)}`;
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const all = range(0, 255);
const without = (ids: number[], drop: number[]): number[] => ids.filter((i) => !drop.includes(i));

/** A seeded float source (0 <= x < 1), so property tests are reproducible. */
const rng = (seed: number): (() => number) => {
  const r = new Rng(seed);
  return () => r.float();
};
const randomMask = (next: () => number, density: number): ApMask =>
  ApMask.fromIds(all.filter(() => next() < density));

t.test('ApMask bit numbering is set_bit_inv / test_bit_inv', async (t) => {
  const cases: [ids: number[], printed: string][] = [
    [[], ZERO],
    [[0], hx('8')],
    [[1, 7], hx('41')],
    [[3], hx('1')],
    [[31], hx('00000001')],
    [[32], hx('000000008')],
    [[63, 64], hx('00000000000000018')],
    [[255], `0x${'0'.repeat(63)}1`],
    [[254, 255], `0x${'0'.repeat(63)}3`],
    // §2: adapters 4 and 10 present
    [[4, 10], '0x0820000000000000000000000000000000000000000000000000000000000000'],
    [all, FULL],
  ];
  for (const [ids, printed] of cases) {
    const m = ApMask.fromIds(ids);
    t.equal(m.toString(), printed, `fromIds(${JSON.stringify(ids.length > 8 ? 'all' : ids)})`);
    t.same(m.ids(), ids, 'ids() gives them back ascending');
    t.equal(m.count(), ids.length, 'count()');
    for (const id of ids) t.ok(m.test(id));
  }
  t.equal(ApMask.zero().toString(), ZERO);
  t.equal(ApMask.full().toString(), FULL);
  t.equal(ApMask.BITS, 256);
});

t.test('test() is false outside 0..255; set()/clear() throw RangeError there', async (t) => {
  const full = ApMask.full();
  for (const bit of [-1, 256, 257, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 32]) {
    t.equal(full.test(bit), false, `test(${bit})`);
    t.throws(() => ApMask.zero().set(bit), RangeError, `set(${bit})`);
    t.throws(() => ApMask.full().clear(bit), RangeError, `clear(${bit})`);
  }
  t.throws(() => ApMask.fromIds([1, 256]), RangeError);
  for (const bit of [0, 255]) {
    t.equal(full.test(bit), true, `test(${bit}) on full`);
    t.equal(ApMask.zero().test(bit), false, `test(${bit}) on zero`);
  }
});

t.test('set/clear mutate, chain, and are idempotent', async (t) => {
  const m = ApMask.zero();
  t.equal(m.set(5).set(5).set(200), m, 'set returns this');
  t.same(m.ids(), [5, 200]);
  t.equal(m.clear(5).clear(5).clear(6), m, 'clear returns this');
  t.same(m.ids(), [200]);
  t.same(ApMask.zero().setRange(0, 255).toString(), FULL);
  t.same(ApMask.zero().setRange(30, 33).ids(), [30, 31, 32, 33]);
  t.same(ApMask.full().clearRange(1, 254).ids(), [0, 255]);
  t.same(ApMask.zero().setRange(7, 7).ids(), [7]);
  t.same(ApMask.zero().setRange(9, 8).ids(), [], 'an empty range sets nothing');
  t.throws(() => ApMask.zero().setRange(0, 256), RangeError);
  t.throws(() => ApMask.zero().clearRange(-1, 3), RangeError);
});

t.test('clone, assign, words and equality are independent copies', async (t) => {
  const a = ApMask.fromIds([1, 2, 3]);
  const b = a.clone();
  b.set(4);
  t.same(a.ids(), [1, 2, 3], 'clone does not share storage');
  t.notOk(a.equals(b));
  t.ok(a.equals(ApMask.fromIds([3, 2, 1, 1])));
  const c = ApMask.zero().assign(b);
  b.clear(1);
  t.same(c.ids(), [1, 2, 3, 4], 'assign copies');
  const words = ApMask.fromIds([0, 31, 32, 255]).words();
  t.same(words, [0x80000001, 0x80000000, 0, 0, 0, 0, 0, 1]);
  t.ok(ApMask.fromWords(words).equals(ApMask.fromIds([0, 31, 32, 255])));
  t.ok(ApMask.fromWords([-1, -1, -1, -1, -1, -1, -1, -1]).isFull(), 'words are taken as u32');
  t.throws(() => ApMask.fromWords([0, 0]), RangeError);
  t.equal(JSON.stringify({ m: ApMask.fromIds([0]) }), `{"m":"${hx('8')}"}`);
});

t.test('isEmpty / isFull', async (t) => {
  const cases: [name: string, m: ApMask, empty: boolean, full: boolean][] = [
    ['zero', ApMask.zero(), true, false],
    ['full', ApMask.full(), false, true],
    ['bit 0', ApMask.fromIds([0]), false, false],
    ['bit 255', ApMask.fromIds([255]), false, false],
    ['all but 0', ApMask.full().clear(0), false, false],
    ['all but 255', ApMask.full().clear(255), false, false],
    ['set then cleared', ApMask.zero().set(9).clear(9), true, false],
  ];
  for (const [name, m, empty, full] of cases) {
    t.equal(m.isEmpty(), empty, `${name} isEmpty`);
    t.equal(m.isFull(), full, `${name} isFull`);
  }
});

t.test('and / or / andNot / intersects / isSubsetOf', async (t) => {
  const A = [0, 5, 31, 32, 100, 255];
  const B = [5, 32, 33, 200, 255];
  const a = ApMask.fromIds(A);
  const b = ApMask.fromIds(B);
  const cases: [name: string, got: ApMask, want: number[]][] = [
    ['a & b', a.and(b), [5, 32, 255]],
    ['a | b', a.or(b), [0, 5, 31, 32, 33, 100, 200, 255]],
    ['a & ~b', a.andNot(b), [0, 31, 100]],
    ['b & ~a', b.andNot(a), [33, 200]],
    ['a & ~full', a.andNot(ApMask.full()), []],
    ['full & ~a', ApMask.full().andNot(a), without(all, A)],
    ['a | zero', a.or(ApMask.zero()), A],
    ['a & zero', a.and(ApMask.zero()), []],
  ];
  for (const [name, got, want] of cases) t.same(got.ids(), want, name);
  t.same(a.ids(), A, 'operands are not modified');
  t.same(b.ids(), B, 'operands are not modified');

  const rel: [name: string, x: ApMask, y: ApMask, intersects: boolean, subset: boolean][] = [
    ['a, b', a, b, true, false],
    ['a & b, a', a.and(b), a, true, true],
    ['a, a', a, a, true, true],
    ['zero, a', ApMask.zero(), a, false, true],
    ['zero, zero', ApMask.zero(), ApMask.zero(), false, true],
    ['a, full', a, ApMask.full(), true, true],
    ['full, a', ApMask.full(), a, true, false],
    ['{0}, {1}', ApMask.fromIds([0]), ApMask.fromIds([1]), false, false],
    ['{255}, {255}', ApMask.fromIds([255]), ApMask.fromIds([255]), true, true],
  ];
  for (const [name, x, y, intersects, subset] of rel) {
    t.equal(x.intersects(y), intersects, `${name} intersects`);
    t.equal(x.isSubsetOf(y), subset, `${name} isSubsetOf`);
  }
});

t.test('ids(max) and first(max) only look at bits <= max', async (t) => {
  const m = ApMask.fromIds([3, 15, 16, 63, 64, 84, 85, 255]);
  const cases: [max: number | undefined, ids: number[], first: number | undefined][] = [
    [undefined, [3, 15, 16, 63, 64, 84, 85, 255], 3],
    [255, [3, 15, 16, 63, 64, 84, 85, 255], 3],
    [1000, [3, 15, 16, 63, 64, 84, 85, 255], 3],
    [254, [3, 15, 16, 63, 64, 84, 85], 3],
    [84, [3, 15, 16, 63, 64, 84], 3],
    [63, [3, 15, 16, 63], 3],
    [15, [3, 15], 3],
    [3, [3], 3],
    [2, [], undefined],
    [0, [], undefined],
    [-1, [], undefined],
  ];
  for (const [max, ids, first] of cases) {
    t.same(m.ids(max), ids, `ids(${max})`);
    t.equal(m.first(max), first, `first(${max})`);
  }
  const high = ApMask.fromIds([200]);
  t.equal(high.first(), 200);
  t.equal(high.first(199), undefined, 'first bit above max');
  t.equal(high.first(200), 200);
  t.equal(ApMask.zero().first(), undefined);
  t.same(ApMask.zero().ids(), []);
  t.equal(ApMask.full().first(), 0);
  t.same(ApMask.full().ids(84), range(0, 84));
});

/** [input, expected mask (printed) | errno]; hex2bitmap from zero, 256 bits. */
const hex2bitmapCases: [input: string, want: string | Errno][] = [
  // §3: empty write, "\n" or "0x" alone give all zeros
  ['', ZERO],
  ['\n', ZERO],
  ['0x', ZERO],
  ['0x\n', ZERO],
  ['x', ZERO],
  ['x\n', ZERO],
  ['0', ZERO],
  ['00\n', ZERO],
  // §3: `0x41` → bits 1 and 7; MSB first, padded on the right
  ['0x41', hx('41')],
  ['41', hx('41')],
  ['x41', hx('41')],
  ['0x41\n', hx('41')],
  ['0x0820', hx('0820')],
  ['8', hx('8')],
  ['1', hx('1')],
  ['0xAbCdEf', hx('abcdef')],
  ['0xABCDEF\n', hx('abcdef')],
  ['fffffff', hx('fffffff')],
  // the prefix: "0x" then "x" are each skipped once; lower-case x only
  ['0X41', Errno.EINVAL],
  ['X41', Errno.EINVAL],
  ['0xx41', Errno.EINVAL],
  ['xx', Errno.EINVAL],
  ['xx41', Errno.EINVAL],
  ['0x0x1', Errno.EINVAL],
  ['x0x1', Errno.EINVAL],
  // 64 digits and one "\n" at most
  [`0x${'f'.repeat(64)}`, FULL],
  ['f'.repeat(64), FULL],
  [`0x${'f'.repeat(64)}\n`, FULL],
  [`0x${'0'.repeat(63)}1`, `0x${'0'.repeat(63)}1`],
  [`0x${'f'.repeat(65)}`, Errno.EINVAL],
  [`0x${'0'.repeat(65)}`, Errno.EINVAL],
  [`${'0'.repeat(64)}1`, Errno.EINVAL],
  [`0x${'f'.repeat(64)}\n\n`, Errno.EINVAL],
  ['1\n\n', Errno.EINVAL],
  ['\n\n', Errno.EINVAL],
  ['\n1', Errno.EINVAL],
  // any other leftover character
  ['1 ', Errno.EINVAL],
  [' 1', Errno.EINVAL],
  ['1\r\n', Errno.EINVAL],
  ['1,2', Errno.EINVAL],
  ['0x1g', Errno.EINVAL],
  ['g', Errno.EINVAL],
  ['+1', Errno.EINVAL],
  ['-1', Errno.EINVAL],
  ['0x-1', Errno.EINVAL],
  ['\u00e9', Errno.EINVAL], // latin1 letters are not hex digits in the kernel's _ctype[]
  ['\u00a0', Errno.EINVAL],
  // a C string ends at its NUL
  ['1\u0000garbage', hx('1')],
];

t.test('hex2bitmap (§3 absolute syntax)', async (t) => {
  for (const [input, want] of hex2bitmapCases) {
    const name = JSON.stringify(input);
    if (typeof want === 'string') t.equal(hex2bitmap(input).toString(), want, name);
    else t.throws(() => hex2bitmap(input), kerr(want), name);
  }
});

t.test('hex2bitmap bits argument', async (t) => {
  const cases: [input: string, bits: number, want: string | Errno][] = [
    ['ff', 8, hx('ff')],
    ['ff\n', 8, hx('ff')],
    ['fff', 8, Errno.EINVAL],
    ['', 0, ZERO],
    ['0x', 0, ZERO],
    ['0', 0, Errno.EINVAL],
    [`${'f'.repeat(16)}`, 64, hx('f'.repeat(16))],
    [`${'f'.repeat(17)}`, 64, Errno.EINVAL],
    ['1', 7, Errno.EINVAL],
    ['1', 12, Errno.EINVAL],
    ['', 255, Errno.EINVAL],
  ];
  for (const [input, bits, want] of cases) {
    const name = `${JSON.stringify(input)} bits=${bits}`;
    if (typeof want === 'string') t.equal(hex2bitmap(input, bits).toString(), want, name);
    else t.throws(() => hex2bitmap(input, bits), kerr(want), name);
  }
  t.throws(() => hex2bitmap('1', 264), RangeError, 'wider than the mask is a caller bug');
  t.throws(() => hex2bitmap('1', -8), RangeError);
});

/** [current, input, expected ids | errno]; modifyBitmap over 256 bits. */
const modifyCases: [current: number[], input: string, want: number[] | Errno][] = [
  // single bits, bounds
  [[], '+0', [0]],
  [[], '+255', [255]],
  [[], '+256', Errno.EINVAL],
  [all, '-0', range(1, 255)],
  [all, '-255', range(0, 254)],
  [all, '-256', Errno.EINVAL],
  [[7], '+7', [7]],
  [[], '-7', []],
  // §3 examples
  [[], '+1-16', range(1, 16)],
  [all, '-0x10-0x1f', without(all, range(16, 31))],
  [[], '+010', [8]],
  [[], '+0-255,-128', without(all, [128])],
  [[], '+1,-5', [1]],
  [[5], '+1,-5', [1]],
  [[], '+1-5', range(1, 5)],
  // the kernel's own examples (ap_bus.c comment above modify_bitmap)
  [[], '+0-15,+32,-128,-0xFF', [...range(0, 15), 32]],
  [all, '-0-255,+1-16,+0x128', Errno.EINVAL], // 0x128 = 296
  [[], '+1,+2,+3,+4,-5,-7-10', [1, 2, 3, 4]],
  // ranges
  [[], '+3-3', [3]],
  [[], '+0-255', all],
  [[], '+254-255', [254, 255]],
  [[], '+255-255', [255]],
  [[], '+5-3', Errno.EINVAL],
  [[], '+0-256', Errno.EINVAL],
  [[], '+256-300', Errno.EINVAL],
  [[], '+1-', Errno.EINVAL],
  [[], '+1-,', Errno.EINVAL],
  [[], '+1--2', Errno.EINVAL],
  [[], '+1-0x', Errno.EINVAL], // end reads 0 (octal "0"), 0 < 1
  [[], '+0-0x', Errno.EINVAL], // end reads 0, then 'x' is not a sign
  [[], '+0x2-0x4', [2, 3, 4]],
  [[], '+010-012', [8, 9, 10]],
  // a term's range cannot be followed by another '-number': '-7' starts a new term
  [[7], '+1-5-7', range(1, 5)],
  // terms need no separator between them
  [[], '+1+2', [1, 2]],
  [[3], '+1-2-3', [1, 2]],
  // simple_strtoul base 0
  [[], '+0x10', [16]],
  [[], '+0X10', [16]], // simple_strtoul lower-cases the x
  [[], '+0xff', [255]],
  [[], '+0xFF', [255]],
  [[], '+0x100', Errno.EINVAL],
  [[], '+0x', Errno.EINVAL], // "0" is read (octal), then 'x' is not a sign
  [[], '+0xg', Errno.EINVAL],
  [[], '+0', [0]],
  [[], '+00', [0]],
  [[], '+0377', [255]],
  [[], '+0400', Errno.EINVAL],
  [[], '+08', Errno.EINVAL], // octal stops before 8, 8 is not a sign
  [[], '+09', Errno.EINVAL],
  [[], '+07', [7]],
  [[], '+0000000000000000000000000000000000000005', [5]],
  // 64-bit wrap-around of simple_strtoul, no 32-bit wrap
  [[], '+18446744073709551616', [0]], // 2^64
  [[], '+18446744073709551621', [5]],
  [[], '+18446744073709551871', [255]], // 2^64 + 255
  [[], '+18446744073709551872', Errno.EINVAL], // 2^64 + 256
  [[], '+0x10000000000000005', [5]],
  [[], '+0x1ffffffffffffffff', Errno.EINVAL], // wraps to 2^64 - 1
  [[], '+4294967296', Errno.EINVAL],
  [[], '+4294967301', Errno.EINVAL],
  [[], '+2147483648', Errno.EINVAL], // overflowed the int-typed a/z of older modify_bitmap; unsigned long since the fix
  [[], '+0-18446744073709551871', all],
  [[], '+18446744073709551617-3', [1, 2, 3]],
  [[], `+${'9'.repeat(100)}`, Errno.EINVAL],
  // signs and numbers required
  [[], '+', Errno.EINVAL],
  [[], '-', Errno.EINVAL],
  [[], '+-1', Errno.EINVAL],
  [[], '++1', Errno.EINVAL],
  [[], '+,1', Errno.EINVAL],
  [[], '+x1', Errno.EINVAL],
  [[], '+a', Errno.EINVAL],
  [[], ',+1', Errno.EINVAL],
  [[], '\n+1', Errno.EINVAL],
  [[], '1', Errno.EINVAL],
  [[], '+1,2', Errno.EINVAL],
  // separators: any run of ',' and "\n"; nothing else, no whitespace skipping
  [[], '+1\n', [1]],
  [[], '+1,', [1]],
  [[], '+1,,,\n\n,+2\n', [1, 2]],
  [[], '+1\n+2', [1, 2]],
  [[], '+1 ,+2', Errno.EINVAL], // §3
  [[], '+1, +2', Errno.EINVAL],
  [[], '+ 1', Errno.EINVAL],
  [[], '+1 ', Errno.EINVAL],
  [[], '+1\t', Errno.EINVAL],
  [[], '+1\r\n', Errno.EINVAL],
  [[], '+1;+2', Errno.EINVAL],
  [[], '+1x', Errno.EINVAL],
  // later terms override earlier ones
  [[], '+5,-5', []],
  [[], '-5,+5', [5]],
  [[], '+0-255,-0-254', [255]],
  // the empty string (not reachable through parseBitmapStr) changes nothing
  [[1, 2], '', [1, 2]],
  // a C string ends at its NUL
  [[], '+1\u0000,junk', [1]],
];

t.test('modifyBitmap (§3 relative syntax)', async (t) => {
  for (const [cur, input, want] of modifyCases) {
    const name = `${JSON.stringify(input)} on ${cur.length === 256 ? 'full' : JSON.stringify(cur)}`;
    const current = ApMask.fromIds(cur);
    const before = current.toString();
    if (Array.isArray(want)) {
      const got = modifyBitmap(input, current);
      t.same(got.ids(), want, name);
      t.not(got, current, `${name}: returns a copy`);
    } else {
      t.throws(() => modifyBitmap(input, current), kerr(want), name);
    }
    t.equal(current.toString(), before, `${name}: current unchanged`);
  }
});

t.test('modifyBitmap bits argument', async (t) => {
  t.same(modifyBitmap('+7', ApMask.zero(), 8).ids(), [7]);
  t.throws(() => modifyBitmap('+8', ApMask.zero(), 8), kerr(Errno.EINVAL));
  t.throws(() => modifyBitmap('+0-8', ApMask.zero(), 8), kerr(Errno.EINVAL));
  t.same(modifyBitmap('+63', ApMask.zero(), 64).ids(), [63]);
  t.throws(() => modifyBitmap('+1', ApMask.zero(), 12), kerr(Errno.EINVAL), 'bits not a multiple of 8');
  t.throws(() => modifyBitmap('', ApMask.zero(), 4), kerr(Errno.EINVAL), 'checked before parsing');
  t.throws(() => modifyBitmap('+1', ApMask.zero(), 512), RangeError);
});

t.test('modifyBitmap is atomic: an error late in the string leaves nothing applied', async (t) => {
  const current = ApMask.fromIds([10, 20]);
  for (const input of ['+1,+2,+300', '-10,-20,x', '+0-255,-5-3', '+1,+2,']) {
    const before = current.clone();
    if (input.endsWith(',')) {
      t.same(modifyBitmap(input, current).ids(), [1, 2, 10, 20]);
    } else {
      t.throws(() => modifyBitmap(input, current), kerr(Errno.EINVAL), JSON.stringify(input));
    }
    t.ok(current.equals(before), `${JSON.stringify(input)}: current unchanged`);
  }
});

t.test('parseBitmapStr picks relative on a leading + or -, else absolute from zero', async (t) => {
  const cases: [current: number[], input: string, want: number[] | Errno][] = [
    [all, '+1', all],
    [all, '-1', without(all, [1])],
    [all, '-0x05\n', without(all, [5])],
    [[], '+5', [5]],
    [all, '1', [3]], // absolute: digit 1 → bit 3
    [all, '0x8', [0]],
    [all, '', []], // §3 quirk: an empty write clears everything
    [all, '\n', []],
    [all, '0x', []],
    [all, `0x${'f'.repeat(64)}`, all],
    [[], ',+1', Errno.EINVAL],
    [[], ' +1', Errno.EINVAL],
    [[], '\n+1', Errno.EINVAL],
    [[], '+1 ,+2', Errno.EINVAL],
    [[], '0X1', Errno.EINVAL],
    [[], '+256', Errno.EINVAL],
    [[], `0x${'f'.repeat(65)}`, Errno.EINVAL],
  ];
  for (const [cur, input, want] of cases) {
    const name = `${JSON.stringify(input)} on ${cur.length === 256 ? 'full' : JSON.stringify(cur)}`;
    const current = ApMask.fromIds(cur);
    const before = current.toString();
    if (Array.isArray(want)) t.same(parseBitmapStr(input, current).ids(), want, name);
    else t.throws(() => parseBitmapStr(input, current), kerr(want), name);
    t.equal(current.toString(), before, `${name}: current unchanged`);
  }
});

t.test('simpleStrtoull: end position and wrap-around', async (t) => {
  const cases: [input: string, base: number, value: bigint, end: number][] = [
    ['', 0, 0n, 0],
    ['x', 0, 0n, 0],
    ['0', 0, 0n, 1],
    ['0x', 0, 0n, 1],
    ['0x1', 0, 1n, 3],
    ['0X1f-', 0, 31n, 4],
    ['019', 0, 1n, 2],
    ['123abc', 0, 123n, 3],
    ['0x', 16, 0n, 2], // explicit base 16 skips the prefix even without digits
    ['ff', 16, 255n, 2],
    ['18446744073709551615', 0, 18446744073709551615n, 20],
    ['18446744073709551616', 0, 0n, 20],
    [' 1', 0, 0n, 0],
    ['-1', 0, 0n, 0],
  ];
  for (const [input, base, value, end] of cases) {
    t.same(simpleStrtoull(input, 0, base), { value, end }, `${JSON.stringify(input)} base ${base}`);
  }
});

t.test('property: random masks round-trip through toString and hex2bitmap', async (t) => {
  const next = rng(0x5eed);
  for (let i = 0; i < 300; i++) {
    const m = randomMask(next, [0, 0.01, 0.1, 0.5, 0.9, 1][i % 6]!);
    const s = m.toString();
    if (!/^0x[0-9a-f]{64}$/.test(s)) t.fail(`format ${s}`);
    if (!hex2bitmap(s).equals(m)) t.fail(`round trip ${s}`);
    if (!hex2bitmap(`${s.slice(2).toUpperCase()}\n`).equals(m)) t.fail(`upper case ${s}`);
    if (!hex2bitmap(s.replace(/0+$/, '')).equals(m)) t.fail(`right padding ${s}`);
    if (!ApMask.fromIds(m.ids()).equals(m)) t.fail(`ids round trip ${s}`);
    if (m.count() !== m.ids().length) t.fail(`count ${s}`);
    if (!ApMask.fromWords(m.words()).equals(m)) t.fail(`words round trip ${s}`);
    if (!parseBitmapStr(s, ApMask.full()).equals(m)) t.fail(`parseBitmapStr ${s}`);
  }
  t.pass('300 random masks');
});

t.test('property: set algebra agrees with a Set model', async (t) => {
  const next = rng(42);
  for (let i = 0; i < 200; i++) {
    const a = randomMask(next, next());
    const b = randomMask(next, next());
    const A = new Set(a.ids());
    const B = new Set(b.ids());
    const want = {
      and: all.filter((x) => A.has(x) && B.has(x)),
      or: all.filter((x) => A.has(x) || B.has(x)),
      andNot: all.filter((x) => A.has(x) && !B.has(x)),
    };
    if (
      JSON.stringify(a.and(b).ids()) !== JSON.stringify(want.and) ||
      JSON.stringify(a.or(b).ids()) !== JSON.stringify(want.or) ||
      JSON.stringify(a.andNot(b).ids()) !== JSON.stringify(want.andNot) ||
      a.intersects(b) !== want.and.length > 0 ||
      a.isSubsetOf(b) !== (want.andNot.length === 0) ||
      a.first() !== a.ids()[0]
    )
      t.fail(`algebra on ${a} ${b}`);
  }
  t.pass('200 random pairs');
});

t.test('property: random relative terms agree with a boolean-array model', async (t) => {
  const next = rng(7);
  const num = (n: number): string => {
    const r = next();
    return r < 0.4 ? String(n) : r < 0.7 ? `0x${n.toString(16)}` : r < 0.85 ? `0X${n.toString(16).toUpperCase()}` : `0${n.toString(8)}`;
  };
  for (let i = 0; i < 300; i++) {
    const start = randomMask(next, 0.5);
    const model = all.map((b) => start.test(b));
    const terms: string[] = [];
    for (let n = 1 + Math.floor(next() * 6); n > 0; n--) {
      const sign = next() < 0.5 ? '+' : '-';
      const a = Math.floor(next() * 256);
      const z = next() < 0.5 ? a : a + Math.floor(next() * (256 - a));
      terms.push(z === a && next() < 0.5 ? `${sign}${num(a)}` : `${sign}${num(a)}-${num(z)}`);
      for (let b = a; b <= z; b++) model[b] = sign === '+';
    }
    const input = terms.join(next() < 0.8 ? ',' : ',\n');
    const got = parseBitmapStr(input, start);
    if (!got.equals(ApMask.fromIds(all.filter((b) => model[b])))) t.fail(`terms ${JSON.stringify(input)}`);
  }
  t.pass('300 random term lists');
});
