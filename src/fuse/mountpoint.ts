/**
 * What the kernel says about a mount point, asked without ever touching a FUSE mount from this
 * process: /proc/self/mountinfo for "is something mounted here", a child process for "does it
 * answer", and fusermount/umount for lazy unmounts.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log.js';
import { ensureFusermount } from './libfuse.js';

export interface MountEntry {
  readonly mountPoint: string;
  /** e.g. fuse.apsysfs */
  readonly fstype: string;
}

/** The mount of `dir` in this mount namespace (the last one, if stacked), or undefined. */
export function findMount(dir: string): MountEntry | undefined {
  const want = canonicalPath(dir);
  return readMounts()
    .filter(m => m.mountPoint === want)
    .at(-1);
}

function readMounts(): MountEntry[] {
  // mountinfo: "id parent major:minor root mount-point options [optional...] - fstype source super"
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => {
      const fields = line.split(' ');
      const sep = fields.indexOf('-', 6);
      return { mountPoint: unescape(fields[4] ?? ''), fstype: fields[sep + 1] ?? '' };
    });
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

import { canonicalPath } from '../runtime-paths.js';
export { canonicalPath };

/**
 * Whether `dir` answers, from a child process: 'ok', an error code such as 'ENOTCONN', or
 * 'timeout'. It reads the directory rather than stat(2)ing it: the kernel answers a stat from the
 * attribute cache (attr_timeout) without asking the daemon, so for that long after a crash a dead
 * mount would still look alive; READDIR always reaches the daemon.
 */
export function probe(dir: string, timeoutMs: number): Promise<string> {
  const script = 'require("fs").readdir(process.argv[1], e => { process.stdout.write(e ? String(e.code) : "ok") })';
  return new Promise(resolve => {
    execFile(process.execPath, ['-e', script, dir], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout) => {
      if (err && (err.killed || err.signal)) return resolve('timeout');
      resolve(stdout.trim() || (err ? `failed: ${err.message}` : 'ok'));
    });
  });
}

/** Detach whatever is mounted on `dir`, even a dead FUSE mount: `fusermount -uz`, else `umount -l`. */
export async function lazyUnmount(dir: string): Promise<void> {
  const attempts: [string, string[]][] = [
    [ensureFusermount(), ['-uz', dir]],
    ['umount', ['-l', dir]],
  ];
  const errors: string[] = [];
  for (const [cmd, args] of attempts) {
    const err = await run(cmd, args);
    if (!err) {
      log.fuse('%s %s: done', cmd, args.join(' '));
      return;
    }
    errors.push(`${cmd}: ${err}`);
  }
  throw new Error(`cannot unmount ${dir} (${errors.join('; ')})`);
}

function run(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise(resolve => {
    execFile(cmd, args, { timeout: 10_000 }, (err, _stdout, stderr) =>
      resolve(err ? (stderr.trim() || err.message) : undefined),
    );
  });
}
