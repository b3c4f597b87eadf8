/**
 * The package's API for test authors: a fresh apsysfs tree, served by a daemon in another
 * process, for the length of a test.
 *
 *   import { start } from 'apsysfs';
 *   const sys = await start({ topology: { adapters: [{ id: 5, type: 'CEX8C' }], usageDomains: [4] } });
 *   // sys.root is what /sys is on an s390 machine: run the tool under test with SYSFS_ROOT=sys.root
 *   await sys.stop();
 *
 * `start` runs `apsysfs mount ROOT --daemon` (the CLI's own command) on a new temp dir and returns
 * once the tree answers. It never touches the mount itself: a process must not wait on a FUSE
 * mount synchronously, and this one is served by a child process anyway. The daemon's record, log
 * and control socket live in the temp dir, not in /run/apsysfs. If the calling process dies
 * without stop() (even by SIGKILL), a watchdog (the one `apsysfs run` uses) stops the daemon and
 * removes the mount and the temp dir. For tools with hard-coded /sys paths use `apsysfs run`
 * (docs/run.md, docs/testing-your-tool.md).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlClient } from './control/client.js';
import { socketPath, SUN_PATH_MAX, type SocketLocation } from './control/socket-path.js';
import { isMountPoint, unmountTree, type DaemonCli } from './ns/daemon.js';
import { startWatchdog } from './ns/watchdog.js';

export type { AdapterSpec, CardMode, MdevSpec, Topology } from './model/topology.js';
export { ControlClient, ControlError, NoDaemonError } from './control/client.js';
export type { Method, Methods, Params, Result } from './control/protocol.js';

/** An id as topology files write it: 11, "11", "0x0b"; in lists also a range "0x00-0x3f". */
export type TopologyId = number | string;

/**
 * A topology file as JSON (docs/topology.md, docs/topology.schema.json); only `adapters` is
 * required. The daemon validates it (src/model/topology.ts) and refuses what a kernel could not
 * reach, with the field's path in the message.
 */
export interface TopologyFile {
  readonly adapters: readonly {
    readonly id: TopologyId;
    /** CEX4..CEX8 + C (CCA), A (accelerator) or P (EP11), e.g. "CEX8C". */
    readonly type: string;
    readonly configured?: boolean;
    readonly chkstop?: boolean;
    readonly online?: boolean;
    readonly rawHwtype?: number;
    readonly depth?: number;
    readonly functions?: number | string;
    readonly maxMsgSize?: number;
    readonly serialnr?: string;
  }[];
  readonly usageDomains?: readonly TopologyId[];
  readonly controlDomains?: readonly TopologyId[];
  readonly qci?: boolean;
  readonly apxa?: boolean;
  readonly features?: readonly ('APSC' | 'APXA' | 'QACT' | 'RC8A' | 'APSB')[];
  readonly maxAdapterId?: TopologyId;
  readonly maxDomainId?: TopologyId;
  /** In the `ap.apmask=` kernel parameter form: "+0-255,-5" (relative to an all-zero mask). */
  readonly apmask?: string;
  readonly aqmask?: string;
  readonly apDomain?: number | string;
  readonly configTime?: number;
  readonly pollThread?: boolean;
  readonly pollTimeout?: number;
  readonly interrupts?: boolean;
  readonly mdevs?: readonly {
    readonly uuid: string;
    readonly adapters?: readonly TopologyId[];
    readonly domains?: readonly TopologyId[];
    readonly controlDomains?: readonly TopologyId[];
  }[];
  readonly $schema?: string;
}

export interface StartOptions {
  /** The machine: a topology object, or the path of a topology file. Default: the built-in one. */
  readonly topology?: TopologyFile | string;
  /** The kernel behaviour to simulate (`apsysfs mount --help`). */
  readonly kernel?: 'trylock' | 'mainline';
  /** Mount here (an existing or new directory the caller owns) instead of in the temp dir. */
  readonly dir?: string;
  /** More `apsysfs mount` arguments, e.g. ['--op-timeout', '1']. */
  readonly args?: readonly string[];
  /** Environment of the daemon, added to this process's (e.g. { DEBUG: 'apsysfs:*' }). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface Apsysfs {
  /** The mount point: what /sys is on a real machine (`SYSFS_ROOT` for s390-tools). */
  readonly root: string;
  /** The daemon's pid (-1 if its record could not be read). */
  readonly pid: number;
  /** The daemon's control channel (guests, host changes, event log), when the daemon offers one. */
  readonly ctl?: ControlClient;
  /** The daemon's log so far (its stdout and stderr). */
  log(): string;
  /**
   * Stop the daemon, unmount, remove the temp dir. Rejects if the daemon did not stop cleanly or a
   * mount is left (after a lazy unmount). Idempotent.
   */
  stop(): Promise<void>;
}

/** How long `apsysfs mount --daemon` may take (it waits up to 60 s for the daemon itself). */
const MOUNT_TIMEOUT_MS = 65_000;

/** bin/apsysfs.js, from dist/src/index.js or (under a TS loader) src/index.ts. */
function findCli(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const found = [path.join(here, '../bin/apsysfs.js'), path.join(here, '../../bin/apsysfs.js')].find(p => existsSync(p));
  if (found === undefined) throw new Error(`apsysfs: start: cannot find bin/apsysfs.js above ${here}`);
  return found;
}

/** Start a daemon serving a fresh tree; resolves once the tree is mounted and answers. */
export async function start(opts: StartOptions = {}): Promise<Apsysfs> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-'));
  const ownRoot = opts.dir === undefined;
  const root = ownRoot ? path.join(tmp, 'root') : path.resolve(opts.dir as string);
  // The daemon's XDG_RUNTIME_DIR: its record, log and control socket, and the topology we write.
  const scratch = path.join(tmp, 'run');
  mkdirSync(scratch, { mode: 0o700 });
  if (ownRoot) mkdirSync(root, { mode: 0o755 });
  const d: DaemonCli = { node: process.execPath, cli: findCli(), env: { ...process.env, ...opts.env, XDG_RUNTIME_DIR: scratch } };
  const dirs = ownRoot ? [root, tmp] : [tmp];
  const watchdog = startWatchdog({ ...d, root, scratch, dirs });
  const cleanUp = (): void => {
    rmSync(scratch, { recursive: true, force: true });
    for (const dir of dirs) rmdirSync(dir);
    watchdog.disarm();
  };

  const args = ['mount', root, '--daemon'];
  if (typeof opts.topology === 'string') args.push('--topology', path.resolve(opts.topology));
  else if (opts.topology !== undefined) {
    const file = path.join(scratch, 'topology.json');
    writeFileSync(file, JSON.stringify(opts.topology));
    args.push('--topology', file);
  }
  if (opts.kernel !== undefined) args.push('--kernel', opts.kernel);
  args.push(...(opts.args ?? []));

  const mounted = await runCli(d, args).catch((e: Error): Finished => ({ code: null, signal: null, output: e.message }));
  if (mounted.code !== 0) {
    if (isMountPoint(root)) await unmountTree(d, root).catch(() => undefined);
    if (!isMountPoint(root)) cleanUp();
    const why = mounted.output.trim() || `apsysfs mount exited with ${mounted.code ?? mounted.signal}`;
    throw new Error(why.startsWith('apsysfs:') ? why : `apsysfs: start: ${why}`);
  }

  const runtime = path.join(scratch, 'apsysfs');
  let ctl: ControlClient | undefined;
  const stop = async (): Promise<void> => {
    ctl?.close();
    const warning = await unmountTree(d, root); // throws if a mount remains: keep everything then
    cleanUp();
    if (warning !== undefined) throw new Error(`apsysfs: stop: ${warning}`);
  };
  try {
    ctl = await connect(root, runtime);
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  let stopping: Promise<void> | undefined;
  return {
    root,
    pid: daemonPid(runtime),
    ...(ctl && { ctl }),
    log: () => readLog(runtime),
    stop: () => (stopping ??= stop()),
  };
}

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** The CLI in its own session (a Ctrl-C meant for the tests must not hit a half-done mount). */
function runCli(d: DaemonCli, args: readonly string[]): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(d.node, [d.cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: d.env });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), MOUNT_TIMEOUT_MS);
    child.once('error', e => (clearTimeout(timer), reject(e)));
    child.once('close', (code, signal) => (clearTimeout(timer), resolve({ code, signal, output })));
  });
}

/** The pid in the daemon's record (cli/daemon-record.ts), the one record in its runtime dir. */
function daemonPid(runtime: string): number {
  for (const name of readdirSync(runtime).filter(n => n.endsWith('.json'))) {
    try {
      const { pid } = JSON.parse(readFileSync(path.join(runtime, name), 'utf8')) as { pid?: unknown };
      if (typeof pid === 'number') return pid;
    } catch {
      // not a record
    }
  }
  return -1;
}

function readLog(runtime: string): string {
  try {
    return readdirSync(runtime)
      .filter(n => n.endsWith('.log'))
      .map(n => readFileSync(path.join(runtime, n), 'utf8'))
      .join('');
  } catch {
    return '';
  }
}

/**
 * The daemon's control socket is `RUNTIME/<hash>.sock`, or under /tmp/apsysfs-UID when that path
 * is too long for a Unix socket (control/socket-path.ts). No socket: a daemon without a control
 * channel.
 */
async function connect(root: string, runtime: string): Promise<ControlClient | undefined> {
  const own: SocketLocation = { runtimeDir: runtime };
  const fallback: SocketLocation = { runtimeDir: `/tmp/apsysfs-${process.getuid?.() ?? 0}` };
  const loc = Buffer.byteLength(socketPath(root, own)) <= SUN_PATH_MAX ? own : fallback;
  if (!existsSync(socketPath(root, loc))) return undefined;
  return ControlClient.connect({ mountDir: root, ...loc });
}
