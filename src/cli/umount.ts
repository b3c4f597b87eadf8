/**
 * `apsysfs umount DIR`: stop the daemon serving DIR (its record, see daemon-record.ts) and make
 * sure nothing stays mounted there. A dead mount left by a killed daemon is lazily unmounted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { canonicalPath, findMount, lazyUnmount, probe } from '../fuse/mountpoint.js';
import { log } from '../log.js';
import { parsing } from './args.js';
import { CliError, UsageError } from './cli-error.js';
import { readLiveRecord, removeRecord, stopDaemon } from './daemon-record.js';

/** How long a daemon gets to unmount and exit after SIGTERM before SIGKILL. */
const GRACE_MS = 10_000;

export async function umountCommand(args: string[]): Promise<number> {
  const { positionals } = parsing('umount', () => parseArgs({ args, allowPositionals: true, options: {} }));
  if (positionals.length !== 1) throw new UsageError('umount', 'exactly one DIR expected');
  const dir = canonicalPath(positionals[0] ?? '');
  const record = readLiveRecord(dir);
  if (record) await stopDaemon(record, GRACE_MS);
  removeRecord(dir);
  // A daemon unmounts before it exits; after a SIGKILL, fusermount's auto_unmount follows shortly.
  for (let waited = 0; record && findMount(dir) && waited < 2_000; waited += 50) await sleep(50);
  const mounted = findMount(dir);
  if (!mounted) {
    if (!record) throw new CliError('umount', `${dir}: not mounted`);
    return 0;
  }
  if (mounted.fstype !== 'fuse.apsysfs') throw new CliError('umount', `${dir}: not an apsysfs mount (${mounted.fstype})`);
  // Left behind by the daemon just stopped, or served by a process no record names.
  const state = record ? 'left behind' : await probe(dir, 5_000);
  log.cli('%s: lazily unmounting (%s)', dir, state);
  await lazyUnmount(dir).catch((e: Error) => {
    throw new CliError('umount', `${dir}: ${e.message}`);
  });
  if (state === 'ok') {
    process.stderr.write(`apsysfs: umount: ${dir}: no daemon recorded for it; unmounted, but its process may still run\n`);
  }
  return 0;
}
