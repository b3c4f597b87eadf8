/**
 * Loading fuse-native on a machine with no system libfuse2 and no fusermount (see
 * /work/shared/fuse-notes.md, "Loading without a system libfuse2").
 *
 * The prebuilt addon needs `libfuse.so.2` and carries no rpath. fuse-shared-library-linux ships
 * libfuse 2.9.9 (SONAME libfuse.so.2) and a fusermount. Loading that library by absolute path with
 * RTLD_GLOBAL | RTLD_NODELETE before requiring the addon lets glibc resolve the addon's
 * `libfuse.so.2` by SONAME: no compiler, no apt, no environment variable.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { log } from '../log.js';

/** glibc's RTLD_NODELETE; Node does not export it. */
const RTLD_NODELETE = 0x1000;

const require = createRequire(import.meta.url);

/** The callback every fuse-native handler receives: a result code first (>= 0 or -errno). */
export type FuseCallback = (code: number, ...values: unknown[]) => void;

export interface FuseOptions {
  readonly timeout: number | false;
  readonly allowOther: boolean;
  readonly defaultPermissions: boolean;
  readonly autoUnmount: boolean;
  readonly force: boolean;
  readonly mkdir: boolean;
  readonly fsname: string;
  readonly subtype: string;
}

export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  /** fuse-native's option string ("-oa,b,c" or ""); overridden to add options it does not know. */
  _fuseOptions(): string;
}

export interface FuseClass {
  new (mnt: string, ops: object, opts: FuseOptions): FuseInstance;
  unmount(mnt: string, cb: (err: Error | null) => void): void;
}

let loaded: FuseClass | undefined;

/** fuse-native's Fuse class, loaded with no system libfuse. Idempotent. */
export function loadFuse(): FuseClass {
  if (loaded) return loaded;
  preload(bundledLibfuse());
  const fusermount = ensureFusermount();
  const Fuse = require('fuse-native') as FuseClass;
  // fuse-native runs `fusermount -uz "<dir>"` through a shell, so `$` or a backquote in the path
  // would be expanded. Same command, without the shell.
  Fuse.unmount = (mnt, cb) => execFile(fusermount, ['-uz', mnt], err => cb(err));
  loaded = Fuse;
  return Fuse;
}

/** fuse-shared-library-linux's libfuse/lib/libfuse.so, found from fuse-native's own dependency. */
function bundledLibfuse(): string {
  const requireFromFuse = createRequire(require.resolve('fuse-native'));
  return (requireFromFuse('fuse-shared-library') as { lib: string }).lib;
}

function preload(lib: string): void {
  const { RTLD_NOW, RTLD_GLOBAL } = os.constants.dlopen;
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, lib, (RTLD_NOW ?? 2) | (RTLD_GLOBAL ?? 0x100) | RTLD_NODELETE);
  } catch (e) {
    // libfuse is no Node addon: dlopen succeeded, and RTLD_NODELETE keeps it loaded.
    if (!(e instanceof Error && e.message.startsWith('Module did not self-register'))) throw e;
  }
  log.fuse('preloaded %s', lib);
}

/**
 * fuse-native's unmount/force and libfuse's auto_unmount exec `fusermount` from PATH. Without one
 * the daemon leaves a dead mount behind, so fall back to the bundled binary. Returns the
 * fusermount that will run. Idempotent.
 */
export function ensureFusermount(): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const found = dirs.map(d => path.join(d, 'fusermount')).find(isExecutable);
  if (found) return found;
  const bundledBin = path.join(path.dirname(bundledLibfuse()), '..', 'bin');
  process.env.PATH = [...dirs, bundledBin].join(path.delimiter);
  log.fuse('no fusermount on PATH: using %s', bundledBin);
  return path.join(bundledBin, 'fusermount');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}
