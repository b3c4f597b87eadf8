/**
 * Run a scenario's workload on a fresh host, in the flawed design (the scenario selected) or the
 * shipped one, and collect what lockdep reported and what each client got back.
 *
 * In the flawed design the clients meet: each stops at the scenario's window (where the historic
 * code could sleep holding its locks) until every client is there or done, then they go on one at
 * a time in the scenario's order, each until it blocks or ends. So the interleaving that deadlocks
 * happens every time, and the last client closes the wait cycle: it fails with EDEADLK, lockdep
 * reports the cycle, the others complete. In the shipped design the same clients just run
 * concurrently. Everything here is promise-driven (no timers), so a run is deterministic.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Errno, KernelError } from '../errno.js';
import { Host } from '../host.js';
import type { LockProfile } from '../kernel.js';
import type { LockdepReport } from '../lock/lockdep.js';
import { defaultTopologyFile } from '../default-topology.js';
import { parseTopology } from '../topology.js';
import { flawProfile, isScenarioName } from './flaw.js';
import { kvmPvCommand, vcpuPqap } from './kvm-paths.js';
import { getScenario } from './registry.js';
import { describeOp, type ClientOp, type Scenario } from './scenario.js';

export type Design = 'flawed' | 'fixed';

/** How a client's writes reach sysfs: the attribute tables live outside the model (sysfs/). */
export interface ScenarioFrontend {
  /** One write(2) of `value` to the file `path` of the host's tree; 0 or the errno. */
  write(host: Host, path: string, value: string): Promise<Errno | 0>;
}

export interface RunOptions {
  readonly design: Design;
  /** The fixed design's profile (default 'trylock'); the flawed design uses the one its flaw sits on. */
  readonly profile?: LockProfile;
  readonly frontend: ScenarioFrontend;
}

export interface OpResult {
  /** The op as a command (describeOp). */
  readonly op: string;
  /** 0 or the errno. */
  readonly errno: Errno | 0;
  /** 'OK' or the errno's name, e.g. 'EDEADLK'. */
  readonly answer: string;
  /** vcpu-pqap: the AP response code the guest saw. */
  readonly response?: number;
}

export interface ClientResult {
  readonly name: string;
  readonly results: readonly OpResult[];
}

export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly design: Design;
  readonly profile: LockProfile;
  /** The host the run used, for a closer look (events, lockdep.summary()). */
  readonly host: Host;
  /** Every lockdep report of the run, setup included. */
  readonly reports: readonly LockdepReport[];
  /** 'circular' and 'recursive' reports: orderings that can deadlock. */
  readonly inversions: readonly LockdepReport[];
  /** 'deadlock' reports: wait cycles that happened and were broken with EDEADLK. */
  readonly deadlocks: readonly LockdepReport[];
  readonly clients: readonly ClientResult[];
  /** The inversion that matches scenario.expected (taking, held and chain), if it was reported. */
  readonly expectedReport: LockdepReport | undefined;
  /** A readable account: the answers, then every report's text. */
  readonly text: string;
}

/**
 * Throws KernelError(EINVAL) for an unknown scenario or a profile its flaw cannot sit on, and a
 * plain Error when a setup step fails (a bug in the scenario or the model).
 */
export async function runScenario(name: string, opts: RunOptions): Promise<ScenarioRun> {
  const scenario = getScenario(name);
  if (!scenario || !isScenarioName(name)) throw new KernelError(Errno.EINVAL, `no scenario '${name}'`);
  const flawed = opts.design === 'flawed';
  const needs = flawProfile(scenario.name);
  if (flawed && needs && opts.profile && opts.profile !== needs) {
    throw new KernelError(Errno.EINVAL, `scenario '${name}' is a flaw of the ${needs} profile, not of ${opts.profile}`);
  }
  const profile = (flawed ? needs : undefined) ?? opts.profile ?? 'trylock';
  const meeting = new Meeting(scenario.clients.map((c) => c.name));
  const host = await Host.fromTopology(parseTopology({ ...defaultTopologyFile, ...scenario.topology }), {
    kernel: profile,
    ...(flawed && { scenario: scenario.name, scenarioWindow: () => meeting.window() }),
  });
  for (const op of scenario.setup) {
    const r = await runOp(host, opts.frontend, op);
    if (r.errno !== 0) throw new Error(`scenario ${name} (${opts.design}): setup step '${r.op}' failed with ${r.answer}`);
  }
  meeting.arm();
  const clients = await Promise.all(scenario.clients.map((c) => meeting.run(c.name, () => runClient(host, opts.frontend, c.ops))));
  const results = scenario.clients.map((c, i) => ({ name: c.name, results: clients[i]! }));
  const reports = [...host.lockdep.reports];
  const inversions = reports.filter((r) => r.kind !== 'deadlock');
  const deadlocks = reports.filter((r) => r.kind === 'deadlock');
  const expectedReport = inversions.find((r) => matchesExpected(scenario, r));
  return {
    scenario,
    design: opts.design,
    profile,
    host,
    reports,
    inversions,
    deadlocks,
    clients: results,
    expectedReport,
    text: runText(scenario, opts.design, profile, results, reports),
  };
}

/** The report's chain, as lock classes from `taking` to `held`. */
export const chainClasses = (r: LockdepReport): string[] => (r.chain.length ? [r.chain[0]!.from, ...r.chain.map((l) => l.to)] : []);

function matchesExpected(s: Scenario, r: LockdepReport): boolean {
  const e = s.expected;
  return r.kind === 'circular' && r.taking === e.taking && r.held === e.held && chainClasses(r).join('\n') === e.chain.join('\n');
}

async function runClient(host: Host, frontend: ScenarioFrontend, ops: readonly ClientOp[]): Promise<OpResult[]> {
  const out: OpResult[] = [];
  for (const op of ops) out.push(await runOp(host, frontend, op));
  return out;
}

/** One op; a KernelError is an answer, anything else a bug that propagates. */
async function runOp(host: Host, frontend: ScenarioFrontend, op: ClientOp): Promise<OpResult> {
  const text = describeOp(op);
  const answer = (errno: Errno | 0, response?: number): OpResult => ({
    op: text,
    errno,
    answer: errno === 0 ? 'OK' : Errno[errno],
    ...(response !== undefined && { response }),
  });
  try {
    switch (op.op) {
      case 'write':
        return answer(await frontend.write(host, op.path, `${op.value}\n`));
      case 'guest-attach':
        await host.attachGuest(op.uuid, op.guest);
        return answer(0);
      case 'guest-detach':
        await host.detachGuest(op.uuid);
        return answer(0);
      case 'vcpu-pqap':
        return answer(0, await vcpuPqap(host.matrixDev, guestOf(host, op.guest), op.apqn, op.vcpu === undefined ? {} : { vcpu: op.vcpu }));
      case 'kvm-pv':
        await kvmPvCommand(host.k, guestOf(host, op.guest));
        return answer(0);
    }
  } catch (e) {
    if (e instanceof KernelError) return answer(e.errno);
    throw e;
  }
}

function guestOf(host: Host, name: string) {
  const kvm = host.kvms.get(name);
  if (!kvm) throw new KernelError(Errno.ENODEV, `no guest ${name}`);
  return kvm;
}

function runText(s: Scenario, design: Design, profile: LockProfile, clients: readonly ClientResult[], reports: readonly LockdepReport[]): string {
  const lines = [`scenario ${s.name}, ${design} design (${profile} profile)`];
  for (const c of clients) for (const r of c.results) lines.push(`  ${c.name}: ${r.op} -> ${r.answer}${r.response === undefined ? '' : ` (response 0x${r.response.toString(16).padStart(2, '0')})`}`);
  const inv = reports.filter((r) => r.kind !== 'deadlock').length;
  lines.push(`  lockdep: ${inv} inversion${inv === 1 ? '' : 's'}, ${reports.length - inv} deadlock${reports.length - inv === 1 ? '' : 's'} broken`);
  for (const r of reports) lines.push('', r.text.trimEnd());
  return lines.join('\n') + '\n';
}

/** Microtask turns to let a released client run until it blocks, ends or reaches another window. */
const SETTLE_TURNS = 200;
/** Microtask turns after which a meeting starts without a client that never came (blocked elsewhere). */
const MEETING_PATIENCE = 5000;

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

/**
 * The clients' meeting point in the flawed design: scenario windows park the calling client until
 * every client is parked or done, then release them one by one in client order. One meeting per
 * run; windows before arm() (setup) and after the meeting pass straight through.
 */
class Meeting {
  private readonly als = new AsyncLocalStorage<string>();
  private readonly parked = new Map<string, () => void>();
  private readonly done = new Set<string>();
  private armed = false;
  private started = false;

  constructor(private readonly order: readonly string[]) {}

  arm(): void {
    this.armed = true;
  }

  /** Run `fn` as client `name`. */
  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.als.run(name, fn);
    } finally {
      this.done.add(name);
      this.check();
    }
  }

  async window(): Promise<void> {
    const client = this.als.getStore();
    if (!this.armed || this.started || client === undefined || this.parked.has(client)) return;
    const parked = new Promise<void>((resolve) => this.parked.set(client, resolve));
    this.check();
    if (!this.started) void this.patience();
    await parked;
  }

  private check(): void {
    if (!this.armed || this.started || this.parked.size === 0) return;
    if (this.order.every((c) => this.parked.has(c) || this.done.has(c))) void this.start();
  }

  private async patience(): Promise<void> {
    await turns(MEETING_PATIENCE);
    if (!this.started) void this.start();
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const c of this.order) {
      const resume = this.parked.get(c);
      if (!resume) continue;
      resume();
      await turns(SETTLE_TURNS);
    }
  }
}
