// The fuse-native class and mount options for the baseline (bench/hello.js): apsysfs's own.
//
// src/fuse/mount.ts exports no option helper: it builds the options inside mount(). So the baseline
// asks that very function: it calls the compiled mount() with fuse-native's `mount` method swapped
// for one that records the constructor options and the final option string (with mount.ts's
// `_fuseOptions` override applied) and fails, so nothing gets mounted. The baseline then mounts
// its own handlers with those options, only renaming fsname/subtype. A change to mount.ts thus
// reaches the baseline without an edit here. When dist/src/fuse is missing or the capture fails,
// REPLICATED (a copy of mount.ts as of this writing) is used and the bench says so.
import { createRequire } from 'node:module';
import os from 'node:os';

const DIST_FUSE = new URL('../dist/src/fuse/', import.meta.url);
const NAME = 'apsysfs-bench-hello';

/** A copy of src/fuse/mount.ts's options, used only when capturing them fails. */
const REPLICATED = {
  constructorOptions: {
    timeout: false, allowOther: true, defaultPermissions: true, autoUnmount: true, force: true, mkdir: true,
    fsname: NAME, subtype: NAME,
  },
  extra: ['direct_io', 'attr_timeout=1', 'entry_timeout=60', 'negative_timeout=0', 'atomic_o_trunc', 'use_ino', 'big_writes', 'nonempty'],
};

/**
 * @param {string} dir the baseline's mount point (only checked for a stale mount by mount.ts)
 * @returns {Promise<{Fuse: any, options: {constructorOptions: object, optionString: string}, source: string}>}
 */
export async function fuseForBaseline(dir) {
  let Fuse;
  try {
    const { loadFuse } = await import(new URL('libfuse.js', DIST_FUSE).href);
    Fuse = loadFuse();
    const { mount } = await import(new URL('mount.js', DIST_FUSE).href);
    const seen = await capture(Fuse, mount, dir);
    const constructorOptions = { ...seen.opts, fsname: NAME, subtype: NAME };
    return { Fuse, options: build(Fuse, constructorOptions, extraPart(seen)), source: 'captured from dist/src/fuse/mount.js' };
  } catch (e) {
    Fuse ??= loadFuseFallback();
    const why = e instanceof Error ? e.message : String(e);
    return { Fuse, options: build(Fuse, REPLICATED.constructorOptions, REPLICATED.extra.join(',')), source: `replicated (${why})` };
  }
}

async function capture(Fuse, mount, dir) {
  const original = Fuse.prototype.mount;
  let seen;
  Fuse.prototype.mount = function (cb) {
    seen = { opts: { ...this.opts }, base: Fuse.prototype._fuseOptions.call(this), full: this._fuseOptions() };
    cb(new Error('options captured'));
  };
  const none = () => undefined;
  // onRemoval: a Kernfs that announces removals gets the name cache, as apsysfs's own does.
  const stubKernfs = { stat: none, readdir: none, readlink: none, truncate: none, open: () => { throw new Error('stub'); }, onRemoval: () => none };
  try {
    await mount(dir, stubKernfs, { opTimeoutMs: 0 });
  } catch {
    // expected: the swapped mount method fails on purpose
  } finally {
    Fuse.prototype.mount = original;
  }
  if (!seen) throw new Error('mount() did not reach fuse-native');
  return seen;
}

/** What mount.ts adds after fuse-native's own option string. */
function extraPart({ base, full }) {
  if (!full.startsWith(base)) throw new Error(`unexpected option string ${full}`);
  return full.slice(base.length).replace(/^(-o|,)/, '');
}

function build(Fuse, constructorOptions, extra) {
  const base = Fuse.prototype._fuseOptions.call({ opts: constructorOptions, mnt: '/' });
  const optionString = extra ? (base ? `${base},${extra}` : `-o${extra}`) : base;
  return { constructorOptions, optionString };
}

/** fuse-notes.md, "Loading without a system libfuse2", for a tree without dist/src/fuse. */
function loadFuseFallback() {
  const require = createRequire(import.meta.url);
  const fromFuse = createRequire(require.resolve('fuse-native'));
  const lib = fromFuse('fuse-shared-library').lib;
  const { RTLD_NOW, RTLD_GLOBAL } = os.constants.dlopen;
  try {
    process.dlopen({ exports: {} }, lib, RTLD_NOW | RTLD_GLOBAL | 0x1000 /* RTLD_NODELETE */);
  } catch (e) {
    if (!String(e?.message).startsWith('Module did not self-register')) throw e;
  }
  const bin = new URL('../bin/', `file://${lib}`).pathname;
  process.env.PATH = `${process.env.PATH ?? ''}:${bin}`;
  return require('fuse-native');
}
