/**
 * The shortest sequence that still breaks a rule: replay candidate sequences one op at a time on a
 * fresh Host in this process (model-target.ts), checking the invariants after every op, and shrink
 * with delta debugging (Zeller's ddmin) until no single op can go, or the time is up.
 */
import { performance } from 'node:perf_hooks';
import type { LockProfile } from '../model/kernel.js';
import type { Topology } from '../model/topology.js';
import type { StateSnapshot } from '../model/state-snapshot.js';
import { checkInvariants, type CheckResult, type RuleName, type Violation } from './invariants.js';
import { ModelTarget } from './model-target.js';
import type { Op } from './ops.js';

export interface ReplayOptions {
  readonly topology?: Topology;
  readonly kernel?: LockProfile;
  readonly scenario?: string;
  /** The rules to check after every op; default: the invariants. */
  readonly check?: (s: StateSnapshot) => CheckResult;
}

export interface ReplayFailure {
  /** Index of the op after which the rule was first broken. */
  readonly index: number;
  readonly violation: Violation;
}

/** Run `ops` one after the other; the first op after which `rule` is broken (any rule if undefined). */
export async function replay(ops: readonly Op[], o: ReplayOptions, rule?: RuleName): Promise<ReplayFailure | undefined> {
  const target = await ModelTarget.create(o);
  const check = o.check ?? checkInvariants;
  for (const [index, op] of ops.entries()) {
    const r = await target.run(op);
    if (r.errno === 'EIO' && (rule === undefined || rule === 'no-eio')) {
      return { index, violation: { rule: 'no-eio', text: `EIO: ${r.detail ?? ''}` } };
    }
    const v = check(target.snapshot()).violations.find((x) => rule === undefined || x.rule === rule);
    if (v) return { index, violation: v };
  }
  return undefined;
}

export interface Minimised {
  readonly ops: readonly Op[];
  readonly violation: Violation;
  /** Replays tried. */
  readonly tries: number;
  /** False when the time ran out before the sequence was 1-minimal. */
  readonly complete: boolean;
}

/**
 * Shrink `ops` (which must break `rule` when replayed) to a sequence from which no single op can be
 * removed without the rule holding again, within `budgetMs`.
 */
export async function minimise(ops: readonly Op[], rule: RuleName, o: ReplayOptions & { budgetMs: number }): Promise<Minimised | undefined> {
  const deadline = performance.now() + o.budgetMs;
  let tries = 0;
  const fails = async (seq: readonly Op[]): Promise<ReplayFailure | undefined> => {
    tries++;
    return replay(seq, o, rule);
  };
  const first = await fails(ops);
  if (!first) return undefined;
  // Everything after the op that broke the rule is irrelevant.
  let best = ops.slice(0, first.index + 1);
  let violation = first.violation;
  let n = 2;
  let complete = false;
  while (best.length >= 2) {
    if (performance.now() > deadline) break;
    const size = Math.ceil(best.length / n);
    const chunks: Op[][] = [];
    for (let i = 0; i < best.length; i += size) chunks.push(best.slice(i, i + size));
    let reduced = false;
    // Complements first: with a long prefix most single chunks cannot fail on their own.
    const candidates = [...chunks.map((_, i) => chunks.filter((__, j) => j !== i).flat()), ...(n > 2 ? chunks : [])];
    for (const c of candidates) {
      if (performance.now() > deadline) break;
      const f = await fails(c);
      if (f) {
        best = c.slice(0, f.index + 1);
        violation = f.violation;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (reduced) continue;
    if (n >= best.length) {
      complete = true;
      break;
    }
    n = Math.min(n * 2, best.length);
  }
  if (best.length < 2) complete = true;
  return { ops: best, violation, tries, complete };
}
