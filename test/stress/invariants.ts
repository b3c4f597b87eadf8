/**
 * The stress runner's invariants (src/stress/invariants.ts): a consistent state passes every rule,
 * and each rule catches the state that breaks it. The broken states are made by editing a real
 * dump, as a bug in the model would leave it.
 */
import t from 'tap';
import type { StateSnapshot } from '../../src/model/state-snapshot.js';
import { checkInvariants, RULES, type RuleName } from '../../src/stress/invariants.js';
import { ModelTarget } from '../../src/stress/model-target.js';
import type { Op } from '../../src/stress/ops.js';

const U1 = 'a297db4a-f4c2-11e6-90f6-d3b88d6c9525';
const U2 = '62177883-f1bb-47f0-914d-32a22e3a8804';
const CREATE = 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create';
const w = (path: string, data: string): Op => ({ type: 'write', kind: 'create', path, data });

/** Adapters 5, 6 left to vfio_ap; U1 holds 05.0004 and 05.0006 with control domain 4 and a guest; U2 holds 06.0004. */
async function base(): Promise<StateSnapshot> {
  const target = await ModelTarget.create({});
  const ops: Op[] = [
    w('bus/ap/apmask', '-5,-6'),
    w(CREATE, U1),
    w(CREATE, U2),
    w(`devices/vfio_ap/matrix/${U1}/assign_adapter`, '5'),
    w(`devices/vfio_ap/matrix/${U1}/assign_domain`, '4'),
    w(`devices/vfio_ap/matrix/${U1}/assign_domain`, '6'),
    w(`devices/vfio_ap/matrix/${U1}/assign_control_domain`, '4'),
    w(`devices/vfio_ap/matrix/${U2}/ap_config`, '0x02,0x08,0x0'),
    { type: 'ctl', kind: 'guest attach', method: 'guest.attach', params: { uuid: U1, guest: 'vm1' } },
  ];
  for (const op of ops) {
    const r = await target.run(op);
    if (r.errno !== 'OK') throw new Error(`${JSON.stringify(op)}: ${r.errno}`);
  }
  return target.snapshot();
}

type Mutable<T> = { -readonly [K in keyof T]: Mutable<T[K]> };
type Snap = Mutable<StateSnapshot>;
const mdev = (s: Snap, uuid: string) => s.mdevs.find((m) => m.uuid === uuid)!;
const queue = (s: Snap, name: string) => s.queues.find((q) => q.name === name)!;

const cases: [RuleName, string, (s: Snap) => void][] = [
  ['no-sharing', 'two mdevs hold 05.0004', (s) => mdev(s, U2).matrix.adapters.push(5)],
  ['not-reserved', 'apmask reserves an assigned adapter', (s) => s.apmask.push(5)],
  ['binding-follows-masks', 'cex4queue holds a free queue', (s) => void Object.assign(queue(s, '06.0006'), { driver: 'cex4queue', mdev: null, resetStatus: null })],
  ['binding-follows-masks', 'vfio_ap holds a reserved queue', (s) => void Object.assign(queue(s, '04.0004'), { driver: 'vfio_ap', resetStatus: 0 })],
  ['queue-links', 'a queue linked to the wrong mdev', (s) => void (queue(s, '05.0004').mdev = U2)],
  ['queue-links', 'an assigned queue not linked', (s) => void (queue(s, '06.0004').mdev = null)],
  ['guest-matrix-inside', 'guest_matrix has an unassigned adapter', (s) => mdev(s, U2).guestMatrix.adapters.push(7)],
  ['guest-matrix-inside', 'guest_matrix has an adapter the host lost', (s) => void (s.host.adapters = s.host.adapters.filter((a) => a !== 6))],
  ['guest-matrix-whole-adapters', 'a domain filtered out', (s) => void (mdev(s, U1).guestMatrix.domains = [4])],
  ['guest-matrix-whole-adapters', 'an adapter with an unbound queue', (s) => void Object.assign(queue(s, '05.0006'), { driver: null, mdev: null, resetStatus: null })],
  ['guest-matrix-whole-adapters', 'an adapter with a failed reset', (s) => void (queue(s, '05.0006').resetStatus = 1)],
  ['apcb-is-guest-matrix', "the guest's APCB lags", (s) => void (mdev(s, U1).apcb!.domains = [4])],
  ['available-instances', 'available_instances off by one', (s) => void (s.availableInstances += 1)],
  ['iommu-groups', 'two mdevs in one IOMMU group', (s) => void (mdev(s, U2).iommuGroup = mdev(s, U1).iommuGroup)],
  ['iommu-groups', 'an active mdev without a group', (s) => void (mdev(s, U1).iommuGroup = null)],
  ['lockdep', 'a lockdep report', (s) => void Object.assign(s.lockdep, { reports: 1, kinds: { circular: 1 } })],
];

t.test('a consistent state passes every rule', async (t) => {
  const s = await base();
  const r = checkInvariants(s);
  t.same(r.violations, []);
  t.ok(r.assertions > 20, `${r.assertions} assertions`);
});

t.test('each rule catches what breaks it', async (t) => {
  const s0 = await base();
  const covered = new Set<string>();
  for (const [rule, what, breakIt] of cases) {
    const s = structuredClone(s0) as Snap;
    breakIt(s);
    const v = checkInvariants(s).violations;
    t.ok(v.some((x) => x.rule === rule), `${what}: ${rule} (${v.map((x) => x.text).join('; ') || 'nothing reported'})`);
    covered.add(rule);
  }
  t.same([...covered].sort(), Object.keys(RULES).sort(), 'every rule has a case');
});

t.test('a guest whose mdev is being removed may have an empty APCB', async (t) => {
  const s = structuredClone(await base()) as Snap;
  Object.assign(mdev(s, U1), { state: 'removing', apcb: { adapters: [], domains: [], controlDomains: [] } });
  t.same(checkInvariants(s).violations, []);
});

t.test("a removed control domain may stay in guest_matrix (the kernel's andnot bug)", async (t) => {
  const s = structuredClone(await base()) as Snap;
  s.host.controlDomains = s.host.controlDomains.filter((d) => d !== 4);
  t.same(checkInvariants(s).violations, []);
});
