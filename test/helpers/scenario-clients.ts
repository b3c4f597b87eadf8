/**
 * The deadlock scenarios' clients (docs/deadlocks.md) against a real mount, for
 * test/e2e/scenarios*.ts: each op is its own process, `echo … > …` in bash or `node bin/apsysfs.js
 * ctl …`, exactly the command describeOp prints with the mount spelled out.
 */
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeOp, type ClientOp, type Scenario } from '../../src/model/scenarios/index.js';
import { repoRoot, type MountedTree } from './mount.js';
import { run, type ShellResult } from './shell.js';

export const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');
const MDEVS = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/topologies/mdevs.json'), 'utf8')) as Record<string, unknown>;
/** No client may take longer than this. */
export const CLIENT_BOUND_MS = 20_000;
/**
 * The flawed paths' window (`--scenario-window`), longer than the default 300 ms: every client
 * must hold its first lock before the first one leaves its window, on a busy 2-core machine too.
 */
export const WINDOW_MS = 1000;
/** Clients are let go this far apart, in the scenario's order (runClients). */
const STAGGER_MS = 200;
export const EDEADLK = /Resource deadlock avoided|EDEADLK/;

/** The scenario's workload topology: mdevs.json with the scenario's overrides (apmask-assign drops U2). */
export const topologyOf = (s: Scenario): Record<string, unknown> => ({ ...MDEVS, ...s.topology });

export const ctl = (m: MountedTree, ...args: string[]): Promise<ShellResult> =>
  run(process.execPath, [CLI, 'ctl', '--mount', m.root, ...args], { timeoutMs: CLIENT_BOUND_MS });

/** `bash -c` for a write, `node bin/apsysfs.js ctl --mount ROOT …` for the rest: describeOp's command. */
function commandOf(m: MountedTree, op: ClientOp): { bash: string } | { ctl: string[] } {
  const cmd = describeOp(op);
  if (op.op === 'write') return { bash: `echo ${op.value} > ${m.root}/${op.path}` };
  const words = cmd.split(' ');
  if (words[0] !== 'apsysfs' || words[1] !== 'ctl') throw new Error(`not a ctl command: ${cmd}`);
  return { ctl: ['ctl', '--mount', m.root, ...words.slice(2)] };
}

/** One op as its own process, run to its end. */
export function runOp(m: MountedTree, op: ClientOp): Promise<ShellResult> {
  const c = commandOf(m, op);
  if ('bash' in c) return run('bash', ['-c', c.bash], { timeoutMs: CLIENT_BOUND_MS });
  return run(process.execPath, [CLI, ...c.ctl], { timeoutMs: CLIENT_BOUND_MS });
}

export interface Outcome {
  readonly client: string;
  readonly op: string;
  readonly r: ShellResult;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const READY = 'apsysfs-test: ready\n';
const MAIN = pathToFileURL(path.join(repoRoot, 'dist', 'src', 'cli', 'main.js')).href;
const CTL = pathToFileURL(path.join(repoRoot, 'dist', 'src', 'cli', 'ctl.js')).href;
/**
 * What bin/apsysfs.js does, with Node started and the CLI loaded before it waits for its go (a
 * line on stdin): the command then reaches the daemon within milliseconds of the go.
 */
const HELD_CLI = [
  `const { cli } = await import(${JSON.stringify(MAIN)});`,
  `await import(${JSON.stringify(CTL)});`,
  `process.stdin.once('data', () => { process.stdin.pause(); void cli(JSON.parse(process.env.APSYSFS_TEST_ARGV)); });`,
  `process.stderr.write(${JSON.stringify(READY)});`,
].join('\n');

interface Held {
  /** Resolves once the process waits for its go. */
  readonly ready: Promise<void>;
  go(): void;
  readonly done: Promise<ShellResult>;
}

/** Start the op's process, held just before it acts. */
function hold(m: MountedTree, op: ClientOp): Held {
  const c = commandOf(m, op);
  const child =
    'bash' in c
      ? spawn('bash', ['-c', `printf '%s' ${JSON.stringify(READY.replace('\n', ''))} >&2; echo >&2; read -r _; ${c.bash}`], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
      : spawn(process.execPath, ['--input-type=module', '-e', HELD_CLI], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C', APSYSFS_TEST_ARGV: JSON.stringify(c.ctl) } });
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.includes(READY)) onReady();
  });
  child.stdin.on('error', () => undefined);
  const done = new Promise<ShellResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${describeOp(op)}: no exit after ${CLIENT_BOUND_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, CLIENT_BOUND_MS);
    child.once('error', (e) => (clearTimeout(timer), reject(e)));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      onReady();
      resolve({ code, signal, stdout, stderr: stderr.replace(READY, '') });
    });
  });
  return { ready, go: () => child.stdin.end('go\n'), done };
}

/**
 * Every client at once, each running its ops one after the other. So that they meet as shells
 * started together would, each client's first process is started and held until all are loaded
 * (Node takes a few hundred ms to start on a busy machine, bash a few), then let go STAGGER_MS
 * apart in the scenario's order, so that the dependencies are recorded in the order of the
 * expected chain (the last client closes it).
 */
export async function runClients(m: MountedTree, s: Scenario): Promise<Outcome[]> {
  const first = s.clients.map((c) => (c.ops[0] ? hold(m, c.ops[0]) : undefined));
  await Promise.all(first.map((h) => h?.ready));
  const per = await Promise.all(
    s.clients.map(async (c, i) => {
      await sleep(STAGGER_MS * i);
      const out: Outcome[] = [];
      for (const [j, op] of c.ops.entries()) {
        const h = j === 0 ? first[i] : undefined;
        h?.go();
        out.push({ client: c.name, op: describeOp(op), r: h ? await h.done : await runOp(m, op) });
      }
      return out;
    }),
  );
  return per.flat();
}

export async function setup(t: Test, m: MountedTree, s: Scenario): Promise<void> {
  for (const op of s.setup) {
    const r = await runOp(m, op);
    t.equal(r.code, 0, `setup: ${describeOp(op)}${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
  }
}

export interface LockState {
  readonly reports: readonly { kind: string; taking: string; held: string; chain: readonly { from: string; to: string }[]; text: string }[];
}

export async function locks(t: Test, m: MountedTree): Promise<{ text: string; state: LockState }> {
  const r = await ctl(m, '--json', 'locks');
  t.equal(r.code, 0, `ctl locks: ${r.stderr}`);
  const l = JSON.parse(r.stdout) as { text: string; state: LockState };
  return l;
}

export const chainOf = (r: LockState['reports'][number]): string[] => (r.chain.length ? [r.chain[0]!.from, ...r.chain.map((l) => l.to)] : []);

export const describe = (o: Outcome): string => `${o.client}: ${o.op} -> exit ${o.r.code}${o.r.stderr ? ` (${o.r.stderr.trim().split('\n')[0]})` : ''}`;

/** `ctl status` answers and the mount too; the status text. */
export async function daemonAlive(t: Test, m: MountedTree): Promise<string> {
  const r = await ctl(m, 'status');
  t.equal(r.code, 0, 'the daemon still answers');
  t.equal((await run('cat', [`${m.root}/bus/ap/apmask`])).code, 0, 'and so does the mount');
  return r.stdout;
}
