/**
 * Acceptance test for README decision 2 (and §2 step 5, §13 in-use callback): an apmask/aqmask
 * write that newly reserves APQNs asks vfio_ap whether they are in use. In the default 'trylock'
 * profile the callback only tries matrix_dev->guests_lock and matrix_dev->mdevs_lock: while
 * another task holds either, the write fails at once with EBUSY, the mask and every binding
 * unchanged. Without a holder the in-use rule decides. In the 'mainline' profile the write waits
 * for the holder instead and then succeeds.
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import { OK, U1, U2, bindingsOf, createMdev, errnoOf, holdLock, hostWith, maskOf, noLockdepReports, settle, sysfs } from '../helpers/model.js';

const ALL_BUT = (...ids: number[]): string => maskOf([...Array(256).keys()].filter((i) => !ids.includes(i)));

/** Host whose apmask leaves adapter 5 to vfio_ap: the write `+5` newly reserves it. */
async function setup(kernel: 'trylock' | 'mainline' = 'trylock'): Promise<Host> {
  return hostWith({ apmask: '+0-4,+6-255' }, { kernel });
}

const LOCKS = ['guestsLock', 'mdevsLock'] as const;
const lockName = { guestsLock: 'matrix_dev->guests_lock', mdevsLock: 'matrix_dev->mdevs_lock' } as const;

for (const which of LOCKS) {
  t.test(`trylock profile: ${lockName[which]} held by another task → EBUSY, nothing changes`, async (t) => {
    const host = await setup();
    const sys = sysfs(host);
    t.equal(await sys.read('bus/ap/apmask'), ALL_BUT(5));
    // Clearing bits asks nobody, but its rebinding (vfio_ap probe) needs guests_lock: do it first.
    t.equal(await sys.write('bus/ap/aqmask', '-4'), OK);
    const bindings = bindingsOf(host);
    t.ok(bindings.includes('05.0004=vfio_ap'));
    t.ok(bindings.includes('04.0004=vfio_ap'));
    const since = host.events.lastSeq;

    const holder = await holdLock(host, host.matrixDev[which], lockName[which]);
    t.ok(host.matrixDev[which].locked, 'held');
    t.equal(await sys.write('bus/ap/apmask', '+5\n'), Errno.EBUSY, 'apmask +5');
    t.equal(await errnoOf(host.bus.apmaskStore('0xffff')), Errno.EBUSY, 'apmask absolute, reserving 5 among others');
    t.equal(await sys.write('bus/ap/aqmask', '+4'), Errno.EBUSY, 'aqmask re-reserving domain 4');
    t.equal(await sys.read('bus/ap/apmask'), ALL_BUT(5), 'apmask unchanged');
    t.equal(await sys.read('bus/ap/aqmask'), ALL_BUT(4), 'aqmask unchanged by the refused write');
    t.same(bindingsOf(host), bindings, 'no binding changed');
    t.same(host.events.kernelLines(since), [], 'no in-use lines: the check never ran');
    t.equal(host.bus.apPermsMutex.locked, false, 'ap_perms_mutex released after the failure');

    // A write that only clears bits is not refused: it stores the mask, and its rebinding
    // (vfio_ap's probe takes guests_lock → mdevs_lock) waits for the holder.
    let cleared = false;
    const clearing = sys.write('bus/ap/aqmask', '-6').finally(() => {
      cleared = true;
    });
    await settle();
    t.equal(cleared, false, 'the clearing write waits in the rebinding');
    t.equal(await sys.read('bus/ap/aqmask'), ALL_BUT(4, 6), 'the mask is stored before rebinding (§2 step 6-7)');
    await holder.release();
    t.equal(await clearing, OK);
    t.ok(bindingsOf(host).includes('04.0006=vfio_ap'));

    t.equal(await sys.write('bus/ap/apmask', '+5\n'), OK, 'without a holder the same write succeeds');
    t.equal(await sys.read('bus/ap/apmask'), ALL_BUT());
    t.ok(bindingsOf(host).includes('05.0047=cex4queue'), 'adapter 5 went back to the default driver');
    t.ok(bindingsOf(host).includes('05.0006=vfio_ap'), 'except where aqmask leaves it to vfio_ap');
    t.equal(await sys.write('bus/ap/aqmask', '+4,+6'), OK);
    t.equal(await sys.read('bus/ap/bindings'), '16/16 (complete)\n');
    t.same(bindingsOf(host).filter((b) => !b.endsWith('=cex4queue')), []);
  });
}

t.test('trylock profile, no holder: an mdev holding the APQN → EBUSY with one line per APQN', async (t) => {
  const host = await setup();
  const sys = sysfs(host);
  const m1 = await createMdev(host, U1);
  const m2 = await createMdev(host, U2);
  for (const [m, f, v] of [[m1, 'assign_adapter', '5'], [m1, 'assign_domain', '4'], [m1, 'assign_domain', '0x47'], [m2, 'assign_domain', '6']] as const) {
    t.equal(await sys.write(`devices/vfio_ap/matrix/${m.uuid}/${f}`, v), OK);
  }
  const bindings = bindingsOf(host);
  const since = host.events.lastSeq;
  t.equal(await sys.write('bus/ap/apmask', '+5'), Errno.EBUSY);
  t.same(host.events.kernelLines(since), [
    `vfio_ap_mdev ${U1}: Can not reserve queue 05.0004 for host driver: in use by mdev`,
    `vfio_ap_mdev ${U1}: Can not reserve queue 05.0047 for host driver: in use by mdev`,
  ]);
  t.equal(await sys.read('bus/ap/apmask'), ALL_BUT(5));
  t.same(bindingsOf(host), bindings);
  t.equal(await sys.read('devices/ap/card05/05.0004/status'), 'assigned\n');

  // v6.17 (README decision 1): the other dimension is the *current* aqmask; with domains 4 and
  // 0x47 cleared in aqmask, reserving adapter 5 touches no APQN of the mdev and succeeds.
  t.equal(await sys.write('bus/ap/aqmask', '-4,-0x47'), OK);
  const since2 = host.events.lastSeq;
  t.equal(await sys.write('bus/ap/apmask', '+5'), OK);
  t.same(host.events.kernelLines(since2), []);
  t.ok(bindingsOf(host).includes('05.0006=cex4queue'));
  t.ok(bindingsOf(host).includes('05.0004=vfio_ap'), '05.0004 stays unreserved (aqmask bit 4 clear)');
  // and now reserving domain 4 collides with the mdev
  const since3 = host.events.lastSeq;
  t.equal(await sys.write('bus/ap/aqmask', '+4'), Errno.EBUSY);
  t.same(host.events.kernelLines(since3), [`vfio_ap_mdev ${U1}: Can not reserve queue 05.0004 for host driver: in use by mdev`]);
  t.equal(await sys.read('bus/ap/aqmask'), ALL_BUT(4, 0x47));
});

t.test('an mdev attached to a guest changes nothing in the in-use rule', async (t) => {
  const host = await setup();
  const sys = sysfs(host);
  const m = await createMdev(host, U1);
  await sys.write(`devices/vfio_ap/matrix/${m.uuid}/assign_adapter`, '5');
  await sys.write(`devices/vfio_ap/matrix/${m.uuid}/assign_domain`, '6');
  await host.attachGuest(U1, 'vm1');
  t.equal(await sys.write('bus/ap/apmask', '+5'), Errno.EBUSY);
  await host.detachGuest(U1);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${m.uuid}/unassign_adapter`, '5'), OK);
  t.equal(await sys.write('bus/ap/apmask', '+5'), OK, 'once unassigned, the adapter can be reserved');
});

for (const which of LOCKS) {
  t.test(`mainline profile: the write waits for ${lockName[which]} and then succeeds`, async (t) => {
    const host = await setup('mainline');
    const sys = sysfs(host);
    const holder = await holdLock(host, host.matrixDev[which], lockName[which]);
    let settled = false;
    const write = sys.write('bus/ap/apmask', '+5\n').finally(() => {
      settled = true;
    });
    await settle();
    t.equal(settled, false, 'blocked while the lock is held');
    t.equal(host.bus.apPermsMutex.locked, true, 'holding ap_perms_mutex while it waits');
    t.equal(await sys.read('bus/ap/apmask'), ALL_BUT(5), 'not changed yet');
    await holder.release();
    t.equal(await write, OK);
    t.equal(await sys.read('bus/ap/apmask'), ALL_BUT());
    t.ok(bindingsOf(host).includes('05.0004=cex4queue'));
  });
}

t.test('mainline profile: the in-use rule still refuses an APQN an mdev holds', async (t) => {
  const host = await setup('mainline');
  const sys = sysfs(host);
  const m = await createMdev(host, U1);
  await sys.write(`devices/vfio_ap/matrix/${m.uuid}/assign_adapter`, '5');
  await sys.write(`devices/vfio_ap/matrix/${m.uuid}/assign_domain`, '0x54');
  const since = host.events.lastSeq;
  t.equal(await sys.write('bus/ap/apmask', '+5'), Errno.EBUSY);
  t.same(host.events.kernelLines(since), [`vfio_ap_mdev ${U1}: Can not reserve queue 05.0054 for host driver: in use by mdev`]);
});

t.test('trylock profile: an assignment racing a mask write never deadlocks', async (t) => {
  // assign takes guests_lock → mdevs_lock → ap_perms_mutex; the mask write ap_perms_mutex → trylock.
  const host = await setup();
  const m = await createMdev(host, U1);
  const sys = sysfs(host);
  const results = await Promise.all([
    sys.write(`devices/vfio_ap/matrix/${m.uuid}/assign_adapter`, '5'),
    sys.write('bus/ap/apmask', '+5'),
    sys.write(`devices/vfio_ap/matrix/${m.uuid}/assign_domain`, '4'),
    sys.write('bus/ap/aqmask', '-6'),
  ]);
  t.equal(results[0], OK);
  t.equal(results[3], OK);
  t.ok([OK, Errno.EBUSY].includes(results[1]!), `apmask +5 → ${results[1]}`);
  t.ok([OK, Errno.EADDRNOTAVAIL].includes(results[2]!), `assign_domain 4 → ${results[2]}`);
  // whichever won, the result is consistent: no reserved APQN is assigned
  const reserved = m.matrix.apm.ids().some((a) => m.matrix.aqm.ids().some((d) => host.bus.ownedByDefDrv(a, d)));
  t.equal(reserved, false);
});

noLockdepReports(t);
