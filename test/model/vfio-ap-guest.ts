/**
 * The guest side (spec §5 status, §7 create, §8 remove, §14.6, §15, §19 items 11–14): attach and
 * detach, hot plug and unplug into a running guest's APCB, one mdev per guest, removal that
 * blocks while a guest holds the device, and the mdev core's create/remove errors.
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import type { MatrixMdev } from '../../src/model/vfio_ap/matrix-mdev.js';
import { Kvm } from '../../src/model/kvm/guest.js';
import { formatMatrix } from '../../src/sysfs/emit.js';
import { kstrtoul } from '../../src/sysfs/parse.js';
import { OK, U1, U2, U3, createMdev, errnoOf, hostWith, kerr, matrixText, noLockdepReports, settle, sysfs, type Sys } from '../helpers/model.js';

const TYPE = 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough';

/** Adapters 5, 6 and 0x20 (which the host has not got) are left to vfio_ap; U1 holds 05.0004, 05.0047, 06.0004, 06.0047 and control domain 4. */
async function setup(opts: { kernel?: 'trylock' | 'mainline' } = {}): Promise<{ host: Host; sys: Sys; m: MatrixMdev; dir: string }> {
  const host = await hostWith({ apmask: '+0-4,+7-0x1f,+0x21-255' }, opts);
  const sys = sysfs(host);
  const dir = `devices/vfio_ap/matrix/${U1}`;
  const writes = [[`${TYPE}/create`, `${U1}\n`], [`${dir}/assign_adapter`, '5'], [`${dir}/assign_adapter`, '6'], [`${dir}/assign_domain`, '4'], [`${dir}/assign_domain`, '0x47'], [`${dir}/assign_control_domain`, '4']] as const;
  for (const [path, text] of writes) {
    const errno = await sys.write(path, text);
    if (errno !== OK) throw new Error(`setup: ${path} <- ${text}: errno ${errno}`);
  }
  return { host, sys, m: host.mdev(U1)!, dir };
}

/** The guest's APCB as matrix text plus its control domains. */
const apcbText = (kvm: Kvm): string => formatMatrix(kvm.apcb.apm, kvm.apcb.aqm, 255, 84) + `adm ${kvm.apcb.adm.ids().join(',')}`;
const shadowText = (m: MatrixMdev): string => matrixText(m, 'shadowApcb') + `adm ${m.shadowApcb.adm.ids().join(',')}`;

t.test('attach: status becomes "in use" for APQNs in the guest view, the APCB equals guest_matrix', async (t) => {
  const { host, sys, m, dir } = await setup();
  t.equal(await sys.read('devices/ap/card05/05.0004/status'), 'assigned\n');
  t.equal(await sys.read('devices/ap/card05/05.0006/status'), 'unassigned\n');
  await host.attachGuest(U1, 'vm1');
  const kvm = host.guest('vm1');
  t.equal(m.kvm, kvm);
  t.equal(apcbText(kvm), '05.0004\n05.0047\n06.0004\n06.0047\nadm 4');
  t.equal(apcbText(kvm), shadowText(m));
  t.equal(await sys.read(`${dir}/guest_matrix`), '05.0004\n05.0047\n06.0004\n06.0047\n');
  for (const q of ['05.0004', '05.0047', '06.0004', '06.0047']) t.equal(await sys.read(`devices/ap/card${q.slice(0, 2)}/${q}/status`), 'in use\n', q);
  t.equal(await sys.read('devices/ap/card05/05.0006/status'), 'unassigned\n');
  t.equal(kvm.pqapHook?.uuid, U1, 'PQAP hook installed');
  await host.detachGuest(U1);
});

t.test('hot plug and unplug while attached update the APCB at once (§14.6)', async (t) => {
  const { host, sys, m, dir } = await setup();
  await host.attachGuest(U1, 'vm1');
  const kvm = host.guest('vm1');
  // [what, action, APCB afterwards]
  const steps: [what: string, act: () => Promise<Errno | 0>, apcb: string][] = [
    ['assign_domain 6', () => sys.write(`${dir}/assign_domain`, '6'), '05.0004\n05.0006\n05.0047\n06.0004\n06.0006\n06.0047\nadm 4'],
    ['unassign_adapter 6', () => sys.write(`${dir}/unassign_adapter`, '6'), '05.0004\n05.0006\n05.0047\nadm 4'],
    ['unassign_domain 0x47', () => sys.write(`${dir}/unassign_domain`, '0x47'), '05.0004\n05.0006\nadm 4'],
    ['assign_control_domain 1', () => sys.write(`${dir}/assign_control_domain`, '1'), '05.0004\n05.0006\nadm 1,4'],
    ['assign_control_domain 0x50 (not in the host)', () => sys.write(`${dir}/assign_control_domain`, '0x50'), '05.0004\n05.0006\nadm 1,4'],
    ['unassign_control_domain 4', () => sys.write(`${dir}/unassign_control_domain`, '4'), '05.0004\n05.0006\nadm 1'],
    ['unbind 05.0006 from vfio_ap: adapter 5 unplugged', () => sys.write('bus/ap/drivers/vfio_ap/unbind', '05.0006'), '.0004\n.0006\nadm 1'],
    ['status of an assigned APQN filtered out of the running guest', async () => ((await sys.read('devices/ap/card05/05.0004/status')) === 'assigned\n' ? OK : Errno.EIO), '.0004\n.0006\nadm 1'],
    ['bind it back: adapter 5 plugged again', () => sys.write('bus/ap/drivers/vfio_ap/bind', '05.0006'), '05.0004\n05.0006\nadm 1'],
    ['ap_config', () => sys.write(`${dir}/ap_config`, '0x06,0x08,0x40\n'), '05.0004\n06.0004\nadm 1'],
    ['assign_adapter 0x20 (not in the host)', () => sys.write(`${dir}/assign_adapter`, '0x20'), '05.0004\n06.0004\nadm 1'],
  ];
  for (const [what, act, apcb] of steps) {
    t.equal(await act(), OK, what);
    t.equal(apcbText(kvm), apcb, `${what}: APCB`);
    t.equal(apcbText(kvm), shadowText(m), `${what}: APCB = shadow`);
  }
  t.equal(await sys.read('devices/ap/card05/05.0006/status'), 'unassigned\n', 'ap_config dropped domain 6');
  t.equal(await sys.read('devices/ap/card05/05.0047/status'), 'unassigned\n');
  t.equal(await sys.read('devices/ap/card06/06.0004/status'), 'in use\n');
  await host.detachGuest(U1);
});

t.test('the guest only sees APCB rewrites when the view changes; the config-change eventfd is signalled', async (t) => {
  const { host, sys, m, dir } = await setup();
  await host.attachGuest(U1, 'vm1');
  const kvm = host.guest('vm1');
  const updates = kvm.apcbUpdates;
  const signals = m.cfgChgSignals;
  t.equal(await sys.write(`${dir}/assign_adapter`, '5'), OK, 'already assigned');
  t.equal(await sys.write(`${dir}/unassign_domain`, '0x10'), OK, 'not assigned');
  t.equal(await sys.write(`${dir}/assign_domain`, '0x10'), OK, 'not in the host: view unchanged');
  t.equal(kvm.apcbUpdates, updates);
  t.equal(m.cfgChgSignals, signals);
  t.equal(await sys.write(`${dir}/assign_domain`, '6'), OK);
  t.equal(kvm.apcbUpdates, updates + 1);
  t.equal(m.cfgChgSignals, signals + 1);
  await host.detachGuest(U1);
});

t.test('a guest without a crypto control block: open succeeds and does nothing (§15 step 2)', async (t) => {
  const { host, sys, m } = await setup();
  host.kvms.set('plain', new Kvm(host.k, 'plain', false));
  t.equal(await errnoOf(host.attachGuest(U1, 'plain')), OK);
  t.equal(m.kvm, undefined, 'mdev.kvm stays NULL');
  t.equal(host.guest('plain').pqapHook, undefined, 'no hook installed');
  t.equal(await sys.read('devices/ap/card05/05.0004/status'), 'assigned\n', 'never "in use"');
});

t.test('EPERM: a guest takes at most one mdev; the hook stays installed (§19 item 11)', async (t) => {
  const { host, sys } = await setup();
  t.equal(await sys.write(`${TYPE}/create`, U2), OK);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${U2}/assign_domain`, '6'), OK);
  await host.attachGuest(U1, 'vm1');
  await t.rejects(host.attachGuest(U2, 'vm1'), kerr(Errno.EPERM));
  const kvm = host.guest('vm1');
  t.equal(host.mdev(U2)!.kvm, undefined);
  t.equal(kvm.pqapHook?.uuid, U2, 'quirk: the hook points at the refused mdev');
  t.equal(apcbText(kvm), '05.0004\n05.0047\n06.0004\n06.0047\nadm 4', 'the first mdev\'s APCB is untouched');
  await host.attachGuest(U2, 'vm2');
  t.equal(host.mdev(U2)!.kvm?.name, 'vm2', 'another guest may take it');
  await host.detachGuest(U1);
  await host.detachGuest(U2);
  await t.rejects(host.detachGuest(U2), kerr(Errno.ENODEV), 'not open');
  await t.rejects(host.attachGuest(U3, 'vm3'), kerr(Errno.ENODEV), 'no such mdev');
});

t.test('detach clears the APCB and keeps matrix, guest_matrix, links and bindings (§15)', async (t) => {
  const { host, sys, m, dir } = await setup();
  await host.attachGuest(U1, 'vm1');
  const kvm = host.guest('vm1');
  const before = { matrix: await sys.read(`${dir}/matrix`), guest: await sys.read(`${dir}/guest_matrix`), q: [...m.qtable.keys()] };
  // a queue whose reset status is stale: detach resets every linked queue
  host.bus.queue(5, 4)!.vfio!.resetStatus = 5;
  await host.detachGuest(U1);
  t.equal(apcbText(kvm), 'adm ');
  t.equal(m.kvm, undefined);
  t.equal(await sys.read(`${dir}/matrix`), before.matrix);
  t.equal(await sys.read(`${dir}/guest_matrix`), before.guest);
  t.same([...m.qtable.keys()], before.q);
  t.equal(host.bus.queue(5, 4)!.vfio!.resetStatus, 0, 'queue reset on detach');
  t.equal(host.bus.queue(5, 4)!.driver?.name, 'vfio_ap');
  t.equal(await sys.read('devices/ap/card05/05.0004/status'), 'assigned\n');
  // reattaching gives the current shadow without re-filtering
  await host.attachGuest(U1, 'vm1');
  t.equal(apcbText(kvm), shadowText(m));
  await host.detachGuest(U1);
});

t.test('unassign resets only queues inside the guest view; unbind resets the unplugged adapter (§14.2, §14.7, §19 item 12)', async (t) => {
  const { host, sys, dir } = await setup();
  await host.attachGuest(U1, 'vm1');
  const q = (a: number, d: number) => host.bus.queue(a, d)!.vfio!;
  // 06.0047 unbound: adapter 6 leaves the guest view, 06.0004 stays linked outside it
  t.equal(await sys.write('bus/ap/drivers/vfio_ap/unbind', '06.0047'), OK);
  t.equal(apcbText(host.guest('vm1')), '05.0004\n05.0047\nadm 4');
  // mark two queues with a stale reset status; a reset brings it back to 0 (normal)
  q(5, 4).resetStatus = 5;
  q(6, 4).resetStatus = 5;
  t.equal(await sys.write(`${dir}/unassign_domain`, '4'), OK);
  t.equal(q(5, 4).resetStatus, 0, '05.0004 was in the guest view: reset');
  t.equal(q(6, 4).resetStatus, 5, '06.0004 was not: unlinked without a reset');
  t.equal(q(5, 4).matrixMdev, undefined);
  t.equal(q(6, 4).matrixMdev, undefined);
  t.equal(apcbText(host.guest('vm1')), '05.0047\nadm 4');
  // unbinding a queue in the view resets every linked queue of its adapter
  t.equal(await sys.write(`${dir}/assign_domain`, '6'), OK);
  t.equal(apcbText(host.guest('vm1')), '05.0006\n05.0047\nadm 4');
  q(5, 6).resetStatus = 5;
  t.equal(await sys.write('bus/ap/drivers/vfio_ap/unbind', '05.0047'), OK);
  t.equal(q(5, 6).resetStatus, 0, 'the other queue of the unplugged adapter was reset too');
  t.equal(apcbText(host.guest('vm1')), '.0006\n.0047\nadm 4');
  t.equal(matrixText(host.mdev(U1)!), '05.0006\n05.0047\n06.0006\n06.0047\n', 'the assignment is untouched');
  await host.detachGuest(U1);
});

t.test('remove of an mdev with an attached guest blocks until detach (§8, §19 item 13)', async (t) => {
  for (const reqTrigger of [false, true]) {
    t.test(reqTrigger ? 'QEMU registered a request eventfd' : 'no request eventfd', async (t) => {
      const { host, sys, m, dir } = await setup();
      await host.attachGuest(U1, 'vm1', { reqTrigger });
      const kvm = host.guest('vm1');
      const since = host.events.lastSeq;
      t.equal(await sys.read(`${TYPE}/available_instances`), '65535\n');
      let settled = false;
      const removal = host.mdevCore.remove(m, () => kstrtoul('1', 0)).finally(() => {
        settled = true;
      });
      await settle();
      t.equal(settled, false, 'remove is still blocked');
      t.same(host.events.kernelLines(since), [
        reqTrigger ? `vfio_ap_mdev ${U1}: Relaying device request to user (#0)` : `vfio_ap_mdev ${U1}: No device request registered, blocked until released by user`,
      ]);
      t.equal(apcbText(kvm), 'adm ', 'the request cleared the guest masks');
      t.equal(matrixText(m, 'shadowApcb'), '05.0004\n05.0047\n06.0004\n06.0047\n', 'the shadow is kept');
      t.notOk(sys.ls(dir)?.includes('remove'), 'the remove file removed itself');
      t.equal(await sys.read(`${TYPE}/available_instances`), '65535\n');
      t.equal(m.kvm, kvm, 'still attached');
      // a second concurrent remover gets success without doing anything
      t.equal(await errnoOf(host.mdevCore.remove(m, () => 1)), OK);
      t.equal(settled, false);

      await host.detachGuest(U1);
      await removal;
      t.equal(settled, true);
      t.equal(host.mdev(U1), undefined);
      t.notOk(sys.ls('devices/vfio_ap/matrix')?.includes(U1));
      t.equal(sys.ls('bus/mdev/devices')?.length, 0);
      t.equal(await sys.read(`${TYPE}/available_instances`), '65536\n');
      t.equal(host.bus.queue(5, 4)!.driver?.name, 'vfio_ap', 'queues stay bound to vfio_ap');
      t.equal(host.bus.queue(5, 4)!.vfio!.matrixMdev, undefined, 'and forget the mdev');
      t.equal(await sys.read('devices/ap/card05/05.0004/status'), 'unassigned\n');
    });
  }
});

t.test('remove without a guest: 0 does nothing, a bad number is EINVAL, non-zero removes', async (t) => {
  const { host, sys, m, dir } = await setup();
  const cases: [buf: string, errno: Errno | 0][] = [
    ['0', OK],
    ['0\n', OK],
    ['0x0', OK],
    ['abc', Errno.EINVAL],
    ['-1', Errno.EINVAL],
    ['1 ', Errno.EINVAL],
    ['18446744073709551616', Errno.EINVAL], // overflow is EINVAL here, not ERANGE
  ];
  for (const [buf, errno] of cases) {
    t.equal(await sys.write(`${dir}/remove`, buf), errno, JSON.stringify(buf));
    t.equal(host.mdev(U1), m, 'still there');
  }
  t.equal(await errnoOf(host.mdevCore.remove(m, () => kstrtoul('99999999999999999999', 0))), Errno.EINVAL);
  t.equal(await sys.read(`${TYPE}/available_instances`), '65535\n');
  const open = sys.fs.open(`${dir}/matrix`, 0);
  t.equal(await sys.write(`${dir}/remove`, '2\n'), OK);
  t.equal(host.mdev(U1), undefined);
  t.equal(sys.fs.stat(dir), undefined, 'the directory is gone');
  await t.rejects(async () => open.read(0, 100), kerr(Errno.ENODEV), 'an open attribute of the removed mdev');
  open.release();
  t.equal(await sys.read(`${TYPE}/available_instances`), '65536\n');
  t.equal(await errnoOf(host.mdevCore.remove(m, () => 1)), OK, 'a late second remover: no-op');
});

t.test('create: length, UUID syntax, EEXIST, lower-case naming, the 37th byte (§7, kernel-notes §6)', async (t) => {
  const host = await hostWith();
  const sys = sysfs(host);
  const create = `${TYPE}/create`;
  const upper = U2.toUpperCase();
  const cases: [what: string, buf: string, errno: Errno | 0][] = [
    ['35 bytes', U1.slice(0, 35), Errno.EINVAL],
    ['38 bytes', `${U1}\n\n`, Errno.EINVAL],
    ['empty line', '\n', Errno.EINVAL],
    ['a non-hex digit', `${U1.slice(0, 35)}g`, Errno.EINVAL],
    ['a misplaced hyphen', `${U1.slice(0, 7)}-${U1.slice(8)}`.replace(/^(.{8})-/, '$1x'), Errno.EINVAL],
    ['no hyphens', `${U1.replace(/-/g, '')}0000`, Errno.EINVAL],
    ['braces', `{${U1.slice(1, 35)}}`, Errno.EINVAL],
    ['36 bytes, no newline', U1, OK],
    ['the same UUID again', `${U1}\n`, Errno.EEXIST],
    ['37th byte may be any character', `${U3}x`, OK],
    ['upper case', upper, OK],
    ['the same UUID in lower case', U2, Errno.EEXIST],
    ['the same UUID in upper case with a newline', `${upper}\n`, Errno.EEXIST],
  ];
  for (const [what, buf, errno] of cases) t.equal(await sys.write(create, buf), errno, what);
  t.same([...(sys.ls('devices/vfio_ap/matrix') ?? [])].filter((n) => n.includes('-')).sort(), [U1, U2, U3].sort(), 'named in lower case');
  t.ok(host.mdev(upper), 'lookup is case-insensitive in the helper');
  t.equal(await sys.read(`${TYPE}/available_instances`), '65533\n');
  // the model verb takes the written byte count separately
  await t.rejects(host.mdevCore.create(U1.slice(0, 36), 35), kerr(Errno.EINVAL));
  await t.rejects(host.mdevCore.create(`${'0'.repeat(36)}`, 36), kerr(Errno.EINVAL));
  t.ok(await host.mdevCore.create('00000000-0000-0000-0000-000000000000', 36));
});

t.test('create: EUSERS when no instance is left', async (t) => {
  const host = await hostWith();
  host.mdevCore.availableInstances = 1;
  t.ok(await createMdev(host, U1));
  await t.rejects(createMdev(host, U2), kerr(Errno.EUSERS));
  t.equal(host.mdev(U2), undefined);
});

t.test('a new mdev starts empty with no guest; it is listed newest first', async (t) => {
  const host = await hostWith();
  const a = await createMdev(host, U1);
  const b = await createMdev(host, U2);
  for (const m of [a, b]) {
    t.equal(matrixText(m), '');
    t.equal(matrixText(m, 'shadowApcb'), '');
    t.equal(m.matrix.adm.isEmpty(), true);
    t.equal(m.kvm, undefined);
  }
  t.same(host.matrixDev.mdevList.map((m) => m.uuid), [U2, U1]);
});

t.test('attach and detach in the mainline profile behave the same', async (t) => {
  const { host, sys, m, dir } = await setup({ kernel: 'mainline' });
  await host.attachGuest(U1, 'vm1');
  t.equal(apcbText(host.guest('vm1')), shadowText(m));
  t.equal(await sys.write(`${dir}/unassign_adapter`, '5'), OK);
  t.equal(apcbText(host.guest('vm1')), '06.0004\n06.0047\nadm 4');
  await host.detachGuest(U1);
  t.equal(apcbText(host.guest('vm1')), 'adm ');
});

noLockdepReports(t);
