/**
 * `npm run stress`, short: a few thousand operations by two client processes through a real mount
 * and the control channel, with the invariants checked between steps (docs/stress.md). The long
 * run (100,000 operations and more) is not part of the tests; the README says how to start it.
 */
import t from 'tap';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/mount.js';
import { run } from '../helpers/shell.js';
import { OP_KINDS } from '../../src/stress/ops.js';

const MAIN = path.join(repoRoot, 'dist', 'src', 'stress', 'main.js');

/** The run uses dist/: refuse a stale one, as the mount helpers do. */
function assertBuilt(): void {
  const src = path.join(repoRoot, 'src', 'stress');
  for (const f of readdirSync(src).filter((n) => n.endsWith('.ts'))) {
    const js = path.join(repoRoot, 'dist', 'src', 'stress', f.replace(/\.ts$/, '.js'));
    if (!existsSync(js) || statSync(path.join(src, f)).mtimeMs > statSync(js).mtimeMs) {
      throw new Error(`dist/ is not up to date (src/stress/${f}): run npx tsc -p tsconfig.json (npm test does)`);
    }
  }
}

const stress = (...args: string[]) => {
  assertBuilt();
  return run(process.execPath, [MAIN, ...args], { timeoutMs: 120_000 });
};

interface Report {
  executed: number;
  dumps: number;
  saves: number;
  assertions: number;
  perKind: Record<string, Record<string, number>>;
  perErrno: Record<string, number>;
  lockdep: { reports: number; inversions: number };
  slowest: { outcome: { ms: number } };
  failure?: unknown;
}

t.test('3000 operations, 2 clients: every invariant holds, no lock inversion', async (t) => {
  const r = await stress('--ops', '3000', '--clients', '2', '--seed', '1', '--json');
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  t.equal(report.failure, undefined);
  t.equal(report.executed, 3000);
  t.equal(report.dumps, 150, 'a check after every 10 operations per client');
  t.ok(report.assertions > report.dumps, `${report.assertions} assertions`);
  t.equal(report.saves, 10, 'saved and booted again at every tenth of the run: nothing lost');
  t.same(report.lockdep, { ...report.lockdep, reports: 0, inversions: 0 });
  t.ok(report.slowest.outcome.ms <= 5000, `slowest ${report.slowest.outcome.ms} ms`);
  // Every kind of state-changing operation ran; the common ones both succeeded and were refused.
  for (const kind of OP_KINDS) t.ok(report.perKind[kind], `${kind} ran`);
  for (const kind of ['apmask +/-', 'aqmask +/-', 'create', 'remove', 'assign_adapter', 'assign_domain', 'assign_control_domain', 'ap_config', 'guest attach', 'guest detach', 'host adapter add', 'host adapter remove']) {
    const counts = report.perKind[kind] ?? {};
    t.ok(counts.OK && Object.keys(counts).length > 1, `${kind}: ${JSON.stringify(counts)}`);
  }
  for (const errno of ['EADDRINUSE', 'EADDRNOTAVAIL', 'EBUSY', 'EPERM', 'EEXIST']) t.ok(report.perErrno[errno], `${errno} seen`);
  t.notOk(report.perErrno.EIO, 'no EIO');
});

t.test('the report as text, and the same seed gives the same operations', async (t) => {
  const a = await stress('--ops', '400', '--clients', '1', '--seed', 'same', '--check-every', '20');
  t.equal(a.code, 0, a.stderr);
  for (const line of [/^apsysfs stress: passed$/m, /^ {2}400 operations by 1 client\(s\) in .*, seed same, kernel trylock$/m, /^operations per kind:$/m, /^results per errno: OK \d/m, /^invariant checks: 20 state dumps, [\d,]+ assertions \(10 rules\), 0 violations$/m, /^nothing lost: the state saved and booted again 10 times, the same each time$/m, /^lock-order checker: 0 reports, 0 inversions$/m, /^slowest operation: [\d.]+ ms, client 0 op #\d+: /m]) {
    t.match(a.stdout, line);
  }
  const b = await stress('--ops', '400', '--clients', '1', '--seed', 'same', '--check-every', '20');
  const counts = (s: string) => s.split('\n').filter((l) => l.startsWith('  ') && !l.includes('operations by')).join('\n');
  t.equal(counts(b.stdout), counts(a.stdout), 'one client: the same operations with the same results');
});

t.test('a run that breaks a rule prints the seed and how to run it again', async (t) => {
  // No operation can meet a bound of 0 ms.
  const r = await stress('--ops', '20', '--clients', '1', '--seed', '42', '--bound-ms', '0');
  t.equal(r.code, 1);
  t.match(r.stdout, /^apsysfs stress: FAILED$/m);
  t.match(r.stdout, /^FAILED: bound$/m);
  t.match(r.stdout, /took [\d.]+ ms \(bound 0 ms\)/);
  t.match(r.stdout, 'seed 42; run it again: npm run stress -- --ops 20 --clients 1 --seed 42 --check-every 10');
  t.match(r.stdout, /the operation: client 0 op #0: /);
});

t.test('a historic lock-order flaw is caught and shrunk to the few operations that show it', async (t) => {
  // kvm-vfio-release (docs/deadlocks.md): the kvm-vfio device's release took kvm->lock around the
  // group's KVM reset, inverting the order of a guest detach waited for by a remove.
  const r = await stress('--ops', '2000', '--clients', '2', '--seed', '1', '--scenario', 'kvm-vfio-release', '--minimise-seconds', '30');
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /^FAILED: lockdep /m);
  t.match(r.stdout, 'seed 1; run it again: npm run stress -- --ops 2000 --clients 2 --seed 1 --check-every 10 --scenario kvm-vfio-release');
  const steps = [...r.stdout.matchAll(/^ {4} *\d+ {2}(.*)$/gm)].map((m) => m[1]!);
  t.ok(steps.length >= 2 && steps.length <= 4, `shortest sequence: ${steps.length} operations\n${steps.join('\n')}`);
  t.ok(steps.some((s) => s.includes('guest attach')), 'a guest is attached');
  t.ok(steps.some((s) => s.includes('/remove"') || s.includes('guest detach')), 'and let go of');
});

t.test('bad command lines', async (t) => {
  for (const [args, message] of [
    [['--clients', 'two'], "--clients: expected a whole number >= 1, got 'two'"],
    [['--ops', '0'], "--ops: expected a whole number >= 1, got '0'"],
    [['--kernel', 'linus'], "--kernel: expected trylock or mainline, got 'linus'"],
    [['--frobnicate'], "Unknown option '--frobnicate'"],
  ] as const) {
    const r = await stress(...args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message);
  }
  const help = await stress('--help');
  t.equal(help.code, 0);
  t.match(help.stdout, 'usage: npm run stress -- [OPTIONS]');
});
