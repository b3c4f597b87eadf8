/**
 * `npm run stress -- [--ops N] [--clients N] [--seed S] ...`: the concurrent stress run
 * (docs/stress.md). Exit status 0 when every rule held, 1 when one broke, 2 for a bad command line.
 * Sets process.exitCode and returns: only src/cli exits.
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { LockProfile } from '../model/kernel.js';
import { runStress, type StressOptions } from './run.js';
import { renderReport } from './summary.js';

export const STRESS_USAGE = `usage: npm run stress -- [OPTIONS]      (or: node dist/src/stress/main.js [OPTIONS])

Mount a tree, start N client processes that each run a random, seeded mix of every state-changing
operation through the mount and the control channel, and check the invariants between steps.

options:
  --ops N             operations in all, over all clients (default 10000)
  --clients N         client processes (default 2)
  --seed S            the seed of the operation streams (default: a random one, printed)
  --check-every K     operations per client between two invariant checks (default 10)
  --bound-ms MS       no operation may take longer (default 5000)
  --topology FILE     the machine (default: the built-in one)
  --kernel K          trylock (default) or mainline, as for apsysfs mount
  --minimise-seconds S  time for the search for the shortest failing sequence (default 60; 0: none)
  --scenario NAME     check the checker: run with one of the driver's historic flawed lock
                      orderings switched on (apsysfs mount --scenario); the run must fail
  --json              print the report as JSON
  -h, --help          show this help`;

/** The locking profiles `apsysfs mount --kernel` takes. */
const KERNELS: readonly LockProfile[] = ['trylock', 'mainline'];

class UsageError extends Error {}

function count(v: string | undefined, name: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) < min) throw new UsageError(`--${name}: expected a whole number >= ${min}, got '${v}'`);
  return Number(v);
}

export function parseStressArgs(args: string[]): (StressOptions & { json: boolean }) | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        ops: { type: 'string' },
        clients: { type: 'string' },
        seed: { type: 'string' },
        'check-every': { type: 'string' },
        'bound-ms': { type: 'string' },
        topology: { type: 'string' },
        kernel: { type: 'string' },
        'minimise-seconds': { type: 'string' },
        scenario: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.kernel !== undefined && !(KERNELS as readonly string[]).includes(v.kernel)) throw new UsageError(`--kernel: expected ${KERNELS.join(' or ')}, got '${v.kernel}'`);
  if (v.seed === '') throw new UsageError('--seed: empty');
  return {
    ops: count(v.ops, 'ops', 10_000, 1),
    clients: count(v.clients, 'clients', 2, 1),
    seed: v.seed ?? String(randomInt(1, 1_000_000)),
    checkEvery: count(v['check-every'], 'check-every', 10, 1),
    boundMs: count(v['bound-ms'], 'bound-ms', 5000, 0),
    minimiseMs: count(v['minimise-seconds'], 'minimise-seconds', 60, 0) * 1000,
    ...(v.topology !== undefined && { topologyFile: v.topology }),
    ...(v.kernel !== undefined && { kernel: v.kernel as LockProfile }),
    ...(v.scenario !== undefined && { scenario: v.scenario }),
    json: v.json ?? false,
  };
}

async function main(args: string[]): Promise<number> {
  let o;
  try {
    o = parseStressArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`apsysfs stress: ${e.message}\n${STRESS_USAGE}\n`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(`${STRESS_USAGE}\n`);
    return 0;
  }
  const report = await runStress({ ...o, progress: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  return report.failure ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`apsysfs stress: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
