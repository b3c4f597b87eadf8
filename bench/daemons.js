// Start and stop the file-system daemons the bench measures (apsysfs, the hello baseline), and
// make sure none outlives the bench: every start is paired with a stop, and an exit, a signal or a
// failure stops what is still running (SIGTERM, SIGKILL after a delay, then a lazy unmount).
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { waitForPath } from './client-runner.js';

const STOP_GRACE_MS = 10_000;

/** Daemons not yet stopped, by pid. */
const live = new Map();

/**
 * Spawn `argv` (a daemon serving `dir`) and time it from spawn until a stat of `readyPath` (inside
 * the mount) succeeds from another process.
 * @returns {Promise<Daemon>}
 */
export async function startDaemon({ name, argv, dir, readyPath, logFile, readyTimeoutMs = 60_000 }) {
  mkdirSync(dir, { recursive: true });
  const waiter = await waitForPath(readyPath, readyTimeoutMs);
  const out = openSync(logFile, 'w');
  const t0 = process.hrtime.bigint();
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out] });
  closeSync(out);
  const daemon = new Daemon(name, child, dir, logFile);
  live.set(child.pid, daemon);
  const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve(`exited (${signal ?? code})`)));
  const outcome = await Promise.race([waiter.ready, exited]);
  if (typeof outcome !== 'bigint') {
    waiter.cancel();
    await daemon.stop();
    const log = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' | ');
    throw new Error(`${name}: not ready (${outcome})${log ? `: ${log}` : ''}`);
  }
  daemon.readyMs = Number(outcome - t0) / 1e6;
  daemon.readyAtUs = Number(outcome / 1000n);
  return daemon;
}

export class Daemon {
  /** @type {number} spawn to ready */ readyMs = NaN;
  /** @type {number} when it was ready, in µs of CLOCK_MONOTONIC (a CPU profile's clock) */ readyAtUs = NaN;
  #stopped;

  constructor(name, child, dir, logFile) {
    this.name = name;
    this.child = child;
    this.pid = child.pid;
    this.dir = dir;
    this.logFile = logFile;
    this.exit = new Promise(resolve => child.once('exit', resolve));
  }

  /** VmRSS of the daemon, in MiB. */
  rssMb() {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1];
    return Number(kb) / 1024;
  }

  /** CPU time used so far (utime + stime), in clock ticks (1/100 s on Linux). */
  cpuTicks() {
    // /proc/PID/stat: the command may contain spaces, so count fields after its closing ')'.
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  }

  /**
   * Wait until the daemon is idle (at most one tick of CPU in 200 ms): what it does right after its
   * mount answers (apsysfs probes its own mount from a child, records the daemon) must not land in
   * the first timed batch. Gives up after `maxMs`; returns how long it waited.
   */
  async settle(maxMs = 5000) {
    const t0 = Date.now();
    for (let before = this.cpuTicks(); Date.now() - t0 < maxMs; ) {
      await new Promise(resolve => setTimeout(resolve, 200));
      const after = this.cpuTicks();
      if (after - before <= 1) break;
      before = after;
    }
    return Date.now() - t0;
  }

  /** SIGTERM, SIGKILL after a grace period, then unmount whatever is left. Idempotent. */
  stop() {
    this.#stopped ??= (async () => {
      if (this.child.exitCode === null && this.child.signalCode === null) {
        this.child.kill('SIGTERM');
        const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
        await this.exit;
        clearTimeout(timer);
      }
      live.delete(this.pid);
      if (isMounted(this.dir)) lazyUnmount(this.dir);
    })();
    return this.#stopped;
  }
}

/** Mount points of this namespace, from /proc/self/mountinfo (never asking a mount itself). */
export function mountPoints() {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => line.split(' ')[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))));
}

export const isMounted = dir => mountPoints().includes(dir);

/** `fusermount -uz` (the system's or fuse-shared-library's), else `umount -l`. */
export function lazyUnmount(dir) {
  for (const [cmd, args] of [[fusermount(), ['-uz', dir]], ['umount', ['-l', dir]]]) {
    if (spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 }).status === 0) return;
  }
  process.stderr.write(`bench: could not unmount ${dir}\n`);
}

function fusermount() {
  const onPath = (process.env.PATH ?? '').split(':').map(d => path.join(d, 'fusermount'));
  const found = onPath.find(f => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (found) return found;
  try {
    const require = createRequire(import.meta.url);
    const lib = createRequire(require.resolve('fuse-native'))('fuse-shared-library').lib;
    return path.join(path.dirname(lib), '..', 'bin', 'fusermount');
  } catch {
    return 'fusermount';
  }
}

/** The pids of the daemons running now. */
export const livePids = () => [...live.keys()];

/** Stop every daemon still running: on failure, on a signal, at exit (synchronously there). */
export async function stopAll() {
  await Promise.all([...live.values()].map(d => d.stop()));
}

/** Synchronous clean-ups (temporary files) to run once the daemons are stopped after a signal. */
const afterSignal = [];
export const onSignalCleanup = fn => afterSignal.push(fn);

process.once('exit', () => {
  for (const d of live.values()) {
    d.child.kill('SIGKILL');
    if (isMounted(d.dir)) lazyUnmount(d.dir);
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}: stopping the daemons\n`);
    stopAll()
      .then(() => afterSignal.forEach(fn => fn()))
      .finally(() => process.exit(130));
  });
}
