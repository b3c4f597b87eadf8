// `apsysfs run` as data: the argument parser, the mount plans and the script, without mounting.
import t from 'tap';
import { parseRunArgs } from '../../src/cli/run.js';
import { planMdevctl } from '../../src/ns/mdevctl.js';
import { shQuote, stepArgv, toShellScript } from '../../src/ns/mount-steps.js';
import { exitStatus, unshareArgv } from '../../src/ns/namespace.js';
import { planSysGraft, scanSysLayers } from '../../src/ns/sys-graft.js';
import { buildStandInTree } from '../helpers/ns-tree.js';

t.test('parseRunArgs', async t => {
  const cases: [string, string[], unknown][] = [
    ['-- ends the options', ['--', 'ls', '-l'], { mdevctl: 'private', cmd: 'ls', args: ['-l'] }],
    ['the first word ends the options', ['ls', '-l', '--', 'x'], { mdevctl: 'private', cmd: 'ls', args: ['-l', '--', 'x'] }],
    ['--help', ['--help', '--', 'ls'], 'help'],
    ['-h', ['-h'], 'help'],
    ['--kernel K', ['--kernel', 'mainline', 'true'], { kernel: 'mainline', mdevctl: 'private', cmd: 'true', args: [] }],
    ['--kernel=K', ['--kernel=trylock', 'true'], { kernel: 'trylock', mdevctl: 'private', cmd: 'true', args: [] }],
    ['--topology is made absolute', ['--topology', 'x.json', 'true'], { topology: `${process.cwd()}/x.json`, mdevctl: 'private', cmd: 'true', args: [] }],
    ['--private-mdevctl is the default', ['--private-mdevctl', 'true'], { mdevctl: 'private', cmd: 'true', args: [] }],
    ['--host-mdevctl', ['--host-mdevctl', 'true'], { mdevctl: 'host', cmd: 'true', args: [] }],
    ['--keep-state DIR', ['--keep-state', '/var/tmp/m', 'true'], { mdevctl: { keepIn: '/var/tmp/m' }, cmd: 'true', args: [] }],
  ];
  for (const [name, argv, want] of cases) t.strictSame(parseRunArgs(argv), want, name);

  const bad: [string, string[], RegExp][] = [
    ['no command', ['--kernel', 'mainline'], /no command given/],
    ['an unknown option', ['--nope', 'true'], /unknown option --nope/],
    ['a value missing at the end', ['--topology'], /--topology needs a value/],
    ['an empty value', ['--kernel=', 'true'], /--kernel needs a value/],
    ['--host-mdevctl with --keep-state', ['--host-mdevctl', '--keep-state', 'd', 'true'], /excludes/],
    ['--host-mdevctl with --private-mdevctl', ['--host-mdevctl', '--private-mdevctl', 'true'], /excludes/],
    ['a value on a flag', ['--host-mdevctl=1', 'true'], /unknown option/],
  ];
  for (const [name, argv, message] of bad) t.throws(() => parseRunArgs(argv), { message }, name);
});

t.test('planSysGraft: the tree wins, the rest of /sys is bound back, then everything is sealed', async t => {
  const steps = planSysGraft({
    root: '/r',
    sys: '/sys',
    stage: '/st',
    layers: [
      {
        top: 'bus',
        real: [
          { name: 'mdev', kind: 'dir' },
          { name: 'pci', kind: 'dir' },
        ],
        fake: [
          { name: 'ap', kind: 'dir' },
          { name: 'mdev', kind: 'dir' },
        ],
      },
      { top: 'class', real: [{ name: 'odd', kind: 'link', target: '../x' }], fake: [{ name: 'f', kind: 'file' }] },
    ],
  });
  t.strictSame(steps, [
    { op: 'rbind', from: '/sys', to: '/st' },
    { op: 'tmpfs', at: '/sys/bus' },
    { op: 'mkdir', paths: ['/sys/bus/pci', '/sys/bus/ap', '/sys/bus/mdev'] },
    { op: 'rbind', from: '/st/bus/pci', to: '/sys/bus/pci' },
    { op: 'rbind', from: '/r/bus/ap', to: '/sys/bus/ap' },
    { op: 'rbind', from: '/r/bus/mdev', to: '/sys/bus/mdev' },
    { op: 'readonly', at: '/sys/bus' },
    { op: 'tmpfs', at: '/sys/class' },
    { op: 'touch', paths: ['/sys/class/f'] },
    { op: 'symlink', target: '../x', path: '/sys/class/odd' },
    { op: 'rbind', from: '/r/class/f', to: '/sys/class/f' },
    { op: 'readonly', at: '/sys/class' },
    { op: 'detach', at: '/st' },
  ]);
});

t.test('scanSysLayers reads the stand-in tree and the real /sys', async t => {
  const root = t.testdir();
  buildStandInTree(root);
  const layers = scanSysLayers(root, '/sys');
  t.strictSame(
    layers.map(l => l.top),
    ['bus', 'class', 'devices'],
  );
  const bus = layers.find(l => l.top === 'bus');
  t.strictSame(
    bus?.fake.map(e => e.name),
    ['ap', 'matrix', 'mdev'],
  );
  t.ok(bus?.real.some(e => e.name === 'pci' || e.name === 'platform'), 'real /sys/bus entries are listed');
  t.throws(() => scanSysLayers(t.testdir({ nosuchtop: {} }), '/sys'), { message: /cannot graft .*\/nosuchtop: \/sys\/nosuchtop/ });
});

t.test('planMdevctl', async t => {
  const all = (): boolean => true;
  t.strictSame(planMdevctl('host', all), []);
  t.strictSame(planMdevctl('private', all), [
    { op: 'tmpfs', at: '/etc/mdevctl.d' },
    { op: 'mkdir', paths: ['/etc/mdevctl.d/scripts.d/callouts', '/etc/mdevctl.d/scripts.d/notifiers'] },
    { op: 'tmpfs', at: '/usr/lib/mdevctl/scripts.d' },
    { op: 'mkdir', paths: ['/usr/lib/mdevctl/scripts.d/callouts', '/usr/lib/mdevctl/scripts.d/notifiers'] },
  ]);
  t.strictSame(planMdevctl('private', () => false), [], 'no mdevctl installed: nothing to hide');
  t.strictSame(planMdevctl({ keepIn: '/k' }, p => p === '/etc/mdevctl.d'), [{ op: 'rbind', from: '/k', to: '/etc/mdevctl.d' }]);
  t.throws(() => planMdevctl({ keepIn: '/k' }, () => false), { message: /--keep-state: \/etc\/mdevctl.d does not exist/ });
});

t.test('the script', async t => {
  t.equal(shQuote('/sys/bus/pci'), '/sys/bus/pci');
  t.equal(shQuote("it's a b"), `'it'\\''s a b'`);
  t.strictSame(stepArgv({ op: 'readonly', at: '/sys/bus' }), ['mount', '-o', 'remount,bind,ro', '/sys/bus']);
  const script = toShellScript([{ op: 'mkdir', paths: ['/a b', '/c'] }]);
  t.match(script, /^\(\n {2}PATH=\/usr\/sbin:/);
  t.match(script, /\n {2}step mkdir -p '\/a b' \/c\n\) \|\| exit 125\n/);
  t.match(script, /exec "\$@"\n$/);
});

t.test('unshareArgv and exitStatus', async t => {
  t.strictSame(unshareArgv(0).slice(0, 4), ['--mount', '--propagation', 'private', '--']);
  t.strictSame(unshareArgv(1000).slice(0, 3), ['--user', '--map-root-user', '--mount']);
  t.ok(unshareArgv(0).includes('--pdeathsig'), 'CMD dies with apsysfs run');
  t.equal(exitStatus({ code: 3, signal: null }), 3);
  t.equal(exitStatus({ code: null, signal: 'SIGTERM' }), 143);
  t.equal(exitStatus({ code: null, signal: 'SIGKILL' }), 137);
});
