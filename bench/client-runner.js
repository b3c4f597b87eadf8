// Runs the bench's client (bench/client.c, compiled on first use with `cc -O2` into dist/bench/,
// or bench/client.js when there is no compiler or --node-client is given) and parses its output.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('client.c', import.meta.url));
const NODE_CLIENT = fileURLToPath(new URL('client.js', import.meta.url));
const BINARY = fileURLToPath(new URL('../dist/bench/client', import.meta.url));

/** @type {{argv: string[], kind: string} | undefined} */
let client;
/** With --rt: the pids to run under SCHED_FIFO while the client times them. */
let realtimePids;
/** While set: the CPU that the client and every thread of these daemons share during a timing. */
let pinned;

/** Choose the client once: the C one if it builds, else Node's. */
export function selectClient({ node = false } = {}) {
  if (!node) {
    const fresh = existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs;
    if (!fresh) {
      mkdirSync(new URL('../dist/bench/', import.meta.url), { recursive: true });
      const cc = spawnSync('cc', ['-O2', '-o', BINARY, SOURCE], { encoding: 'utf8' });
      if (cc.error || cc.status !== 0) {
        const why = cc.error?.message ?? cc.stderr.trim();
        process.stderr.write(`bench: no C client (${why}): using bench/client.js\n`);
      }
    }
    if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) {
      return (client = { argv: [BINARY], kind: 'C (bench/client.c, cc -O2)' });
    }
  }
  return (client = { argv: [process.execPath, NODE_CLIENT], kind: 'Node (bench/client.js)' });
}

/**
 * --rt: while a read or write timing runs, the client and every daemon (all threads) run under
 * SCHED_FIFO priority 1, so that other work on the machine cannot delay a FUSE round trip. Only
 * there: ready times, ls, find and the apmask writes keep the normal policy. Needs root and chrt.
 */
export function useRealtime(pids) {
  realtimePids = pids;
}

/** `chrt -a`: every thread of each pid to SCHED_FIFO 1, or back to SCHED_OTHER. */
function setPolicy(pids, realtime) {
  for (const pid of pids) {
    const r = spawnSync('chrt', ['-a', ...(realtime ? ['-f', '-p', '1'] : ['-o', '-p', '0']), String(pid)], { encoding: 'utf8' });
    if (r.status !== 0 && realtime) throw new Error(`--rt: chrt -f -p 1 ${pid}: ${r.stderr?.trim() || r.error?.message}`);
  }
}

/**
 * Placement of the read and write timings. 'one-cpu': the client and every thread of the daemons
 * run on one CPU (taskset), so a FUSE round trip is two context switches on that CPU; 'spread':
 * wherever the scheduler puts them. On these VMs a wake-up on the other CPU costs about as much
 * as the whole round trip, and which process lands where changes from run to run (the
 * hello_aa_ratio of two identical mounts strays to 0.75): the one-CPU figures measure what
 * apsysfs adds, the spread ones what a user on an idle 2-CPU machine sees.
 * @param {'one-cpu' | 'spread'} mode
 * @param {() => number[]} pids the daemons to pin
 */
export function usePlacement(mode, pids) {
  pinned = mode === 'one-cpu' ? { cpu: os.cpus().length - 1, pids } : undefined;
}

/** Why the timings cannot be pinned to one CPU here, or undefined if they can. */
export function pinningMissing() {
  if (os.cpus().length < 2) return 'one CPU only: every timing is on one CPU anyway';
  const r = spawnSync('taskset', ['-c', '0', 'true'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? `taskset: ${r.error?.message ?? r.stderr.trim()}` : undefined;
}

/** `taskset -a -p`: every thread of each pid to `cpus` (a taskset CPU list). */
function setAffinity(pids, cpus) {
  for (const pid of pids) {
    const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid}: ${r.stderr?.trim() || r.error?.message}`);
  }
}

async function timed(args) {
  const prefix = [];
  const pin = pinned;
  const rtPids = realtimePids?.();
  try {
    if (pin) {
      setAffinity(pin.pids(), String(pin.cpu));
      prefix.push('taskset', '-c', String(pin.cpu));
    }
    if (rtPids) {
      setPolicy(rtPids, true);
      prefix.push('chrt', '-f', '1');
    }
    return await run(args, { prefix });
  } finally {
    if (rtPids) setPolicy(rtPids, false);
    if (pin) setAffinity(pin.pids(), `0-${os.cpus().length - 1}`);
  }
}

function run(args, { prefix = [], timeoutMs = 600_000 } = {}) {
  client ??= selectClient();
  const [cmd, ...rest] = [...prefix, ...client.argv, ...args];
  return new Promise((resolve, reject) => {
    const options = { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 };
    execFile(cmd, rest, options, (err, stdout, stderr) => {
      if (err) reject(new Error(`client ${args[0]}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** One line per target: index, median/min/max ns per unit (over batch means), units, errno. */
function parseTimes(stdout) {
  return stdout.trim().split('\n').map(line => {
    const [, median, min, max, units, errno] = line.split(' ').map(Number);
    return { medianNs: median, minNs: min, maxNs: max, units, errno };
  });
}

/** cat-style reads of every path, N per batch, round robin over the paths each batch. */
export async function readTimes(n, batches, paths) {
  return parseTimes(await timed(['read', String(n), String(batches), ...paths]));
}

/**
 * echo-style writes. Each target is a list of {file, value, refused?}: one unit of work, timed as
 * a whole (an assign/unassign cycle is two writes).
 */
export async function writeTimes(n, batches, targets) {
  const args = targets.flatMap(ops => ['--', ...ops.flatMap(op => [op.refused ? 'x' : 'w', op.file, op.value])]);
  return parseTimes(await timed(['write', String(n), String(batches), ...args]));
}

/** One echo-style write with no warm-up: { ns, errno }. */
export async function writeOnce(file, value) {
  const [ns, errno] = (await run(['once', file, value])).trim().split(' ').map(Number);
  return { ns, errno };
}

/**
 * Start polling `path` (once a millisecond, from the client process). `ready` resolves with the
 * CLOCK_MONOTONIC time (ns, as process.hrtime.bigint()) of the first successful stat, or with a
 * string saying why not. Resolves once the client is polling.
 */
export function waitForPath(path, timeoutMs) {
  client ??= selectClient();
  const child = spawn(client.argv[0], [...client.argv.slice(1), 'wait', path, String(timeoutMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let polling;
  const started = new Promise(resolve => (polling = resolve));
  const ready = new Promise(resolve => {
    child.stdout.on('data', chunk => {
      out += chunk;
      if (out.startsWith('polling\n')) polling();
      const ok = /^ok (\d+)$/m.exec(out);
      if (ok) resolve(BigInt(ok[1]));
    });
    // 'close', not 'exit': the ok line may still be in the pipe when the process has exited.
    child.once('close', code => {
      polling();
      resolve(code === 0 ? 'waiter ended' : `no answer after ${timeoutMs} ms`);
    });
  });
  return started.then(() => ({ ready, cancel: () => child.kill('SIGKILL') }));
}

export const clientKind = () => (client ??= selectClient()).kind;
