/**
 * Which process serves which mount: one record per mount point, so that `apsysfs umount DIR` can
 * find and stop the daemon. Records live in $XDG_RUNTIME_DIR/apsysfs (or /run/apsysfs for root,
 * $TMPDIR/apsysfs-UID otherwise), named by a hash of the mount point, next to the log of a
 * `--daemon`. A record whose process is gone, or whose pid was reused (another start time), is
 * ignored, and removed when the next daemon starts. A daemon that stops cleanly removes its
 * record, and its log if nothing was written to it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runtimeDir } from '../runtime-paths.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../log.js';

export interface DaemonRecord {
  readonly pid: number;
  /** /proc/PID/stat start time, to tell a reused pid from ours. */
  readonly startTime: string;
  readonly dir: string;
}

export { runtimeDir };

const stem = (dir: string): string =>
  path.join(runtimeDir(), createHash('sha256').update(dir).digest('hex').slice(0, 16));

/** Where a `--daemon` serving `dir` writes its stdout and stderr. */
export const logFile = (dir: string): string => `${stem(dir)}.log`;

export function writeRecord(dir: string): void {
  mkdirSync(runtimeDir(), { recursive: true, mode: 0o700 });
  for (const name of readdirSync(runtimeDir())) {
    const record = name.endsWith('.json') ? readRecord(path.join(runtimeDir(), name)) : undefined;
    if (record && !isAlive(record)) removeRecord(record.dir);
  }
  const record: DaemonRecord = { pid: process.pid, startTime: startTime(process.pid) ?? '', dir };
  writeFileSync(`${stem(dir)}.json`, `${JSON.stringify(record)}\n`);
}

/** The record of the live process serving `dir`, if any. */
export function readLiveRecord(dir: string): DaemonRecord | undefined {
  const record = readRecord(`${stem(dir)}.json`);
  return record?.dir === dir && isAlive(record) ? record : undefined;
}

/** Remove the record of `dir` (only this process's own, when `pid` is given), and an empty log. */
export function removeRecord(dir: string, pid?: number): void {
  const file = `${stem(dir)}.json`;
  if (pid !== undefined && readRecord(file)?.pid !== pid) return;
  rmSync(file, { force: true });
  try {
    if (statSync(logFile(dir)).size === 0) rmSync(logFile(dir), { force: true });
  } catch {
    // no log
  }
}

function readRecord(file: string): DaemonRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DaemonRecord;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL if the daemon is still there after `graceMs`. Resolves once it is gone. */
export async function stopDaemon(record: DaemonRecord, graceMs: number): Promise<void> {
  for (const [signal, waitMs] of [['SIGTERM', graceMs], ['SIGKILL', 5_000]] as const) {
    log.cli('sending %s to %d', signal, record.pid);
    try {
      process.kill(record.pid, signal);
    } catch {
      return; // already gone
    }
    for (let waited = 0; waited < waitMs; waited += 50) {
      if (!isAlive(record)) return;
      await sleep(50);
    }
  }
  throw new Error(`process ${record.pid} does not exit`);
}

function isAlive(record: DaemonRecord): boolean {
  const now = startTime(record.pid);
  return now !== undefined && now === record.startTime;
}

/** Field 22 of /proc/PID/stat; undefined for a process that is gone or a zombie. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}
