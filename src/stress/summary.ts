/**
 * The stress run's report as text: operations per kind with their results, results per errno, the
 * invariant checks, the lock-order checker, latencies and the slowest operation; on failure the
 * rule, the seed and the shortest sequence that breaks it.
 */
import { describe, OP_KINDS } from './ops.js';
import { RULES } from './invariants.js';
import type { ExecutedOp, StressReport } from './run.js';

const n = (x: number): string => x.toLocaleString('en-US');
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));

/** `OK 3100, EBUSY 912`, OK first, then by count. */
function results(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort(([a, x], [b, y]) => (a === 'OK' ? -1 : b === 'OK' ? 1 : y - x || a.localeCompare(b)))
    .map(([errno, c]) => `${errno} ${n(c)}`)
    .join(', ');
}

function opLine(e: ExecutedOp): string {
  const target = e.op.type === 'write' ? `${e.op.path} <- ${JSON.stringify(e.op.data)}` : `${e.op.method} ${JSON.stringify(e.op.params)}`;
  return `${e.op.kind}: ${target} = ${e.outcome.errno}${e.outcome.detail ? ` (${e.outcome.detail.split('\n')[0]})` : ''}`;
}

/** The command line that runs the same stress again. */
export function rerunCommand(r: StressReport): string {
  const o = r.options;
  const args = [`--ops ${o.ops}`, `--clients ${o.clients}`, `--seed ${o.seed}`, `--check-every ${o.checkEvery}`];
  if (o.kernel) args.push(`--kernel ${o.kernel}`);
  if (o.topologyFile) args.push(`--topology ${o.topologyFile}`);
  if (o.scenario) args.push(`--scenario ${o.scenario}`);
  return `npm run stress -- ${args.join(' ')}`;
}

export function renderReport(r: StressReport): string {
  const o = r.options;
  const out: string[] = [];
  const secs = r.elapsedMs / 1000;
  out.push(`apsysfs stress: ${r.failure ? 'FAILED' : 'passed'}`);
  out.push(`  ${n(r.executed)} operations by ${o.clients} client(s) in ${secs.toFixed(1)} s (${n(Math.round(r.executed / Math.max(secs, 0.001)))} ops/s), seed ${o.seed}, kernel ${o.kernel ?? 'trylock'}${o.scenario ? `, flawed scenario ${o.scenario}` : ''}`);
  out.push('operations per kind:');
  const width = Math.max(...OP_KINDS.map((k) => k.length));
  for (const kind of OP_KINDS) {
    const counts = r.perKind[kind];
    if (!counts) continue;
    const total = Object.values(counts).reduce((s, c) => s + c, 0);
    out.push(`  ${kind.padEnd(width)} ${n(total).padStart(8)}  ${results(counts)}`);
  }
  out.push(`results per errno: ${results(r.perErrno)}`);
  out.push(`invariant checks: ${n(r.dumps)} state dumps, ${n(r.assertions)} assertions (${Object.keys(RULES).length} rules), ${r.failure && r.failure.rule in RULES ? 1 : 0} violations`);
  const lost = r.failure?.rule === 'nothing-lost';
  out.push(`nothing lost: the state saved and booted again ${r.saves} times, ${lost ? 'the last one differed' : 'the same each time'}`);
  out.push(`lock-order checker: ${r.lockdep.reports} reports, ${r.lockdep.inversions} inversions`);
  out.push(`latency: median ${ms(r.percentiles.p50)} ms, p99 ${ms(r.percentiles.p99)} ms, bound ${o.boundMs} ms`);
  if (r.slowest) out.push(`slowest operation: ${ms(r.slowest.outcome.ms)} ms, client ${r.slowest.client} op #${r.slowest.seq}: ${opLine(r.slowest)}`);
  if (r.failure) out.push('', ...renderFailure(r));
  return `${out.join('\n')}\n`;
}

function renderFailure(r: StressReport): string[] {
  const f = r.failure!;
  const out = [`FAILED: ${f.rule}${f.rule in RULES ? ` (${RULES[f.rule as keyof typeof RULES]})` : ''}`, `  ${f.text}`, `  seed ${r.options.seed}; run it again: ${rerunCommand(r)}`];
  if (f.op) out.push(`  the operation: client ${f.op.client} op #${f.op.seq}: ${opLine(f.op)}`);
  if (f.minimal) {
    const m = f.minimal;
    out.push(
      `  shortest sequence found: ${m.ops.length} operation(s)${m.complete ? '' : ' (search time ran out; maybe not the shortest)'}, from ${m.tries} replays one op at a time on a fresh machine.`,
      `  Replayed on a tree mounted with the same topology at $SYS, the last one breaks the rule:`,
      ...m.ops.map((op, i) => `    ${String(i + 1).padStart(3)}  ${describe(op)}`),
      `  then: ${m.violation.text}`,
    );
  } else if (f.round) {
    out.push(`  no sequential replay breaks it: it needs the concurrency. The round that broke it, per client:`);
    for (const e of f.round) out.push(`    client ${e.client} #${e.seq}  ${describe(e.op)}  = ${e.outcome.errno}`);
  }
  return out;
}
