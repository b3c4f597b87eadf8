/**
 * Mount a Kernfs with fuse-native, the way sysfs behaves (fuse-notes.md, "Options and operations").
 */
import createDebug from 'debug';
import type { Kernfs } from '../sysfs/kernfs-api.js';
import { log } from '../log.js';
import { loadFuse, type FuseInstance } from './libfuse.js';
import { canonicalPath, findMount, lazyUnmount, probe } from './mountpoint.js';
import { createOps } from './ops.js';

/**
 * The default bound on one operation, in seconds.
 *
 * fuse-native answers ETIMEDOUT after 15 s by default. That would cut off stores the kernel lets
 * block for longer: `remove` while a guest holds the mdev (the vfio core re-asks every 10 s),
 * queue resets waited for, a store queued behind the update locks (spec decision 4). apsysfs
 * blocks where the kernel blocks, but never past a bound: 120 s is the kernel's own
 * hung_task_timeout_secs, the point at which the kernel itself calls a blocked task hung.
 * Past it the caller gets ETIMEDOUT ("Connection timed out") and apsysfs:fuse logs the operation.
 */
export const DEFAULT_OP_TIMEOUT_S = 120;

export interface MountOptions {
  /** Bound on one operation in ms; 0 = no bound. */
  readonly opTimeoutMs: number;
}

export interface MountHandle {
  /** The mount point as the kernel records it. */
  readonly dir: string;
  unmount(): Promise<void>;
}

/**
 * Options fuse-native does not pass itself (it drops numeric options equal to 0 and ignores
 * `directIO`):
 * - direct_io: every read asks the Kernfs, while stat keeps showing sysfs's 4096;
 * - entry/negative_timeout=0: no name is cached, so a node that appears or goes is seen at once
 *   (mdevctl checks that a uuid is absent just before `create` and present just after);
 * - attr_timeout=1: a path's attributes (mode, size 4096 or 0, type) never change while it
 *   exists, and every lookup still refreshes them; caching them saves the GETATTR that
 *   default_permissions sends per path component: an `echo > assign_domain` drops from 15 FUSE
 *   requests to 10 (npm run bench: ~1.45x the assign/unassign cycles per second).
 * - use_ino: st_ino is the Kernfs's stable inode number;
 * - big_writes: one write(2) reaches the Kernfs whole, which keeps sysfs's first PAGE_SIZE and
 *   returns a short count, instead of being cut into 4 KiB requests;
 * - nonempty: the repository's mount/ holds a .keep file.
 */
const EXTRA_OPTIONS = ['direct_io', 'attr_timeout=1', 'entry_timeout=0', 'negative_timeout=0', 'use_ino', 'big_writes', 'nonempty'];

/** How long a stale-mount or readiness probe may take. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Mount `kernfs` on `dir` (created if missing). Resolves once the mount answers a stat from
 * another process. Clears a dead mount left on `dir` first; refuses a live one.
 */
export async function mount(dir: string, kernfs: Kernfs, opts: MountOptions): Promise<MountHandle> {
  const mnt = canonicalPath(dir);
  await clearStaleMount(mnt);
  const Fuse = loadFuse();
  const ops = createOps(kernfs, { opTimeoutMs: opts.opTimeoutMs, time: new Date() });
  const fuse = new Fuse(mnt, ops, {
    timeout: false, // ops.ts bounds each operation itself, and logs the ones it cuts off
    allowOther: true,
    defaultPermissions: true, // non-root users get sysfs's mode checks
    autoUnmount: true, // fusermount removes the mount even if this process is killed
    force: true,
    mkdir: true,
    fsname: 'apsysfs',
    subtype: 'apsysfs',
  });
  const own = fuse._fuseOptions.bind(fuse);
  fuse._fuseOptions = () => {
    // fuse-native turns libfuse's debug trace on for any `*` in DEBUG (so for DEBUG=apsysfs:*) and
    // never for its documented DEBUG=fuse-bindings: follow the debug module's rules instead.
    const given = own().replace(/^-o/, '').split(',').filter(o => o && o !== 'debug');
    const debug = createDebug.enabled('fuse-bindings') ? ['debug'] : [];
    const options = `-o${[...given, ...debug, ...EXTRA_OPTIONS].join(',')}`;
    log.fuse('libfuse options %s', options);
    return options;
  };
  await callback(cb => fuse.mount(cb));
  const handle: MountHandle = { dir: mnt, unmount: () => unmount(fuse, mnt) };
  const state = await probe(mnt, PROBE_TIMEOUT_MS);
  if (state !== 'ok') {
    await handle.unmount().catch(() => undefined);
    throw new Error(`mounted, but stat of the mount gives ${state}`);
  }
  log.fuse('mounted %s (op timeout %d ms)', mnt, opts.opTimeoutMs);
  return handle;
}

/** A dead mount on `dir` (ENOTCONN, the daemon is gone) is detached; a live or hung one is an error. */
async function clearStaleMount(dir: string): Promise<void> {
  const existing = findMount(dir);
  if (!existing) return;
  const state = await probe(dir, PROBE_TIMEOUT_MS);
  if (state === 'ENOTCONN') {
    log.fuse('%s: dead %s mount, unmounting it', dir, existing.fstype);
    return lazyUnmount(dir);
  }
  if (state === 'timeout') throw new Error(`the ${existing.fstype} mount there does not answer (a stopped daemon?)`);
  throw new Error(`already mounted (${existing.fstype})`);
}

async function unmount(fuse: FuseInstance, dir: string): Promise<void> {
  try {
    await callback(cb => fuse.unmount(cb));
  } catch (e) {
    // Unmounted from outside already, or fusermount failed: make sure nothing is left.
    log.fuse('unmount %s: %s', dir, e instanceof Error ? e.message : String(e));
    if (findMount(dir)) await lazyUnmount(dir);
  }
  log.fuse('unmounted %s', dir);
}

function callback(start: (cb: (err: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => start(err => (err ? reject(err) : resolve())));
}
