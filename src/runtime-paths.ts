/**
 * Where a daemon keeps its per-mount files, and the path the kernel records for a mount point.
 * Shared by the daemon's record (cli/), the mount checks (fuse/) and the control socket
 * (control/), which must agree on both to find each other.
 */
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `$XDG_RUNTIME_DIR/apsysfs`, else `/run/apsysfs` for root, else a per-user dir in the temp dir. */
export function runtimeDir(): string {
  const uid = process.getuid?.() ?? 0;
  const base = process.env.XDG_RUNTIME_DIR;
  if (base) return path.join(base, 'apsysfs');
  return uid === 0 ? '/run/apsysfs' : path.join(os.tmpdir(), `apsysfs-${uid}`);
}

/**
 * The path the kernel records for `dir`. Only the parent is resolved: stat of a dead mount point
 * itself fails with ENOTCONN.
 */
export function canonicalPath(dir: string): string {
  const abs = path.resolve(dir);
  if (abs === '/') return abs;
  try {
    return path.join(realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs;
  }
}
