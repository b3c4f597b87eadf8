// The namespace machinery of `apsysfs run` against the stand-in tree (plain files, no FUSE):
// real shell commands see the tree at /sys while the rest of /sys stays real.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { MdevctlState } from '../../src/ns/mdevctl.js';
import { exitStatus, spawnInNamespace } from '../../src/ns/namespace.js';
import { buildStandInTree, capture, mountTable, newMounts, STANDIN_MDEV, type Captured } from '../helpers/ns-tree.js';

const before = mountTable();

/** Runs `sh -c script` in the namespace over a fresh stand-in tree. */
function nsSh(root: string, script: string, mdevctl?: MdevctlState): Promise<Captured> {
  const ns = spawnInNamespace({
    root,
    cmd: 'sh',
    args: ['-c', script],
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(mdevctl !== undefined && { mdevctl }),
  });
  return capture(ns.child);
}

function standIn(t: { testdir(): string }): string {
  const root = t.testdir();
  buildStandInTree(root);
  return root;
}

/** A listing with contents, to show that a host directory was left as it was. */
function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map(p => {
      const full = join(dir, p);
      return statSync(full).isFile() ? `${p}=${readFileSync(full, 'utf8')}` : `${p}/`;
    });
}

t.test('the tree stands at the real /sys paths', async t => {
  const root = standIn(t);
  const r = await nsSh(
    root,
    `cat /sys/bus/ap/apmask
     readlink -f /sys/bus/ap/devices/card04
     readlink -f /sys/bus/ap/devices/04.0005/driver
     readlink -f /sys/class/mdev_bus/matrix
     readlink -f /sys/bus/mdev/devices/${STANDIN_MDEV}
     cat /sys/bus/mdev/devices/${STANDIN_MDEV}/matrix
     ls /sys/devices/vfio_ap/matrix/mdev_supported_types`,
  );
  t.equal(r.stderr, '');
  t.equal(
    r.stdout,
    [
      `0x${'f'.repeat(64)}`,
      '/sys/devices/ap/card04',
      '/sys/bus/ap/drivers/vfio_ap',
      '/sys/devices/vfio_ap/matrix',
      `/sys/devices/vfio_ap/matrix/${STANDIN_MDEV}`,
      '04.0005',
      'vfio_ap-passthrough',
      '',
    ].join('\n'),
  );
  t.equal(r.code, 0);
});

t.test('the rest of /sys stays real', async t => {
  const root = standIn(t);
  const r = await nsSh(root, 'ls /sys/class/net; ls /sys/devices/system; cat /sys/devices/system/cpu/online; ls /sys/bus');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^lo$/m, '/sys/class/net');
  t.match(r.stdout, /^cpu$/m, '/sys/devices/system');
  t.equal(r.stdout.match(/^[0-9][0-9,-]*$/m)?.[0], readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
  for (const name of [...readdirSync('/sys/bus'), 'ap', 'mdev', 'matrix']) t.match(r.stdout, new RegExp(`^${name}$`, 'm'), `/sys/bus/${name}`);
});

t.test('the tree wins over an entry the real /sys has', async t => {
  const root = standIn(t);
  buildStandInTree(root, { 'class/net/fake': 'yes\n' });
  const r = await nsSh(root, 'ls /sys/class/net; cat /sys/class/net/fake; ls /sys/class/net/lo || true');
  t.equal(r.stdout, 'fake\nyes\n');
  t.match(r.stderr, /No such file/);
});

t.test('the covering tmpfs is read-only, like sysfs refusing mkdir', async t => {
  const root = standIn(t);
  const r = await nsSh(root, 'mkdir /sys/bus/new; touch /sys/devices/new; echo 1 > /sys/class/new');
  t.equal(r.code, 2);
  t.equal(r.stderr.match(/Read-only file system/g)?.length, 3, r.stderr);
});

t.test('exit status, signals, a missing command', async t => {
  const root = standIn(t);
  const cases: [string, string[], { code: number | null; signal: NodeJS.Signals | null }][] = [
    ['exit 3', ['sh', '-c', 'exit 3'], { code: 3, signal: null }],
    ['killed by SIGTERM', ['sh', '-c', 'kill -TERM $$'], { code: null, signal: 'SIGTERM' }],
    ['not found', ['no-such-command-apsysfs'], { code: 127, signal: null }],
    ['not executable', [join(root, 'bus/ap/apmask')], { code: 126, signal: null }],
  ];
  for (const [name, [cmd, ...args], want] of cases) {
    const ns = spawnInNamespace({ root, cmd: cmd as string, args, stdio: ['ignore', 'ignore', 'pipe'] });
    const r = await capture(ns.child);
    t.strictSame({ code: r.code, signal: r.signal }, want, name);
    t.strictSame(await ns.exited, want, `${name}: exited`);
  }
  t.equal(exitStatus({ code: null, signal: 'SIGTERM' }), 143);
});

t.test('a signal to the child reaches CMD itself (no process in between)', async t => {
  const root = standIn(t);
  const ns = spawnInNamespace({
    root,
    cmd: 'sh',
    args: ['-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.05; done'],
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = capture(ns.child);
  await new Promise<void>(resolve => ns.child.stdout?.once('data', () => resolve()));
  ns.child.kill('SIGTERM');
  const r = await done;
  t.equal(r.stdout, 'ready\ngot TERM\n');
  t.equal(r.code, 7);
});

t.test('mdevctl state is private by default', async t => {
  const root = standIn(t);
  const host = snapshot('/etc/mdevctl.d');
  const r = await nsSh(root, 'ls -A /etc/mdevctl.d; ls /etc/mdevctl.d/scripts.d; echo x > /etc/mdevctl.d/probe; cat /etc/mdevctl.d/probe');
  t.equal(r.code, 0, r.stderr);
  if (existsSync('/etc/mdevctl.d')) t.equal(r.stdout, 'scripts.d\ncallouts\nnotifiers\nx\n');
  t.strictSame(snapshot('/etc/mdevctl.d'), host, "the host's /etc/mdevctl.d is untouched");
});

t.test('mdevctl define against the stand-in stays in the namespace', async t => {
  const root = standIn(t);
  const host = snapshot('/etc/mdevctl.d');
  const uuid = '4b0818b8-2222-4c1e-8a5e-000000000002';
  const r = await nsSh(root, `mdevctl define -p matrix -t vfio_ap-passthrough -u ${uuid} && mdevctl list -d && mdevctl types`);
  t.equal(r.code, 0, `${r.stderr} (mdevctl missing? apt-get install mdevctl)`);
  t.match(r.stdout, `${uuid} matrix vfio_ap-passthrough manual`);
  t.match(r.stdout, /vfio_ap-passthrough\n {4}Available instances: 65534\n {4}Device API: vfio-ap/);
  t.strictSame(snapshot('/etc/mdevctl.d'), host, "the host's /etc/mdevctl.d is untouched");
});

t.test('--keep-state: definitions land in the given directory', async t => {
  const dir = t.testdir({ tree: {}, keep: { 'scripts.d': { callouts: {}, notifiers: {} } } });
  const [root, keep] = [join(dir, 'tree'), join(dir, 'keep')];
  buildStandInTree(root);
  const r = await nsSh(root, 'mkdir /etc/mdevctl.d/matrix && echo "{}" > /etc/mdevctl.d/matrix/u', { keepIn: keep });
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(keep, 'matrix/u'), 'utf8'), '{}\n');
});

t.test('unprivileged: a user namespace does the same', async t => {
  const root = standIn(t);
  const tsImport = process.execArgv.find(a => a.includes('@tapjs/typescript'));
  const code = `
    const { spawnInNamespace } = await import(${JSON.stringify(new URL('../../src/ns/namespace.ts', import.meta.url).href)});
    const ns = spawnInNamespace({ root: ${JSON.stringify(root)}, cmd: 'sh', args: ['-c', 'id -u; cat /sys/bus/ap/ap_domain; ls /sys/class/net | grep -c lo'] });
    const o = await ns.exited;
    process.exit(o.code ?? 99);`;
  const child = spawn(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...(tsImport ? [tsImport] : []), '--input-type=module', '-e', code],
    // Not tap's coverage hooks: they write to root's .tap/.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: '/tmp', TS_NODE_TRANSPILE_ONLY: '1' } },
  );
  const r = await capture(child);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '0\n5\n1\n', 'uid 0 in the user namespace, the tree and the real /sys');
});

t.test('no mount is left on the host', async t => {
  // The namespace's mounts die with its last process; none ever shows on the host.
  t.strictSame(newMounts(before), []);
});
