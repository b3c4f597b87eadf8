/**
 * Lock order (spec §16, README decision 2): lockdep is always on, a deliberate inversion through a
 * real host's locks is reported with both locks and the existing chain, and a workload of every
 * verb, sequential and concurrent, in both profiles, records no report at all.
 */
import t, { type Test } from 'tap';
import { Errno, KernelError } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import type { LockProfile } from '../../src/model/kernel.js';
import { ApMask } from '../../src/model/ap/ap-mask.js';
import { OK, U1, U2, U3, hostWith, noLockdepReports, settle, sysfs, type Sys } from '../helpers/model.js';

const GUESTS = 'matrix_dev->guests_lock';
const MDEVS = 'matrix_dev->mdevs_lock';
const PERMS = 'ap_perms_mutex';
const site = (fn: string) => ({ op: 'test inversion', fn });

t.test('taking guests_lock under mdevs_lock (the reverse of get_update_locks_for_mdev) is reported', async (t) => {
  const host = await hostWith({ apmask: '+0-4,+6-255' }, { expectLockdepReports: true });
  const sys = sysfs(host);
  t.equal(await sys.write('devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create', U1), OK);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${U1}/assign_adapter`, '5'), OK, 'records guests_lock → mdevs_lock');
  t.equal(host.lockdep.reports.length, 0);
  const md = host.matrixDev;
  await host.lockdep.runTask('inverter', async () => {
    await md.mdevsLock.lock(site('bad_helper_outer'));
    await md.guestsLock.lock(site('bad_helper_inner'));
    md.guestsLock.unlock();
    md.mdevsLock.unlock();
  });
  t.equal(host.lockdep.reports.length, 1);
  const r = host.lockdep.reports[0]!;
  t.equal(r.kind, 'circular');
  t.equal(r.taking, GUESTS);
  t.equal(r.held, MDEVS);
  t.match(r.task, /^inverter\/\d+$/);
  t.equal(r.chain.length, 1);
  t.match(r.chain[0], { from: GUESTS, to: MDEVS });
  t.match(r.text, 'WARNING: possible circular locking dependency detected');
  t.match(r.text, new RegExp(`inverter/\\d+ is trying to acquire lock:\\n  \\(${escape(GUESTS)}\\)\\{\\+\\.\\+\\.\\}, at: bad_helper_inner \\[test inversion\\]`));
  t.match(r.text, new RegExp(`but task is already holding lock:\\n  \\(${escape(MDEVS)}\\)\\{\\+\\.\\+\\.\\}, at: bad_helper_outer \\[test inversion\\]`));
  t.match(r.text, 'the existing dependency chain (in reverse order) is:');
  t.match(r.text, new RegExp(`-> #1 \\(${escape(MDEVS)}\\)`));
  t.match(r.text, new RegExp(`-> #0 \\(${escape(GUESTS)}\\)`));
  t.match(r.text, `lock(${MDEVS});`);
  t.match(r.text, `lock(${GUESTS});`);
  t.match(r.text, '*** DEADLOCK ***');
  t.ok(host.events.entries().some((e) => e.kind === 'lockdep' && e.text === r.text), 'the report is in the event log');

  // lockdep reports a dependency pair once
  await host.lockdep.runTask('inverter again', async () => {
    await md.mdevsLock.lock(site('bad_helper_outer'));
    await md.guestsLock.lock(site('bad_helper_inner'));
    md.guestsLock.unlock();
    md.mdevsLock.unlock();
  });
  t.equal(host.lockdep.reports.length, 1);
});

t.test('ap_perms_mutex under kvm->lock in the mainline profile (where it comes first) is reported', async (t) => {
  const host = await hostWith({ apmask: '+0-4,+6-255' }, { kernel: 'mainline', expectLockdepReports: true });
  const sys = sysfs(host);
  t.equal(await sys.write('devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create', U1), OK);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${U1}/assign_adapter`, '5'), OK);
  await host.attachGuest(U1, 'vm1');
  // mainline assign with a guest: ap_perms_mutex → guests_lock → kvm->lock → mdevs_lock
  t.equal(await sys.write(`devices/vfio_ap/matrix/${U1}/assign_domain`, '4'), OK);
  t.equal(host.lockdep.reports.length, 0);
  const kvm = host.guest('vm1');
  await host.lockdep.runTask('kvm ioctl', async () => {
    await kvm.lock.lock(site('kvm_bad_path'));
    await host.bus.apPermsMutex.lock(site('ap_bad_path'));
    host.bus.apPermsMutex.unlock();
    kvm.lock.unlock();
  });
  t.equal(host.lockdep.reports.length, 1);
  const r = host.lockdep.reports[0]!;
  t.equal(r.kind, 'circular');
  t.equal(r.taking, PERMS);
  t.equal(r.held, '&kvm->lock');
  t.same(r.chain.map((l) => `${l.from} -> ${l.to}`), [`${PERMS} -> &kvm->lock`]);
  t.match(r.chain[0]!.first, { fn: 'assign_domain_store' }, 'where the dependency was first seen');
  for (const name of [PERMS, '&kvm->lock']) t.match(r.text, `(${name})`, `text names ${name}`);
  t.match(r.text, 'vm1 (&kvm->lock)', 'the instance (the guest) is named');
  await host.detachGuest(U1);
});

t.test('taking the same class twice is a recursive report', async (t) => {
  const host = await hostWith({}, { expectLockdepReports: true });
  const a = host.guest('vm-a').lock;
  const b = host.guest('vm-b').lock;
  await host.lockdep.runTask('two guests', async () => {
    await a.lock(site('outer'));
    await b.lock(site('inner'));
    b.unlock();
    a.unlock();
  });
  t.equal(host.lockdep.reports.length, 1);
  t.equal(host.lockdep.reports[0]!.kind, 'recursive');
  t.equal(host.lockdep.reports[0]!.taking, '&kvm->lock');
  t.match(host.lockdep.reports[0]!.text, 'vm-a');
  t.match(host.lockdep.reports[0]!.text, 'vm-b');
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

/** Every readable file under `dir`, read once (each show() runs under its locks). */
async function readAll(sys: Sys, dir = '', depth = 0): Promise<number> {
  let n = 0;
  for (const name of sys.ls(dir) ?? []) {
    const p = `${dir}/${name}`;
    const st = sys.fs.stat(p);
    if (!st) continue;
    if (st.kind === 'dir' && depth < 6) n += await readAll(sys, p, depth + 1);
    // class/zcrypt/create|destroy are 0600 with no show (zcrypt_api.c): not readable.
    else if (st.kind === 'file' && st.mode & 0o444 && !/^\/class\/zcrypt\/(create|destroy)$/.test(p)) {
      const r = await sys.read(p);
      if (typeof r !== 'string') throw new Error(`${p}: read failed with errno ${r}`);
      n++;
    }
  }
  return n;
}

/** Any KernelError is an answer; EDEADLK or any other exception fails the workload. */
async function answer(p: Promise<unknown>): Promise<Errno | 0> {
  try {
    await p;
    return OK;
  } catch (e) {
    if (e instanceof KernelError && e.errno !== Errno.EDEADLK) return e.errno;
    throw e;
  }
}

/** Every verb the model has, first one at a time, then racing each other. */
async function workload(t: Test, host: Host): Promise<void> {
  const sys = sysfs(host);
  const w = (path: string, text: string) => sys.write(path, text);
  const mdev = (u: string, f: string) => `devices/vfio_ap/matrix/${u}/${f}`;
  const create = 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create';

  // bus files
  t.equal(await w('bus/ap/apmask', '-5,-6,-0x20'), OK);
  t.equal(await w('bus/ap/aqmask', '-0x54'), OK);
  t.equal(await w('bus/ap/apmask', '-5'), OK, 'unchanged');
  t.equal(await w('bus/ap/apmask', '+1 ,+2'), Errno.EINVAL);
  t.equal(await w('bus/ap/ap_domain', '6'), OK);
  t.equal(await w('bus/ap/config_time', '60'), OK);
  t.equal(await w('bus/ap/poll_thread', '1'), OK);
  t.equal(await w('bus/ap/poll_timeout', '500000'), OK);
  t.equal(await w('bus/ap/drivers_autoprobe', '1'), OK);
  t.equal(await w('bus/ap/uevent', 'change'), OK);
  t.equal(await w('devices/ap/card04/config', '1'), OK);
  t.equal(await w('devices/ap/card04/online', '1'), OK);
  t.equal(await w('devices/ap/card04/04.0004/online', '1'), OK);
  t.equal(await w('devices/ap/card04/04.0004/reset', '1'), OK);
  t.equal(await w('devices/ap/card04/request_count', '0'), OK);

  // mdevs
  for (const u of [U1, U2, U3]) t.equal(await w(create, u), OK);
  t.equal(await w(create, U1), Errno.EEXIST);
  for (const [u, f, v, e] of [
    [U1, 'assign_adapter', '5', OK],
    [U1, 'assign_domain', '4', OK],
    [U1, 'assign_domain', '6', OK],
    [U1, 'assign_control_domain', '1', OK],
    [U2, 'assign_adapter', '6', OK],
    [U2, 'assign_domain', '4', OK],
    [U2, 'assign_domain', '0x54', OK],
    [U3, 'assign_domain', '4', OK],
    [U3, 'assign_adapter', '5', Errno.EADDRINUSE],
    [U3, 'assign_adapter', '4', Errno.EADDRNOTAVAIL],
    [U3, 'ap_config', `${ApMask.fromIds([0x20]).toString()},${ApMask.fromIds([4]).toString()},0x4\n`, OK], // adapter 0x20 (not in the host), domain 4
  ] as const) {
    t.equal(await w(mdev(u, f), v), e, `${u.slice(0, 4)} ${f} ${v.slice(0, 20)}`);
  }
  t.ok((await readAll(sys)) > 200, 'every readable file read');

  // guests, hot plug
  await host.attachGuest(U1, 'vm1');
  await host.attachGuest(U2, 'vm2');
  t.equal(await answer(host.attachGuest(U3, 'vm1')), Errno.EPERM);
  t.equal(await w(mdev(U1, 'assign_domain'), '0x47'), OK);
  t.equal(await w(mdev(U1, 'unassign_domain'), '6'), OK);
  t.equal(await w(mdev(U1, 'assign_control_domain'), '4'), OK);
  t.equal(await w(mdev(U1, 'unassign_control_domain'), '1'), OK);
  t.equal(await w('bus/ap/drivers/vfio_ap/unbind', '05.0004'), OK);
  t.equal(await w('bus/ap/drivers/vfio_ap/bind', '05.0004'), OK);
  t.equal(await w('bus/ap/drivers/vfio_ap/unbind', '06.0004'), OK);
  t.equal(await w('bus/ap/drivers_probe', '06.0004'), OK);
  t.equal(await w('bus/ap/apmask', '+5'), Errno.EBUSY);
  t.equal(await w('bus/ap/aqmask', '+0x54'), OK, 'v6.17: 0x54 x current apmask misses adapter 6');
  t.equal(await w('bus/ap/aqmask', '-0x54'), OK);
  t.equal(await w(mdev(U2, 'ap_config'), '0x02,0x08,0x08\n'), OK);
  t.ok((await readAll(sys)) > 200);

  // host configuration changes with guests attached: on_config_changed / on_scan_complete
  const a6 = host.hw.adapters.get(6)!;
  host.hw.adapters.delete(6);
  host.hw.usageDomains.clear(0x47);
  host.hw.controlDomains.clear(4);
  t.equal(await w('bus/ap/scans', '1'), OK);
  host.hw.adapters.set(6, a6);
  host.hw.usageDomains.set(0x47);
  host.hw.controlDomains.set(4);
  t.equal(await w('bus/ap/scans', '1'), OK);
  t.equal(await w('devices/ap/card05/config', '0'), OK);
  t.equal(await w('bus/ap/scans', '1'), OK);
  t.equal(await w('devices/ap/card05/config', '1'), OK);
  t.equal(await w('bus/ap/scans', '1'), OK);

  // everything at once
  const race = await Promise.all([
    answer(host.bus.apmaskStore('-4')),
    answer(host.bus.aqmaskStore('+6')),
    w(mdev(U1, 'assign_domain'), '6'),
    w(mdev(U2, 'unassign_adapter'), '6'),
    w(mdev(U3, 'assign_adapter'), '4'),
    w(mdev(U1, 'ap_config'), '0x04,0x0a,0x4\n'),
    w('bus/ap/drivers/vfio_ap/unbind', '05.0047'),
    w('bus/ap/drivers_probe', '05.0047'),
    w('bus/ap/scans', '1'),
    readAll(sys).then(() => OK),
    answer(host.detachGuest(U2)),
    answer(host.attachGuest(U3, 'vm3')),
    w(create, 'e9a1b1b6-1e0b-4f5e-8a9e-2b6c1d3e4f50'),
    w(mdev(U3, 'unassign_domain'), '4'),
    readAll(sys).then(() => OK),
  ]);
  t.equal(race.length, 15, `racing verbs answered ${race.join(' ')}`);

  // removal while attached blocks until the guest goes
  let removed = false;
  const removal = w(mdev(U1, 'remove'), '1').finally(() => {
    removed = true;
  });
  await settle();
  t.equal(removed, false);
  await host.detachGuest(U1);
  t.equal(await removal, OK);
  t.equal(await answer(host.detachGuest(U3)), OK);
  for (const u of [U2, U3, 'e9a1b1b6-1e0b-4f5e-8a9e-2b6c1d3e4f50']) t.equal(await w(mdev(u, 'remove'), '1'), OK);
  t.equal(await w('bus/ap/apmask', FULLWRITE), OK);
  t.equal(await w('bus/ap/aqmask', FULLWRITE), OK);
  t.equal(await sys.read('bus/ap/bindings'), '16/16 (complete)\n');
}
const FULLWRITE = `0x${'f'.repeat(64)}\n`;

for (const kernel of ['trylock', 'mainline'] as LockProfile[]) {
  t.test(`a workload of every verb records no lockdep report (${kernel} profile)`, async (t) => {
    const host = await hostWith({}, { kernel });
    await workload(t, host);
    t.same(host.lockdep.reports.map((r) => r.text), [], 'no inversion, recursion or deadlock');
    t.equal(host.lockdep.reports.length, 0);
    const edges = host.lockdep.edges().map((e) => `${e.from} -> ${e.to}`);
    t.ok(edges.includes(`${GUESTS} -> ${MDEVS}`), 'the canonical order was exercised');
    t.ok(edges.includes(`${GUESTS} -> &kvm->lock`));
    t.ok(edges.includes(`&kvm->lock -> ${MDEVS}`));
    t.notOk(edges.includes(`${MDEVS} -> ${GUESTS}`));
    if (kernel === 'mainline') t.ok(edges.includes(`${PERMS} -> ${GUESTS}`), 'mainline: ap_perms_mutex first');
    else {
      t.ok(edges.includes(`${MDEVS} -> ${PERMS}`), 'trylock: ap_perms_mutex last');
      t.notOk(edges.includes(`${PERMS} -> ${GUESTS}`), 'the in-use trylock adds no edge');
    }
  });
}

noLockdepReports(t);
