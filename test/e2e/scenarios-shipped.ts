/**
 * The shipped design stays clean (docs/deadlocks.md): the clients of every deadlock scenario,
 * as separate processes against a mount without --scenario, in both locking profiles, record no
 * inversion and never deadlock. Then `ctl scenario list|run` and `ctl guest pqap|pv`.
 */
import t from 'tap';
import { listScenarios } from '../../src/model/scenarios/index.js';
import { mountTree } from '../helpers/mount.js';
import { EDEADLK, ctl, daemonAlive, describe, locks, runClients, setup, topologyOf } from '../helpers/scenario-clients.js';

for (const s of listScenarios()) {
  for (const kernel of ['trylock', 'mainline']) {
    t.test(`${s.name}: the shipped design (--kernel ${kernel}), same clients: no inversion, no deadlock`, async (t) => {
      const m = await mountTree(t, { kernel, topology: topologyOf(s) });
      await setup(t, m, s);
      const outcomes = await runClients(m, s);
      for (const o of outcomes) t.notMatch(o.r.stderr, EDEADLK, describe(o));
      const l = await locks(t, m);
      t.same(l.state.reports.map((r) => r.text), [], 'lockdep recorded nothing');
      t.match(l.text, '\ntasks holding or waiting (0):\n');
      t.notMatch(await daemonAlive(t, m), 'replaying', 'no scenario');
    });
  }
}

t.test('ctl scenario list and run', async (t) => {
  const m = await mountTree(t, { topology: 'test/fixtures/topologies/mdevs.json' });
  const list = await ctl(m, 'scenario', 'list');
  t.equal(list.code, 0, list.stderr);
  for (const s of listScenarios()) {
    t.match(list.stdout, `${s.name}: ${s.title}\n`);
    t.match(list.stdout, `lockdep: taking ${s.expected.taking} while holding ${s.expected.held}; chain ${s.expected.chain.join(' -> ')}`);
  }
  const json = JSON.parse((await ctl(m, '--json', 'scenario', 'list')).stdout) as { scenarios: { name: string; expected: { chain: string[] } }[] };
  t.same(json.scenarios.map((x) => x.name), listScenarios().map((x) => x.name));

  for (const s of listScenarios()) {
    const flawed = await ctl(m, 'scenario', 'run', s.name);
    t.equal(flawed.code, 0, flawed.stderr);
    t.match(flawed.stdout, `scenario ${s.name}, flawed design (trylock profile)\n`);
    t.match(flawed.stdout, `  ${s.expected.victim}: `);
    t.match(flawed.stdout, new RegExp(`  ${s.expected.victim}: .* -> EDEADLK\n`));
    t.match(flawed.stdout, 'lockdep: 1 inversion, 1 deadlock broken');
    t.match(flawed.stdout, 'WARNING: possible circular locking dependency detected');
    t.match(flawed.stdout, `(${s.expected.taking}){`);
    t.match(flawed.stdout, 'WARNING: circular lock wait: a real deadlock');
    t.match(flawed.stdout, `apsysfs ctl scenario run ${s.name} --design fixed`);
    for (const kernel of ['trylock', 'mainline']) {
      const fixed = await ctl(m, '--json', 'scenario', 'run', s.name, '--design', 'fixed', '--kernel', kernel);
      t.equal(fixed.code, 0, fixed.stderr);
      const r = JSON.parse(fixed.stdout) as { profile: string; inversions: number; deadlocks: number; clients: { results: { answer: string }[] }[]; text: string };
      t.equal(r.profile, kernel);
      t.equal(r.inversions, 0, `${s.name} fixed (${kernel}): ${r.text}`);
      t.equal(r.deadlocks, 0);
      t.notOk(r.clients.some((c) => c.results.some((x) => x.answer === 'EDEADLK')));
    }
  }
  const bad = await ctl(m, 'scenario', 'run', 'nope');
  t.equal(bad.code, 1);
  t.match(bad.stderr, "EINVAL: no scenario 'nope' (known: apmask-assign, kvm-vfio-release, pqap-hook, crypto-masks)");
  const wrong = await ctl(m, 'scenario', 'run', 'apmask-assign', '--kernel', 'mainline');
  t.equal(wrong.code, 1, 'the flaw sits on the trylock profile');
  t.match(wrong.stderr, 'EINVAL: ');
  // A scenario run uses a scratch host: the mounted tree saw nothing.
  const l = await locks(t, m);
  t.equal(l.state.reports.length, 0, 'the mounted host has no report');
  t.equal((await ctl(m, 'guest', 'list')).stdout, 'no guests\n');
});

t.test('ctl guest pqap and pv', async (t) => {
  const m = await mountTree(t, { topology: 'test/fixtures/topologies/mdevs.json' });
  const U1 = 'a297db4a-f4c2-11e6-90f6-d3b88d6c9525';
  const none = await ctl(m, 'guest', 'pqap', 'vm1', '05.0004');
  t.equal(none.code, 1);
  t.match(none.stderr, 'ENODEV: no guest vm1');
  t.equal((await ctl(m, 'guest', 'attach', U1, '--guest', 'vm1')).code, 0);
  t.equal((await ctl(m, 'guest', 'pqap', 'vm1', '05.0004')).stdout, 'guest vm1 vCPU 0: PQAP(AQIC) 05.0004 -> response code 0x00 (normal)\n');
  t.equal((await ctl(m, 'guest', 'pqap', 'vm1', '06.0004', '--vcpu', '1')).stdout, 'guest vm1 vCPU 1: PQAP(AQIC) 06.0004 -> response code 0x01 (queue not available)\n');
  t.match(JSON.parse((await ctl(m, '--json', 'guest', 'pqap', 'vm1', '05.0047')).stdout), { guest: 'vm1', vcpu: 0, apqn: '05.0047', response: 0 });
  const badVcpu = await ctl(m, 'guest', 'pqap', 'vm1', '05.0004', '--vcpu', '2');
  t.equal(badVcpu.code, 1);
  t.match(badVcpu.stderr, 'EINVAL: guest vm1 has vCPUs 0..1, not 2');
  const badApqn = await ctl(m, 'guest', 'pqap', 'vm1', '5');
  t.match(badApqn.stderr, 'EINVAL: ');
  const pv = await ctl(m, 'guest', 'pv', 'vm1');
  t.equal(pv.code, 0, pv.stderr);
  t.match(pv.stdout, 'guest vm1: KVM_S390_PV_COMMAND done');
  const usage = await ctl(m, 'guest', 'pqap', 'vm1');
  t.equal(usage.code, 2);
  t.match(usage.stderr, 'apsysfs: ctl guest pqap: GUEST and APQN expected');
  const log = await ctl(m, 'log', '--kind', 'op');
  t.match(log.stdout, 'ctl guest pqap vm1 05.0004: ok');
  t.match(log.stdout, 'ctl guest pv vm1: ok');
  t.equal((await locks(t, m)).state.reports.length, 0, 'the shipped design: no report');
});
