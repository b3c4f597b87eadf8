/**
 * The text of lockdep reports, laid out as kernel/locking/lockdep.c prints them, with our
 * call sites (`fn [op]`) where the kernel prints a stack frame and no kernel ident, lock
 * addresses or backtraces. Pure string building: lockdep.ts decides what to report.
 */
import type { LockSite } from './lockdep.js';

/** One lock as a report prints it: `print_lock` / `print_lock_name` input. */
export interface LockView {
  readonly name: string;
  /** `{+.+.}`-style usage characters, without the braces (`get_usage_chars`). */
  readonly usage: string;
  /** Printed where the kernel prints the lock's address. */
  readonly instance?: string | undefined;
  readonly read: boolean;
  readonly site: LockSite;
}

/** A task and the locks it holds, for `lockdep_print_held_locks`. */
export interface TaskView {
  readonly name: string;
  readonly held: readonly LockView[];
}

const CPU1 = ' '.repeat(31);

const at = (site: LockSite): string => `${site.fn} [${site.op}]`;

/** @kernel lockdep.c print_lock */
export const printLock = (l: LockView): string =>
  `${l.instance === undefined ? '' : `${l.instance} `}(${l.name}){${l.usage}}, at: ${at(l.site)}`;

const lockOp = (l: { read: boolean }, name: string): string => `${l.read ? 'rlock' : 'lock'}(${name});`;

/** @kernel lockdep.c lockdep_print_held_locks */
export function printHeldLocks(t: TaskView): string[] {
  const n = t.held.length;
  if (n === 0) return [`no locks held by ${t.name}.`];
  return [`${n} lock${n > 1 ? 's' : ''} held by ${t.name}:`, ...t.held.map((l, i) => ` #${i}: ${printLock(l)}`)];
}

function header(title: string): string[] {
  const rule = (c: string) => c.repeat(title.length);
  return [rule('='), title, rule('-')];
}

/** One link of "the existing dependency chain": the class and where it was first taken after its parent. */
export interface ChainEntryView {
  readonly name: string;
  readonly usage: string;
  readonly site: LockSite;
}

/**
 * @kernel lockdep.c print_circular_bug, print_circular_bug_header, print_circular_bug_entry,
 * print_circular_lock_scenario
 *
 * `chain[0]` is the class being taken (#0, at the current site), `chain[k]` the held class (#k).
 */
export function circularText(a: {
  task: TaskView;
  taking: LockView;
  held: LockView;
  chain: readonly ChainEntryView[];
}): string {
  const source = a.taking.name;
  const target = a.held.name;
  const parent = a.chain[a.chain.length - 2]?.name ?? source;
  const lines = [
    ...header('WARNING: possible circular locking dependency detected'),
    `${a.task.name} is trying to acquire lock:`,
    `  ${printLock(a.taking)}`,
    '',
    'but task is already holding lock:',
    `  ${printLock(a.held)}`,
    '',
    'which lock already depends on the new lock.',
    '',
    '',
    'the existing dependency chain (in reverse order) is:',
  ];
  for (let i = a.chain.length - 1; i >= 0; i--) {
    const e = a.chain[i]!;
    lines.push('', `-> #${i} (${e.name}){${e.usage}}:`, `       ${at(e.site)}`);
  }
  lines.push('', 'other info that might help us debug this:', '');
  if (parent !== source) lines.push('Chain exists of:', `  ${source} --> ${parent} --> ${target}`, '');
  lines.push(
    ' Possible unsafe locking scenario:',
    '',
    '       CPU0                    CPU1',
    '       ----                    ----',
    `  ${lockOp(a.held, target)}`,
    `${CPU1}lock(${parent});`,
    `${CPU1}${lockOp(a.held, target)}`,
    `  ${lockOp(a.taking, source)}`,
    '',
    ' *** DEADLOCK ***',
    '',
    ...printHeldLocks(a.task),
  );
  return lines.join('\n') + '\n';
}

/** @kernel lockdep.c print_deadlock_bug, print_deadlock_scenario */
export function recursiveText(a: { task: TaskView; taking: LockView; held: LockView }): string {
  return (
    [
      ...header('WARNING: possible recursive locking detected'),
      `${a.task.name} is trying to acquire lock:`,
      `  ${printLock(a.taking)}`,
      '',
      'but task is already holding lock:',
      `  ${printLock(a.held)}`,
      '',
      'other info that might help us debug this:',
      ' Possible unsafe locking scenario:',
      '',
      '       CPU0',
      '       ----',
      `  ${lockOp(a.held, a.held.name)}`,
      `  ${lockOp(a.taking, a.taking.name)}`,
      '',
      ' *** DEADLOCK ***',
      '',
      ' May be due to missing lock nesting notation',
      '',
      ...printHeldLocks(a.task),
    ].join('\n') + '\n'
  );
}

/** One hop of a wait cycle: `waiter` waits for `wanted`, which `holder` holds (`held`: where it took it). */
export interface WaitStepView {
  readonly waiter: string;
  readonly wanted: LockView;
  readonly holder: string;
  readonly held: LockView | undefined;
}

/**
 * A real deadlock found in the wait-for graph. Lockdep has no such report (the kernel just
 * hangs, and the hung-task detector speaks later); this one keeps lockdep's layout so it reads
 * like its neighbours. `steps[0]` is the task that is about to wait; the last holder is that task.
 */
export function deadlockText(a: { steps: readonly WaitStepView[]; tasks: readonly TaskView[] }): string {
  const first = a.steps[0]!;
  const lines = [
    ...header('WARNING: circular lock wait: a real deadlock'),
    `${first.waiter} is trying to acquire lock:`,
    `  ${printLock(first.wanted)}`,
    '',
    a.steps.length === 1 && first.holder === first.waiter
      ? 'but task is already holding that very lock:'
      : 'but the tasks already wait for each other:',
  ];
  for (const s of a.steps) {
    lines.push('', `${s.waiter} waits for (${s.wanted.name}), held by ${s.holder}:`);
    lines.push(s.held === undefined ? `  (${s.wanted.name}) [holder's site unknown]` : `  ${printLock(s.held)}`);
  }
  lines.push('', 'other info that might help us debug this:', '');
  if (a.steps.length === 2) {
    const [s0, s1] = a.steps as [WaitStepView, WaitStepView];
    const t0 = s0.waiter.padEnd(23);
    lines.push(
      ' Circular wait:',
      '',
      `       ${t0} ${s1.waiter}`,
      '       ----                    ----',
      `  ${lockOp(s1.held ?? s1.wanted, s1.wanted.name)}`,
      `${CPU1}${lockOp(s0.held ?? s0.wanted, s0.wanted.name)}`,
      `${CPU1}${lockOp(s1.wanted, s1.wanted.name)}`,
      `  ${lockOp(s0.wanted, s0.wanted.name)}`,
      '',
      ' *** DEADLOCK ***',
      '',
    );
  } else {
    lines.push(' Circular wait:', '', `  ${[...a.steps.map((s) => s.waiter), first.waiter].join(' --> ')}`, '');
    lines.push(' *** DEADLOCK ***', '');
  }
  lines.push(`${first.waiter} does not wait: the acquisition fails with -EDEADLK.`, '');
  for (const t of a.tasks) lines.push(...printHeldLocks(t));
  return lines.join('\n') + '\n';
}
