/**
 * The per-mdev assignment files (spec §8, §13, §19 items 1, 4, 5, 6): every errno of every
 * assign_/unassign_ file and of ap_config, in the kernel's order of evaluation, with the exact
 * log lines. Model verbs are called with the parse thunk the sysfs table gives them.
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import { ApMask } from '../../src/model/ap/ap-mask.js';
import type { MatrixMdev } from '../../src/model/vfio_ap/matrix-mdev.js';
import {
  apConfigStore,
  assignControlDomainStore,
  assignStore,
  unassignControlDomainStore,
  unassignStore,
} from '../../src/model/vfio_ap/assign.js';
import { formatApConfig, parseApConfig } from '../../src/sysfs/emit.js';
import { kstrtoul } from '../../src/sysfs/parse.js';
import { OK, U1, U2, U3, createMdev, errnoOf, holdLock, hostWith, kerr, matrixText, noLockdepReports, settle, sysfs } from '../helpers/model.js';

type File = 'assign_adapter' | 'unassign_adapter' | 'assign_domain' | 'unassign_domain' | 'assign_control_domain' | 'unassign_control_domain';

/** What writing `buf` to one of the six files does: the call the sysfs table makes. */
function write(host: Host, mdev: MatrixMdev, file: File, buf: string): Promise<void> {
  const md = host.matrixDev;
  const parse = () => kstrtoul(buf, 0);
  switch (file) {
    case 'assign_adapter':
      return assignStore(md, mdev, 'adapter', parse);
    case 'unassign_adapter':
      return unassignStore(md, mdev, 'adapter', parse);
    case 'assign_domain':
      return assignStore(md, mdev, 'domain', parse);
    case 'unassign_domain':
      return unassignStore(md, mdev, 'domain', parse);
    case 'assign_control_domain':
      return assignControlDomainStore(md, mdev, parse);
    case 'unassign_control_domain':
      return unassignControlDomainStore(md, mdev, parse);
  }
}
const apConfig = (host: Host, mdev: MatrixMdev, buf: string): Promise<void> => apConfigStore(host.matrixDev, mdev, () => parseApConfig(buf));
const readApConfig = (m: MatrixMdev): string => formatApConfig(m.matrix.apm, m.matrix.aqm, m.matrix.adm);
const hex64 = (ids: number[]): string => ApMask.fromIds(ids).toString();
const FILES: File[] = ['assign_adapter', 'unassign_adapter', 'assign_domain', 'unassign_domain', 'assign_control_domain', 'unassign_control_domain'];
const limitOf = (file: File): number => (file.endsWith('adapter') ? 255 : 84);

/** A host whose apmask leaves adapters 5 and 6 (and 0x20..0x2f, which the host has not got) to vfio_ap. */
async function setup(): Promise<{ host: Host; m1: MatrixMdev; m2: MatrixMdev }> {
  const host = await hostWith({ apmask: '+0-4,+7-0x1f,+0x30-255' });
  const m1 = await createMdev(host, U1);
  const m2 = await createMdev(host, U2);
  return { host, m1, m2 };
}

t.test('parse and range errors of all six files, in the kernel order EINVAL/ERANGE → ENODEV', async (t) => {
  // [written, errno for adapters (apm_max 255), errno for domains (aqm_max = adm_max = 84)]
  const cases: [buf: string, adapter: Errno | 0, domain: Errno | 0][] = [
    ['', Errno.EINVAL, Errno.EINVAL],
    ['\n', Errno.EINVAL, Errno.EINVAL],
    ['abc', Errno.EINVAL, Errno.EINVAL],
    ['-5', Errno.EINVAL, Errno.EINVAL],
    [' 5', Errno.EINVAL, Errno.EINVAL],
    ['5 ', Errno.EINVAL, Errno.EINVAL],
    ['5\n\n', Errno.EINVAL, Errno.EINVAL],
    ['0x', Errno.EINVAL, Errno.EINVAL],
    ['5,6', Errno.EINVAL, Errno.EINVAL],
    ['18446744073709551616', Errno.ERANGE, Errno.ERANGE], // overflow beats range
    ['0x10000000000000000', Errno.ERANGE, Errno.ERANGE],
    ['18446744073709551615', Errno.ENODEV, Errno.ENODEV],
    ['256', Errno.ENODEV, Errno.ENODEV],
    ['0x100\n', Errno.ENODEV, Errno.ENODEV],
    ['85', OK, Errno.ENODEV],
    ['0x55', OK, Errno.ENODEV],
    ['0125', OK, Errno.ENODEV], // octal 85
    ['84', OK, OK],
    ['+84\n', OK, OK],
    ['0x54', OK, OK],
    ['255', OK, Errno.ENODEV],
  ];
  for (const file of FILES) {
    t.test(file, async (t) => {
      const { host, m1 } = await setup();
      for (const [buf, a, d] of cases) {
        const want = file.endsWith('adapter') ? a : d;
        const before = readApConfig(m1);
        t.equal(await errnoOf(write(host, m1, file, buf)), want, `${JSON.stringify(buf)} (limit ${limitOf(file)})`);
        if (want !== OK) t.equal(readApConfig(m1), before, 'nothing changed');
      }
    });
  }
});

t.test('without APXA the limits are 63 / 15 / 15', async (t) => {
  const host = await hostWith({ apxa: false, features: ['APSC', 'QACT', 'RC8A'], maxAdapterId: undefined, maxDomainId: undefined, usageDomains: ['0x0004', '0x0006'], controlDomains: ['0x0004'], aqmask: '+0-3,+5-255', apDomain: 6 });
  const m = await createMdev(host, U1);
  t.equal(m.matrix.apmMax, 63);
  t.equal(m.matrix.aqmMax, 15);
  t.equal(m.matrix.admMax, 15);
  t.equal(await errnoOf(write(host, m, 'assign_adapter', '64')), Errno.ENODEV);
  t.equal(await errnoOf(write(host, m, 'assign_adapter', '63')), OK);
  t.equal(await errnoOf(write(host, m, 'assign_domain', '16')), Errno.ENODEV);
  t.equal(await errnoOf(write(host, m, 'assign_domain', '4')), OK, 'aqmask bit 4 is clear: not reserved');
  t.equal(await errnoOf(write(host, m, 'assign_control_domain', '16')), Errno.ENODEV);
  t.equal(await errnoOf(write(host, m, 'assign_control_domain', '15')), OK);
  t.equal(await errnoOf(apConfig(host, m, `${hex64([63])},${hex64([4])},${hex64([16])}\n`)), Errno.ENODEV);
});

t.test('EADDRNOTAVAIL: an APQN of the new matrix is reserved for the host (§13)', async (t) => {
  const { host, m1 } = await setup();
  const since = host.events.lastSeq;
  // §19 item 6: a reserved adapter goes in while the mdev has no domains ...
  t.equal(await errnoOf(write(host, m1, 'assign_adapter', '4')), OK);
  t.equal(matrixText(m1), '04.\n');
  t.equal(await errnoOf(write(host, m1, 'assign_domain', '0x55')), Errno.ENODEV, 'the range check comes before validation');
  // ... and the failure surfaces on the first domain
  t.equal(await errnoOf(write(host, m1, 'assign_domain', '6')), Errno.EADDRNOTAVAIL);
  t.equal(matrixText(m1), '04.\n', 'the domain bit was cleared again');
  t.same(host.events.kernelLines(since), [], 'a reservation refusal logs nothing');
  // the same in the other order
  t.equal(await errnoOf(write(host, m1, 'unassign_adapter', '4')), OK);
  t.equal(await errnoOf(write(host, m1, 'assign_domain', '6')), OK);
  t.equal(await errnoOf(write(host, m1, 'assign_adapter', '4')), Errno.EADDRNOTAVAIL);
  t.equal(await errnoOf(write(host, m1, 'assign_adapter', '0x0b')), Errno.EADDRNOTAVAIL);
  t.equal(matrixText(m1), '.0006\n');
  // a non-reserved adapter is fine, even one the host does not have
  t.equal(await errnoOf(write(host, m1, 'assign_adapter', '5')), OK);
  t.equal(await errnoOf(write(host, m1, 'assign_adapter', '0x20')), OK);
  t.equal(matrixText(m1), '05.0006\n20.0006\n');
  // a domain reserved by aqmask alone does not count: reservation is apmask AND aqmask
  t.equal(await errnoOf(write(host, m1, 'assign_domain', '0x47')), OK);
  t.equal(matrixText(m1), '05.0006\n05.0047\n20.0006\n20.0047\n');
});

t.test('EADDRINUSE: sharing refused in both write orders, with the exact log lines (§13, §19 item 1)', async (t) => {
  const share = `Userspace may not assign queue`;
  t.test('adapter first, then the domain', async (t) => {
    const { host, m1, m2 } = await setup();
    await write(host, m1, 'assign_adapter', '5');
    await write(host, m1, 'assign_domain', '4');
    await write(host, m1, 'assign_domain', '0x47');
    const since = host.events.lastSeq;
    t.equal(await errnoOf(write(host, m2, 'assign_adapter', '5')), OK, 'no domains yet: nothing shared');
    t.equal(await errnoOf(write(host, m2, 'assign_domain', '6')), OK, '05.0006 is free');
    t.equal(await errnoOf(write(host, m2, 'assign_domain', '0x47')), Errno.EADDRINUSE);
    t.same(host.events.kernelLines(since), [`vfio_ap_mdev ${U2}: ${share} 05.0047 to mdev: already assigned to ${U1}`]);
    t.equal(matrixText(m2), '05.0006\n', 'bit cleared again');
    t.equal(matrixText(m1), '05.0004\n05.0047\n', 'the holder is untouched');
  });
  t.test('domain first, then the adapter: one line per shared APQN', async (t) => {
    const { host, m1, m2 } = await setup();
    await write(host, m1, 'assign_adapter', '5');
    await write(host, m1, 'assign_domain', '4');
    await write(host, m1, 'assign_domain', '0x47');
    const since = host.events.lastSeq;
    for (const d of ['4', '6', '0x47', '0x54']) t.equal(await errnoOf(write(host, m2, 'assign_domain', d)), OK, `domain ${d} alone`);
    t.equal(await errnoOf(write(host, m2, 'assign_adapter', '6')), OK);
    t.equal(await errnoOf(write(host, m2, 'assign_adapter', '5')), Errno.EADDRINUSE);
    t.same(host.events.kernelLines(since), [
      `vfio_ap_mdev ${U2}: ${share} 05.0004 to mdev: already assigned to ${U1}`,
      `vfio_ap_mdev ${U2}: ${share} 05.0047 to mdev: already assigned to ${U1}`,
    ]);
    t.equal(matrixText(m2), '06.0004\n06.0006\n06.0047\n06.0054\n');
    t.equal(host.events.entries(since).find((e) => e.kind === 'kernel')?.level, 'warn', 'dev_warn');
  });
  t.test('the first conflicting mdev in list order (newest first) is the one named', async (t) => {
    const { host, m1, m2 } = await setup();
    await write(host, m1, 'assign_adapter', '5');
    await write(host, m1, 'assign_domain', '4');
    await write(host, m2, 'assign_adapter', '6');
    await write(host, m2, 'assign_domain', '4');
    const m3 = await createMdev(host, U3);
    await write(host, m3, 'assign_domain', '4');
    const since = host.events.lastSeq;
    t.equal(await errnoOf(apConfig(host, m3, `${hex64([5, 6])},${hex64([4])},${hex64([])}\n`)), Errno.EADDRINUSE);
    t.same(host.events.kernelLines(since), [`vfio_ap_mdev ${U3}: ${share} 06.0004 to mdev: already assigned to ${U2}`]);
    t.equal(readApConfig(m3), `${hex64([])},${hex64([4])},${hex64([])}\n`, 'rolled back');
  });
  t.test('reservation is checked before sharing', async (t) => {
    const { host, m1, m2 } = await setup();
    await write(host, m1, 'assign_adapter', '5');
    await write(host, m1, 'assign_domain', '4');
    await write(host, m2, 'assign_domain', '4');
    const since = host.events.lastSeq;
    t.equal(await errnoOf(apConfig(host, m2, `${hex64([4, 5])},${hex64([4])},${hex64([])}\n`)), Errno.EADDRNOTAVAIL);
    t.same(host.events.kernelLines(since), [], 'no sharing lines: it never got that far');
  });
});

t.test('assign of an assigned id succeeds without validation; unassign of an unassigned id succeeds (§19 item 4)', async (t) => {
  const { host, m1, m2 } = await setup();
  await write(host, m1, 'assign_adapter', '5');
  await write(host, m1, 'assign_domain', '4');
  // Make m1's matrix invalid behind the verbs' back: adapter 5 reserved again (as if the bus had
  // re-reserved it without asking), and m2 holding the same APQN.
  host.bus.apPerms.apm = ApMask.full();
  m2.matrix.apm.set(5);
  m2.matrix.aqm.set(4);
  const since = host.events.lastSeq;
  for (const file of ['assign_adapter', 'assign_domain'] as const) {
    t.equal(await errnoOf(write(host, m1, file, file === 'assign_adapter' ? '5' : '0x4')), OK, `${file} again on m1`);
    t.equal(await errnoOf(write(host, m2, file, file === 'assign_adapter' ? '0x05' : '4\n')), OK, `${file} again on m2`);
  }
  t.same(host.events.kernelLines(since), [], 'no validation, no log');
  t.equal(await errnoOf(write(host, m1, 'assign_domain', '6')), Errno.EADDRNOTAVAIL, 'a new id is validated');
  for (const file of ['unassign_adapter', 'unassign_domain', 'unassign_control_domain'] as const) {
    t.equal(await errnoOf(write(host, m1, file, '0x20')), OK, `${file} of an unassigned id`);
  }
  t.equal(matrixText(m1), '05.0004\n');
});

t.test('unassign never fails for reservation, sharing or a running guest', async (t) => {
  const { host, m1 } = await setup();
  await write(host, m1, 'assign_adapter', '5');
  await write(host, m1, 'assign_domain', '4');
  await write(host, m1, 'assign_domain', '6');
  await write(host, m1, 'assign_control_domain', '1');
  await host.attachGuest(U1, 'vm1');
  host.bus.apPerms.apm = ApMask.full(); // everything reserved now
  t.equal(await errnoOf(write(host, m1, 'unassign_domain', '4')), OK);
  t.equal(await errnoOf(write(host, m1, 'unassign_control_domain', '1')), OK);
  t.equal(await errnoOf(write(host, m1, 'unassign_adapter', '5')), OK);
  t.equal(matrixText(m1), '.0006\n');
  t.equal(m1.matrix.adm.isEmpty(), true);
  await host.detachGuest(U1);
});

t.test('control domains are never validated and may be shared (§19 item 5)', async (t) => {
  const { host, m1, m2 } = await setup();
  const since = host.events.lastSeq;
  for (const m of [m1, m2]) {
    for (const d of ['4', '1', '0x50', '0']) t.equal(await errnoOf(write(host, m, 'assign_control_domain', d)), OK, `${m.uuid} cdom ${d}`);
  }
  t.same(host.events.kernelLines(since), []);
  const sys = sysfs(host);
  t.equal(await sys.read(`devices/vfio_ap/matrix/${U1}/control_domains`), '0000\n0001\n0004\n0050\n');
  t.equal(await sys.read(`devices/vfio_ap/matrix/${U2}/control_domains`), '0000\n0001\n0004\n0050\n');
  // shadow adm = matrix adm ∩ host control domains (0x01, 0x04, 0x06, 0x47, 0x54)
  t.same(m1.shadowApcb.adm.ids(), [1, 4]);
  t.equal(await errnoOf(write(host, m1, 'unassign_control_domain', '4')), OK);
  t.same(m1.shadowApcb.adm.ids(), [1]);
  t.equal(await sys.read(`devices/vfio_ap/matrix/${U1}/control_domains`), '0000\n0001\n0050\n');
  t.equal(await sys.read(`devices/vfio_ap/matrix/${U1}/matrix`), '', 'control domains are not part of matrix');
});

t.test('ap_config read: three 64-digit masks, comma separated, newline terminated, from the assigned matrix', async (t) => {
  const { host, m1 } = await setup();
  const sys = sysfs(host);
  const path = `devices/vfio_ap/matrix/${U1}/ap_config`;
  const zero = `0x${'0'.repeat(64)}`;
  t.equal(await sys.read(path), `${zero},${zero},${zero}\n`);
  await write(host, m1, 'assign_adapter', '5');
  await write(host, m1, 'assign_domain', '4');
  // the spec's own example (§8 ap_config)
  t.equal(
    await sys.read(path),
    '0x0400000000000000000000000000000000000000000000000000000000000000,0x0800000000000000000000000000000000000000000000000000000000000000,0x0000000000000000000000000000000000000000000000000000000000000000\n',
  );
  t.equal(String(await sys.read(path)).length, 201, 'AP_CONFIG_STRLEN');
  await write(host, m1, 'assign_adapter', '0x20'); // not in the host: ap_config shows the assignment, not the shadow
  await write(host, m1, 'assign_control_domain', '0x54');
  t.equal(await sys.read(path), `${hex64([5, 0x20])},${hex64([4])},${hex64([0x54])}\n`);
});

t.test('ap_config write: fields, evaluation order, rollback', async (t) => {
  const z = hex64([]);
  // [what, written, errno, ap_config afterwards (undefined: unchanged)]
  const cases: [what: string, buf: string, errno: Errno | 0, after?: string][] = [
    ['three full fields', `${hex64([5])},${hex64([4, 6])},${hex64([1])}\n`, OK, `${hex64([5])},${hex64([4, 6])},${hex64([1])}\n`],
    ['short masks are padded on the right', '0x04,0x08,0x4\n', OK, `${hex64([5])},${hex64([4])},${hex64([1])}\n`],
    ['no 0x prefix, x prefix', '04,x08,0\n', OK, `${hex64([5])},${hex64([4])},${z}\n`],
    ['"\\n" is a delimiter: empty third field', '0x04,0x08\n', OK, `${hex64([5])},${hex64([4])},${z}\n`],
    ['empty fields are all zeros', ',,\n', OK, `${z},${z},${z}\n`],
    ['extra text after the third field is ignored', '0x04,0x08,0x00,garbage,more\n', OK, `${hex64([5])},${hex64([4])},${z}\n`],
    ['two fields only', '0x04,0x08', Errno.EINVAL],
    ['one field', '0x04\n', Errno.EINVAL],
    ['a bad digit', '0x04,0x0g,0\n', Errno.EINVAL],
    ['0X is not a prefix', '0X04,0x08,0\n', Errno.EINVAL],
    ['a blank', '0x04, 0x08,0\n', Errno.EINVAL],
    ['65 digits', `0x${'0'.repeat(65)},0,0\n`, Errno.EINVAL],
    ['reserved APQN', `${hex64([4])},${hex64([4])},${z}\n`, Errno.EADDRNOTAVAIL],
    // §8: validation comes before the range check
    ['reserved APQN and a domain above aqm_max', `${hex64([4])},${hex64([4, 85])},${z}\n`, Errno.EADDRNOTAVAIL],
    ['a domain above aqm_max', `${hex64([5])},${hex64([4, 85])},${z}\n`, Errno.ENODEV],
    ['a control domain above adm_max', `${hex64([5])},${hex64([4])},${hex64([0xff])}\n`, Errno.ENODEV],
    ['a parse error beats everything', `${hex64([4])},${hex64([4, 85])},0xzz\n`, Errno.EINVAL],
  ];
  for (const [what, buf, errno, after] of cases) {
    t.test(what, async (t) => {
      const { host, m1 } = await setup();
      await write(host, m1, 'assign_adapter', '6');
      await write(host, m1, 'assign_domain', '0x47');
      await write(host, m1, 'assign_control_domain', '0x47');
      const before = readApConfig(m1);
      const guestBefore = matrixText(m1, 'shadowApcb');
      t.equal(await errnoOf(apConfig(host, m1, buf)), errno);
      t.equal(readApConfig(m1), after ?? before);
      if (errno !== OK) {
        t.equal(matrixText(m1, 'shadowApcb'), guestBefore, 'guest view unchanged');
        t.same(m1.shadowApcb.adm.ids(), [0x47], 'control domains unchanged');
      }
    });
  }
  t.test('sharing via ap_config: EADDRINUSE, the log lines, rollback', async (t) => {
    const { host, m1, m2 } = await setup();
    await apConfig(host, m1, `${hex64([5, 6])},${hex64([4, 6])},${z}\n`);
    await write(host, m2, 'assign_adapter', '0x20');
    const before = readApConfig(m2);
    const since = host.events.lastSeq;
    t.equal(await errnoOf(apConfig(host, m2, `${hex64([6, 0x20])},${hex64([6, 0x47])},${hex64([1])}\n`)), Errno.EADDRINUSE);
    t.same(host.events.kernelLines(since), [`vfio_ap_mdev ${U2}: Userspace may not assign queue 06.0006 to mdev: already assigned to ${U1}`]);
    t.equal(readApConfig(m2), before);
  });
  t.test('the write is cut to 201 bytes (AP_CONFIG_STRLEN) before parsing', async (t) => {
    const { host, m1 } = await setup();
    const full = (ids: number[]) => hex64(ids); // 66 characters each
    // 66 + 1 + 66 + 1 + 66 = 200 bytes; the 201st is a 65th digit that kstrndup keeps out
    const buf = `${full([5])},${full([4])},${full([1])}0`;
    t.equal(buf.length, 201);
    t.equal(await errnoOf(apConfig(host, m1, buf)), Errno.EINVAL, 'the 201st byte is still read');
    t.equal(await errnoOf(apConfig(host, m1, `${buf.slice(0, 200)}\n0`)), OK, 'the 202nd is not');
    t.equal(await errnoOf(apConfig(host, m1, `${buf.slice(0, 200)}\n${'f'.repeat(300)}`)), OK);
    t.equal(readApConfig(m1), `${hex64([5])},${hex64([4])},${hex64([1])}\n`);
  });
  t.test('a no-change write and a write that removes everything', async (t) => {
    const { host, m1 } = await setup();
    const sys = sysfs(host);
    await apConfig(host, m1, `${hex64([5])},${hex64([4, 6])},${hex64([4])}\n`);
    t.equal(await sys.read(`devices/vfio_ap/matrix/${U1}/matrix`), '05.0004\n05.0006\n');
    t.equal(await sys.read(`devices/vfio_ap/matrix/${U1}/guest_matrix`), '05.0004\n05.0006\n');
    t.equal(await errnoOf(apConfig(host, m1, readApConfig(m1))), OK, 'writing back what was read');
    t.equal(await sys.read(`devices/vfio_ap/matrix/${U1}/matrix`), '05.0004\n05.0006\n');
    t.equal(await errnoOf(apConfig(host, m1, `${z},${z},${z}\n`)), OK);
    t.equal(await sys.read(`devices/vfio_ap/matrix/${U1}/matrix`), '');
    t.equal(await sys.read(`devices/vfio_ap/matrix/${U1}/guest_matrix`), '');
    t.equal(await sys.read(`devices/vfio_ap/matrix/${U1}/control_domains`), '');
    t.equal(m1.qtable.size, 0, 'queues unlinked');
  });
});

t.test('assignments link the queues bound to vfio_ap, unassignments unlink them (§11 linking invariant)', async (t) => {
  const { host, m1 } = await setup();
  const linked = () => [...m1.qtable.keys()].map((k) => k.toString(16).padStart(4, '0')).sort();
  await write(host, m1, 'assign_domain', '4');
  t.same(linked(), []);
  await write(host, m1, 'assign_adapter', '5');
  t.same(linked(), ['0504']);
  await write(host, m1, 'assign_adapter', '0x20'); // no queue device: nothing to link
  await write(host, m1, 'assign_domain', '0x47');
  t.same(linked(), ['0504', '0547']);
  t.equal(host.bus.queue(5, 0x47)?.vfio?.matrixMdev?.uuid, U1);
  await write(host, m1, 'unassign_adapter', '5');
  t.same(linked(), []);
  t.equal(host.bus.queue(5, 0x47)?.vfio?.matrixMdev, undefined, 'the queue forgot the mdev');
});

t.test('the number is parsed under the update locks: a malformed write waits for them (kernel-notes §7)', async (t) => {
  for (const [which, lockName] of [['guestsLock', 'matrix_dev->guests_lock'], ['mdevsLock', 'matrix_dev->mdevs_lock']] as const) {
    const { host, m1 } = await setup();
    const holder = await holdLock(host, host.matrixDev[which], lockName);
    const results: (Errno | 0 | undefined)[] = [];
    const pending = [
      ...FILES.map((f) => write(host, m1, f, 'garbage')),
      apConfig(host, m1, 'not,a,mask\n'),
    ].map((p, i) => errnoOf(p).then((e) => (results[i] = e)));
    await settle();
    t.same(results.filter((r) => r !== undefined), [], `${lockName} held: no answer yet, not even EINVAL`);
    await holder.release();
    await Promise.all(pending);
    t.same(results, Array(FILES.length + 1).fill(Errno.EINVAL), `${lockName} released: EINVAL from all seven files`);
  }
});

t.test('the sysfs files call these verbs: same errnos through an open file', async (t) => {
  const { host } = await setup();
  const sys = sysfs(host);
  const dir = `devices/vfio_ap/matrix/${U1}`;
  t.equal(await sys.write(`${dir}/assign_adapter`, '5\n'), OK);
  t.equal(await sys.write(`${dir}/assign_domain`, '0x55'), Errno.ENODEV);
  t.equal(await sys.write(`${dir}/assign_domain`, 'x'), Errno.EINVAL);
  t.equal(await sys.write(`${dir}/assign_domain`, '99999999999999999999'), Errno.ERANGE);
  t.equal(await sys.write(`${dir}/assign_domain`, '4'), OK);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${U2}/assign_domain`, '4'), OK);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${U2}/assign_adapter`, '5'), Errno.EADDRINUSE);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${U2}/assign_adapter`, '4'), Errno.EADDRNOTAVAIL);
  t.equal(await sys.write(`${dir}/ap_config`, '0x04,0x08'), Errno.EINVAL);
  t.equal(await sys.read(`${dir}/matrix`), '05.0004\n');
  await t.rejects(write(host, host.mdev(U1)!, 'assign_adapter', 'nope'), kerr(Errno.EINVAL));
});

noLockdepReports(t);
