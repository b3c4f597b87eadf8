// How the bench starts apsysfs: bin/apsysfs.js mount, in the foreground so that the pid it gets is
// the daemon's own (for VmRSS and --cpu-prof).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon } from './daemons.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'bin', 'apsysfs.js');

/** Why apsysfs cannot be mounted by the bench, or undefined if it can. */
export function apsysfsMissing() {
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) return 'dist/src/cli/main.js is not built (the FUSE layer and CLI)';
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'fuse', 'mount.js'))) return 'dist/src/fuse/mount.js is not built (the FUSE layer)';
  return undefined;
}

/**
 * `apsysfs mount DIR --topology FILE` in the foreground, ready once `readyPath` (relative to DIR)
 * answers a stat. With `profileDir`, the daemon runs under `node --cpu-prof`.
 */
export function startApsysfs({ dir, topologyFile, readyPath, work, label, profileDir }) {
  const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${label}.cpuprofile`] : [];
  return startDaemon({
    name: `apsysfs ${label}`,
    argv: [process.execPath, ...prof, CLI, 'mount', dir, '--topology', topologyFile],
    dir,
    readyPath: path.join(dir, readyPath),
    logFile: path.join(work, `apsysfs-${label}.log`),
  });
}
