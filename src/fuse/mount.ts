/**
 * Mount a Kernfs with fuse-native, the way sysfs behaves (fuse-notes.md, "Options and operations").
 */
import createDebug from 'debug';
import type { Kernfs } from '../sysfs/kernfs-api.js';
import { log } from '../log.js';
import { loadFuse, type FuseInstance } from './libfuse.js';
import { canonicalPath, findMount, lazyUnmount, probe } from './mountpoint.js';
import { createOps } from './ops.js';
import { DentryEpoch, fuseDeviceFds, kernelHasEpoch } from './dentry-epoch.js';

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
  /**
   * Let the kernel cache names, dropped at every removal (dentry-epoch.ts). Default: on where the
   * kernel has FUSE_NOTIFY_INC_EPOCH and the Kernfs announces removals; false never caches them.
   */
  readonly nameCache?: boolean;
}

export interface MountHandle {
  /** The mount point as the kernel records it. */
  readonly dir: string;
  /** Whether the kernel caches names on this mount (see MountOptions.nameCache). */
  readonly nameCache: boolean;
  unmount(): Promise<void>;
}

/**
 * How long the kernel may keep a name when nothing is removed. Every removal drops all cached
 * names at once (dentry-epoch.ts), so this only bounds how long a missed announcement could show
 * a ghost; test/sysfs/removals.ts checks that none is missed.
 */
const ENTRY_TIMEOUT_S = 60;

/**
 * Options fuse-native does not pass itself (it drops numeric options equal to 0 and ignores
 * `directIO`):
 * - direct_io: every read asks the Kernfs, while stat keeps showing sysfs's 4096;
 * - entry_timeout: names are cached (60 s) where every removal can drop them, that is with
 *   FUSE_NOTIFY_INC_EPOCH (dentry-epoch.ts); otherwise 0, so that a node that goes is gone at
 *   once. An echo into a depth-5 attribute then costs 3 FUSE requests instead of 9;
 * - negative_timeout=0: a name that does not exist is never cached, so a node that appears is
 *   seen at once (mdevctl checks that a uuid is absent just before `create` and present just after);
 * - attr_timeout=1: a path's attributes (mode, size 4096 or 0, type) never change while it
 *   exists; caching them saves the GETATTR that default_permissions sends per path component;
 * - atomic_o_trunc: `>` truncates within OPEN instead of a SETATTR that libfuse answers with two
 *   calls (ftruncate, then getattr); sysfs ignores the truncation either way;
 * - use_ino: st_ino is the Kernfs's stable inode number;
 * - big_writes: one write(2) reaches the Kernfs whole, which keeps sysfs's first PAGE_SIZE and
 *   returns a short count, instead of being cut into 4 KiB requests;
 * - nonempty: the repository's mount/ holds a .keep file.
 */
function extraOptions(nameCache: boolean): string[] {
  const entry = `entry_timeout=${nameCache ? ENTRY_TIMEOUT_S : 0}`;
  return ['direct_io', 'attr_timeout=1', entry, 'negative_timeout=0', 'atomic_o_trunc', 'use_ino', 'big_writes', 'nonempty'];
}

/** How long a stale-mount or readiness probe may take. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Mount `kernfs` on `dir` (created if missing). Resolves once the mount answers a stat from
 * another process. Clears a dead mount left on `dir` first; refuses a live one.
 */
export async function mount(dir: string, kernfs: Kernfs, opts: MountOptions): Promise<MountHandle> {
  const mnt = canonicalPath(dir);
  await clearStaleMount(mnt);
  if ((opts.nameCache ?? true) && kernfs.onRemoval && kernelHasEpoch()) {
    const cached = await mountOnce(mnt, kernfs, opts, true);
    if (cached) return cached;
  }
  return (await mountOnce(mnt, kernfs, opts, false))!;
}

/** Mounts are made one at a time in a process, so that the /dev/fuse descriptor that appears is this mount's. */
let mounting: Promise<unknown> = Promise.resolve();

/**
 * One mount. With `nameCache`, undefined (and nothing left mounted) when the epoch cannot be
 * used after all: the channel was not found, or the kernel refused the notification.
 */
async function mountOnce(mnt: string, kernfs: Kernfs, opts: MountOptions, nameCache: boolean): Promise<MountHandle | undefined> {
  const epoch = nameCache ? new DentryEpoch() : undefined;
  const ops = createOps(kernfs, { opTimeoutMs: opts.opTimeoutMs, time: new Date(), ...(epoch && { onFound: () => epoch.looked() }) });
  const Fuse = loadFuse();
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
    const options = `-o${[...given, ...debug, ...extraOptions(nameCache)].join(',')}`;
    log.fuse('libfuse options %s', options);
    return options;
  };
  // Subscribed before mounting: a removal while mounting is covered by attach()'s first bump.
  const off = epoch ? kernfs.onRemoval!(what => epoch.removed(what)) : () => undefined;
  let channel: number | undefined;
  try {
    const turn = mounting.then(async () => {
      const before = fuseDeviceFds();
      await callback(cb => fuse.mount(cb));
      const fresh = [...fuseDeviceFds()].filter(fd => !before.has(fd));
      if (fresh.length === 1) channel = fresh[0];
    });
    mounting = turn.catch(() => undefined);
    await turn;
  } catch (e) {
    off();
    throw e;
  }
  const handle: MountHandle = {
    dir: mnt,
    nameCache,
    unmount: () => {
      off();
      epoch?.detach();
      return unmount(fuse, mnt);
    },
  };
  if (epoch && !(channel !== undefined && epoch.attach(channel))) {
    log.fuse('%s: FUSE_NOTIFY_INC_EPOCH unusable (channel %s), mounting again without a name cache', mnt, channel ?? 'not found');
    await handle.unmount().catch(() => undefined);
    return undefined;
  }
  const state = await probe(mnt, PROBE_TIMEOUT_MS);
  if (state !== 'ok') {
    await handle.unmount().catch(() => undefined);
    throw new Error(`mounted, but stat of the mount gives ${state}`);
  }
  log.fuse('mounted %s (op timeout %d ms, name cache %s)', mnt, opts.opTimeoutMs, nameCache ? 'on' : 'off');
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
