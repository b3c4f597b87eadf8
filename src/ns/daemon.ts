/**
 * Starting and stopping the daemon that serves the tree `apsysfs run` grafts onto /sys, through
 * the CLI's own commands: `apsysfs mount DIR --daemon` (returns once the tree is mounted) and
 * `apsysfs umount DIR`. A daemon that does not answer is unmounted lazily, so no mount outlives
 * the run.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface DaemonCli {
  /** process.execPath */
  readonly node: string;
  /** bin/apsysfs.js */
  readonly cli: string;
  /** Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface MountRequest extends DaemonCli {
  readonly root: string;
  readonly topology?: string;
  readonly kernel?: string;
  /** `--scenario NAME` and `--scenario-window MS` (docs/deadlocks.md). */
  readonly scenario?: string;
  readonly scenarioWindow?: string;
}

/** How long the daemon may take to mount (Node's start alone is ~70 ms) or to stop. */
const MOUNT_TIMEOUT_MS = 30_000;
const UMOUNT_TIMEOUT_MS = 15_000;

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
}

function runCli(d: DaemonCli, args: readonly string[], timeoutMs: number): Promise<Finished> {
  return new Promise((resolve, reject) => {
    // Own session: a Ctrl-C meant for CMD must not reach the daemon before we have stopped it.
    const child = spawn(d.node, [d.cli, ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
      env: d.env ?? process.env,
    });
    let timedOut = false;
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    child.once('error', e => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
}

function describe(f: Finished): string {
  if (f.timedOut) return 'timed out';
  return f.signal !== null ? `killed by ${f.signal}` : `exit status ${f.code}`;
}

/** `apsysfs mount ROOT --daemon …`; throws if the tree is not mounted. */
export async function mountTree(req: MountRequest): Promise<void> {
  const args = ['mount', req.root, '--daemon'];
  if (req.topology !== undefined) args.push('--topology', req.topology);
  if (req.kernel !== undefined) args.push('--kernel', req.kernel);
  if (req.scenario !== undefined) args.push('--scenario', req.scenario);
  if (req.scenarioWindow !== undefined) args.push('--scenario-window', req.scenarioWindow);
  const f = await runCli(req, args, MOUNT_TIMEOUT_MS);
  if (f.code !== 0) throw new Error(`cannot start the daemon on ${req.root} (${describe(f)})`);
}

/** Mount points as /proc/self/mountinfo spells them (octal escapes for space, tab, newline, \). */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function isMountPoint(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some(line => {
      const mountPoint = line.split(' ')[4];
      return mountPoint !== undefined && unescapeMountinfo(mountPoint) === path;
    });
}

function lazyUnmount(root: string): Promise<Finished> {
  return new Promise(resolve => {
    const child = spawn('umount', ['-l', root], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', () => resolve({ code: null, signal: null, timedOut: false }));
    child.once('exit', (code, signal) => resolve({ code, signal, timedOut: false }));
  });
}

/**
 * `apsysfs umount ROOT`; if the tree is still mounted after that, `umount -l`. Returns a warning
 * when the daemon did not stop cleanly, undefined otherwise; throws only if a mount remains.
 */
export async function unmountTree(d: DaemonCli, root: string): Promise<string | undefined> {
  let warning: string | undefined;
  try {
    const f = await runCli(d, ['umount', root], UMOUNT_TIMEOUT_MS);
    if (f.code !== 0) warning = `apsysfs umount ${root}: ${describe(f)}`;
  } catch (e) {
    warning = `apsysfs umount ${root}: ${(e as Error).message}`;
  }
  if (isMountPoint(root)) {
    await lazyUnmount(root);
    if (isMountPoint(root)) throw new Error(`${root} is still mounted`);
  }
  return warning;
}
