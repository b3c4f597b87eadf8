/**
 * `apsysfs mount [DIR] [--topology FILE] [--state FILE] [--kernel trylock|mainline] [--daemon]
 *  [--op-timeout S] [--no-name-cache] [--scenario NAME [--scenario-window MS]]`
 *
 * In the foreground: build the kernfs, mount it, tell a parent that asked (IPC message
 * `{ type: 'ready' }`) once the mount answers, serve until SIGINT/SIGTERM/SIGHUP, unmount, save the
 * state if --state asks, shut the host down. With --daemon: start that same foreground command
 * detached, with its output in a log file, and return once it is ready.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isKernelError } from '../model/errno.js';
import { SCENARIO_NAMES, flawProfile, isScenarioName } from '../model/scenarios/flaw.js';
import type { Kernfs } from '../sysfs/kernfs-api.js';
import { DEFAULT_OP_TIMEOUT_S, mount } from '../fuse/mount.js';
import { canonicalPath } from '../fuse/mountpoint.js';
import { log } from '../log.js';
import { parsing } from './args.js';
import { CliError, UsageError } from './cli-error.js';
import { logFile, removeRecord, runtimeDir, writeRecord } from './daemon-record.js';

export const KERNELS = ['trylock', 'mainline'] as const;

export interface BuiltKernfs {
  readonly kernfs: Kernfs;
  readonly host: { shutdown(): Promise<void> };
  /** The control channel for this mount (absent for the FUSE tests' fake tree). */
  startControl?(mountDir: string): Promise<{ close(): Promise<void> }>;
  /** The whole state as topology file text, for --state (absent for the fake tree). */
  saveState?(): string;
}

export interface MountDeps {
  buildKernfs(opts: { topologyFile?: string; kernel?: string } & ScenarioMountOptions): Promise<BuiltKernfs>;
  /** The argv (after node's) that runs this command again, for --daemon: [script, 'mount']. */
  readonly self: readonly string[];
}

/** `--scenario NAME [--scenario-window MS]` (docs/deadlocks.md). */
export interface ScenarioMountOptions {
  /** A historic flawed lock ordering, switched on for every operation. */
  readonly scenario?: string;
  /** How long a flawed path sleeps in the scenario's window (default: host-factory.ts's, 300). */
  readonly scenarioWindowMs?: number;
}

interface MountArgs extends ScenarioMountOptions {
  readonly dir: string;
  readonly topologyFile?: string;
  /** --state: restored from at start when it exists, saved to on a clean shutdown. */
  readonly stateFile?: string;
  readonly kernel?: string;
  readonly daemon: boolean;
  readonly opTimeoutS: number;
  /** --no-name-cache: entry_timeout=0 whatever the kernel offers (fuse/mount.ts, MountOptions.nameCache). */
  readonly nameCache: boolean;
}

/** How long `--daemon` waits for the daemon to be ready. */
const DAEMON_READY_TIMEOUT_MS = 60_000;

export async function mountCommand(args: string[], deps: MountDeps): Promise<number> {
  const opts = parseMountArgs(args);
  return opts.daemon ? startDaemon(opts, deps) : serve(opts, deps);
}

function parseMountArgs(args: string[]): MountArgs {
  const { values, positionals } = parsing('mount', () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        topology: { type: 'string' },
        state: { type: 'string' },
        kernel: { type: 'string' },
        daemon: { type: 'boolean', default: false },
        'op-timeout': { type: 'string' },
        'no-name-cache': { type: 'boolean', default: false },
        scenario: { type: 'string' },
        'scenario-window': { type: 'string' },
      },
    }),
  );
  if (positionals.length > 1) throw new UsageError('mount', `one DIR expected, got ${positionals.length}`);
  const { topology, state, kernel } = values;
  if (state === '') throw new UsageError('mount', '--state: a FILE is expected');
  if (kernel !== undefined && !(KERNELS as readonly string[]).includes(kernel)) {
    throw new UsageError('mount', `--kernel: expected ${KERNELS.join(' or ')}, got '${kernel}'`);
  }
  const opTimeoutS = values['op-timeout'] === undefined ? DEFAULT_OP_TIMEOUT_S : Number(values['op-timeout']);
  if (!Number.isFinite(opTimeoutS) || opTimeoutS < 0 || values['op-timeout'] === '') {
    throw new UsageError('mount', `--op-timeout: expected seconds (0 = no limit), got '${values['op-timeout']}'`);
  }
  const scenario = parseScenarioArgs(values.scenario, values['scenario-window'], kernel);
  // The default is the checkout's mount/ folder; it is not created, so that running from the
  // wrong directory does not leave a stray ./mount behind. An explicit DIR is created if missing.
  const given = positionals[0];
  if (given === undefined && !existsSync('mount')) {
    throw new CliError('mount', `no DIR given and no ./mount here (run from a checkout or name a DIR)`);
  }
  return {
    dir: canonicalPath(given ?? 'mount'),
    topologyFile: topology === undefined ? undefined : path.resolve(topology),
    stateFile: state === undefined ? undefined : path.resolve(state),
    kernel,
    daemon: values.daemon ?? false,
    opTimeoutS,
    nameCache: !values['no-name-cache'],
    ...scenario,
  };
}

/** `--scenario NAME [--scenario-window MS]`: a known name, on a profile its flaw sits on. */
function parseScenarioArgs(name: string | undefined, window: string | undefined, kernel: string | undefined): ScenarioMountOptions {
  if (name === undefined) {
    if (window !== undefined) throw new UsageError('mount', '--scenario-window needs --scenario NAME');
    return {};
  }
  if (!isScenarioName(name)) {
    throw new UsageError('mount', `--scenario: no scenario '${name}' (known: ${SCENARIO_NAMES.join(', ')}; see apsysfs ctl scenario list)`);
  }
  const needs = flawProfile(name);
  if (needs && kernel !== undefined && kernel !== needs) {
    throw new UsageError('mount', `--scenario ${name}: the flawed ordering sits on the ${needs} profile, not on --kernel ${kernel}`);
  }
  if (window === undefined) return { scenario: name };
  const ms = Number(window);
  if (window === '' || !Number.isSafeInteger(ms) || ms < 0) throw new UsageError('mount', `--scenario-window: expected milliseconds, got '${window}'`);
  return { scenario: name, scenarioWindowMs: ms };
}

async function serve(opts: MountArgs, deps: MountDeps): Promise<number> {
  const stop = nextSignal(['SIGINT', 'SIGTERM', 'SIGHUP']);
  // A saved state replaces --topology: that one only describes the machine of the first start.
  const restore = opts.stateFile !== undefined && existsSync(opts.stateFile);
  if (restore) log.cli('restoring the state saved in %s', opts.stateFile);
  const built = await build(restore ? { ...opts, topologyFile: opts.stateFile } : opts, deps);
  let handle;
  try {
    handle = await mount(opts.dir, built.kernfs, { opTimeoutMs: opts.opTimeoutS * 1000, nameCache: opts.nameCache });
  } catch (e) {
    await built.host.shutdown();
    throw new CliError('mount', `${opts.dir}: ${e instanceof Error ? e.message : String(e)}`);
  }
  // The socket listens before "ready", so `ctl` and start() find it as soon as the mount is usable.
  let control: { close(): Promise<void> } | undefined;
  try {
    control = built.startControl ? await built.startControl(handle.dir) : undefined;
  } catch (e) {
    await handle.unmount();
    await built.host.shutdown();
    throw new CliError('mount', `${opts.dir}: control channel: ${e instanceof Error ? e.message : String(e)}`);
  }
  writeRecord(handle.dir);
  if (process.send) {
    process.send({ type: 'ready', dir: handle.dir, pid: process.pid });
    process.disconnect();
  }
  const signal = await stop;
  log.cli('%s: unmounting %s', signal, handle.dir);
  let unsaved: Error | undefined;
  try {
    await control?.close();
    await handle.unmount();
    // Nothing can change the state any more: no mount, no control channel.
    if (opts.stateFile !== undefined) unsaved = saveState(built, opts.stateFile);
  } finally {
    removeRecord(handle.dir, process.pid);
    await built.host.shutdown();
  }
  if (unsaved) throw new CliError('mount', `--state ${opts.stateFile}: not saved: ${unsaved.message}`);
  return 0;
}

/** Write the state through a temporary file, so that a crash never leaves half a file. */
function saveState(built: BuiltKernfs, file: string): Error | undefined {
  if (!built.saveState) return new Error('this tree cannot save its state');
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, built.saveState());
    renameSync(tmp, file);
    log.cli('state saved to %s', file);
    return undefined;
  } catch (e) {
    rmSync(tmp, { force: true });
    return e instanceof Error ? e : new Error(String(e));
  }
}

async function build(opts: MountArgs, deps: MountDeps): Promise<BuiltKernfs> {
  try {
    return await deps.buildKernfs({
      topologyFile: opts.topologyFile,
      kernel: opts.kernel,
      ...(opts.scenario !== undefined && { scenario: opts.scenario }),
      ...(opts.scenarioWindowMs !== undefined && { scenarioWindowMs: opts.scenarioWindowMs }),
    });
  } catch (e) {
    const what = opts.topologyFile ?? 'default topology';
    if (isKernelError(e)) throw new CliError('mount', `${what}: ${e.why}`);
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new CliError('mount', `${what}: no such file`);
    if (code === 'EACCES') throw new CliError('mount', `${what}: permission denied`);
    if (e instanceof SyntaxError) throw new CliError('mount', `${what}: not valid JSON: ${e.message}`);
    throw e;
  }
}

/**
 * The first of `signals`. From then on they are left to their default action, so a second one
 * ends a shutdown that hangs (auto_unmount still removes the mount).
 */
function nextSignal(signals: readonly NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise(resolve => {
    const on = (signal: NodeJS.Signals): void => {
      for (const s of signals) process.off(s, on);
      resolve(signal);
    };
    for (const s of signals) process.on(s, on);
  });
}

/** Run the foreground command detached, output to its log file, and wait until it is ready. */
async function startDaemon(opts: MountArgs, deps: MountDeps): Promise<number> {
  const argv = [
    ...deps.self,
    opts.dir,
    ...(opts.topologyFile !== undefined ? ['--topology', opts.topologyFile] : []),
    ...(opts.stateFile !== undefined ? ['--state', opts.stateFile] : []),
    ...(opts.kernel !== undefined ? ['--kernel', opts.kernel] : []),
    ...(opts.scenario !== undefined ? ['--scenario', opts.scenario] : []),
    ...(opts.scenarioWindowMs !== undefined ? ['--scenario-window', String(opts.scenarioWindowMs)] : []),
    '--op-timeout',
    String(opts.opTimeoutS),
    ...(opts.nameCache ? [] : ['--no-name-cache']),
  ];
  mkdirSync(runtimeDir(), { recursive: true, mode: 0o700 });
  const logPath = logFile(opts.dir);
  const out = openSync(logPath, 'w');
  const child = spawn(process.execPath, [...process.execArgv, ...argv], {
    detached: true, // its own session: the terminal's SIGINT/SIGHUP do not reach it
    stdio: ['ignore', out, out, 'ipc'],
  });
  closeSync(out);
  const outcome = await new Promise<{ ready: true } | { ready: false; code: number; why: string }>(resolve => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ready: false, code: 1, why: `not ready after ${DAEMON_READY_TIMEOUT_MS / 1000} s` });
    }, DAEMON_READY_TIMEOUT_MS);
    const done = (o: Parameters<typeof resolve>[0]) => (clearTimeout(timer), resolve(o));
    child.once('message', () => done({ ready: true }));
    child.once('exit', (code, signal) => done({ ready: false, code: code || 1, why: `exited (${signal ?? code})` }));
    child.once('error', e => done({ ready: false, code: 1, why: e.message }));
  });
  if (!outcome.ready) {
    // The daemon's own `apsysfs: mount: ...` lines say why: pass them on.
    const output = readFileSync(logPath, 'utf8').trim();
    if (!output) throw new CliError('mount', `${opts.dir}: the daemon ${outcome.why}; its log: ${logPath}`);
    process.stderr.write(`${output}\n`);
    rmSync(logPath, { force: true });
    return outcome.code;
  }
  if (child.connected) child.disconnect();
  child.unref();
  process.stdout.write(`apsysfs: serving ${opts.dir} (pid ${child.pid}, log ${logPath})\n`);
  return 0;
}
