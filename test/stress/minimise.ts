/**
 * The stress runner's search for the shortest failing sequence, on a rule planted for the test:
 * "no guest runs on an mdev that has adapter 5 assigned". Whatever else a random stream does, the
 * shortest sequence that breaks it is create, assign_adapter 5, guest attach.
 */
import t from 'tap';
import type { StateSnapshot } from '../../src/model/state-snapshot.js';
import { minimise, replay } from '../../src/stress/minimise.js';
import { generateOps, UUIDS, type Op } from '../../src/stress/ops.js';
import type { CheckResult } from '../../src/stress/invariants.js';

const planted = (s: StateSnapshot): CheckResult => {
  const m = s.mdevs.find((x) => x.guest !== null && x.matrix.adapters.includes(5));
  return { assertions: 1, violations: m ? [{ rule: 'lockdep', text: `${m.uuid} has adapter 05 and guest ${m.guest}` }] : [] };
};

const U = UUIDS[0];
const dir = `devices/vfio_ap/matrix/${U}`;
const create: Op = { type: 'write', kind: 'create', path: 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create', data: `${U}\n` };
const assign5: Op = { type: 'write', kind: 'assign_adapter', path: `${dir}/assign_adapter`, data: '5' };
const attach: Op = { type: 'ctl', kind: 'guest attach', method: 'guest.attach', params: { uuid: U, guest: 'vm0' } };

t.test('replay stops at the first op after which the rule breaks', async (t) => {
  const noise = generateOps({ seed: 'noise', client: 0, count: 40 }).filter((op) => !('params' in op && op.method === 'guest.attach'));
  t.equal(await replay([create, assign5], { check: planted }), undefined, 'no guest yet');
  const f = await replay([...noise.slice(0, 5), create, assign5, attach, ...noise.slice(5)], { check: planted });
  t.equal(f?.index, 7);
  t.match(f?.violation.text, `${U} has adapter 05 and guest vm0`);
});

t.test('a long random stream shrinks to the three ops that matter', async (t) => {
  // Find a seed whose stream breaks the planted rule, as a failing stress run would.
  let ops: Op[] | undefined;
  for (let seed = 1; seed < 200 && !ops; seed++) {
    const candidate = generateOps({ seed, client: 0, count: 400 });
    if (await replay(candidate, { check: planted })) ops = candidate;
  }
  t.ok(ops, 'some seed breaks the rule');
  const m = await minimise(ops!, 'lockdep', { check: planted, budgetMs: 60_000 });
  t.ok(m?.complete, 'the search finished');
  const kinds = m?.ops.map((op) => op.kind) ?? [];
  t.equal(kinds.length, 3, kinds.join(', '));
  t.equal(kinds[0], 'create');
  t.ok(kinds.includes('guest attach'), 'a guest is attached');
  t.ok(kinds.includes('assign_adapter') || kinds.includes('ap_config'), 'adapter 5 is assigned, by assign_adapter or ap_config');
});

t.test('nothing to shrink when the rule holds', async (t) => {
  t.equal(await minimise([create, assign5], 'lockdep', { check: planted, budgetMs: 1000 }), undefined);
});
