// `apsysfs run` end to end: the real CLI and daemon, real tools in the namespace.
// Each test gives the run its own TMPDIR, so the temp dir it makes (and must remove) is ours to see.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { apsysfs, capture, eventually, isMounted, missing, mountTable, newMounts, unmountAllUnder, type Captured } from '../helpers/ns-tree.js';

const why = missing([
  { bin: 'unshare', hint: 'apt-get install util-linux' },
  { bin: 'setpriv', hint: 'apt-get install util-linux' },
  { bin: 'mdevctl', hint: 'apt-get install mdevctl' },
]);
if (why !== undefined) t.fail(`apsysfs run cannot be tested here: ${why}`);

const MDEVS = fileURLToPath(new URL('../fixtures/topologies/mdevs.json', import.meta.url));
const before = mountTable();

interface Sandbox {
  /** The TMPDIR of the run; empty again once `apsysfs run` has cleaned up. */
  readonly tmp: string;
  run(args: readonly string[]): Promise<Captured>;
  spawn(args: readonly string[]): ReturnType<typeof apsysfs>;
}

function sandbox(t: { testdirName: string; testdir(): string; teardown(fn: () => void): void }): Sandbox {
  // Before testdir(): teardowns run in order, and the testdir is removed by one of them.
  t.teardown(() => unmountAllUnder(t.testdirName));
  const tmp = t.testdir();
  const spawn = (args: readonly string[]): ReturnType<typeof apsysfs> => apsysfs(['run', ...args], { env: { ...process.env, TMPDIR: tmp } });
  return { tmp, spawn, run: args => capture(spawn(args)) };
}

/** The run's mount point, as CMD printed it from $APSYSFS_DIR on its first line. */
const mountOf = (r: Captured): string => r.stdout.split('\n')[0] ?? '';

t.test('the tree stands at /sys, the rest of /sys stays real, and nothing remains', async t => {
  const box = sandbox(t);
  const r = await box.run([
    '--',
    'sh',
    '-c',
    `echo "$APSYSFS_DIR"
     cat /sys/bus/ap/apmask
     readlink -f /sys/bus/ap/devices/$(ls /sys/bus/ap/devices | grep card | head -1)
     readlink -f /sys/class/mdev_bus/matrix
     ls /sys/class/net | grep -x lo
     cat /sys/devices/system/cpu/online`,
  ]);
  t.equal(r.code, 0, r.stderr);
  const [, apmask, card, matrix, lo, online] = r.stdout.split('\n');
  t.match(apmask, /^0x[0-9a-f]{64}$/);
  t.match(card, /^\/sys\/devices\/ap\/card[0-9a-f]{2}$/);
  t.equal(matrix, '/sys/devices/vfio_ap/matrix');
  t.equal(lo, 'lo');
  t.equal(online, readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
  t.notOk(isMounted(mountOf(r)), 'the tree is unmounted');
  t.strictSame(readdirSync(box.tmp), [], 'the temp dir is removed');
});

t.test('libvirt finds the IOMMU group of an mdev as it does (/sys/kernel stays real around it)', async t => {
  const box = sandbox(t);
  const uuid = '5f3e7a10-2c4b-4d6e-8f90-a1b2c3d4e5f6';
  // virMediatedDeviceGetIOMMUGroupNum: virFileExists (follows the link), then the link's basename.
  const r = await box.run([
    '--',
    'sh',
    '-c',
    `echo ${uuid} > /sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create
     test -e /sys/bus/mdev/devices/${uuid}/iommu_group && echo exists
     basename "$(readlink -f /sys/bus/mdev/devices/${uuid}/iommu_group)"
     ls /sys/kernel/iommu_groups/0/devices
     cat /sys/kernel/iommu_groups/0/type
     cat /sys/kernel/uevent_seqnum > /dev/null && echo real`,
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `exists\n0\n${uuid}\nunknown\nreal\n`);
});

t.test('exit status and signals are passed on', async t => {
  const box = sandbox(t);
  t.equal((await box.run(['--', 'sh', '-c', 'exit 3'])).code, 3, 'exit 3');
  const killed = await box.run(['--', 'sh', '-c', 'kill -TERM $$']);
  t.strictSame([killed.code, killed.signal], [null, 'SIGTERM'], 'CMD killed by SIGTERM: apsysfs run re-raises it');
  const missingCmd = await box.run(['--', 'no-such-command-apsysfs']);
  t.equal(missingCmd.code, 127);
  t.match(missingCmd.stderr, 'apsysfs: run: no-such-command-apsysfs: command not found');
  t.strictSame(readdirSync(box.tmp), []);
});

t.test('a SIGTERM to apsysfs run goes to CMD, then the run cleans up', async t => {
  const box = sandbox(t);
  // The trap first: a TERM that came between the echo and the trap would kill sh outright.
  const child = box.spawn(['--', 'sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo "$APSYSFS_DIR"; while :; do sleep 0.05; done']);
  const done = capture(child);
  await new Promise<void>(resolve => child.stdout?.once('data', () => resolve()));
  child.kill('SIGTERM');
  const r = await done;
  t.equal(r.code, 7, r.stderr);
  t.match(r.stdout, /\ngot TERM\n$/);
  t.notOk(isMounted(mountOf(r)));
  t.strictSame(readdirSync(box.tmp), []);
});

t.test('a SIGKILLed apsysfs run leaves no daemon, mount, CMD or temp dir (the watchdog)', async t => {
  const box = sandbox(t);
  const child = box.spawn(['--', 'sh', '-c', 'echo "$APSYSFS_DIR $$"; exec sleep 60']);
  const line = await new Promise<string>(resolve => child.stdout?.once('data', (b: Buffer) => resolve(b.toString().trim())));
  const [dir = '', pid = ''] = line.split(' ');
  t.ok(isMounted(dir), 'mounted while CMD runs');
  child.kill('SIGKILL');
  const alive = (): boolean => {
    try {
      process.kill(Number(pid), 0);
      return true;
    } catch {
      return false;
    }
  };
  t.ok(await eventually(() => !alive()), 'CMD got its parent-death signal');
  t.ok(await eventually(() => !isMounted(dir), 20_000), 'the watchdog unmounted the tree');
  t.ok(await eventually(() => readdirSync(box.tmp).length === 0), 'and removed the temp dir');
});

t.test('--topology and --kernel reach the daemon; mdevctl runs against the tree, privately', async t => {
  const box = sandbox(t);
  const host = readdirSync('/etc/mdevctl.d').sort();
  const uuid = '11111111-2222-4333-8444-555555555555';
  const r = await box.run([
    '--topology',
    MDEVS,
    '--kernel',
    'mainline',
    '--',
    'sh',
    '-ec',
    `mdevctl list
     mdevctl define -p matrix -t vfio_ap-passthrough -u ${uuid}
     mdevctl modify -u ${uuid} --addattr assign_adapter --value 5
     mdevctl modify -u ${uuid} --addattr assign_domain --value 0x54
     mdevctl start -u ${uuid}
     cat /sys/devices/vfio_ap/matrix/${uuid}/matrix
     mdevctl stop -u ${uuid}
     ls /etc/mdevctl.d/matrix`,
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      '62177883-f1bb-47f0-914d-32a22e3a8804 matrix vfio_ap-passthrough manual',
      'a297db4a-f4c2-11e6-90f6-d3b88d6c9525 matrix vfio_ap-passthrough manual',
      '',
      '05.0054',
      uuid,
      '',
    ].join('\n'),
  );
  t.strictSame(readdirSync('/etc/mdevctl.d').sort(), host, "the host's /etc/mdevctl.d is untouched");
  t.strictSame(readdirSync(box.tmp), []);
});

t.test('--keep-state: definitions outlive the run', async t => {
  const box = sandbox(t);
  const state = join(box.tmp, 'mdevctl.d');
  const uuid = '11111111-2222-4333-8444-666666666666';
  const define = await box.run(['--keep-state', state, '--', 'mdevctl', 'define', '-p', 'matrix', '-t', 'vfio_ap-passthrough', '-u', uuid]);
  t.equal(define.code, 0, define.stderr);
  const list = await box.run(['--keep-state', state, '--', 'mdevctl', 'list', '-d']);
  t.equal(list.stdout, `${uuid} matrix vfio_ap-passthrough manual\n\n`);
  t.ok(readFileSync(join(state, 'matrix', uuid), 'utf8').includes('"vfio_ap-passthrough"'));
});

t.test('failures of apsysfs run itself: 125, and nothing left', async t => {
  const box = sandbox(t);
  const bad = await box.run(['--kernel', 'bogus', '--', 'echo', 'not reached']);
  t.equal(bad.code, 125);
  t.equal(bad.stdout, '');
  t.match(bad.stderr, /apsysfs: run: cannot start the daemon/);
  t.strictSame(readdirSync(box.tmp), []);
  const usage = await box.run([]);
  t.equal(usage.code, 125);
  t.match(usage.stderr, 'apsysfs: run: no command given\nsee apsysfs run --help');
  const help = await box.run(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: apsysfs run \[OPTIONS\] \[--\] CMD/);
});

t.test('no mount is left on the host', async t => {
  t.strictSame(newMounts(before), []);
});
