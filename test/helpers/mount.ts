/**
 * Mount a tree for a test, served by a daemon in a child process (never this one: a process must
 * not touch its own mount synchronously), and take it down when the test ends.
 *
 *   const m = await mountTree(t);                       // the real CLI, default topology
 *   const m = await mountTree(t, { topology: 'test/fixtures/topologies/4x4.json' });
 *   const m = await mountFake(t);                       // the FakeKernfs (test/helpers/fake-kernfs.ts)
 *   await sh(`cat ${m.root}/bus/ap/ap_domain`);
 *
 * The mount point is a fresh directory under the system temp dir rather than t.testdir(): tap
 * removes a testdir before running teardowns registered after it was made, and would recurse into
 * the live mount.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { findMount, lazyUnmount } from '../../src/fuse/mountpoint.js';

export interface MountTreeOptions {
  /** A topology object (written to a file) or a topology file path; default: the built-in one. */
  readonly topology?: object | string;
  readonly kernel?: string;
  /** More `apsysfs mount` arguments, e.g. ['--op-timeout', '1']. */
  readonly args?: readonly string[];
  /** Mount here instead of a fresh directory (the caller owns it). */
  readonly dir?: string;
  /** Extra environment for the daemon, e.g. { DEBUG: 'apsysfs:*' }. */
  readonly env?: Record<string, string>;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface MountedTree {
  /** The mount point: what /sys is on a real machine. */
  readonly root: string;
  readonly pid: number;
  /** Resolves when the daemon exits. */
  readonly exited: Promise<Exit>;
  /** The daemon's stdout and stderr so far (the last 64 KiB). */
  output(): string;
  /**
   * SIGTERM and wait for a clean exit; after 10 s SIGKILL and a lazy unmount. Throws if the
   * daemon did not exit 0 on SIGTERM or a mount remains. Idempotent; also run at teardown.
   */
  stop(): Promise<void>;
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');
const FAKE_DAEMON = path.join(repoRoot, 'dist', 'test', 'helpers', 'fake-daemon.js');
/** What `apsysfs mount` loads (main.js imports the last two when the command runs). */
const CLI_MODULES = ['main.js', 'mount.js', 'host-factory.js'].map(f => path.join(repoRoot, 'dist', 'src', 'cli', f));

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_KEPT = 64 * 1024;

/** `apsysfs mount` (the real CLI) in a child process. */
export async function mountTree(t: Test, opts: MountTreeOptions = {}): Promise<MountedTree> {
  const args: string[] = [];
  if (typeof opts.topology === 'string') args.push('--topology', path.resolve(repoRoot, opts.topology));
  else if (opts.topology !== undefined) {
    // Not in t.testdir(): each call of that empties it, and the test may be using it.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-topology-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'topology.json'), JSON.stringify(opts.topology));
    args.push('--topology', path.join(dir, 'topology.json'));
  }
  if (opts.kernel !== undefined) args.push('--kernel', opts.kernel);
  return startDaemon(t, [CLI, 'mount'], args, opts);
}

/** The same mount command over the FakeKernfs, in a child process. */
export function mountFake(t: Test, opts: Pick<MountTreeOptions, 'args' | 'dir' | 'env'> = {}): Promise<MountedTree> {
  return startDaemon(t, [FAKE_DAEMON], [], opts);
}

async function startDaemon(t: Test, command: string[], args: string[], opts: MountTreeOptions): Promise<MountedTree> {
  assertBuilt(command[0] === CLI ? CLI_MODULES : [FAKE_DAEMON]);
  const ownDir = opts.dir === undefined;
  const root = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'apsysfs-test-'));
  const child = spawn(process.execPath, [...command, root, ...args, ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...opts.env },
  });
  let output = '';
  const keep = (d: string): void => {
    output = (output + d).slice(-OUTPUT_KEPT);
  };
  // Always drain: a daemon blocked on a full stderr pipe stops answering its mount.
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  let exit: Exit | undefined;
  const exited = new Promise<Exit>(resolve => child.once('exit', (code, signal) => resolve((exit = { code, signal }))));
  let stopping: Promise<void> | undefined;
  const tree: MountedTree = {
    root,
    pid: child.pid ?? -1,
    exited,
    output: () => output,
    stop: () => (stopping ??= stop(child, exited, root, ownDir, () => output)),
  };
  t.teardown(() => tree.stop());
  const ready = await new Promise<boolean>(resolve => {
    const timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
    child.once('message', () => (clearTimeout(timer), resolve(true)));
    void exited.then(() => (clearTimeout(timer), resolve(false)));
  });
  if (!ready) {
    const why = exit ? `exit ${exit.code ?? exit.signal}` : `not ready after ${READY_TIMEOUT_MS} ms`;
    await tree.stop().catch(() => undefined);
    throw new Error(`daemon on ${root}: ${why}\n--- daemon output:\n${output}`);
  }
  return tree;
}

async function stop(child: ChildProcess, exited: Promise<Exit>, root: string, ownDir: boolean, output: () => string): Promise<void> {
  const problems: string[] = [];
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>(resolve => (timer = setTimeout(() => resolve(undefined), STOP_TIMEOUT_MS)));
    const exit = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (!exit) {
      problems.push(`no exit ${STOP_TIMEOUT_MS} ms after SIGTERM: killed`);
      child.kill('SIGKILL');
      await exited;
    } else if (exit.code !== 0) {
      problems.push(`exit ${exit.code ?? exit.signal} after SIGTERM`);
    }
  }
  // After a SIGKILL, fusermount's auto_unmount removes the mount shortly.
  for (let waited = 0; findMount(root) && waited < 2_000; waited += 50) await sleep(50);
  if (findMount(root)) {
    problems.push('a mount remained on it: lazily unmounted');
    await lazyUnmount(root).catch((e: Error) => problems.push(e.message));
  }
  if (ownDir) {
    try {
      rmdirSync(root);
    } catch (e) {
      problems.push(`cannot remove it: ${(e as Error).message}`);
    }
  }
  if (problems.length) throw new Error(`daemon on ${root}: ${problems.join('; ')}\n--- daemon output:\n${output()}`);
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

/**
 * The daemons run from dist/: fail clearly when the code they load is missing or older than its
 * source (npm test compiles first; `npx tap FILE` alone does not). Follows the static relative
 * imports from `entries`, so that edits elsewhere in the tree do not matter.
 */
const built = new Set<string>();
function assertBuilt(entries: readonly string[]): void {
  const dist = path.join(repoRoot, 'dist');
  const todo = entries.filter(e => !built.has(e));
  for (let js = todo.pop(); js !== undefined; js = todo.pop()) {
    if (built.has(js)) continue;
    const ts = path.join(repoRoot, path.relative(dist, js)).replace(/\.js$/, '.ts');
    if (!existsSync(js) || (existsSync(ts) && statSync(ts).mtimeMs > statSync(js).mtimeMs)) {
      throw new Error(`dist/ is not up to date (${path.relative(repoRoot, ts)}): run npx tsc -p tsconfig.json (npm test does)`);
    }
    built.add(js);
    for (const [, spec] of readFileSync(js, 'utf8').matchAll(/(?:from|^import)\s*['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      todo.push(path.resolve(path.dirname(js), spec ?? ''));
    }
  }
}
