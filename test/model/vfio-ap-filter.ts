/**
 * Deriving guest_matrix from matrix (spec §12, §19 items 7 and 8): over-provisioning, the
 * whole-adapter filtering rule, the NN. / .NNNN forms, and guest_matrix ⊆ matrix ∩ host config
 * over a seeded random workload.
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import { ApMask } from '../../src/model/ap/ap-mask.js';
import { mkqid } from '../../src/model/ap/apqn.js';
import type { MatrixMdev } from '../../src/model/vfio_ap/matrix-mdev.js';
import { assignStore, unassignStore } from '../../src/model/vfio_ap/assign.js';
import { kstrtoul } from '../../src/sysfs/parse.js';
import { OK, U1, U2, createMdev, errnoOf, hostWith, noLockdepReports, sysfs, type Sys } from '../helpers/model.js';
import { Rng } from '../../src/stress/rng.js';

const HOST_APM = [4, 5, 6, 0x0b];
const HOST_AQM = [4, 6, 0x47, 0x54];

/** Adapters 5, 6, 0x20-0x2f are left to vfio_ap; the host has only 4, 5, 6, 0x0b. */
async function setup(): Promise<{ host: Host; sys: Sys; m: MatrixMdev; dir: string }> {
  const host = await hostWith({ apmask: '+0-4,+7-0x1f,+0x30-255' });
  const m = await createMdev(host, U1);
  return { host, sys: sysfs(host), m, dir: `devices/vfio_ap/matrix/${U1}` };
}
const assign = (host: Host, m: MatrixMdev, dim: 'adapter' | 'domain', id: number) => assignStore(host.matrixDev, m, dim, () => kstrtoul(String(id), 0));
const unassign = (host: Host, m: MatrixMdev, dim: 'adapter' | 'domain', id: number) => unassignStore(host.matrixDev, m, dim, () => kstrtoul(String(id), 0));

t.test('over-provisioning: matrix shows what was assigned, guest_matrix only what the host has', async (t) => {
  const { host, sys, m, dir } = await setup();
  for (const a of [5, 0x20]) t.equal(await errnoOf(assign(host, m, 'adapter', a)), OK);
  for (const d of [4, 0x10]) t.equal(await errnoOf(assign(host, m, 'domain', d)), OK);
  t.equal(await sys.read(`${dir}/matrix`), '05.0004\n05.0010\n20.0004\n20.0010\n');
  t.equal(await sys.read(`${dir}/guest_matrix`), '05.0004\n');
  // only resources the host lacks: an empty guest view
  t.equal(await errnoOf(unassign(host, m, 'adapter', 5)), OK);
  t.equal(await sys.read(`${dir}/matrix`), '20.0004\n20.0010\n');
  t.equal(await sys.read(`${dir}/guest_matrix`), '.0004\n', 'adapter 0x20 is not in the host: only the domain remains');
  t.equal(await errnoOf(unassign(host, m, 'domain', 4)), OK);
  t.equal(await sys.read(`${dir}/guest_matrix`), '');
  t.equal(await sys.read(`${dir}/matrix`), '20.0010\n');
});

t.test('the NN. and .NNNN forms', async (t) => {
  const { host, sys, m, dir } = await setup();
  t.equal(await sys.read(`${dir}/matrix`), '');
  t.equal(await sys.read(`${dir}/guest_matrix`), '');
  await assign(host, m, 'adapter', 6);
  await assign(host, m, 'adapter', 5);
  await assign(host, m, 'adapter', 0x20);
  t.equal(await sys.read(`${dir}/matrix`), '05.\n06.\n20.\n');
  t.equal(await sys.read(`${dir}/guest_matrix`), '05.\n06.\n', 'no domains: step 2 drops nothing, 0x20 is not in the host');
  for (const a of [5, 6, 0x20]) await unassign(host, m, 'adapter', a);
  await assign(host, m, 'domain', 0x54);
  await assign(host, m, 'domain', 4);
  await assign(host, m, 'domain', 0x10);
  t.equal(await sys.read(`${dir}/matrix`), '.0004\n.0010\n.0054\n');
  t.equal(await sys.read(`${dir}/guest_matrix`), '.0004\n.0054\n');
});

t.test('one unbound queue hides its whole adapter; binding it back restores it (§19 item 7)', async (t) => {
  const { host, sys, m, dir } = await setup();
  for (const a of [5, 6]) await assign(host, m, 'adapter', a);
  for (const d of [4, 6]) await assign(host, m, 'domain', d);
  const all = '05.0004\n05.0006\n06.0004\n06.0006\n';
  t.equal(await sys.read(`${dir}/guest_matrix`), all);

  t.equal(await sys.write('bus/ap/drivers/vfio_ap/unbind', '05.0006\n'), OK);
  t.equal(await sys.read(`${dir}/matrix`), all, 'the assignment is untouched');
  t.equal(await sys.read(`${dir}/guest_matrix`), '06.0004\n06.0006\n', 'adapter 5 filtered, domain 6 kept');
  t.equal(await sys.write('bus/ap/drivers/vfio_ap/unbind', '06.0004\n'), OK);
  t.equal(await sys.read(`${dir}/guest_matrix`), '.0004\n.0006\n', 'no adapter left: domains are never dropped');
  t.equal(await sys.write('bus/ap/drivers/vfio_ap/bind', '05.0006\n'), OK);
  t.equal(await sys.read(`${dir}/guest_matrix`), '05.0004\n05.0006\n');
  t.equal(await sys.write('bus/ap/drivers_probe', '06.0004'), OK);
  t.equal(await sys.read(`${dir}/guest_matrix`), all);
});

t.test('a queue of an assigned domain outside the host configuration does not filter', async (t) => {
  const { host, sys, m, dir } = await setup();
  await assign(host, m, 'adapter', 5);
  await assign(host, m, 'domain', 4);
  await assign(host, m, 'domain', 0x10); // no queue 05.0010 exists, but 0x10 is not in the host aqm
  t.equal(await sys.read(`${dir}/guest_matrix`), '05.0004\n');
});

t.test('a reserved queue (bound to cex4queue) in the cross product filters the adapter', async (t) => {
  // aqmask alone reserves nothing: 05.* stays with vfio_ap; adapter 4 stays reserved.
  const { host, sys, m, dir } = await setup();
  await assign(host, m, 'adapter', 5);
  await assign(host, m, 'domain', 4);
  t.equal(await sys.read(`${dir}/guest_matrix`), '05.0004\n');
  // rebind 05.* to cex4queue by reserving adapter 5 is refused while the mdev holds it ...
  t.equal(await sys.write('bus/ap/apmask', '+5'), Errno.EBUSY);
  // ... but an unbind is not
  t.equal(await sys.write('bus/ap/drivers/vfio_ap/unbind', '05.0004'), OK);
  t.equal(await sys.read(`${dir}/guest_matrix`), '.0004\n');
});

t.test('a queue whose last reset failed is not passable until a reset succeeds (§19 item 8)', async (t) => {
  const { host, sys, m, dir } = await setup();
  await assign(host, m, 'adapter', 5);
  await assign(host, m, 'adapter', 6);
  await assign(host, m, 'domain', 4);
  t.equal(await sys.read(`${dir}/guest_matrix`), '05.0004\n06.0004\n');
  // A ZAPQ that answered 01 (not available) leaves 05.0004 non-passable.
  host.bus.queue(5, 4)!.vfio!.resetStatus = 1;
  await assign(host, m, 'domain', 6); // any re-filter sees it
  t.equal(await sys.read(`${dir}/guest_matrix`), '06.0004\n06.0006\n');
  for (const rc of [3, 4]) {
    host.bus.queue(5, 4)!.vfio!.resetStatus = rc;
    await unassign(host, m, 'domain', 6);
    await assign(host, m, 'domain', 6);
    t.equal(await sys.read(`${dir}/guest_matrix`), '05.0004\n05.0006\n06.0004\n06.0006\n', `rc ${rc} (deconfigured/checkstopped) is passable`);
  }
});

t.test('filtering is per mdev: another mdev\'s queues are not in this qtable', async (t) => {
  const { host, sys, m, dir } = await setup();
  const m2 = await createMdev(host, U2);
  await assign(host, m2, 'adapter', 5);
  await assign(host, m2, 'domain', 6);
  await assign(host, m, 'adapter', 5);
  await assign(host, m, 'domain', 4);
  t.equal(await sys.read(`${dir}/guest_matrix`), '05.0004\n');
  t.equal(await sys.read(`devices/vfio_ap/matrix/${U2}/guest_matrix`), '05.0006\n');
  t.same([...m.qtable.keys()], [mkqid(5, 4)]);
  t.same([...m2.qtable.keys()], [mkqid(5, 6)]);
});

/** A seeded float source (0 <= x < 1), so property tests are reproducible. */
const rng = (seed: number): (() => number) => {
  const r = new Rng(seed);
  return () => r.float();
};

t.test('guest_matrix ⊆ matrix ∩ host configuration, and every adapter in it is fully passable', async (t) => {
  const { host } = await setup();
  const mdevs = [host.mdev(U1)!, await createMdev(host, U2)];
  const next = rng(0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const adapters = [4, 5, 6, 0x0b, 0x20, 0x21];
  const domains = [4, 6, 0x47, 0x54, 0x10];
  const queues = [5, 6].flatMap((a) => HOST_AQM.map((d) => `${a.toString(16).padStart(2, '0')}.${d.toString(16).padStart(4, '0')}`));
  const hostApm = ApMask.fromIds(HOST_APM);
  const hostAqm = ApMask.fromIds(HOST_AQM);
  let violations = 0;
  for (let step = 0; step < 300; step++) {
    const m = pick(mdevs);
    const op = Math.floor(next() * 6);
    if (op === 0) await errnoOf(assign(host, m, 'adapter', pick(adapters)));
    else if (op === 1) await errnoOf(assign(host, m, 'domain', pick(domains)));
    else if (op === 2) await errnoOf(unassign(host, m, 'adapter', pick(adapters)));
    else if (op === 3) await errnoOf(unassign(host, m, 'domain', pick(domains)));
    else if (op === 4) await errnoOf(host.bus.unbindStore('vfio_ap', pick(queues)));
    else await errnoOf(host.bus.bindStore('vfio_ap', pick(queues)));
    for (const x of mdevs) {
      const s = x.shadowApcb;
      const ok =
        s.apm.isSubsetOf(x.matrix.apm.and(hostApm)) &&
        s.aqm.isSubsetOf(x.matrix.aqm.and(hostAqm)) &&
        s.apm.ids().every((a) => s.aqm.ids().every((d) => host.bus.queue(a, d)?.driver?.name === 'vfio_ap' && x.qtable.has(mkqid(a, d)))) &&
        // domains are never filtered: the shadow aqm is exactly matrix ∩ host
        s.aqm.equals(x.matrix.aqm.and(hostAqm));
      if (!ok) violations++;
    }
  }
  t.equal(violations, 0, '300 random steps, invariant checked on both mdevs after each');
  t.ok(mdevs.some((x) => !x.shadowApcb.apm.isEmpty()) || mdevs.some((x) => !x.matrix.apm.isEmpty()), 'the workload did assign something');
});

noLockdepReports(t);
