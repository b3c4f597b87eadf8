/**
 * The §1 tree through createSysfs(host), without FUSE: directory listings, relative link targets,
 * modes, the kernfs open/read/write rules (kernel-notes §5: EACCES even for root, ENODEV once the
 * node is gone, writes cut at PAGE_SIZE and seen as a C string, reads capped at 4095 bytes) and
 * devices appearing and vanishing the moment the model changes.
 */
import t from 'tap';
import { posix } from 'node:path';
import { Errno } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import { ApMask } from '../../src/model/ap/ap-mask.js';
import { formatMatrix } from '../../src/sysfs/emit.js';
import { FULL_MASK, OK, U1, U2, hostWith, kerr, maskOf, noLockdepReports, sysfs, type Sys } from '../helpers/model.js';

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const MATRIX = 'devices/vfio_ap/matrix';
const TYPE = `${MATRIX}/mdev_supported_types/vfio_ap-passthrough`;
const sorted = (xs: readonly string[] | undefined): string[] => [...(xs ?? [])].sort();

/** One line per node: `path mode` for files, `path/` for dirs, `path -> target` for links (memfs's fs-print idea). */
function printTree(sys: Sys, dir = ''): string[] {
  const out: string[] = [];
  for (const name of sys.ls(dir) ?? []) {
    const p = `${dir}/${name}`;
    const st = sys.fs.stat(p)!;
    if (st.kind === 'dir') out.push(`${p}/`, ...printTree(sys, p));
    else if (st.kind === 'link') out.push(`${p} -> ${sys.readlink(p)}`);
    else out.push(`${p} ${st.mode.toString(8).padStart(4, '0')}`);
  }
  return out;
}

/** Every link in the tree, resolved against its own directory. */
function links(sys: Sys, dir = ''): [path: string, target: string][] {
  const out: [string, string][] = [];
  for (const name of sys.ls(dir) ?? []) {
    const p = `${dir}/${name}`;
    const st = sys.fs.stat(p)!;
    if (st.kind === 'dir') out.push(...links(sys, p));
    else if (st.kind === 'link') out.push([p, posix.resolve(posix.dirname(p), sys.readlink(p)!)]);
  }
  return out;
}

async function setup(overrides: Record<string, unknown> = {}): Promise<{ host: Host; sys: Sys }> {
  const host = await hostWith(overrides);
  return { host, sys: sysfs(host) };
}

t.test('the full tree of the default topology (snapshot)', async (t) => {
  const { sys } = await setup();
  const lines = printTree(sys);
  t.matchSnapshot(lines.join('\n') + '\n', 'tree listing');
  t.equal(new Set(lines).size, lines.length, 'no path listed twice');
});

t.test('§1 directories and their entries', async (t) => {
  const { host, sys } = await setup({ apmask: '+0-4,+6-255' });
  await host.mdevCore.create(U1, 36);
  t.same(sorted(sys.ls('')), ['bus', 'class', 'devices', 'kernel']);
  t.same(sorted(sys.ls('bus')), ['ap', 'matrix', 'mdev']);
  t.same(sorted(sys.ls('devices')), ['ap', 'vfio_ap']);
  t.same(sys.ls('bus/ap'), [
    // §2 group order, then the driver core's files and dirs
    'ap_domain', 'ap_control_domain_mask', 'ap_usage_domain_mask', 'ap_adapter_mask', 'config_time', 'poll_thread',
    'ap_interrupts', 'poll_timeout', 'ap_max_domain_id', 'ap_max_adapter_id', 'apmask', 'aqmask', 'scans', 'bindings',
    'features', 'drivers_autoprobe', 'drivers_probe', 'uevent', 'devices', 'drivers',
  ]);
  t.notOk(sys.ls('bus/ap')?.includes('bindings_complete_count'), 'v6.17 (README decision 1): no bindings_complete_count');
  t.same(sorted(sys.ls('bus/ap/drivers')), ['cex4card', 'cex4queue', 'vfio_ap']);
  t.same(sorted(sys.ls('bus/ap/devices')), ['04.0004', '04.0006', '04.0047', '04.0054', '05.0004', '05.0006', '05.0047', '05.0054', '06.0004', '06.0006', '06.0047', '06.0054', '0b.0004', '0b.0006', '0b.0047', '0b.0054', 'card04', 'card05', 'card06', 'card0b']);
  t.same(sorted(sys.ls('bus/ap/drivers/cex4card')), ['bind', 'card04', 'card05', 'card06', 'card0b', 'uevent', 'unbind']);
  t.same(sorted(sys.ls('bus/ap/drivers/vfio_ap')), ['05.0004', '05.0006', '05.0047', '05.0054', 'bind', 'uevent', 'unbind']);
  t.equal(sys.ls('bus/ap/drivers/cex4queue')?.length, 3 + 12);
  t.same(sorted(sys.ls('devices/ap')), ['card04', 'card05', 'card06', 'card0b', 'uevent']);
  t.same(sorted(sys.ls('devices/ap/card05')).filter((n) => !n.includes('.')), [
    'ap_functions', 'chkstop', 'config', 'depth', 'driver', 'hwtype', 'load', 'max_msg_size', 'modalias', 'online', 'pendingq_count',
    'raw_hwtype', 'request_count', 'requestq_count', 'serialnr', 'subsystem', 'type', 'uevent',
  ]);
  t.same(sorted(sys.ls('devices/ap/card05')).filter((n) => n.includes('.')), ['05.0004', '05.0006', '05.0047', '05.0054']);
  t.notOk(sys.ls('devices/ap/card06')?.includes('serialnr'), 'an accelerator has no serial number');
  for (const f of ['API_ordinalnr', 'FW_version', 'serialnr', 'op_modes']) t.ok(sys.ls('devices/ap/card0b')?.includes(f), `EP11 card has ${f}`);
  const queue = sys.ls('devices/ap/card04/04.0004') ?? [];
  for (const f of ['request_count', 'requestq_count', 'pendingq_count', 'reset', 'interrupt', 'config', 'chkstop', 'ap_functions', 'online', 'load', 'driver', 'subsystem']) t.ok(queue.includes(f), `queue has ${f}`);
  for (const f of ['modalias', 'hwtype', 'type', 'functions', 'status']) t.notOk(queue.includes(f), `a cex4queue queue has no ${f}`);
  t.same(sorted(sys.ls('devices/vfio_ap')), ['matrix', 'uevent']);
  t.same(sorted(sys.ls(MATRIX)), [U1, 'driver', 'features', 'mdev_supported_types', 'subsystem', 'uevent']);
  t.same(sys.ls(`${MATRIX}/mdev_supported_types`), ['vfio_ap-passthrough']);
  t.same(sorted(sys.ls(TYPE)), ['available_instances', 'create', 'device_api', 'devices', 'name'], 'no description, no uevent');
  t.same(sys.ls(`${TYPE}/devices`), [U1]);
  t.same(sys.ls(`${MATRIX}/${U1}`)?.slice(0, 10), ['assign_adapter', 'unassign_adapter', 'assign_domain', 'unassign_domain', 'assign_control_domain', 'unassign_control_domain', 'ap_config', 'control_domains', 'matrix', 'guest_matrix'], '§8 order');
  for (const f of ['remove', 'mdev_type', 'driver', 'iommu_group', 'subsystem']) t.ok(sys.ls(`${MATRIX}/${U1}`)?.includes(f), `mdev has ${f}`);
  t.same(sys.ls('kernel'), ['iommu_groups']);
  t.same(sys.ls('kernel/iommu_groups'), ['0']);
  t.same(sorted(sys.ls('kernel/iommu_groups/0')), ['devices', 'reserved_regions', 'type'], 'no name: an emulated-IOMMU group is unnamed');
  t.same(sys.ls('kernel/iommu_groups/0/devices'), [U1]);
  t.same(sys.ls('bus/matrix/devices'), ['matrix']);
  t.same(sorted(sys.ls('bus/matrix/drivers/vfio_ap')), ['matrix', 'uevent'], 'suppress_bind_attrs: no bind/unbind');
  t.same(sys.ls('bus/mdev/devices'), [U1]);
  t.same(sorted(sys.ls('bus/mdev/drivers')), ['vfio_ap_mdev']);
  t.same(sorted(sys.ls('bus/mdev/drivers/vfio_ap_mdev')), [U1, 'bind', 'uevent', 'unbind']);
  t.same(sys.ls('class'), ['mdev_bus', 'zcrypt']);
  t.same(sys.ls('class/mdev_bus'), ['matrix']);
  t.equal(sys.ls('nonexistent'), undefined);
  t.equal(sys.ls('bus/ap/apmask'), undefined, 'a file is not a directory');
});

t.test('relative link targets exactly as §1 / kernel-notes §6, and every link resolves', async (t) => {
  const { host, sys } = await setup({ apmask: '+0-4,+6-255' });
  await host.mdevCore.create(U1, 36);
  const cases: [path: string, target: string][] = [
    ['bus/ap/devices/card05', '../../../devices/ap/card05'],
    ['bus/ap/devices/05.0004', '../../../devices/ap/card05/05.0004'],
    ['bus/ap/drivers/cex4card/card05', '../../../../devices/ap/card05'],
    ['bus/ap/drivers/cex4queue/04.0004', '../../../../devices/ap/card04/04.0004'],
    ['bus/ap/drivers/vfio_ap/05.0004', '../../../../devices/ap/card05/05.0004'],
    ['devices/ap/card05/driver', '../../../bus/ap/drivers/cex4card'],
    ['devices/ap/card05/subsystem', '../../../bus/ap'],
    ['devices/ap/card04/04.0004/driver', '../../../../bus/ap/drivers/cex4queue'],
    ['devices/ap/card05/05.0004/driver', '../../../../bus/ap/drivers/vfio_ap'],
    ['devices/ap/card05/05.0004/subsystem', '../../../../bus/ap'],
    ['class/mdev_bus/matrix', '../../devices/vfio_ap/matrix'],
    ['bus/matrix/devices/matrix', '../../../devices/vfio_ap/matrix'],
    [`${MATRIX}/driver`, '../../../bus/matrix/drivers/vfio_ap'],
    [`${MATRIX}/${U1}/mdev_type`, '../mdev_supported_types/vfio_ap-passthrough'],
    [`${MATRIX}/${U1}/driver`, '../../../../bus/mdev/drivers/vfio_ap_mdev'],
    [`${MATRIX}/${U1}/subsystem`, '../../../../bus/mdev'],
    [`bus/mdev/devices/${U1}`, `../../../devices/vfio_ap/matrix/${U1}`],
    [`bus/mdev/drivers/vfio_ap_mdev/${U1}`, `../../../../devices/vfio_ap/matrix/${U1}`],
    [`${TYPE}/devices/${U1}`, `../../../${U1}`],
    // iommu_group_add_device: dev → group, group/devices → dev (libvirt resolves the first for /dev/vfio/N)
    [`${MATRIX}/${U1}/iommu_group`, '../../../../kernel/iommu_groups/0'],
    [`kernel/iommu_groups/0/devices/${U1}`, `../../../../devices/vfio_ap/matrix/${U1}`],
  ];
  for (const [path, target] of cases) {
    t.equal(sys.readlink(path), target, path);
    t.equal(sys.fs.stat(path)?.kind, 'link');
  }
  t.equal(sys.readlink('bus/ap/apmask'), undefined, 'not a link');
  const all = links(sys);
  t.ok(all.length > 60);
  for (const [path, resolved] of all) t.equal(sys.fs.stat(resolved)?.kind, 'dir', `${path} resolves to a directory (${resolved})`);
  // mdevctl takes the parent from the directory the mdev resolves into, the type from mdev_type
  const mdevReal = posix.resolve('/bus/mdev/devices', sys.readlink(`bus/mdev/devices/${U1}`)!);
  t.equal(posix.basename(posix.dirname(mdevReal)), 'matrix');
  t.equal(posix.basename(sys.readlink(`${MATRIX}/${U1}/mdev_type`)!), 'vfio_ap-passthrough');
});

t.test('modes and stat', async (t) => {
  const { host, sys } = await setup();
  await host.mdevCore.create(U1, 36);
  const cases: [path: string, mode: number][] = [
    ['bus/ap/apmask', 0o644],
    ['bus/ap/ap_domain', 0o644],
    ['bus/ap/bindings', 0o444],
    ['bus/ap/ap_adapter_mask', 0o444],
    ['bus/ap/drivers_probe', 0o200],
    ['bus/ap/drivers/vfio_ap/bind', 0o200],
    ['devices/ap/card04/04.0004/request_count', 0o644],
    ['devices/ap/card04/04.0004/config', 0o444],
    ['devices/ap/card04/config', 0o644],
    [`${TYPE}/create`, 0o200],
    [`${TYPE}/available_instances`, 0o444],
    [`${MATRIX}/${U1}/assign_adapter`, 0o200],
    [`${MATRIX}/${U1}/ap_config`, 0o644],
    [`${MATRIX}/${U1}/matrix`, 0o444],
    [`${MATRIX}/${U1}/remove`, 0o200],
  ];
  for (const [path, mode] of cases) {
    const st = sys.fs.stat(path);
    t.equal(st?.kind, 'file', path);
    t.equal(st?.mode, mode, `${path} ${mode.toString(8)}`);
    t.equal(st?.size, 4096, 'sysfs attributes report 4096 bytes');
  }
  t.match(sys.fs.stat('bus/ap'), { kind: 'dir', mode: 0o755 });
  t.match(sys.fs.stat('class/mdev_bus/matrix'), { kind: 'link', mode: 0o777 });
  t.equal(sys.fs.stat('bus/ap/nonexistent'), undefined);
  t.equal(sys.fs.stat('bus/ap/apmask/x'), undefined);
  t.equal(sys.fs.stat('/bus/ap/apmask')?.ino, sysfs(host).fs.stat('/bus/ap/apmask')?.ino, 'stable inode');
  t.not(sys.fs.stat('/bus/ap/apmask')?.ino, sys.fs.stat('/bus/ap/aqmask')?.ino);
});

t.test('open: EACCES by mode even for root; ENOENT, EISDIR', async (t) => {
  const { host, sys } = await setup();
  await host.mdevCore.create(U1, 36);
  const cases: [path: string, flags: number, errno: Errno | 0][] = [
    ['bus/ap/bindings', O_WRONLY, Errno.EACCES],
    ['bus/ap/bindings', O_RDWR, Errno.EACCES],
    ['bus/ap/bindings', O_RDONLY, OK],
    ['bus/ap/drivers_probe', O_RDONLY, Errno.EACCES],
    ['bus/ap/drivers_probe', O_RDWR, Errno.EACCES],
    ['bus/ap/drivers_probe', O_WRONLY, OK],
    [`${MATRIX}/${U1}/assign_adapter`, O_RDONLY, Errno.EACCES],
    [`${TYPE}/create`, O_RDONLY, Errno.EACCES],
    [`${MATRIX}/${U1}/matrix`, O_WRONLY, Errno.EACCES],
    ['bus/ap/apmask', O_RDWR, OK],
    ['bus/ap/apmask', O_WRONLY, OK],
    ['bus/ap/nonexistent', O_RDONLY, Errno.ENOENT],
    ['bus/ap', O_RDONLY, Errno.EISDIR],
  ];
  for (const [path, flags, errno] of cases) {
    let got: Errno | 0 = OK;
    try {
      sys.fs.open(path, flags).release();
    } catch (e) {
      got = (e as { errno: Errno }).errno;
    }
    t.equal(got, errno, `${path} flags ${flags}`);
  }
  t.equal(await sys.read('bus/ap/drivers_probe'), Errno.EACCES);
  t.equal(await sys.write('bus/ap/bindings', '1'), Errno.EACCES);
});

t.test('truncate and O_TRUNC succeed and do nothing', async (t) => {
  const { sys } = await setup();
  await sys.write('bus/ap/apmask', '-5');
  const before = await sys.read('bus/ap/apmask');
  t.doesNotThrow(() => sys.fs.truncate('bus/ap/apmask'));
  t.doesNotThrow(() => sys.fs.truncate('bus/ap/drivers_probe'));
  t.equal(await sys.read('bus/ap/apmask'), before);
  t.throws(() => sys.fs.truncate('bus/ap/nonexistent'), kerr(Errno.ENOENT));
});

t.test('reads: show() at offset 0, later offsets served from that text (seq_file)', async (t) => {
  const { sys } = await setup();
  const f = sys.fs.open('bus/ap/apmask', O_RDONLY);
  t.equal((await f.read(0, 10)).toString(), '0xffffffff');
  t.equal(await sys.write('bus/ap/apmask', '0x'), OK);
  t.equal((await f.read(10, 100)).toString(), `${'f'.repeat(56)}\n`, 'the rest of the old text');
  t.equal((await f.read(67, 10)).length, 0, 'EOF');
  t.equal((await f.read(0, 100)).toString(), maskOf([]), 'offset 0 runs show() again');
  f.release();
});

t.test('writes: one store per write, at most 4096 bytes, as a NUL-terminated C string', async (t) => {
  const { host, sys } = await setup();
  const w = (path: string, s: string) => sys.writeCount(path, Buffer.from(s, 'latin1'));
  // 4096 bytes kept: "-5" and 4094 commas is valid; the garbage after it never reaches store
  t.equal(await w('bus/ap/apmask', `-5${','.repeat(4094)}garbage`), 4096, 'a short write of 4096');
  t.equal(await sys.read('bus/ap/apmask'), maskOf([...Array(256).keys()].filter((i) => i !== 5)));
  t.equal(await w('bus/ap/apmask', `-6${','.repeat(4093)}x`), -Errno.EINVAL, 'the 4096th byte is still seen');
  // a NUL ends the string store() sees, but the count covers every byte
  t.equal(await w('bus/ap/apmask', '-6\0garbage'), 10);
  t.equal(await sys.read('bus/ap/apmask'), maskOf([...Array(256).keys()].filter((i) => i !== 5 && i !== 6)));
  t.equal(await w(`${TYPE}/create`, `${U1}\0`), 37, 'create: 37 bytes, the 37th a NUL');
  t.ok(host.mdev(U1));
  t.equal(await w(`${TYPE}/create`, `${U2.slice(0, 35)}\0x`), -Errno.EINVAL, '37 bytes, but the UUID string is 35 long');
  t.equal(await w(`${MATRIX}/${U1}/assign_adapter`, '5\0zzz'), 5);
  t.equal(await sys.read(`${MATRIX}/${U1}/matrix`), '05.\n');
  t.equal(await w(`${MATRIX}/${U1}/assign_domain`, '\0'), -Errno.EINVAL, 'an empty C string');
  // zero bytes: store() is never called (an empty "\n" would zero the mask)
  t.equal(await w('bus/ap/aqmask', ''), 0);
  t.equal(await sys.read('bus/ap/aqmask'), FULL_MASK);
  t.equal(await w('bus/ap/scans', ''), 0);
  t.equal(await sys.read('bus/ap/scans'), '1\n', 'no scan ran');
  // sysfs ignores the file position: a second write(2) on the same open file is another store
  const f = sys.fs.open('bus/ap/apmask', O_WRONLY);
  t.equal(await f.write(Buffer.from('+5'), 0), 2);
  t.equal(await f.write(Buffer.from('+6'), 2), 2);
  f.release();
  t.equal(await sys.read('bus/ap/apmask'), FULL_MASK);
});

t.test('matrix with more than 511 APQNs is cut at 4095 bytes, no log line (kernel-notes §7)', async (t) => {
  const { host, sys } = await setup();
  t.equal(await sys.write('bus/ap/apmask', '-0-7'), OK);
  t.equal(await sys.write(`${TYPE}/create`, U1), OK);
  const apm = ApMask.fromIds([0, 1, 2, 3, 4, 5, 6, 7]);
  const aqm = ApMask.fromIds([...Array(85).keys()]);
  t.equal(await sys.write(`${MATRIX}/${U1}/ap_config`, `${apm.toString()},${aqm.toString()},0x\n`), OK);
  const full = formatMatrix(apm, aqm, 255, 84);
  t.equal(full.length, 8 * 85 * 8, '680 APQNs of 8 bytes');
  const since = host.events.lastSeq;
  const text = await sys.read(`${MATRIX}/${U1}/matrix`);
  t.equal(typeof text === 'string' && text.length, 4095);
  t.equal(text, full.slice(0, 4095));
  t.equal(typeof text === 'string' && text.slice(-8), '\n06.0001', '511 full lines, then the 512th cut to 7 characters');
  t.same(host.events.kernelLines(since), [], 'no fill_read_buffer message');
  t.equal(await sys.read(`${MATRIX}/${U1}/guest_matrix`), formatMatrix(ApMask.fromIds([4, 5, 6]), ApMask.fromIds([4, 6, 0x47, 0x54]), 255, 84));
  // 511 APQNs fit: 4088 bytes
  const apm2 = ApMask.fromIds([0, 1, 2, 3, 4, 5, 6]);
  const aqm2 = ApMask.fromIds([...Array(73).keys()]);
  t.equal(await sys.write(`${MATRIX}/${U1}/ap_config`, `${apm2.toString()},${aqm2.toString()},0x\n`), OK);
  t.equal(await sys.read(`${MATRIX}/${U1}/matrix`), formatMatrix(apm2, aqm2, 255, 84));
  t.equal(formatMatrix(apm2, aqm2, 255, 84).length, 511 * 8);
});

t.test('devices appear and disappear the moment the model changes', async (t) => {
  const { host, sys } = await setup();
  t.equal(sys.fs.stat(`${MATRIX}/${U1}`), undefined);
  t.equal(await sys.write(`${TYPE}/create`, `${U1}\n`), OK);
  // all of these exist when the create write returns (kernel-notes §1.2, §6)
  t.equal(sys.fs.stat(`${MATRIX}/${U1}`)?.kind, 'dir');
  t.equal(sys.fs.stat(`bus/mdev/devices/${U1}`)?.kind, 'link');
  t.equal(sys.fs.stat(`${TYPE}/devices/${U1}`)?.kind, 'link');
  t.equal(sys.fs.stat(`${MATRIX}/${U1}/mdev_type`)?.kind, 'link');
  t.equal(await sys.read(`${TYPE}/available_instances`), '65535\n');

  const matrix = sys.fs.open(`${MATRIX}/${U1}/matrix`, O_RDONLY);
  const assign = sys.fs.open(`${MATRIX}/${U1}/assign_domain`, O_WRONLY);
  t.equal(await sys.write(`${MATRIX}/${U1}/remove`, '1'), OK);
  t.equal(sys.fs.stat(`${MATRIX}/${U1}`), undefined);
  t.notOk(sys.ls(`bus/mdev/devices`)?.includes(U1));
  t.notOk(sys.ls(`${TYPE}/devices`)?.includes(U1));
  t.notOk(sys.ls('bus/mdev/drivers/vfio_ap_mdev')?.includes(U1));
  await t.rejects(async () => matrix.read(0, 100), kerr(Errno.ENODEV), 'read of an open file of a removed mdev');
  await t.rejects(assign.write(Buffer.from('4'), 0), kerr(Errno.ENODEV), 'write of an open file of a removed mdev');
  matrix.release();
  assign.release();

  // a queue's attribute set follows its driver; an open file of a hidden attribute is ENODEV
  const online = sys.fs.open('devices/ap/card05/05.0004/online', O_WRONLY);
  t.equal(await sys.write('bus/ap/apmask', '-5'), OK);
  t.ok(sys.ls('bus/ap/drivers/vfio_ap')?.includes('05.0004'), 'the driver link appears at once');
  t.notOk(sys.ls('bus/ap/drivers/cex4queue')?.includes('05.0004'));
  t.equal(sys.readlink('devices/ap/card05/05.0004/driver'), '../../../../bus/ap/drivers/vfio_ap');
  await t.rejects(online.write(Buffer.from('1'), 0), kerr(Errno.ENODEV));
  online.release();
  const status = sys.fs.open('devices/ap/card05/05.0004/status', O_RDONLY);
  t.equal((await status.read(0, 100)).toString(), 'unassigned\n');
  t.equal(await sys.write('bus/ap/drivers/vfio_ap/unbind', '05.0004'), OK);
  t.equal(sys.fs.stat('devices/ap/card05/05.0004/driver'), undefined, 'no driver link while unbound');
  await t.rejects(async () => status.read(0, 100), kerr(Errno.ENODEV));
  status.release();

  // a card that leaves the configuration takes its queues and links with it
  const depth = sys.fs.open('devices/ap/card0b/depth', O_RDONLY);
  const a = host.hw.adapters.get(0x0b)!;
  host.hw.adapters.delete(0x0b);
  t.equal(await sys.write('bus/ap/scans', '1'), OK);
  t.equal(sys.fs.stat('devices/ap/card0b'), undefined);
  t.notOk(sys.ls('bus/ap/devices')?.some((n) => n.startsWith('0b.') || n === 'card0b'));
  t.notOk(sys.ls('bus/ap/drivers/cex4card')?.includes('card0b'));
  await t.rejects(async () => depth.read(0, 100), kerr(Errno.ENODEV));
  depth.release();
  host.hw.adapters.set(0x0b, a);
  t.equal(await sys.write('bus/ap/scans', '1'), OK);
  t.equal(sys.readlink('bus/ap/devices/0b.0054'), '../../../devices/ap/card0b/0b.0054', 'and back');
  t.equal(await sys.read('devices/ap/card0b/depth'), '7\n');
});

noLockdepReports(t);
