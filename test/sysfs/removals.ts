/**
 * Every path that leaves the tree is announced (SysfsRemovals), before the operation that removed
 * it returns. The FUSE mount lets the kernel cache names and drops them on each announcement
 * (src/fuse/dentry-epoch.ts): a removal the model forgets to announce would leave a ghost path
 * that `test -e` still finds. Checked two ways: by hand for each kind of removal, and against a
 * full walk of the tree around every operation of a long random sequence (the stress runner's
 * ops: mask writes, bind/unbind, create/remove, assignments, guests, host changes).
 */
import t from 'tap';
import { createSysfs, createTree } from '../../src/sysfs/tree.js';
import type { DirNode } from '../../src/sysfs/node.js';
import type { Kernfs } from '../../src/sysfs/kernfs-api.js';
import { adapterAdd, adapterRemove, domainRemove } from '../../src/model/host-config.js';
import { ModelTarget } from '../../src/stress/model-target.js';
import { generateOps, describe as describeOp } from '../../src/stress/ops.js';
import { OK, U1, createMdev, hostWith, noLockdepReports, settle, sysfs } from '../helpers/model.js';

/**
 * path → 'dir' | 'file MODE' | 'link -> TARGET' for every node, walked on the tree itself
 * (createTree): the truth, with none of the Kernfs's remembered resolutions in the way.
 */
function walk(dir: DirNode, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const name of dir.list()) {
    const p = `${prefix}/${name}`;
    const n = dir.child(name);
    if (!n) continue;
    if (n.kind === 'dir') {
      out.set(p, 'dir');
      walk(n, p, out);
    } else if (n.kind === 'link') out.set(p, `link -> ${n.target}`);
    else out.set(p, `file ${n.attr.mode.toString(8)}`);
  }
  return out;
}

/** The same description as `walk` gives, through a Kernfs's stat/readlink. */
function describePath(fs: Kernfs, p: string): string | undefined {
  const st = fs.stat(p);
  if (!st) return undefined;
  if (st.kind === 'link') return `link -> ${fs.readlink(p)}`;
  return st.kind === 'dir' ? 'dir' : `file ${st.mode.toString(8)}`;
}

/** Paths of `before` that are gone from `after` or are something else there. */
function vanished(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before].filter(([p, what]) => after.get(p) !== what).map(([p]) => p);
}

t.test('each kind of removal is announced, and a change that removes nothing is not', async (t) => {
  const host = await hostWith();
  const sys = sysfs(host);
  const tree = createTree(host);
  const seen: string[] = [];
  const off = createSysfs(host).onRemoval!((what) => seen.push(what));
  const step = async (name: string, fn: () => Promise<unknown>, expect: boolean) => {
    const before = walk(tree);
    seen.length = 0;
    await fn();
    const gone = vanished(before, walk(tree));
    t.equal(gone.length > 0, expect, `${name}: ${gone.length} path(s) changed or gone`);
    t.equal(seen.length > 0, expect, `${name}: announced ${JSON.stringify(seen.slice(0, 3))}`);
  };
  const mdevDir = `devices/vfio_ap/matrix/${U1}`;
  await step('create', () => createMdev(host, U1), false);
  await step('assign_domain (no structure)', async () => t.equal(await sys.write(`${mdevDir}/assign_domain`, '0x47'), OK), false);
  await step('apmask: queues move to vfio_ap', async () => t.equal(await sys.write('bus/ap/apmask', '-0x05'), OK), true);
  await step('unbind a queue', async () => t.equal(await sys.write('bus/ap/drivers/vfio_ap/unbind', '05.0047'), OK), true);
  await step('zcrypt create', async () => t.equal(await sys.write('class/zcrypt/create', 'zc1'), OK), false);
  await step('zcrypt destroy', async () => t.equal(await sys.write('class/zcrypt/destroy', 'zc1'), OK), true);

  // A remove blocked by an attached guest: the mdev_type and bus links go at once, the directory
  // when the guest lets go (mdev_device_remove).
  await host.attachGuest(U1, 'vm0');
  const before = walk(tree);
  seen.length = 0;
  const removing = sys.write(`${mdevDir}/remove`, '1');
  await settle();
  const gone = vanished(before, walk(tree));
  t.ok(gone.includes(`/${mdevDir}/mdev_type`), 'the type link is gone while the remove waits');
  t.ok(gone.includes(`/bus/mdev/devices/${U1}`), 'so is the bus link');
  t.ok(seen.some((w) => w.startsWith('mdev removing')), `announced: ${JSON.stringify(seen)}`);
  seen.length = 0;
  await host.detachGuest(U1);
  t.equal(await removing, OK);
  t.equal(sys.fs.stat(`/${mdevDir}`), undefined, 'the directory is gone');
  t.ok(seen.some((w) => w.startsWith('device_del')), `announced: ${JSON.stringify(seen)}`);

  await step('host domain remove', () => domainRemove(host, 0x47), true);
  await step('host adapter remove', () => adapterRemove(host, 5), true);
  await step('host adapter add', () => adapterAdd(host, 5), false);
  off();
});

t.test('a random sequence: every operation that removes a path announces it before it returns', async (t) => {
  const target = await ModelTarget.create({});
  const tree = createTree(target.host);
  // The Kernfs the mount serves, whose remembered resolutions are only as good as the announcements.
  const fs = createSysfs(target.host);
  const removals = target.host.k.removals;
  let removing = 0;
  let stale = 0;
  for (const op of generateOps({ seed: 'removals', client: 0, count: 1200 })) {
    const before = walk(tree);
    for (const p of before.keys()) fs.stat(p);
    const gen = removals.generation;
    await target.run(op);
    const after = walk(tree);
    for (const p of new Set([...before.keys(), ...after.keys()])) {
      if (describePath(fs, p) !== after.get(p) && stale++ < 5) t.fail(`after ${describeOp(op)}: the Kernfs shows ${p} as ${describePath(fs, p)}, the tree as ${after.get(p)}`);
    }
    const gone = vanished(before, after);
    if (gone.length === 0) continue;
    removing++;
    if (removals.generation === gen) t.fail(`${describeOp(op)} removed ${gone.slice(0, 3).join(', ')} without announcing it`);
  }
  t.ok(removing >= 60, `${removing} of 1200 operations removed paths, each announced`);
  t.equal(stale, 0, 'the Kernfs never answered from a stale resolution');
});

noLockdepReports(t);
