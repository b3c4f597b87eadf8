/**
 * The attribute tables as data (style.md "Attributes as data"): every group of every kobject
 * type, and every directory of live trees in several states, checked for unique names, a mode
 * that agrees with which of show/store exist (VERIFY_OCTAL_PERMISSIONS), and names that the
 * spec (shared/spec/kernel-behaviour.md) knows.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Attr, AttrGroup } from '../../src/sysfs/attr.js';
import { apBusAttrs, busCoreAttrs } from '../../src/sysfs/groups/ap-bus.js';
import { apCardGroups } from '../../src/sysfs/groups/ap-card.js';
import { apQueueGroups } from '../../src/sysfs/groups/ap-queue.js';
import { driverBindAttrs, driverCoreAttrs } from '../../src/sysfs/groups/driver.js';
import { matrixAttrs } from '../../src/sysfs/groups/matrix.js';
import { mdevTypeAttrs } from '../../src/sysfs/groups/mdev-type.js';
import { vfioApMdevGroups } from '../../src/sysfs/groups/vfio-ap-mdev.js';
import type { Host } from '../../src/model/host.js';
import { U1, U2, hostWith, noLockdepReports, sysfs, type Sys } from '../helpers/model.js';

// The contract lives in shared/ beside the repository (as on the developers' machines and in CI).
const SPEC = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'spec', 'kernel-behaviour.md'), 'utf8');
/** The name as a whole word of the spec (so `config` does not pass because of `config_time`). */
/**
 * Files served beyond the spec, where the spec leaves room ("whatever the VFIO core adds for an
 * emulated-IOMMU device ... treat these as optional"), each with the kernel's source.
 */
const BEYOND_SPEC = new Map([['/kernel/iommu_groups/', 'drivers/iommu/iommu.c iommu_group_attr_reserved_regions, iommu_group_attr_type']]);
const beyondSpec = (path: string): boolean => [...BEYOND_SPEC.keys()].some((prefix) => path.startsWith(prefix));
const inSpec = (name: string): boolean => new RegExp(`(^|[^A-Za-z0-9_])${name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}($|[^A-Za-z0-9_])`).test(SPEC);

type AnyGroup = AttrGroup<unknown>;

/** Every table, by the directory kind it fills. Mutually exclusive groups (is_visible) are listed apart. */
async function tables(): Promise<{ host: Host; dirs: Record<string, AnyGroup[][]> }> {
  const host = await hostWith();
  const [cardCore, cardZcrypt, cardCca, cardEp11] = apCardGroups(host.bus) as AnyGroup[];
  const [queueCore, queueZcrypt, queueVfio] = apQueueGroups(host.bus, host.matrixDev) as AnyGroup[];
  const noop = () => undefined;
  const busCore = busCoreAttrs({ autoprobe: () => true, setAutoprobe: noop, probe: noop }) as AnyGroup;
  const dirs: Record<string, AnyGroup[][]> = {
    // each inner list is one set of groups that can be visible together in one directory
    'bus/ap': [[apBusAttrs as AnyGroup, busCore]],
    'bus/<bus>': [[busCore]],
    'cardXX (cca)': [[cardCore!, cardZcrypt!, cardCca!]],
    'cardXX (ep11)': [[cardCore!, cardZcrypt!, cardEp11!]],
    'XX.YYYY (cex4queue)': [[queueCore!, queueZcrypt!]],
    'XX.YYYY (vfio_ap)': [[queueCore!, queueVfio!]],
    matrix: [[matrixAttrs as AnyGroup]],
    'vfio_ap-passthrough': [[mdevTypeAttrs as AnyGroup]],
    '<uuid>': [vfioApMdevGroups(host) as AnyGroup[]],
    'drivers/<drv>': [[driverBindAttrs as AnyGroup, driverCoreAttrs as AnyGroup]],
  };
  return { host, dirs };
}

const allAttrs = (dirs: Record<string, AnyGroup[][]>): [dir: string, attr: Attr<unknown>][] =>
  Object.entries(dirs).flatMap(([dir, sets]) => sets.flatMap((set) => set.flatMap((g) => g.attrs.map((a) => [dir, a] as [string, Attr<unknown>]))));

t.test('names are unique per directory', async (t) => {
  const { dirs } = await tables();
  for (const [dir, sets] of Object.entries(dirs)) {
    for (const set of sets) {
      const names = set.flatMap((g) => g.attrs.map((a) => a.name));
      const dupes = names.filter((n, i) => names.indexOf(n) !== i);
      t.same(dupes, [], `${dir}: ${names.length} names, no duplicate`);
    }
  }
});

t.test('the mode agrees with which of show/store exist (VERIFY_OCTAL_PERMISSIONS)', async (t) => {
  const { dirs } = await tables();
  for (const [dir, a] of allAttrs(dirs)) {
    const readable = (a.mode & 0o444) !== 0;
    const writable = (a.mode & 0o222) !== 0;
    t.ok([0o444, 0o200, 0o644, 0o600].includes(a.mode), `${dir}/${a.name}: mode ${a.mode.toString(8)} is one of the helpers'`);
    t.equal(readable, a.show !== undefined, `${dir}/${a.name}: readable iff it has show`);
    t.equal(writable, a.store !== undefined, `${dir}/${a.name}: writable iff it has store`);
  }
});

t.test('every attribute name appears in the spec', async (t) => {
  const { dirs } = await tables();
  const names = new Set(allAttrs(dirs).map(([, a]) => a.name));
  t.ok(names.size > 50, `${names.size} distinct names`);
  for (const name of names) t.ok(inSpec(name), `"${name}" is in kernel-behaviour.md`);
  t.notOk(inSpec('no_such_attribute_name'), 'the check can fail');
});

/** Walk a tree: every directory's listing, and every file with its mode. */
function walk(sys: Sys, dir = '', out: { dirs: [string, readonly string[]][]; files: [string, number][]; links: string[] } = { dirs: [], files: [], links: [] }) {
  const names = sys.ls(dir) ?? [];
  out.dirs.push([dir || '/', names]);
  for (const name of names) {
    const p = `${dir}/${name}`;
    const st = sys.fs.stat(p)!;
    if (st.kind === 'dir') walk(sys, p, out);
    else if (st.kind === 'file') out.files.push([p, st.mode]);
    else out.links.push(p);
  }
  return out;
}

/** Hosts in different states, so every group is visible somewhere. */
async function liveTrees(): Promise<Sys[]> {
  const a = await hostWith({ apmask: '+0-4,+6-255' });
  await a.mdevCore.create(U1, 36);
  const sa = sysfs(a);
  await sa.write(`devices/vfio_ap/matrix/${U1}/assign_adapter`, '5');
  await sa.write(`devices/vfio_ap/matrix/${U1}/assign_domain`, '4');
  await a.attachGuest(U1, 'vm1');
  const b = await hostWith();
  await b.mdevCore.create(U2, 36);
  const sb = sysfs(b);
  await sb.write('bus/ap/drivers/cex4card/unbind', 'card04');
  await sb.write('bus/ap/drivers/cex4queue/unbind', '06.0004');
  return [sa, sb];
}

// zcrypt_api.c declares these __ATTR(create, 0600, NULL, zcdn_create_store): the mode has a read
// bit but there is no show, so kernfs_fop_open refuses a read open (EACCES) — the kernel's own
// exception to "open agrees with the mode".
const NO_SHOW_0600 = new Set(['/class/zcrypt/create', '/class/zcrypt/destroy']);

t.test('live trees: unique names in every directory; open agrees with the mode, for every file', async (t) => {
  for (const [i, sys] of (await liveTrees()).entries()) {
    const { dirs, files } = walk(sys);
    let dupes = 0;
    for (const [dir, names] of dirs) if (new Set(names).size !== names.length) (dupes++, t.fail(`${dir}: duplicate names ${names.join(' ')}`));
    t.equal(dupes, 0, `tree ${i}: ${dirs.length} directories, names unique in each`);
    let bad = 0;
    for (const [path, mode] of files) {
      for (const [flags, bits] of [[0, 0o444], [1, 0o222]] as const) {
        let ok = true;
        try {
          sys.fs.open(path, flags).release();
        } catch {
          ok = false;
        }
        const expected = (mode & bits) !== 0 && !(flags === 0 && NO_SHOW_0600.has(path));
        if (ok !== expected) (bad++, t.fail(`${path}: mode ${mode.toString(8)} but open(${flags}) ${ok ? 'succeeded' : 'failed'}`));
      }
    }
    t.equal(bad, 0, `tree ${i}: ${files.length} files open exactly as their mode says`);
    const specified = files.filter(([p]) => !beyondSpec(p));
    t.ok(files.length - specified.length > 0, `tree ${i}: ${files.length - specified.length} files beyond the spec (${[...BEYOND_SPEC.values()].join('; ')})`);
    const unknown = [...new Set(specified.map(([p]) => p.slice(p.lastIndexOf('/') + 1)))].filter((n) => !inSpec(n));
    t.same(unknown, [], `tree ${i}: every file name is in the spec`);
    // every attribute of a live tree reads (0444/0644) without an error
    for (const [path, mode] of files) {
      if (!(mode & 0o444) || NO_SHOW_0600.has(path)) continue;
      const r = await sys.read(path);
      if (typeof r !== 'string') t.fail(`${path}: read gave errno ${r}`);
    }
  }
});

t.test('show output is newline-terminated text of at most 4095 bytes (sysfs_emit)', async (t) => {
  const [sys] = await liveTrees();
  const { files } = walk(sys!);
  let n = 0;
  for (const [path, mode] of files) {
    if (!(mode & 0o444)) continue;
    const r = await sys!.read(path);
    if (typeof r !== 'string') continue;
    n++;
    // empty output is legitimate (an empty matrix, §2 features quirk); anything else ends in "\n"
    if (r.length > 0 && !r.endsWith('\n')) t.fail(`${path}: ${JSON.stringify(r)} does not end in a newline`);
    if (r.length > 4095) t.fail(`${path}: ${r.length} bytes`);
  }
  t.ok(n > 200, `${n} files read`);
});

noLockdepReports(t);
