/**
 * The driver's historic deadlocks (docs/deadlocks.md) through a real mount: for each scenario the
 * daemon runs with `--scenario NAME`, the scenario's clients run as separate processes started
 * together (`echo … > …` in bash, `apsysfs ctl …`), and
 * - no client hangs: every one exits, at least one with EDEADLK ("Resource deadlock avoided");
 * - `ctl locks` has lockdep's report with the scenario's expected chain, and the wait-cycle report;
 * - the daemon lives on, every lock released.
 * test/e2e/scenarios-shipped.ts runs the same clients against the shipped design.
 */
import t from 'tap';
import { listScenarios } from '../../src/model/scenarios/index.js';
import { mountTree } from '../helpers/mount.js';
import { run } from '../helpers/shell.js';
import { CLI, CLIENT_BOUND_MS, EDEADLK, WINDOW_MS, chainOf, ctl, daemonAlive, describe, locks, runClients, setup, topologyOf } from '../helpers/scenario-clients.js';

for (const s of listScenarios()) {
  t.test(`${s.name}: --scenario, clients from separate processes deadlock, EDEADLK breaks it, the chain is reported`, async (t) => {
    const m = await mountTree(t, { args: ['--scenario', s.name, '--scenario-window', String(WINDOW_MS)], topology: topologyOf(s) });
    await setup(t, m, s);
    const started = Date.now();
    const outcomes = await runClients(m, s);
    t.ok(Date.now() - started < CLIENT_BOUND_MS, `every client exited (${Date.now() - started} ms)`);
    const lines = outcomes.map(describe).join('\n');
    const victims = outcomes.filter((o) => o.r.code !== 0);
    t.ok(victims.some((o) => EDEADLK.test(o.r.stderr)), `a client got EDEADLK:\n${lines}`);
    for (const o of victims) t.match(o.r.stderr, EDEADLK, `the only failures are the broken wait cycle: ${describe(o)}`);
    t.ok(outcomes.some((o) => o.r.code === 0), 'the others completed');

    const l = await locks(t, m);
    const circular = l.state.reports.filter((r) => r.kind === 'circular');
    const expected = circular.find((r) => r.taking === s.expected.taking && r.held === s.expected.held && chainOf(r).join() === s.expected.chain.join());
    t.ok(expected, `lockdep reports taking ${s.expected.taking} holding ${s.expected.held}, chain ${s.expected.chain.join(' -> ')}; got: ${circular.map((r) => chainOf(r).join(' -> ')).join('; ')}`);
    t.match(expected?.text ?? '', 'WARNING: possible circular locking dependency detected');
    t.ok(l.state.reports.some((r) => r.kind === 'deadlock'), 'and the real wait cycle');
    t.match(l.text, 'WARNING: circular lock wait: a real deadlock');
    t.match(l.text, 'the acquisition fails with -EDEADLK.');
    t.match(l.text, '\ntasks holding or waiting (0):\n', 'every lock released, nobody waits');
    t.match(await daemonAlive(t, m), `locking profile, replaying the flawed ordering of scenario ${s.name}\n`);
    const log = await ctl(m, 'log', '--kind', 'lockdep');
    t.match(log.stdout, 'possible circular locking dependency detected', 'the report is in the event log');
  });

}

t.test('mount --scenario: unknown names and profiles are refused', async (t) => {
  const unknown = await run(process.execPath, [CLI, 'mount', '/tmp/apsysfs-never', '--scenario', 'nope']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, "apsysfs: mount: --scenario: no scenario 'nope' (known: apmask-assign, kvm-vfio-release, pqap-hook, crypto-masks;");
  const profile = await run(process.execPath, [CLI, 'mount', '/tmp/apsysfs-never', '--scenario', 'apmask-assign', '--kernel', 'mainline']);
  t.equal(profile.code, 2);
  t.match(profile.stderr, 'the flawed ordering sits on the trylock profile');
  const window = await run(process.execPath, [CLI, 'mount', '/tmp/apsysfs-never', '--scenario', 'pqap-hook', '--scenario-window', 'soon']);
  t.match(window.stderr, "--scenario-window: expected milliseconds, got 'soon'");
  const alone = await run(process.execPath, [CLI, 'mount', '/tmp/apsysfs-never', '--scenario-window', '10']);
  t.match(alone.stderr, '--scenario-window needs --scenario NAME');
});
