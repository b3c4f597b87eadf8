/**
 * The cleanup that still happens when `apsysfs run` is SIGKILLed.
 *
 * A detached shell reads one line from a pipe whose only writer is this process. The normal path
 * writes "done" (after its own cleanup); if we die first, the kernel closes the pipe, `read` sees
 * EOF and the shell stops the daemon, lazily unmounts the tree if it is still mounted and removes
 * the (then empty) directories with rmdir — rm -r only for the daemon's runtime directory, never
 * where it could walk into a live mount.
 * The pipe is close-on-exec in Node, so neither CMD nor the daemon holds it open.
 * CMD itself is killed by its parent-death signal (setpriv --pdeathsig, namespace.ts).
 */
import { spawn } from 'node:child_process';
import { log } from '../log.js';

export interface WatchdogOptions {
  /** The daemon is stopped with `NODE CLI umount ROOT`. */
  readonly node: string;
  readonly cli: string;
  readonly env?: NodeJS.ProcessEnv;
  /** The mount point. */
  readonly root: string;
  /** The daemon's runtime directory (records and log): files only, removed with rm -r. */
  readonly scratch: string;
  /** Directories to rmdir afterwards, innermost first. */
  readonly dirs: readonly string[];
}

export interface Watchdog {
  /** The normal path has cleaned up: let the watchdog exit without doing anything. */
  disarm(): void;
}

const SCRIPT = `
read -r line
[ "$line" = done ] && exit 0
PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin
root=$1 node=$2 cli=$3 scratch=$4
shift 4
timeout -s KILL 20 "$node" "$cli" umount "$root" >/dev/null 2>&1
if grep -qF " $root " /proc/self/mountinfo; then umount -l "$root" || fusermount -uz "$root"; fi
rm -rf "$scratch"
rmdir "$@"
`;

export function startWatchdog(opts: WatchdogOptions): Watchdog {
  const args = ['-c', SCRIPT, 'apsysfs-watchdog', opts.root, opts.node, opts.cli, opts.scratch, ...opts.dirs];
  const child = spawn('/bin/sh', args, {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
    env: opts.env ?? process.env,
  });
  // Without a watchdog the normal path still cleans up; only a SIGKILL would leave things behind.
  child.on('error', e => log.cli('watchdog: %s', e.message));
  child.unref();
  const stdin = child.stdin;
  stdin?.on('error', e => log.cli('watchdog pipe: %s', e.message));
  (stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    disarm: () => {
      stdin?.end('done\n');
    },
  };
}
