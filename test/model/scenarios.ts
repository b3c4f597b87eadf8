/**
 * The driver's historic deadlocks (docs/deadlocks.md, spec §16): for each scenario, the flawed
 * ordering makes its concurrent clients really deadlock; lockdep reports the inversion with the
 * kernel's chain, the wait cycle is broken with EDEADLK for one client and the others complete.
 * The shipped design, in both profiles, runs the same clients with no report and no EDEADLK.
 */
import t, { type Test } from 'tap';
import { Errno } from '../../src/model/errno.js';
import { Host } from '../../src/model/host.js';
import type { LockProfile } from '../../src/model/kernel.js';
import { defaultTopologyFile } from '../../src/model/default-topology.js';
import { parseTopology } from '../../src/model/topology.js';
import {
  SCENARIO_NAMES,
  chainClasses,
  describeOp,
  formatScenarioList,
  getScenario,
  kvmPvCommand,
  listScenarios,
  runScenario,
  vcpuPqap,
  type ClientOp,
  type Scenario,
  type ScenarioFrontend,
} from '../../src/model/scenarios/index.js';
import { Lockdep, type LockSite } from '../../src/model/lock/lockdep.js';
import { KernelMutex } from '../../src/model/lock/kernel-mutex.js';
import { hostWith, kerr, noLockdepReports, sysfs, type Sys } from '../helpers/model.js';

const views = new WeakMap<Host, Sys>();
/** Writes go through the attribute tables, as `echo … >` through the mount would. */
const frontend: ScenarioFrontend = {
  write(host, path, value) {
    let sys = views.get(host);
    if (!sys) views.set(host, (sys = sysfs(host)));
    return sys.write(path, value);
  },
};

t.test('the scenarios are the four of the issue, listed with their explanation', async (t) => {
  t.same(
    listScenarios().map((s) => s.name),
    ['apmask-assign', 'kvm-vfio-release', 'pqap-hook', 'crypto-masks'],
  );
  t.same([...SCENARIO_NAMES], listScenarios().map((s) => s.name));
  const text = formatScenarioList();
  for (const s of listScenarios()) {
    t.match(text, `${s.name}: ${s.title}\n`);
    t.match(text, `lockdep: taking ${s.expected.taking} while holding ${s.expected.held}; chain ${s.expected.chain.join(' -> ')}`);
    t.match(text, `"${s.expected.victim}" fails with EDEADLK`);
    for (const c of s.clients) t.match(text, `    ${c.name}: ${c.ops.map(describeOp).join('; ')}`);
    t.ok(s.history.length > 0, `${s.name} cites its history`);
    t.equal(s.clients.at(-1)!.name, s.expected.victim, 'the last client closes the cycle');
  }
  t.match(text, 'the flawed ordering sits on the trylock profile');
  t.match(text, '2b48f52f2bff');
  t.equal(getScenario('nope'), undefined);
});

t.test('describeOp renders every op kind as a command', async (t) => {
  const ops: [ClientOp, string][] = [
    [{ op: 'write', path: 'bus/ap/apmask', value: '+6' }, 'echo +6 > bus/ap/apmask'],
    [{ op: 'guest-attach', uuid: 'u', guest: 'vm1' }, 'apsysfs ctl guest attach u --guest vm1'],
    [{ op: 'guest-detach', uuid: 'u' }, 'apsysfs ctl guest detach u'],
    [{ op: 'vcpu-pqap', guest: 'vm1', apqn: '05.0004' }, 'apsysfs ctl guest pqap vm1 05.0004'],
    [{ op: 'vcpu-pqap', guest: 'vm1', apqn: '05.0004', vcpu: 1 }, 'apsysfs ctl guest pqap vm1 05.0004 --vcpu 1'],
    [{ op: 'kvm-pv', guest: 'vm1' }, 'apsysfs ctl guest pv vm1'],
  ];
  for (const [op, text] of ops) t.equal(describeOp(op), text);
});

/** Every lock is free again: no task holds or waits for anything. */
function quiet(t: Test, host: Host): void {
  t.match(host.lockdep.summary(), '\ntasks holding or waiting (0):\n', 'every lock released, nobody waits');
}

const answersOf = (run: { clients: readonly { name: string; results: readonly { answer: string }[] }[] }) =>
  Object.fromEntries(run.clients.map((c) => [c.name, c.results.map((r) => r.answer)]));

for (const s of listScenarios()) {
  t.test(`${s.name}, flawed: the clients deadlock, lockdep names the chain, EDEADLK breaks it`, async (t) => {
    const run = await runScenario(s.name, { design: 'flawed', frontend });
    t.equal(run.design, 'flawed');
    t.equal(run.profile, 'trylock');
    t.equal(run.inversions.length, 1, run.text);
    t.equal(run.deadlocks.length, 1, 'one real wait cycle, broken');
    const r = run.expectedReport!;
    t.ok(r, `lockdep reported taking ${s.expected.taking} while holding ${s.expected.held}`);
    t.same(chainClasses(r), s.expected.chain, 'the existing dependency chain');
    t.match(r.text, '======================================================\nWARNING: possible circular locking dependency detected\n');
    t.match(r.text, `is trying to acquire lock:\n  `);
    t.match(r.text, `(${s.expected.taking})`);
    t.match(r.text, `but task is already holding lock:\n  `);
    t.match(r.text, 'which lock already depends on the new lock.');
    t.match(r.text, 'the existing dependency chain (in reverse order) is:');
    for (const link of r.chain) t.match(r.text, `(${link.to}){`, `#: ${link.to}`);
    for (const link of r.chain) t.match(r.text, `${link.first.fn} [${link.first.op}]`, `where ${link.from} -> ${link.to} was first recorded`);
    t.match(r.text, ' Possible unsafe locking scenario:\n\n       CPU0                    CPU1\n       ----                    ----\n');
    t.match(r.text, ' *** DEADLOCK ***');

    const d = run.deadlocks[0]!;
    t.equal(d.tasks!.length, s.clients.length, 'every client is in the wait cycle');
    t.match(d.text, 'WARNING: circular lock wait: a real deadlock');
    t.match(d.text, 'the acquisition fails with -EDEADLK.');

    const answers = answersOf(run);
    t.same(answers[s.expected.victim], ['EDEADLK'], `${s.expected.victim} gets EDEADLK`);
    for (const c of s.clients.filter((c) => c.name !== s.expected.victim)) {
      t.notOk(answers[c.name]!.includes('EDEADLK'), `${c.name} completes: ${answers[c.name]!.join(' ')}`);
    }
    quiet(t, run.host);
    t.match(run.text, `scenario ${s.name}, flawed design (trylock profile)\n`);
    t.match(run.text, `  ${s.expected.victim}: `);
    t.match(run.text, 'lockdep: 1 inversion, 1 deadlock broken');
  });

  for (const profile of ['trylock', 'mainline'] as LockProfile[]) {
    t.test(`${s.name}, shipped design (${profile}): the same clients, no inversion, no deadlock`, async (t) => {
      const run = await runScenario(s.name, { design: 'fixed', profile, frontend });
      t.equal(run.profile, profile);
      t.same(run.reports.map((r) => r.text), [], 'lockdep recorded nothing');
      t.equal(run.expectedReport, undefined);
      for (const c of run.clients) for (const r of c.results) t.not(r.answer, 'EDEADLK', `${c.name}: ${r.op} -> ${r.answer}`);
      quiet(t, run.host);
      t.match(run.text, 'lockdep: 0 inversions, 0 deadlocks broken');
    });
  }
}

t.test('a flawed host reports the inversion even when nothing runs concurrently', async (t) => {
  // What lockdep is for: the clients one after the other do not deadlock, and the report comes
  // anyway. Run last client first, so that the vCPU meets the hook before the guest stops; the
  // report comes at whichever acquisition closes the cycle, so its chain is the same cycle of
  // classes, entered elsewhere.
  const sorted = (xs: readonly string[]): string => [...xs].sort().join();
  for (const s of listScenarios()) {
    const host = await Host.fromTopology(parseTopology({ ...defaultTopologyFile, ...s.topology }), { scenario: s.name });
    const seq = [...s.setup, ...[...s.clients].reverse().flatMap((c) => c.ops)];
    const answers: string[] = [];
    for (const op of seq) answers.push(await answer(host, op));
    t.notOk(answers.includes('EDEADLK'), `${s.name}: ${answers.join(' ')}`);
    t.equal(host.lockdep.reports.filter((r) => r.kind === 'deadlock').length, 0, `${s.name}: no wait cycle`);
    t.ok(
      host.lockdep.reports.some((r) => r.kind === 'circular' && sorted(chainClasses(r)) === sorted(s.expected.chain)),
      `${s.name}: the inversion is reported: ${host.lockdep.reports.map((r) => chainClasses(r).join(' -> ')).join('; ')}`,
    );
  }
});

async function answer(host: Host, op: ClientOp): Promise<string> {
  try {
    switch (op.op) {
      case 'write': {
        const e = await frontend.write(host, op.path, `${op.value}\n`);
        return e === 0 ? 'OK' : Errno[e];
      }
      case 'guest-attach':
        await host.attachGuest(op.uuid, op.guest);
        return 'OK';
      case 'guest-detach':
        await host.detachGuest(op.uuid);
        return 'OK';
      case 'vcpu-pqap':
        return `0x${(await vcpuPqap(host.matrixDev, host.guest(op.guest), op.apqn)).toString(16)}`;
      case 'kvm-pv':
        await kvmPvCommand(host.k, host.guest(op.guest));
        return 'OK';
    }
  } catch (e) {
    if (e instanceof Error && 'errno' in e) return Errno[(e as { errno: Errno }).errno];
    throw e;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What `apsysfs mount --scenario NAME` does with shells that are not coordinated: the window is a
 * real delay, the clients start a little apart, and they deadlock all the same.
 */
for (const s of listScenarios()) {
  t.test(`${s.name}: with a real-time window, clients started apart deadlock and nobody hangs`, async (t) => {
    const host = await Host.fromTopology(parseTopology({ ...defaultTopologyFile, ...s.topology }), {
      scenario: s.name,
      scenarioWindow: () => sleep(250),
    });
    for (const op of s.setup) t.equal(await answer(host, op), 'OK', describeOp(op));
    const started = Date.now();
    const results = await Promise.all(
      s.clients.map(async (c, i) => {
        await sleep(25 * i);
        const out: string[] = [];
        for (const op of c.ops) out.push(await answer(host, op));
        return [c.name, out] as const;
      }),
    );
    const answers = Object.fromEntries(results);
    t.same(answers[s.expected.victim], ['EDEADLK'], `${s.expected.victim} gets EDEADLK`);
    t.equal(host.lockdep.reports.filter((r) => r.kind === 'deadlock').length, 1);
    t.ok(host.lockdep.reports.some((r) => r.kind === 'circular' && chainClasses(r).join() === s.expected.chain.join()));
    t.ok(Date.now() - started < 10_000, 'done in bounded time');
    quiet(t, host);
  });
}

t.test('selecting a scenario: unknown names and incompatible profiles are EINVAL', async (t) => {
  await t.rejects(hostWith({}, { scenario: 'nope' }), kerr(Errno.EINVAL));
  await t.rejects(hostWith({}, { scenario: 'apmask-assign', kernel: 'mainline' }), kerr(Errno.EINVAL), 'a flaw of the trylock order');
  const host = await hostWith({}, { scenario: 'apmask-assign' });
  t.equal(host.k.profile, 'trylock');
  t.equal(host.k.scenario?.name, 'apmask-assign');
  const mainline = await hostWith({}, { scenario: 'pqap-hook', kernel: 'mainline' });
  t.equal(mainline.k.profile, 'mainline', 'the other flaws sit on either profile');
  await t.rejects(runScenario('nope', { design: 'fixed', frontend }), kerr(Errno.EINVAL));
  await t.rejects(runScenario('apmask-assign', { design: 'flawed', profile: 'mainline', frontend }), kerr(Errno.EINVAL));
  const fixedMainline = await runScenario('apmask-assign', { design: 'fixed', profile: 'mainline', frontend });
  t.same(answersOf(fixedMainline), { 'apmask writer': ['OK'], assigner: ['OK'] }, 'mainline: both writes just wait their turn');
});

t.test('the scenario objects are consistent', async (t) => {
  for (const s of listScenarios() as readonly Scenario[]) {
    t.equal(s.expected.chain[0], s.expected.taking, `${s.name}: the chain starts at the lock being taken`);
    t.equal(s.expected.chain.at(-1), s.expected.held, `${s.name}: and ends at the lock held`);
  }
});

t.test("a scenario host's lockdep records what the kernel records (check_prevs_add)", async (t) => {
  const ld = new Lockdep({ recordFrom: 'previous-lock' });
  const [a, b, c, d] = ['A', 'B', 'C', 'D'].map((n) => new KernelMutex(ld, n)) as [KernelMutex, KernelMutex, KernelMutex, KernelMutex];
  const at = (fn: string): LockSite => ({ op: 'test', fn });
  await ld.runTask('nested', async () => {
    await a.lock(at('a'));
    t.ok(b.trylock(at('b')));
    await c.lock(at('c'));
    await d.lock(at('d'));
    for (const m of [d, c, b, a]) m.unlock();
  });
  const edges = ld.edges().map((e) => `${e.from}->${e.to}`).sort();
  t.same(edges, ['A->C', 'B->C', 'C->D'], 'from the previous lock, and past a trylock to the lock below it; no A->D');
  await ld.runTask('inverted', async () => {
    await d.lock(at('d2'));
    await b.lock(at('b2'));
    await a.lock(at('a2'));
    for (const m of [a, b, d]) m.unlock();
  });
  t.equal(ld.reports.length, 1, 'one report, for the acquisition that closes the cycle');
  t.match(ld.reports[0], { kind: 'circular', taking: 'B', held: 'D' });
  t.same(chainClasses(ld.reports[0]!), ['B', 'C', 'D'], 'B was trylocked under A: B -> C is the edge lockdep keeps');
  await ld.runTask('recursive', async () => {
    await a.lock(at('a3'));
    const a2 = new KernelMutex(ld, 'A', 'another');
    await a2.lock(at('a4'));
    a2.unlock();
    a.unlock();
  });
  t.equal(ld.reports.at(-1)!.kind, 'recursive');
});

noLockdepReports(t);
