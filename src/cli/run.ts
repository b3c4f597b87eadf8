/**
 * `apsysfs run [OPTIONS] [--] CMD [ARGS…]`: mount a fresh tree, run CMD in a private mount
 * namespace where the tree stands at the real /sys paths, pass on CMD's exit status or re-raise
 * its signal (as umockdev-run does), and always stop the daemon and remove the temp dir.
 * docs/run.md has the why of every step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from '../log.js';
import { isMountPoint, mountTree, unmountTree, type DaemonCli } from '../ns/daemon.js';
import { prepareKeptState, type MdevctlState } from '../ns/mdevctl.js';
import { SETUP_FAILED } from '../ns/mount-steps.js';
import { exitStatus, spawnInNamespace, unshareArgv, type ExitOutcome } from '../ns/namespace.js';
import { startWatchdog } from '../ns/watchdog.js';

export const RUN_USAGE = `Usage: apsysfs run [OPTIONS] [--] CMD [ARGS...]

Run CMD in a private mount namespace in which a fresh apsysfs tree stands at
/sys/bus/ap, /sys/devices/ap, /sys/devices/vfio_ap, /sys/bus/mdev, /sys/bus/matrix,
/sys/class/mdev_bus and /sys/class/zcrypt. The rest of /sys stays real. The tree
and its daemon exist for this run only.

Options:
  --topology FILE    the machine to simulate (default: the daemon's default)
  --kernel K         the kernel behaviour to simulate: trylock or mainline
                     (see apsysfs mount --help)
  --scenario NAME    replay a historic deadlock of the driver (see apsysfs
                     mount --help and docs/deadlocks.md)
  --scenario-window MS
                     how long its flawed paths wait (default 300 ms)
  --private-mdevctl  fresh, empty /etc/mdevctl.d and mdevctl script directories
                     for this run (the default)
  --host-mdevctl     use the host's mdevctl definitions and callouts; mdevctl
                     define then writes to the host's /etc/mdevctl.d
  --keep-state DIR   use DIR as /etc/mdevctl.d, so definitions outlive the run
  -h, --help         show this help

CMD finds the mount point of the tree in $APSYSFS_DIR.

Exit status: CMD's. If CMD is killed by a signal, apsysfs run kills itself
with the same signal. 125: apsysfs run itself failed; 126: CMD cannot be
executed; 127: CMD not found.
As non-root, everything runs in a user namespace (CMD sees uid 0); this needs
unprivileged user namespaces and a /dev/fuse that is rw for you (docs/run.md).
`;

export interface RunRequest {
  readonly topology?: string;
  readonly kernel?: string;
  readonly scenario?: string;
  readonly scenarioWindow?: string;
  readonly mdevctl: MdevctlState;
  readonly cmd: string;
  readonly args: readonly string[];
}

class UsageError extends Error {}


const VALUE_OPTIONS = new Set(['--topology', '--kernel', '--keep-state', '--scenario', '--scenario-window']);

/** Options end at `--` or at the first word that is not an option, as for env(1). */
export function parseRunArgs(argv: readonly string[]): RunRequest | 'help' {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    if (a === '-h' || a === '--help') return 'help';
    const eq = a.indexOf('=');
    const name = eq === -1 ? a : a.slice(0, eq);
    if (VALUE_OPTIONS.has(name)) {
      const value = eq === -1 ? argv[++i] : a.slice(eq + 1);
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      values.set(name, value);
    } else if ((name === '--private-mdevctl' || name === '--host-mdevctl') && eq === -1) {
      flags.add(name);
    } else {
      throw new UsageError(`unknown option ${a}`);
    }
  }
  const [cmd, ...args] = argv.slice(i);
  if (cmd === undefined) throw new UsageError('no command given');
  const keep = values.get('--keep-state');
  const host = flags.has('--host-mdevctl');
  if (host && (keep !== undefined || flags.has('--private-mdevctl'))) {
    throw new UsageError('--host-mdevctl excludes --private-mdevctl and --keep-state');
  }
  const mdevctl: MdevctlState = host ? 'host' : keep !== undefined ? { keepIn: resolve(keep) } : 'private';
  const topology = values.get('--topology');
  const kernel = values.get('--kernel');
  const scenario = values.get('--scenario');
  const scenarioWindow = values.get('--scenario-window');
  return {
    ...(topology !== undefined && { topology: resolve(topology) }),
    ...(kernel !== undefined && { kernel }),
    ...(scenario !== undefined && { scenario }),
    ...(scenarioWindow !== undefined && { scenarioWindow }),
    mdevctl,
    cmd,
    args,
  };
}

/** bin/apsysfs.js, from dist/src/cli/run.js or (under a TS loader) src/cli/run.ts. */
function findCli(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = [join(here, '../../../bin/apsysfs.js'), join(here, '../../bin/apsysfs.js')].find(p => existsSync(p));
  if (found === undefined) throw new Error(`cannot find bin/apsysfs.js above ${here}`);
  return found;
}

/** Signals we pass on to CMD. SIGUSR1 is Node's (inspector); SIGKILL/SIGSTOP cannot be caught. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const;

/**
 * While the run lasts, a signal to us goes to CMD once it runs. The first one is remembered: a
 * run interrupted while mounting lets the mount finish (bounded by its timeout; aborting it could
 * leave a daemon that mounts later), skips CMD, cleans up and ends as if killed by the signal.
 */
class SignalRelay {
  received: NodeJS.Signals | undefined;
  child: ChildProcess | undefined;
  private readonly handler = (sig: NodeJS.Signals): void => {
    this.received ??= sig;
    const c = this.child;
    if (c !== undefined && c.exitCode === null && c.signalCode === null) c.kill(sig);
  };

  install(): void {
    for (const s of FORWARDED) process.on(s, this.handler);
  }

  uninstall(): void {
    for (const s of FORWARDED) process.off(s, this.handler);
  }
}

/**
 * Ends as if killed by `signal`, as umockdev-run does. With our handlers gone the default action
 * applies; if the signal is ignored (Node ignores SIGPIPE) the shell's 128 + n is returned.
 */
async function reraise(signal: NodeJS.Signals, relay: SignalRelay): Promise<number> {
  relay.uninstall();
  process.kill(process.pid, signal);
  await new Promise(r => setTimeout(r, 1000));
  return exitStatus({ code: null, signal });
}

async function passOn(outcome: ExitOutcome, relay: SignalRelay): Promise<number> {
  if (outcome.signal !== null) return reraise(outcome.signal, relay);
  relay.uninstall();
  return exitStatus(outcome);
}

function fail(why: string, relay: SignalRelay): number {
  relay.uninstall();
  process.stderr.write(`apsysfs: run: ${why}\n`);
  return SETUP_FAILED;
}

/**
 * Not root: run this whole command again inside a user + mount namespace where we are root, so
 * that the daemon mounts FUSE there (needs a /dev/fuse rw for us) and nothing shows on the host.
 */
async function runInUserNamespace(argv: readonly string[], cli: string, relay: SignalRelay): Promise<number> {
  const unshare = unshareArgv(process.getuid?.() ?? 0);
  const child = spawn('unshare', [...unshare, process.execPath, cli, 'run', ...argv], { stdio: 'inherit' });
  relay.child = child;
  const outcome = await new Promise<ExitOutcome | Error>(res => {
    child.once('error', res);
    child.once('exit', (code, signal) => res({ code, signal }));
  });
  if (outcome instanceof Error) return fail(`unshare: ${outcome.message}`, relay);
  return passOn(outcome, relay);
}

function removeDirs(dirs: readonly string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch (e) {
      process.stderr.write(`apsysfs: run: warning: cannot remove ${d}: ${(e as Error).message}\n`);
    }
  }
}

export async function runMain(argv: string[]): Promise<number> {
  const relay = new SignalRelay();
  let req: RunRequest | 'help';
  let cli: string;
  try {
    req = parseRunArgs(argv);
    if (req === 'help') {
      process.stdout.write(RUN_USAGE);
      return 0;
    }
    cli = findCli();
  } catch (e) {
    return fail(e instanceof UsageError ? `${e.message}\nsee apsysfs run --help` : (e as Error).message, relay);
  }
  relay.install();
  if ((process.getuid?.() ?? 0) !== 0) return runInUserNamespace(argv, cli, relay);
  return runWithTree(req, cli, relay);
}

/**
 * Root (or root in our user namespace): temp dir, daemon, CMD in the namespace, then always the
 * daemon stopped and the temp dir removed, whatever happened before.
 */
async function runWithTree(req: RunRequest, cli: string, relay: SignalRelay): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'apsysfs-run-'));
  const [root, stage, scratch] = ['root', 'stage', 'run'].map(d => join(tmp, d)) as [string, string, string];
  for (const d of [root, stage, scratch]) mkdirSync(d, { mode: 0o700 });
  // The daemon's record and log stay inside the run's temp dir: nothing accumulates in /run, and
  // in a user namespace (uid 0 there, not on the host) the CLI does not try the host's /run.
  const d: DaemonCli = { node: process.execPath, cli, env: { ...process.env, XDG_RUNTIME_DIR: scratch } };
  const watchdog = startWatchdog({ ...d, root, scratch, dirs: [root, stage, tmp] });
  let outcome: ExitOutcome | undefined;
  let error: string | undefined;
  let mounted = false;
  try {
    if (typeof req.mdevctl === 'object') prepareKeptState(req.mdevctl.keepIn);
    const { topology, kernel, scenario, scenarioWindow } = req;
    await mountTree({ ...d, root, ...(topology && { topology }), ...(kernel && { kernel }), ...(scenario && { scenario }), ...(scenarioWindow && { scenarioWindow }) });
    mounted = true;
    log.cli('tree mounted on %s', root);
    // A signal that came while mounting: CMD never starts, the run ends as if killed by it.
    if (relay.received === undefined) {
      const env = { ...process.env, APSYSFS_DIR: root };
      const ns = spawnInNamespace({ root, stage, cmd: req.cmd, args: req.args, mdevctl: req.mdevctl, env });
      relay.child = ns.child;
      outcome = await ns.exited;
      log.cli('%s ended: %o', req.cmd, outcome);
    }
  } catch (e) {
    error = (e as Error).message;
  }
  try {
    const warning = mounted || isMountPoint(root) ? await unmountTree(d, root) : undefined;
    if (warning !== undefined) process.stderr.write(`apsysfs: run: warning: ${warning}\n`);
    rmSync(scratch, { recursive: true, force: true });
    removeDirs([root, stage, tmp]);
    watchdog.disarm();
  } catch (e) {
    // A mount is left: the watchdog, still armed, tries again once we have exited.
    error ??= (e as Error).message;
  }
  if (outcome !== undefined) {
    if (error !== undefined) process.stderr.write(`apsysfs: run: ${error}\n`);
    return passOn(outcome, relay);
  }
  if (relay.received !== undefined) return reraise(relay.received, relay);
  return fail(error ?? 'internal error', relay);
}
