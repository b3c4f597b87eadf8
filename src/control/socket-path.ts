/**
 * Where the control socket of the daemon serving a mount lives, so that `apsysfs ctl --mount DIR`
 * finds it from DIR alone: `<runtime dir>/<16 hex of sha256(DIR)>.sock`, beside the daemon's
 * record (`.json`) and log (`.log`) that cli/daemon-record.ts keeps under the same name. The
 * runtime dir is $XDG_RUNTIME_DIR/apsysfs, else /run/apsysfs for root, else $TMPDIR/apsysfs-UID;
 * a path too long for sun_path falls back to /tmp/apsysfs-UID.
 *
 * Who may connect: Node cannot ask a Unix socket for its peer's credentials (no SO_PEERCRED), so
 * the file system decides. The daemon makes the directory 0700 and refuses one that another user
 * owns, is a symlink, or is not a directory; the socket itself is 0600. Only the owner (and root)
 * can reach it. The client refuses a socket in a directory owned by someone else (neither itself
 * nor root), so no other user can pose as the daemon.
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { canonicalPath, runtimeDir } from '../runtime-paths.js';

/** sun_path is 108 bytes with the terminating NUL. */
export const SUN_PATH_MAX = 107;

export interface SocketLocation {
  /** Use this directory instead of the runtime dir (tests). */
  readonly runtimeDir?: string;
}

const uid = (): number => process.getuid?.() ?? 0;


/** The path the kernel records for a mount point (the daemon's record uses the same). */
export const canonicalMountDir = canonicalPath;
export { runtimeDir };

/** The control socket of the daemon serving `mountDir` (canonicalised here). */
export function socketPath(mountDir: string, loc: SocketLocation = {}): string {
  const name = `${createHash('sha256').update(canonicalMountDir(mountDir)).digest('hex').slice(0, 16)}.sock`;
  const p = path.join(loc.runtimeDir ?? runtimeDir(), name);
  if (Buffer.byteLength(p) <= SUN_PATH_MAX || loc.runtimeDir !== undefined) return p;
  return path.join(`/tmp/apsysfs-${uid()}`, name);
}

/**
 * Make the socket's directory private: create it 0700, refuse it if it is not a real directory
 * owned by us, and take group/other permissions away from one we own. Throws Error with the reason.
 */
export function prepareSocketDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== uid()) throw new Error(`${dir} belongs to uid ${st.uid}, not to this user (${uid()}): refusing to put the control socket there`);
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** The client's side of the check: the socket's directory must be ours or root's. Throws Error. */
export function checkSocketDir(dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== uid() && st.uid !== 0) throw new Error(`${dir} belongs to uid ${st.uid}: not talking to a daemon another user runs`);
}
