import t from 'tap';
import { ApMask } from '../../src/model/ap/ap-mask.js';
import { Errno } from '../../src/model/errno.js';
import {
  AP_CONFIG_STRLEN,
  PAGE_SIZE,
  formatApConfig,
  formatControlDomains,
  formatMask,
  formatMatrix,
  parseApConfig,
} from '../../src/sysfs/emit.js';

/** What tap matches a thrown KernelError against (name keeps tap's ErrorMatch type happy). */
const kerr = (errno: Errno): { name: string; errno: Errno } => ({ name: 'KernelError', errno });

const hx = (digits: string): string => `0x${digits.padEnd(64, '0')}`;
const ZERO = hx('');
const FULL = `0x${'f'.repeat(64)}`;
const ids = (...xs: number[]): ApMask => ApMask.fromIds(xs);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

t.test('PAGE_SIZE', async (t) => {
  t.equal(PAGE_SIZE, 4096);
});

t.test('formatMask: 0x + 64 hex digits + newline', async (t) => {
  const cases: [m: ApMask, want: string][] = [
    [ApMask.zero(), `${ZERO}\n`],
    // §2: apmask/aqmask default
    [ApMask.full(), '0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n'],
    // §2: adapters 4 and 10 present
    [ids(4, 10), '0x0820000000000000000000000000000000000000000000000000000000000000\n'],
    [ids(0), `${hx('8')}\n`],
    [ids(255), `0x${'0'.repeat(63)}1\n`],
  ];
  for (const [m, want] of cases) {
    t.equal(formatMask(m), want, want.trim());
    t.equal(formatMask(m).length, 67);
  }
});

t.test('formatMatrix (§8 matrix / guest_matrix)', async (t) => {
  const cases: [name: string, apm: ApMask, aqm: ApMask, apmMax: number, aqmMax: number, want: string][] = [
    // §8 example: adapters 5,6 domains 4,0xab
    ['§8 example', ids(5, 6), ids(4, 0xab), 255, 255, '05.0004\n05.00ab\n06.0004\n06.00ab\n'],
    ['only adapters', ids(5), ApMask.zero(), 255, 255, '05.\n'],
    ['only adapters, two', ids(5, 0xb), ApMask.zero(), 63, 15, '05.\n0b.\n'],
    ['only domains', ApMask.zero(), ids(4), 255, 255, '.0004\n'],
    ['only domains, two', ApMask.zero(), ids(4, 0x54), 255, 84, '.0004\n.0054\n'],
    ['neither', ApMask.zero(), ApMask.zero(), 255, 255, ''],
    ['one APQN', ids(0), ids(0), 63, 15, '00.0000\n'],
    ['highest APQN', ids(255), ids(255), 255, 255, 'ff.00ff\n'],
    // only bits 0..apmMax / 0..aqmMax are printed
    ['adapter at apmMax', ids(63), ids(15), 63, 15, '3f.000f\n'],
    ['adapter above apmMax', ids(64), ids(15), 63, 15, '.000f\n'],
    ['domain above aqmMax', ids(63), ids(16), 63, 15, '3f.\n'],
    ['both above max', ids(64), ids(16), 63, 15, ''],
    ['mixed, max cuts', ids(1, 63, 64, 200), ids(2, 15, 16), 63, 15, '01.0002\n01.000f\n3f.0002\n3f.000f\n'],
    ['max 84 (APXA Nd)', ids(4), ids(0x54, 0x55), 255, 84, '04.0054\n'],
    ['negative max prints nothing', ids(1), ids(1), -1, -1, ''],
  ];
  for (const [name, apm, aqm, apmMax, aqmMax, want] of cases) {
    t.equal(formatMatrix(apm, aqm, apmMax, aqmMax), want, name);
  }
});

t.test('formatMatrix on 256 x 256 is complete and not truncated here', async (t) => {
  const out = formatMatrix(ApMask.full(), ApMask.full(), 255, 255);
  t.equal(out.length, 256 * 256 * 8);
  t.ok(out.length > PAGE_SIZE, 'the sysfs layer, not the formatter, applies PAGE_SIZE');
  t.equal(out.slice(0, 16), '00.0000\n00.0001\n');
  t.equal(out.slice(8 * 256, 8 * 257), '01.0000\n', 'adapters outer, domains inner');
  t.equal(out.slice(-16), 'ff.00fe\nff.00ff\n');
});

t.test('formatControlDomains (§8 control_domains)', async (t) => {
  const cases: [adm: ApMask, admMax: number, want: string][] = [
    [ids(4, 0xab), 255, '0004\n00ab\n'], // §8 example
    [ids(4, 0xab), 0xab, '0004\n00ab\n'],
    [ids(4, 0xab), 0xaa, '0004\n'],
    [ids(0, 15, 16), 15, '0000\n000f\n'],
    [ApMask.zero(), 255, ''],
    [ids(1), -1, ''],
    [ApMask.full(), 255, range(0, 255).map((d) => `${d.toString(16).padStart(4, '0')}\n`).join('')],
  ];
  for (const [adm, admMax, want] of cases) t.equal(formatControlDomains(adm, admMax), want, JSON.stringify(want).slice(0, 40));
});

// §8 ap_config example: adapter 5, domain 4, no control domains
const SPEC_AP_CONFIG =
  '0x0400000000000000000000000000000000000000000000000000000000000000,0x0800000000000000000000000000000000000000000000000000000000000000,0x0000000000000000000000000000000000000000000000000000000000000000\n';

t.test('formatApConfig (§8 ap_config read)', async (t) => {
  t.equal(formatApConfig(ids(5), ids(4), ApMask.zero()), SPEC_AP_CONFIG);
  t.equal(formatApConfig(ApMask.zero(), ApMask.zero(), ApMask.zero()), `${ZERO},${ZERO},${ZERO}\n`);
  t.equal(formatApConfig(ApMask.full(), ids(0), ids(255)), `${FULL},${hx('8')},0x${'0'.repeat(63)}1\n`);
  t.equal(formatApConfig(ApMask.full(), ApMask.full(), ApMask.full()).length, 201);
  t.equal(AP_CONFIG_STRLEN, 201, 'AP_CONFIG_STRLEN = 3 x (256 / 4 + 3)');
});

const full3 = `${FULL},${FULL},${FULL}`; // 200 bytes, no newline
const digits65 = `0x${'f'.repeat(65)}`;

/** [name, input, expected [apm ids, aqm ids, adm ids] | errno] */
const apConfigCases: [name: string, input: string, want: [number[], number[], number[]] | Errno][] = [
  ['§8 example', SPEC_AP_CONFIG, [[5], [4], []]],
  ['§8 example without newline', SPEC_AP_CONFIG.trimEnd(), [[5], [4], []]],
  ['short masks are padded on the right', '0x04,0x08,0x1', [[5], [4], [3]]],
  ['no 0x prefix', '04,08,1', [[5], [4], [3]]],
  ['x prefix', 'x04,x08,x1', [[5], [4], [3]]],
  ['each field starts from zero', '0x8,0x8,0x8', [[0], [0], [0]]],
  ['newline separates fields too', '0x04\n0x08\n0x1', [[5], [4], [3]]],
  ['mixed separators', '0x04\n0x08,0x1\n', [[5], [4], [3]]],
  ['empty third field', '0x04,0x08,', [[5], [4], []]],
  ['trailing newline is an empty third field', '0x04,0x08\n', [[5], [4], []]],
  ['all fields empty', ',,', [[], [], []]],
  ['three empty lines', '\n\n', [[], [], []]],
  ['0x alone is all zeros', '0x,0x,0x', [[], [], []]],
  ['a fourth field is ignored', '0x04,0x08,0x1,garbage', [[5], [4], [3]]],
  ['text after the third newline is ignored', '0x04,0x08,0x1\nrubbish\n', [[5], [4], [3]]],
  ['full masks', `${full3}\n`, [range(0, 255), range(0, 255), range(0, 255)]],
  ['truncated to 201 bytes: junk after the newline is dropped', `${full3}\nzzzz`, [range(0, 255), range(0, 255), range(0, 255)]],
  ['a page of junk after the third field', `${full3}\n${'z'.repeat(PAGE_SIZE)}`, [range(0, 255), range(0, 255), range(0, 255)]],
  ['a C string ends at its NUL', '0x04,0x08,\u0000junk', [[5], [4], []]],
  // EINVAL
  ['empty', '', Errno.EINVAL],
  ['one newline', '\n', Errno.EINVAL],
  ['one field', '0x04', Errno.EINVAL],
  ['one comma', ',', Errno.EINVAL],
  ['two fields', '0x04,0x08', Errno.EINVAL],
  ['a NUL hides the third field', '0x04,0x08\u0000,0x1', Errno.EINVAL],
  ['bad digit in apm', '0xzz,0x08,0x1', Errno.EINVAL],
  ['bad digit in aqm', '0x04,0x0g,0x1', Errno.EINVAL],
  ['bad digit in adm', '0x04,0x08,0x1g', Errno.EINVAL],
  ['upper-case 0X', '0X04,0x08,0x1', Errno.EINVAL],
  ['leading space', ' 0x04,0x08,0x1', Errno.EINVAL],
  ['space before comma', '0x04 ,0x08,0x1', Errno.EINVAL],
  ['space after comma', '0x04, 0x08,0x1', Errno.EINVAL],
  ['semicolon', '0x04;0x08;0x1', Errno.EINVAL],
  ['65 digits in apm', `${digits65},0x08,0x1`, Errno.EINVAL],
  ['65 digits in adm, within 201 bytes', `${FULL},${FULL},${digits65}`, Errno.EINVAL],
  // Byte 200 (the 201st, where the newline goes) is still inside the kstrndup window.
  ['junk at byte 200', `${full3}X`, Errno.EINVAL],
  ['a 65th digit at byte 200', `${full3}f`, Errno.EINVAL],
  ['fields pushed past 201 bytes', `${'0'.repeat(200)},0x1,0x2`, Errno.EINVAL],
];

t.test('parseApConfig (§8 ap_config write)', async (t) => {
  for (const [name, input, want] of apConfigCases) {
    if (Array.isArray(want)) {
      const got = parseApConfig(input);
      t.same([got.apm.ids(), got.aqm.ids(), got.adm.ids()], want, name);
    } else {
      t.throws(() => parseApConfig(input), kerr(want), name);
    }
  }
});

t.test('property: formatApConfig → parseApConfig round-trips', async (t) => {
  let seed = 99;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const random = (): ApMask => ApMask.fromIds(range(0, 255).filter(() => next() < next()));
  for (let i = 0; i < 200; i++) {
    const [apm, aqm, adm] = [random(), random(), random()];
    const text = formatApConfig(apm, aqm, adm);
    const got = parseApConfig(text);
    if (!got.apm.equals(apm) || !got.aqm.equals(aqm) || !got.adm.equals(adm)) t.fail(text);
    if (!parseApConfig(text.toUpperCase().replaceAll('0X', '0x')).apm.equals(apm)) t.fail(`upper ${text}`);
  }
  t.pass('200 random configurations');
});
