import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import { kstrtobool, kstrtoul, sscanfInt } from '../../src/sysfs/parse.js';

/** 2^64 - 1 as the nearest double (2^64): precision above 2^53 does not matter to callers. */
const U64_MAX = 2 ** 64;

/** An expected failure; a tagged object because errnos and results are both numbers. */
type Fail = { readonly name: 'KernelError'; readonly errno: Errno };
const kerr = (errno: Errno): Fail => ({ name: 'KernelError', errno });
const EINVAL = kerr(Errno.EINVAL);
const ERANGE = kerr(Errno.ERANGE);

/** [input, base (undefined = kstrtoul's default 0), expected | failure] */
const kstrtoulCases: [input: string, base: number | undefined, want: number | Fail][] = [
  // decimal; one leading '+', one trailing "\n"
  ['0', undefined, 0],
  ['1', undefined, 1],
  ['5', undefined, 5],
  ['255', undefined, 255],
  ['256', undefined, 256],
  ['1\n', undefined, 1],
  ['+1', undefined, 1],
  ['+1\n', undefined, 1],
  ['000000000000000000000000000000001', undefined, 1],
  // nothing else
  ['', undefined, EINVAL],
  ['\n', undefined, EINVAL],
  ['+', undefined, EINVAL],
  ['+\n', undefined, EINVAL],
  ['++1', undefined, EINVAL],
  ['-1', undefined, EINVAL],
  ['-0', undefined, EINVAL],
  ['+-1', undefined, EINVAL],
  [' 1', undefined, EINVAL],
  ['1 ', undefined, EINVAL],
  ['\t1', undefined, EINVAL],
  ['\n1', undefined, EINVAL],
  ['1\n\n', undefined, EINVAL],
  ['1\r\n', undefined, EINVAL],
  ['1,', undefined, EINVAL],
  ['1a', undefined, EINVAL],
  ['1.0', undefined, EINVAL],
  ['a', undefined, EINVAL],
  ['x10', undefined, EINVAL],
  ['10x', undefined, EINVAL],
  // leading 0: octal
  ['010', undefined, 8],
  ['00', undefined, 0],
  ['07', undefined, 7],
  ['0777', undefined, 511],
  ['010\n', undefined, 8],
  ['08', undefined, EINVAL],
  ['09', undefined, EINVAL],
  ['018', undefined, EINVAL],
  // 0x: hex only when a hex digit follows, else octal "0" and 'x' left over
  ['0x10', undefined, 16],
  ['0X10', undefined, 16],
  ['0xff', undefined, 255],
  ['0xFF', undefined, 255],
  ['0xAb\n', undefined, 171],
  ['0x0', undefined, 0],
  ['+0x5', undefined, 5],
  ['0x', undefined, EINVAL],
  ['0x\n', undefined, EINVAL],
  ['0X', undefined, EINVAL],
  ['0xg', undefined, EINVAL],
  ['0x1g', undefined, EINVAL],
  ['0x-1', undefined, EINVAL],
  ['0x 1', undefined, EINVAL],
  ['00x1', undefined, EINVAL],
  // unsigned long is 64 bits: 2^64-1 fits, 2^64 is ERANGE, checked before the leftover test
  ['18446744073709551615', undefined, U64_MAX],
  ['18446744073709551615\n', undefined, U64_MAX],
  ['0xffffffffffffffff', undefined, U64_MAX],
  ['01777777777777777777777', undefined, U64_MAX],
  ['4294967296', undefined, 4294967296],
  ['9007199254740993', undefined, 2 ** 53], // beyond 2^53 precision is lost, as documented
  ['18446744073709551616', undefined, ERANGE],
  ['+18446744073709551616', undefined, ERANGE],
  ['18446744073709551616\n', undefined, ERANGE],
  ['99999999999999999999', undefined, ERANGE],
  ['99999999999999999999x', undefined, ERANGE],
  ['0x10000000000000000', undefined, ERANGE],
  ['0x1ffffffffffffffff', undefined, ERANGE],
  ['02000000000000000000000', undefined, ERANGE],
  ['0xfffffffffffffffff', undefined, ERANGE],
  ['-18446744073709551616', undefined, EINVAL],
  // explicit bases
  ['ff', 16, 255],
  ['FF\n', 16, 255],
  ['0xff', 16, 255],
  ['0Xff', 16, 255],
  ['0x', 16, EINVAL],
  ['0xg', 16, EINVAL],
  ['g', 16, EINVAL],
  ['010', 10, 10],
  ['0x10', 10, EINVAL],
  ['17', 8, 15],
  ['8', 8, EINVAL],
  ['0x10', 8, EINVAL],
  ['101', 2, 5],
  ['2', 2, EINVAL],
  // a C string ends at its NUL
  ['5\u0000junk', undefined, 5],
];

t.test('kstrtoul', async (t) => {
  for (const [input, base, want] of kstrtoulCases) {
    const name = `${JSON.stringify(input)}${base === undefined ? '' : ` base ${base}`}`;
    const run = (): number => (base === undefined ? kstrtoul(input) : kstrtoul(input, base));
    if (typeof want === 'number') t.equal(run(), want, name);
    else t.throws(run, want, name);
  }
});

t.test('kstrtobool: first character, or "o" + second', async (t) => {
  const cases: [input: string, want: boolean | Errno][] = [
    ['y', true],
    ['Y', true],
    ['yes', true],
    ['Yes\n', true],
    ['1', true],
    ['1\n', true],
    ['1000', true],
    ['t', true],
    ['T', true],
    ['true', true],
    ['e', true],
    ['E', true],
    ['enabled', true],
    ['on', true],
    ['On', true],
    ['ON', true],
    ['oN\n', true],
    ['onion', true],
    ['yx', true],
    ['n', false],
    ['N', false],
    ['no', false],
    ['0', false],
    ['0\n', false],
    ['01', false],
    ['f', false],
    ['F', false],
    ['false', false],
    ['d', false],
    ['D', false],
    ['disabled', false],
    ['off', false],
    ['OFF', false],
    ['of', false],
    ['oF\n', false],
    ['offline', false],
    ['', Errno.EINVAL],
    ['\n', Errno.EINVAL],
    ['o', Errno.EINVAL],
    ['O', Errno.EINVAL],
    ['o\n', Errno.EINVAL],
    ['ox', Errno.EINVAL],
    ['o n', Errno.EINVAL],
    ['x', Errno.EINVAL],
    ['2', Errno.EINVAL],
    [' 1', Errno.EINVAL],
    [' y', Errno.EINVAL],
    ['-1', Errno.EINVAL],
    ['+1', Errno.EINVAL],
    ['\u0000y', Errno.EINVAL],
  ];
  for (const [input, want] of cases) {
    const name = JSON.stringify(input);
    if (typeof want === 'boolean') t.equal(kstrtobool(input), want, name);
    else t.throws(() => kstrtobool(input), kerr(want), name);
  }
});

t.test('sscanfInt: the kernel vsscanf for one %i / %d', async (t) => {
  const cases: [input: string, conv: '%i' | '%d', want: number | undefined][] = [
    // §2 ap_domain example, leading blanks, trailing garbage
    ['6', '%i', 6],
    ['6\n', '%i', 6],
    ['  6', '%i', 6],
    ['\t\n\v\f\r 6', '%i', 6],
    ['\u00a06', '%i', 6], // latin1 NBSP is _S in the kernel's _ctype[]
    ['\u00856', '%i', undefined], // NEL is not
    ['\u001c6', '%i', undefined],
    ['5abc', '%i', 5],
    ['5 6', '%i', 5],
    ['5\n\n', '%i', 5],
    // %i detects the base like base 0
    ['0x10', '%i', 16],
    ['0X10', '%i', 16],
    ['0xAB', '%i', 171],
    ['010', '%i', 8],
    ['0', '%i', 0],
    ['08', '%i', 0], // octal stops before 8
    ['09', '%i', 0],
    ['0x', '%i', 0], // no hex digit after 0x: octal 0
    ['0xg', '%i', 0],
    ['x10', '%i', undefined],
    // only '-' is a sign
    ['-1', '%i', -1],
    ['  -1', '%i', -1],
    ['-0x10', '%i', -16],
    ['-010', '%i', -8],
    ['-0', '%i', 0],
    ['+5', '%i', undefined],
    ['+5', '%d', undefined],
    ['-', '%i', undefined],
    ['--1', '%i', undefined],
    ['- 1', '%i', undefined],
    ['-x', '%i', undefined],
    // no conversion
    ['', '%i', undefined],
    [' ', '%i', undefined],
    ['\n', '%i', undefined],
    ['abc', '%i', undefined],
    ['\u0000 5', '%i', undefined],
    // stored into an int: 64-bit wrap, then 32-bit two's complement
    ['2147483647', '%i', 2147483647],
    ['2147483648', '%i', -2147483648],
    ['-2147483648', '%i', -2147483648],
    ['-2147483649', '%i', 2147483647],
    ['4294967295', '%i', -1],
    ['4294967296', '%i', 0],
    ['4294967297', '%i', 1],
    ['0xffffffff', '%i', -1],
    ['0x100000005', '%i', 5],
    ['18446744073709551617', '%i', 1],
    ['99999999999', '%d', 1215752191],
    // %d is decimal only
    ['010', '%d', 10],
    ['08', '%d', 8],
    ['0x10', '%d', 0],
    ['-5', '%d', -5],
    ['  -5\n', '%d', -5],
    ['5.5', '%d', 5],
    ['30', '%d', 30],
    ['120', '%d', 120],
    ['121', '%d', 121],
    ['4', '%d', 4],
    ['', '%d', undefined],
    ['x', '%d', undefined],
  ];
  for (const [input, conv, want] of cases) t.equal(sscanfInt(input, conv), want, `${conv} ${JSON.stringify(input)}`);
});
