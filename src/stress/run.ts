/**
 * The stress coordinator: mount a tree (the CLI's daemon, through start()), start the client
 * processes, and run rounds. In a round every client runs its next `checkEvery` ops concurrently
 * with the others; then, all clients paused at the barrier, one state dump is fetched through the
 * control channel and the invariants are checked. A rule that breaks ends the run, and the ops
 * that ran are replayed in this process to find the shortest sequence that still breaks it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, type Apsysfs } from '../index.js';
import type { LockProfile } from '../model/kernel.js';
import { defaultTopology } from '../model/default-topology.js';
import { parseTopology, type Topology } from '../model/topology.js';
import { Host } from '../model/host.js';
import { snapshotState, type StateSnapshot } from '../model/state-snapshot.js';
import type { ControlClient } from '../control/client.js';
import type { FromClient, ToClient } from './client.js';
import { checkInvariants, type RuleName, type Violation } from './invariants.js';
import { minimise, replay, type Minimised } from './minimise.js';
import { OpStream, opSpace, type Op } from './ops.js';
import type { OpOutcome } from './target.js';

export interface StressOptions {
  /** Operations in all, over all clients. */
  readonly ops: number;
  readonly clients: number;
  readonly seed: string;
  /** No operation may take longer (ms). */
  readonly boundMs: number;
  /** Ops per client between two checks. */
  readonly checkEvery: number;
  /** A topology file; default: the built-in machine. */
  readonly topologyFile?: string;
  readonly kernel?: LockProfile;
  /**
   * Check the checker: switch on one of the historic flawed lock orderings (apsysfs mount
   * --scenario, docs/deadlocks.md), which the lockdep rule must catch.
   */
  readonly scenario?: string;
  /** How long the search for the shortest failing sequence may take (ms); 0: no search. */
  readonly minimiseMs: number;
  /** Progress lines (to stderr in the CLI). */
  readonly progress?: (line: string) => void;
}

export interface ExecutedOp {
  readonly client: number;
  /** Position in the client's stream. */
  readonly seq: number;
  readonly round: number;
  readonly op: Op;
  readonly outcome: OpOutcome;
}

export interface Failure {
  readonly rule: RuleName;
  readonly text: string;
  /** The op that broke a per-op rule (bound, no-eio). */
  readonly op?: ExecutedOp;
  /** The shortest sequence found, if the rule breaks when the ops are replayed one at a time. */
  readonly minimal?: Minimised;
  /** When no sequential replay breaks it: the ops of the round that did, per client. */
  readonly round?: readonly ExecutedOp[];
}

export interface StressReport {
  readonly options: StressOptions;
  readonly executed: number;
  readonly elapsedMs: number;
  readonly perKind: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly perErrno: Readonly<Record<string, number>>;
  readonly dumps: number;
  /** How often the state was saved and booted again in this process (nothing lost). */
  readonly saves: number;
  readonly assertions: number;
  readonly lockdep: { readonly reports: number; readonly inversions: number; readonly text: string };
  readonly slowest: ExecutedOp | undefined;
  readonly percentiles: { readonly p50: number; readonly p99: number };
  readonly failure: Failure | undefined;
}

const CLIENT = fileURLToPath(new URL('./client.js', import.meta.url));
/** How often a waiting coordinator asks the clients what they are doing. */
const WATCH_MS = 250;
const STATUS_TIMEOUT_MS = 2000;

class Client {
  private waiting: { type: FromClient['type']; resolve: (m: FromClient) => void; reject: (e: Error) => void } | undefined;
  private exited: Error | undefined;

  constructor(
    readonly id: number,
    readonly child: ChildProcess,
  ) {
    child.on('message', (m: FromClient) => {
      if (m.type === 'error') return this.settle(new Error(`client ${id}: ${m.message}`));
      if (this.waiting?.type === m.type) {
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(m);
      }
    });
    child.on('exit', (code, signal) => this.settle((this.exited = new Error(`client ${id} exited (${signal ?? code})`))));
  }

  private settle(e: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }

  request<T extends FromClient['type']>(m: ToClient, answer: T): Promise<Extract<FromClient, { type: T }>> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.waiting = { type: answer, resolve: resolve as (m: FromClient) => void, reject };
      this.child.send(m);
    });
  }

  /** Ask what it is doing without disturbing a pending request; undefined if it does not answer. */
  status(): Promise<{ op: number | null; elapsedMs: number } | undefined> {
    if (this.exited) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (v: { op: number | null; elapsedMs: number } | undefined): void => {
        clearTimeout(timer);
        this.child.off('message', on);
        resolve(v);
      };
      const on = (m: FromClient): void => {
        if (m.type === 'status') done(m);
      };
      const timer = setTimeout(() => done(undefined), STATUS_TIMEOUT_MS);
      this.child.on('message', on);
      this.child.send({ type: 'status' } satisfies ToClient);
    });
  }

  stop(): void {
    if (this.exited) return;
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies ToClient);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    this.child.once('exit', () => clearTimeout(timer));
  }
}

function loadTopology(file: string | undefined): Topology {
  return file === undefined ? defaultTopology : parseTopology(JSON.parse(readFileSync(file, 'utf8')) as unknown);
}

export async function runStress(o: StressOptions): Promise<StressReport> {
  const topology = loadTopology(o.topologyFile);
  const space = opSpace(topology);
  const streams = Array.from({ length: o.clients }, (_, i) => new OpStream(o.seed, i, space));
  const progress = o.progress ?? (() => undefined);
  const t0 = Date.now();
  const sys = await start({
    ...(o.topologyFile !== undefined && { topology: path.resolve(o.topologyFile) }),
    ...(o.kernel && { kernel: o.kernel }),
    ...(o.scenario !== undefined && { args: ['--scenario', o.scenario] }),
  });
  const clients: Client[] = [];
  const executed: ExecutedOp[] = [];
  let dumps = 0;
  let saves = 0;
  let assertions = 0;
  let failure: Failure | undefined;
  let lockdep = { reports: 0, inversions: 0, text: '' };
  try {
    if (!sys.ctl) throw new Error('the daemon has no control channel');
    const runtimeDir = path.dirname(sys.ctl.path);
    for (let i = 0; i < o.clients; i++) {
      const c = new Client(i, fork(CLIENT, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      clients.push(c);
      await c.request({ type: 'init', root: sys.root, runtimeDir }, 'ready');
    }
    const seqs = new Array<number>(o.clients).fill(0);
    let issued = 0;
    let nextReport = o.ops / 10;
    for (let round = 0; issued < o.ops && !failure; round++) {
      const batches = clients.map(() => [] as Op[]);
      for (let i = 0; i < o.clients; i++) {
        const n = Math.min(o.checkEvery, o.ops - issued);
        batches[i] = streams[i]!.take(n);
        issued += n;
      }
      const ran = await runRound(clients, batches, o.boundMs);
      batches.forEach((ops, i) => {
        ops.forEach((op, k) => {
          const outcome = ran.outcomes[i]?.[k];
          if (outcome) executed.push({ client: i, seq: seqs[i]! + k, round, op, outcome });
        });
        seqs[i]! += ops.length;
      });
      if (ran.hung) {
        const c = ran.hung;
        failure = { rule: 'bound', text: `client ${c.client}'s op ${describeExecuted(c)} has not finished after ${Math.round(c.elapsedMs)} ms (bound ${o.boundMs} ms)` };
        break;
      }
      failure = perOpFailure(executed.filter((e) => e.round === round), o.boundMs);
      if (failure) break;
      const snap = await sys.ctl.call('dump', {});
      dumps++;
      const check = checkInvariants(snap);
      assertions += check.assertions;
      if (check.violations.length) failure = await invariantFailure(check.violations[0]!, executed, round, topology, o, progress);
      if (!failure && (executed.length >= nextReport || issued >= o.ops)) {
        saves++;
        failure = await checkSaved(sys.ctl, snap, o);
      }
      if (executed.length >= nextReport) {
        progress(`stress: ${executed.length}/${o.ops} operations, ${dumps} checks, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        nextReport += o.ops / 10;
      }
    }
    const locks = await sys.ctl.call('locks', {});
    const state = locks.state as { reports?: { kind?: string }[] };
    lockdep = { reports: locks.reports, inversions: (state.reports ?? []).filter((r) => r.kind === 'circular').length, text: locks.text };
    if (!failure && locks.reports > 0) {
      const v: Violation = { rule: 'lockdep', text: `the lock-order checker reported ${locks.reports} problem(s)` };
      failure = await invariantFailure(v, executed, executed.at(-1)?.round ?? 0, topology, o, progress);
    }
  } finally {
    for (const c of clients) c.stop();
    await stopQuietly(sys, progress);
  }
  return report(o, executed, Date.now() - t0, { dumps, saves, assertions }, lockdep, failure);
}

/**
 * Nothing lost: the state saved now (`ctl save`), booted in this process, gives the same dump as
 * the daemon's. The clients wait at the barrier, so the two requests see the same moment.
 */
async function checkSaved(ctl: ControlClient, snap: StateSnapshot, o: StressOptions): Promise<Failure | undefined> {
  const file = await ctl.call('save', {});
  const host = await Host.fromTopology(parseTopology(file), { ...(o.kernel && { kernel: o.kernel }), ...(o.scenario !== undefined && { scenario: o.scenario }) });
  const strip = (x: StateSnapshot): string => JSON.stringify({ ...x, lockdep: undefined });
  const [want, got] = [strip(snap), strip(snapshotState(host))];
  if (want === got) return undefined;
  let i = 0;
  while (want[i] === got[i]) i++;
  const saved = path.join(mkdtempSync(path.join(os.tmpdir(), 'apsysfs-stress-')), 'saved.json');
  writeFileSync(saved, `${JSON.stringify(file, null, 2)}\n`);
  const around = (x: string): string => x.slice(Math.max(0, i - 80), i + 40);
  return { rule: 'nothing-lost', text: `the state saved in ${saved} boots to another one: the daemon's dump has ...${around(want)}..., the booted one ...${around(got)}...` };
}

async function stopQuietly(sys: Apsysfs, progress: (line: string) => void): Promise<void> {
  try {
    await sys.stop();
  } catch (e) {
    progress(`stress: stopping the daemon: ${e instanceof Error ? e.message : String(e)}`);
  }
}

interface RoundResult {
  readonly outcomes: readonly (readonly OpOutcome[] | undefined)[];
  /** A client whose op outlived the bound: the op's index in its batch, and for how long it ran. */
  readonly hung?: { readonly client: number; readonly index: number; readonly op: Op; readonly elapsedMs: number };
}

/** Every client runs its batch; meanwhile the clients are watched for an op that outlives the bound. */
async function runRound(clients: readonly Client[], batches: readonly Op[][], boundMs: number): Promise<RoundResult> {
  const outcomes: (readonly OpOutcome[] | undefined)[] = clients.map(() => undefined);
  const done = Promise.all(
    clients.map(async (c, i) => {
      if (batches[i]!.length === 0) return;
      outcomes[i] = (await c.request({ type: 'run', ops: batches[i]! }, 'done')).outcomes;
    }),
  );
  let finished = false;
  const all = done.then(() => (finished = true));
  while (!finished) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, WATCH_MS)))]);
    clearTimeout(timer);
    if (finished) break;
    for (const [i, c] of clients.entries()) {
      if (outcomes[i] || batches[i]!.length === 0) continue;
      const s = await c.status();
      // Give the op a little beyond the bound: it may be answering right now.
      if (s && s.op !== null && s.elapsedMs > boundMs + WATCH_MS) {
        return { outcomes, hung: { client: i, index: s.op, op: batches[i]![s.op]!, elapsedMs: s.elapsedMs } };
      }
    }
  }
  await all;
  return { outcomes };
}

function describeExecuted(e: { op: Op }): string {
  const op = e.op;
  if (op.type === 'write') return `${op.kind} (${op.path} <- ${JSON.stringify(op.data)})`;
  return `${op.kind} (${JSON.stringify(op.params)})`;
}

function perOpFailure(ops: readonly ExecutedOp[], boundMs: number): Failure | undefined {
  const eio = ops.find((e) => e.outcome.errno === 'EIO');
  if (eio) return { rule: 'no-eio', text: `${describeExecuted(eio)} failed with EIO (a daemon bug): ${eio.outcome.detail ?? ''}`, op: eio };
  const slow = ops.find((e) => e.outcome.ms > boundMs);
  if (slow) return { rule: 'bound', text: `${describeExecuted(slow)} took ${slow.outcome.ms.toFixed(0)} ms (bound ${boundMs} ms)`, op: slow };
  return undefined;
}

/** Replay what ran, one op at a time, in completion order (then start order), and shrink it. */
async function invariantFailure(
  v: Violation,
  executed: readonly ExecutedOp[],
  round: number,
  topology: Topology,
  o: StressOptions,
  progress: (line: string) => void,
): Promise<Failure> {
  const base: Failure = { rule: v.rule, text: v.text, round: executed.filter((e) => e.round === round) };
  if (o.minimiseMs <= 0) return base;
  const replayOpts = { topology, ...(o.kernel && { kernel: o.kernel }), ...(o.scenario !== undefined && { scenario: o.scenario }) };
  const end = (e: ExecutedOp): number => e.outcome.start + e.outcome.ms;
  const orders = [
    [...executed].sort((a, b) => a.round - b.round || end(a) - end(b)),
    [...executed].sort((a, b) => a.round - b.round || a.outcome.start - b.outcome.start),
  ];
  for (const order of orders) {
    const ops = order.map((e) => e.op);
    if (!(await replay(ops, replayOpts, v.rule))) continue;
    progress(`stress: ${v.rule} breaks when the ${ops.length} ops are replayed one at a time; shrinking...`);
    const minimal = await minimise(ops, v.rule, { ...replayOpts, budgetMs: o.minimiseMs });
    if (minimal) return { ...base, minimal };
  }
  return base;
}

function report(
  o: StressOptions,
  executed: readonly ExecutedOp[],
  elapsedMs: number,
  { dumps, saves, assertions }: { dumps: number; saves: number; assertions: number },
  lockdep: StressReport['lockdep'],
  failure: Failure | undefined,
): StressReport {
  const perKind: Record<string, Record<string, number>> = {};
  const perErrno: Record<string, number> = {};
  let slowest: ExecutedOp | undefined;
  for (const e of executed) {
    const k = (perKind[e.op.kind] ??= {});
    k[e.outcome.errno] = (k[e.outcome.errno] ?? 0) + 1;
    perErrno[e.outcome.errno] = (perErrno[e.outcome.errno] ?? 0) + 1;
    if (!slowest || e.outcome.ms > slowest.outcome.ms) slowest = e;
  }
  const ms = executed.map((e) => e.outcome.ms).sort((a, b) => a - b);
  const at = (p: number): number => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]! : 0);
  return { options: o, executed: executed.length, elapsedMs, perKind, perErrno, dumps, saves, assertions, lockdep, slowest, percentiles: { p50: at(0.5), p99: at(0.99) }, failure };
}
