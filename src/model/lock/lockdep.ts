/**
 * A run-time lock validator after the kernel's lockdep (kernel/locking/lockdep.c), plus a
 * wait-for graph that turns a real deadlock into EDEADLK instead of a hung shell.
 *
 * - Dependencies are between lock classes. A blocking acquisition of class L while holding H
 *   records H → L at the attempt, before waiting (lock_acquire). A new edge whose reverse path
 *   already exists is a 'circular' report; taking a class already held is a 'recursive' report.
 *   A trylock adds no edge into the new lock (validate_chain: "trylock can be done in any
 *   order"), but later acquisitions under it get edges from it. README decision 2 relies on this.
 * - Each lock instance knows its holders and each task what it waits for. A task about to wait
 *   for a lock whose holders (transitively, through what they wait for) wait for this task
 *   does not wait: it records a 'deadlock' report and fails with EDEADLK.
 *
 * Tasks are tracked with AsyncLocalStorage: `runTask` is one syscall or kthread.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { log } from '../../log.js';
import { Errno, KernelError } from '../errno.js';
import {
  circularText,
  deadlockText,
  recursiveText,
  type ChainEntryView,
  type LockView,
  type TaskView,
  type WaitStepView,
} from './lockdep-report.js';

/** Where a lock is taken: the user-visible operation and the model function. */
export interface LockSite {
  /** e.g. "write assign_adapter (uuid)" */
  readonly op: string;
  /** e.g. "get_update_locks_for_mdev" */
  readonly fn: string;
}

export type LockdepReportKind = 'circular' | 'recursive' | 'deadlock';

/** One dependency A → B: B was taken while A was held; `first` is where B was taken the first time. */
export interface LockdepLink {
  readonly from: string;
  readonly to: string;
  readonly first: LockSite;
}

export interface LockdepReport {
  readonly kind: LockdepReportKind;
  /** The lock class being acquired. */
  readonly taking: string;
  /** The lock class held that closes the cycle ('recursive': the same class as `taking`). */
  readonly held: string;
  /**
   * 'circular': the existing dependency path from `taking` to `held`, in forward order.
   * 'recursive': empty.
   * 'deadlock': one link per task in the wait cycle: `from` is the class it holds that the
   * previous task waits for, `to` the class it waits for, `first` where it waits.
   */
  readonly chain: readonly LockdepLink[];
  /** Multi-line report in lockdep's layout. */
  readonly text: string;
  /** The task that hit it, as `name/id` (lockdep's `comm/pid`). */
  readonly task: string;
  /** 'deadlock' only: the tasks of the wait cycle, starting with `task`. */
  readonly tasks?: readonly string[];
}

export interface LockdepEdge extends LockdepLink {
  /** How many acquisitions exercised this dependency. */
  readonly count: number;
  /** The task that first recorded it, and the classes it held then. */
  readonly task: string;
  readonly heldAtFirst: readonly string[];
  /** True for a dependency that closed a cycle: reported once, kept out of the graph. */
  readonly inverted: boolean;
}

/** A lock class (`struct lock_class`): every lock initialised at one place shares one. */
export class LockClass {
  /** locks_after: the classes taken while this one was held. */
  readonly after = new Map<LockClass, Dependency>();
  usedWrite = false;
  usedRead = false;
  recursiveReported = false;
  /** Dedupes held classes within one acquisition. */
  stamp = 0;

  constructor(readonly name: string) {}

  /** get_usage_chars, process context only: {hardirq, hardirq-read, softirq, softirq-read}. */
  usage(): string {
    const w = this.usedWrite ? '+' : '.';
    const r = this.usedRead ? '+' : '.';
    return w + r + w + r;
  }
}

interface Dependency {
  readonly from: LockClass;
  readonly to: LockClass;
  readonly first: LockSite;
  readonly task: string;
  readonly heldAtFirst: readonly string[];
  readonly inverted: boolean;
  count: number;
}

/** What lockdep needs from a lock instance (KernelMutex, KernelRwsem). */
export interface TrackedLock {
  readonly lockClass: LockClass;
  readonly instance?: string | undefined;
  /** The tasks that hold it now; empty while it is being handed to a waiter. */
  holders(): readonly LockTask[];
}

export interface HeldLock {
  readonly lock: TrackedLock;
  readonly site: LockSite;
  readonly read: boolean;
  readonly trylock: boolean;
}

export interface Waiting {
  readonly lock: TrackedLock;
  readonly site: LockSite;
  readonly read: boolean;
}

/** One logical task (`struct task_struct` with its `held_locks`). */
export class LockTask {
  readonly held: HeldLock[] = [];
  /** The lock this task blocks on; cleared when it is granted. */
  waiting: Waiting | undefined;

  constructor(
    readonly id: number,
    readonly name: string,
  ) {}

  toString(): string {
    return `${this.name}/${this.id}`;
  }

  heldEntry(lock: TrackedLock): HeldLock | undefined {
    for (let i = this.held.length - 1; i >= 0; i--) if (this.held[i]!.lock === lock) return this.held[i];
    return undefined;
  }
}

export interface TaskInfo {
  readonly id: number;
  readonly name: string;
  readonly held: readonly string[];
}

/** Reports kept for `reports`/`summary()`; 'deadlock' reports are not deduplicated, so cap them. */
const MAX_REPORTS = 1000;

export class Lockdep {
  private readonly als = new AsyncLocalStorage<LockTask>();
  private readonly classes = new Map<string, LockClass>();
  private readonly live = new Set<LockTask>();
  private readonly reportList: LockdepReport[] = [];
  private readonly onReport: ((r: LockdepReport) => void) | undefined;
  private lastTaskId = 0;
  private seq = 0;
  private dropped = 0;

  private readonly recordFrom: 'every-held-lock' | 'previous-lock';

  /**
   * @param opts.recordFrom 'every-held-lock' (default): a blocking acquisition records H → L for
   *   every class H the task holds, so a report's chain takes the shortest way. 'previous-lock':
   *   only what the kernel records (check_prevs_add: from the most recent held lock, and from the
   *   trylocks above it), so the "existing dependency chain" is the one the kernel would print,
   *   and one acquisition yields at most one 'circular' report. The cycles found are the same.
   */
  constructor(opts?: { onReport?: (r: LockdepReport) => void; recordFrom?: 'every-held-lock' | 'previous-lock' }) {
    this.onReport = opts?.onReport;
    this.recordFrom = opts?.recordFrom ?? 'every-held-lock';
  }

  /**
   * Run fn as one logical task (a syscall/kthread): held locks are tracked per task.
   * A nested runTask is a new, independent task (like a worker).
   *
   * Throws a plain Error (a bug) if fn returns or throws with locks still held, as lockdep's
   * "lock held when returning to user space!"; the original error, if any, is its `cause`.
   */
  async runTask<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const task = new LockTask(++this.lastTaskId, name);
    this.live.add(task);
    let result: T;
    try {
      result = await this.als.run(task, fn);
    } catch (e) {
      this.exitTask(task, e);
      throw e;
    }
    this.exitTask(task, undefined);
    return result;
  }

  /** runTask for work that never waits: `fn` runs and the task ends in this call. */
  runTaskSync<T>(name: string, fn: () => T): T {
    const task = new LockTask(++this.lastTaskId, name);
    this.live.add(task);
    let result: T;
    try {
      result = this.als.run(task, fn);
    } catch (e) {
      this.exitTask(task, e);
      throw e;
    }
    this.exitTask(task, undefined);
    return result;
  }

  /**
   * Stop tracking: an AsyncLocalStorage stays registered with Node (and slows every later promise)
   * until disabled, so a host that is done with its checker must say so. Tasks run afterwards
   * are no longer tracked.
   */
  close(): void {
    this.als.disable();
  }

  currentTask(): TaskInfo | undefined {
    const t = this.als.getStore();
    return t && { id: t.id, name: t.name, held: t.held.map((h) => h.lock.lockClass.name) };
  }

  get reports(): readonly LockdepReport[] {
    return this.reportList;
  }

  edges(): readonly LockdepEdge[] {
    const out: LockdepEdge[] = [];
    for (const c of this.classes.values())
      for (const d of c.after.values())
        out.push({
          from: d.from.name,
          to: d.to.name,
          first: d.first,
          count: d.count,
          task: d.task,
          heldAtFirst: d.heldAtFirst,
          inverted: d.inverted,
        });
    return out;
  }

  /** Human-readable state for `apsysfs ctl locks`. */
  summary(): string {
    const lines = [`lock classes (${this.classes.size}):`];
    for (const c of this.classes.values()) lines.push(`  ${c.name} {${c.usage()}}`);
    const edges = this.edges();
    lines.push('', `dependencies (${edges.length}):`);
    for (const e of edges) {
      const held = e.heldAtFirst.join(', ');
      lines.push(
        `  ${e.from} -> ${e.to}${e.inverted ? ' (inverted, reported)' : ''}  x${e.count}`,
        `      first: ${e.first.fn} [${e.first.op}] by ${e.task} holding ${held}`,
      );
    }
    const busy = [...this.live].filter((t) => t.held.length > 0 || t.waiting);
    lines.push('', `tasks holding or waiting (${busy.length}):`);
    for (const t of busy) {
      const held = t.held.map((h) => lockName(h.lock)).join(', ') || 'nothing';
      lines.push(`  ${t} holds ${held}${t.waiting ? `; waits for ${lockName(t.waiting.lock)}` : ''}`);
    }
    const n = this.reportList.length + this.dropped;
    lines.push('', `reports (${n}${this.dropped ? `, ${this.dropped} not kept` : ''}):`);
    this.reportList.forEach((r, i) =>
      lines.push(`  #${i + 1} ${r.kind}: ${r.task} taking ${r.taking} holding ${r.held}`),
    );
    for (const r of this.reportList) lines.push('', r.text.trimEnd());
    return lines.join('\n') + '\n';
  }

  toJSON(): unknown {
    return {
      classes: [...this.classes.values()].map((c) => ({ name: c.name, usage: c.usage() })),
      edges: this.edges(),
      tasks: [...this.live].map((t) => ({
        id: t.id,
        name: t.name,
        held: t.held.map((h) => ({ class: h.lock.lockClass.name, instance: h.lock.instance, site: h.site })),
        waiting: t.waiting && { class: t.waiting.lock.lockClass.name, instance: t.waiting.lock.instance },
      })),
      reports: this.reportList,
      droppedReports: this.dropped,
    };
  }

  // ---- for KernelMutex / KernelRwsem ----

  /** The class object for a name; locks look it up once, at construction. */
  lockClass(name: string): LockClass {
    let c = this.classes.get(name);
    if (!c) this.classes.set(name, (c = new LockClass(name)));
    return c;
  }

  /** The current task, if any. */
  current(): LockTask | undefined {
    return this.als.getStore();
  }

  /** The current task; a plain Error (a bug) outside runTask. */
  task(what: string, lock: TrackedLock): LockTask {
    const t = this.als.getStore();
    if (t) return t;
    throw new Error(`${what}(${lockName(lock)}) outside a task: lock operations must run inside Lockdep.runTask()`);
  }

  /**
   * lock_acquire, before any waiting: marks usage and, unless it is a trylock, checks for
   * recursion and records H → L for every class H the task holds.
   */
  acquire(task: LockTask, lock: TrackedLock, site: LockSite, how: { read: boolean; trylock: boolean }): void {
    const next = lock.lockClass;
    if (how.read) next.usedRead = true;
    else next.usedWrite = true;
    if (how.trylock || task.held.length === 0) return;
    const stamp = ++this.seq;
    if (this.recordFrom === 'previous-lock') {
      this.checkPrevsAdd(task, lock, site, how.read, stamp);
      return;
    }
    for (const prev of task.held) {
      const from = prev.lock.lockClass;
      if (from.stamp === stamp) continue;
      from.stamp = stamp;
      if (from === next) this.recursive(task, prev, lock, site, how.read);
      else this.addDependency(task, prev, lock, site, how.read);
    }
  }

  /**
   * check_deadlock over every held lock, then check_prevs_add: walk down from the most recent held
   * lock, stop after the first that is not a trylock; the first inversion found ends the walk.
   */
  private checkPrevsAdd(task: LockTask, lock: TrackedLock, site: LockSite, read: boolean, stamp: number): void {
    const next = lock.lockClass;
    const same = task.held.find((h) => h.lock.lockClass === next);
    if (same) {
      this.recursive(task, same, lock, site, read);
      return;
    }
    for (let i = task.held.length - 1; i >= 0; i--) {
      const prev = task.held[i]!;
      const from = prev.lock.lockClass;
      if (from.stamp !== stamp) {
        from.stamp = stamp;
        if (this.addDependency(task, prev, lock, site, read)) return;
      }
      if (!prev.trylock) return;
    }
  }

  /**
   * About to block on `lock`: walk the wait-for graph from its holders. If it leads back to
   * this task, record a 'deadlock' report and throw; otherwise remember what the task waits for.
   *
   * Throws:
   * - EDEADLK: waiting would never end.
   */
  wait(task: LockTask, lock: TrackedLock, site: LockSite, read: boolean): void {
    if (task.waiting)
      throw new Error(
        `${task} waits for ${lockName(task.waiting.lock)} and for ${lockName(lock)} at once: ` +
          'one task waits for one lock; run concurrent work in its own runTask()',
      );
    const want: Waiting = { lock, site, read };
    const cycle = findWaitCycle(task, want);
    if (cycle) {
      const r = this.deadlock(cycle);
      throw new KernelError(Errno.EDEADLK, `${task}: lock wait cycle ${r.tasks!.join(' -> ')} at ${site.fn}`);
    }
    task.waiting = want;
  }

  /** The lock was granted: the task holds it and waits no more. */
  acquired(task: LockTask, lock: TrackedLock, site: LockSite, how: { read: boolean; trylock: boolean }): void {
    task.waiting = undefined;
    task.held.push({ lock, site, read: how.read, trylock: how.trylock });
  }

  /** lock_release; a plain Error (a bug) if the task does not hold it. */
  release(task: LockTask, lock: TrackedLock, what: string): void {
    for (let i = task.held.length - 1; i >= 0; i--)
      if (task.held[i]!.lock === lock) {
        task.held.splice(i, 1);
        return;
      }
    const holders = lock.holders();
    throw new Error(
      `${what}(${lockName(lock)}) by ${task}, which does not hold it` +
        (holders.length ? ` (held by ${holders.join(', ')})` : ' (not held)'),
    );
  }

  // ---- internals ----

  private exitTask(task: LockTask, cause: unknown): void {
    this.live.delete(task);
    if (task.held.length === 0) return;
    const held = task.held.map((h) => `${lockName(h.lock)} at ${h.site.fn} [${h.site.op}]`).join(', ');
    const msg = `lock held when returning to user space: ${task} still holds ${held}`;
    log.lock('%s', msg);
    throw cause === undefined ? new Error(msg) : new Error(msg, { cause });
  }

  /**
   * check_prev_add, minus irq states: the O(1) path is an existing dependency. Returns true when
   * the dependency closed a cycle (and was reported).
   */
  private addDependency(task: LockTask, prev: HeldLock, lock: TrackedLock, site: LockSite, read: boolean): boolean {
    const from = prev.lock.lockClass;
    const to = lock.lockClass;
    const known = from.after.get(to);
    if (known) {
      known.count++;
      return false;
    }
    const path = shortestPath(to, from);
    const heldAtFirst = task.held.map((h) => h.lock.lockClass.name);
    const inverted = path !== undefined;
    from.after.set(to, { from, to, first: site, task: String(task), heldAtFirst, inverted, count: 1 });
    if (!path) {
      log.lock('new dependency %s -> %s at %s [%s]', from.name, to.name, site.fn, site.op);
      return false;
    }
    const taking = view(lock, site, read);
    const chain: ChainEntryView[] = [{ name: to.name, usage: to.usage(), site }];
    for (const d of path) chain.push({ name: d.to.name, usage: d.to.usage(), site: d.first });
    this.report({
      kind: 'circular',
      taking: to.name,
      held: from.name,
      chain: path.map((d) => ({ from: d.from.name, to: d.to.name, first: d.first })),
      text: circularText({ task: taskView(task), taking, held: view(prev.lock, prev.site, prev.read), chain }),
      task: String(task),
    });
    return true;
  }

  /** check_deadlock: the same class again (this instance or another one). */
  private recursive(task: LockTask, prev: HeldLock, lock: TrackedLock, site: LockSite, read: boolean): void {
    const cls = lock.lockClass;
    if (cls.recursiveReported) return;
    cls.recursiveReported = true;
    this.report({
      kind: 'recursive',
      taking: cls.name,
      held: cls.name,
      chain: [],
      text: recursiveText({
        task: taskView(task),
        taking: view(lock, site, read),
        held: view(prev.lock, prev.site, prev.read),
      }),
      task: String(task),
    });
  }

  private deadlock(cycle: readonly WaitStep[]): LockdepReport {
    const first = cycle[0]!;
    const last = cycle[cycle.length - 1]!;
    const steps: WaitStepView[] = cycle.map((s) => {
      const held = s.holder.heldEntry(s.want.lock);
      return {
        waiter: String(s.waiter),
        wanted: view(s.want.lock, s.want.site, s.want.read),
        holder: String(s.holder),
        held: held && view(held.lock, held.site, held.read),
      };
    });
    // Each task in the cycle holds what the previous one waits for.
    const chain = cycle.map((s, i) => ({
      from: (cycle[i - 1] ?? last).want.lock.lockClass.name,
      to: s.want.lock.lockClass.name,
      first: s.want.site,
    }));
    const report: LockdepReport = {
      kind: 'deadlock',
      taking: first.want.lock.lockClass.name,
      held: last.want.lock.lockClass.name,
      chain,
      text: deadlockText({ steps, tasks: cycle.map((s) => taskView(s.waiter)) }),
      task: String(first.waiter),
      tasks: cycle.map((s) => String(s.waiter)),
    };
    this.report(report);
    return report;
  }

  private report(r: LockdepReport): void {
    if (this.reportList.length < MAX_REPORTS) this.reportList.push(r);
    else this.dropped++;
    log.lock('lockdep %s report by %s: taking %s holding %s', r.kind, r.task, r.taking, r.held);
    this.onReport?.(r);
  }
}

interface WaitStep {
  readonly waiter: LockTask;
  readonly want: Waiting;
  readonly holder: LockTask;
}

/** DFS over "waits for a lock held by"; a task waits for at most one lock, a rwsem has many holders. */
function findWaitCycle(task: LockTask, want: Waiting): WaitStep[] | undefined {
  const seen = new Set<LockTask>();
  const path: WaitStep[] = [];
  const visit = (waiter: LockTask, w: Waiting): boolean => {
    for (const holder of w.lock.holders()) {
      path.push({ waiter, want: w, holder });
      if (holder === task) return true;
      if (holder.waiting && !seen.has(holder)) {
        seen.add(holder);
        if (visit(holder, holder.waiting)) return true;
      }
      path.pop();
    }
    return false;
  };
  return visit(task, want) ? path : undefined;
}

/** check_noncircular: BFS from `start` over non-inverted dependencies; the path to `goal`, or undefined. */
function shortestPath(start: LockClass, goal: LockClass): Dependency[] | undefined {
  const parent = new Map<LockClass, Dependency | undefined>([[start, undefined]]);
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const d of queue[i]!.after.values()) {
      if (d.inverted || parent.has(d.to)) continue;
      parent.set(d.to, d);
      if (d.to === goal) {
        const path: Dependency[] = [];
        for (let e: Dependency | undefined = d; e; e = parent.get(e.from)) path.unshift(e);
        return path;
      }
      queue.push(d.to);
    }
  }
  return undefined;
}

const lockName = (l: TrackedLock): string =>
  l.instance === undefined ? l.lockClass.name : `${l.lockClass.name} (${l.instance})`;

const view = (lock: TrackedLock, site: LockSite, read: boolean): LockView => ({
  name: lock.lockClass.name,
  usage: lock.lockClass.usage(),
  instance: lock.instance,
  read,
  site,
});

const taskView = (t: LockTask): TaskView => ({
  name: String(t),
  held: t.held.map((h) => view(h.lock, h.site, h.read)),
});
