// Issue "Prove it holds": the documented errno set the fuzzers check against. src/sysfs/errno-sets.ts
// and docs/errno.md must say the same, every writable file of the tree must have a row, every row
// a file, and every row an oracle or a reason not to.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import { createSysfs } from '../../src/sysfs/tree.js';
import { WRITE_ERRNOS, writeErrnosKey } from '../../src/sysfs/errno-sets.js';
import { ORACLES, refKstrtoull, refParseBitmapStr, refSscanfInt, refUevent } from '../helpers/fuzz-oracles.js';
import { allTargets, fuzzHost, writableFiles } from '../helpers/fuzz.js';
import { kstrtoul, sscanfInt } from '../../src/sysfs/parse.js';
import { parseBitmapStr, ApMask } from '../../src/model/ap/ap-mask.js';
import { checkUeventAction } from '../../src/sysfs/groups/ap-bus.js';
import { Rng, genInput } from '../helpers/fuzz-inputs.js';

const name = (e: Errno): string => Errno[e] ?? String(e);

t.test('docs/errno.md has the same table as WRITE_ERRNOS', async (t) => {
  const doc = readFileSync(new URL('../../docs/errno.md', import.meta.url), 'utf8');
  const rows = new Map<string, string>();
  for (const [, key, errnos] of doc.matchAll(/^\| `(\/[^`]+)` \| ([^|]+) \|/gm)) rows.set(key!, errnos!.trim());
  const want = new Map(Object.entries(WRITE_ERRNOS).map(([k, v]) => [k, v.errnos.map(name).join(', ') || '—']));
  t.same([...rows.keys()].sort(), [...want.keys()].sort(), 'the same attributes');
  for (const [k, v] of want) t.equal(rows.get(k), v, k);
});

t.test('every writable file has a row, every row a file in the fuzz fixture, every row a target', async (t) => {
  const host = await fuzzHost();
  const files = writableFiles(createSysfs(host));
  const unmapped = files.filter((p) => writeErrnosKey(p) === undefined);
  t.same(unmapped, [], 'no writable file without a documented errno set');
  const seen = new Set(files.map((p) => writeErrnosKey(p)));
  t.same(Object.keys(WRITE_ERRNOS).filter((k) => !seen.has(k)), [], 'no row without a file');
  const targeted = new Set(allTargets().map((x) => x.key));
  t.same(Object.keys(WRITE_ERRNOS).filter((k) => !targeted.has(k)), [], 'every row is fuzzed');
  t.same(Object.keys(WRITE_ERRNOS).filter((k) => !ORACLES[k]), [], 'every row has an oracle');
  t.ok(files.length > 60, `${files.length} writable files`);
});

// The oracles are independent re-readings of the kernel's C; the model's parsers are another. Where
// both exist they must agree on every input, or one of them is wrong.
t.test('the reference parsers agree with the model parsers on 20,000 inputs', async (t) => {
  const rng = new Rng(20240601);
  let mismatches = 0;
  const cur = ApMask.fromIds([1, 5, 200]);
  const curBits = new Uint8Array(256);
  for (const id of cur.ids()) curBits[id] = 1;
  for (let i = 0; i < 20000 && mismatches < 5; i++) {
    const s = genInput(rng, ['ulong', 'int', 'mask', 'uevent'], { devices: [], uuids: [], bounds: [84, 255] }).toString('latin1').replace(/\0.*$/s, '');
    let model: string;
    try {
      model = String(BigInt(kstrtoul(s)));
    } catch (e) {
      model = name((e as { errno: Errno }).errno);
    }
    const ref = refKstrtoull(s);
    // kstrtoul returns a JS number: compare only where it is exact.
    const refText = typeof ref === 'bigint' ? (ref <= BigInt(Number.MAX_SAFE_INTEGER) ? String(ref) : model) : name(ref);
    if (model !== refText) (mismatches++, t.fail(`kstrtoul(${JSON.stringify(s)}): model ${model}, reference ${refText}`));
    for (const base of [0, 10] as const) {
      const a = sscanfInt(s, base === 0 ? '%i' : '%d');
      const b = refSscanfInt(s, base);
      if (a !== b) (mismatches++, t.fail(`sscanf(${JSON.stringify(s)}, base ${base}): model ${a}, reference ${b}`));
    }
    let m: string;
    try {
      m = parseBitmapStr(s, cur).toString();
    } catch {
      m = 'EINVAL';
    }
    const r = refParseBitmapStr(s, curBits);
    const rText = r ? ApMask.fromIds([...r].flatMap((v, i) => (v ? [i] : []))).toString() : 'EINVAL';
    if (m !== rText) (mismatches++, t.fail(`mask ${JSON.stringify(s)}: model ${m}, reference ${rText}`));
    const u = refUevent(Buffer.from(s, 'latin1'));
    if (u !== undefined) {
      let mu: number = 0;
      try {
        checkUeventAction(s);
      } catch (e) {
        mu = (e as { errno: Errno }).errno;
      }
      if (mu !== u) (mismatches++, t.fail(`uevent ${JSON.stringify(s)}: model ${mu}, reference ${u}`));
    }
  }
  t.equal(mismatches, 0);
});
