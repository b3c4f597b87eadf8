// Issue "Real tools, unmodified": Debian's mdevctl 1.2.0, unmodified, drives the tree through
// `apsysfs run`. Every mdevctl step is checked twice: mdevctl's own output and exit status, then
// the sysfs state right after it (test/helpers/steps.ts: `mdevs` and `queues`). The steps of one
// scenario share one run (~0.7 s each), in the documentation's machine
// (test/fixtures/topologies/vfio-ap-doc.json) with the example's queues secured for vfio_ap.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { missing, mountTable, newMounts, unmountAllUnder } from '../helpers/ns-tree.js';
import { runSteps, type Step } from '../helpers/steps.js';

const why = missing([
  { bin: 'unshare', hint: 'apt-get install util-linux' },
  { bin: 'setpriv', hint: 'apt-get install util-linux' },
  { bin: 'mdevctl', hint: 'apt-get install mdevctl' },
]);
if (why !== undefined) t.fail(`mdevctl cannot be tested here: ${why}`);

const TOPOLOGY = fileURLToPath(new URL('../fixtures/topologies/vfio-ap-doc.json', import.meta.url));
const before = mountTable();
const hostDefinitions = readdirSync('/etc/mdevctl.d').sort();

const TYPE = 'vfio_ap-passthrough';
const G1 = 'a1000000-0000-4000-8000-000000000001';
const G2 = 'a2000000-0000-4000-8000-000000000002';

/** Documentation/arch/s390/vfio-ap.rst, "Securing the APQNs for our example". */
const SECURE: Step = ['secure', 'echo -5,-6 > /sys/bus/ap/apmask && echo -4,-0x47,-0xab,-0xff > /sys/bus/ap/aqmask'];

type Attr = Record<string, string>;
const definition = (attrs: Attr[], start = 'manual') => ({ mdev_type: TYPE, start, attrs });

/** A --jsonfile in the test's dir (the namespace sees the host's file system outside /sys). */
function jsonFile(dir: string, name: string, attrs: Attr[]): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(definition(attrs), null, 2));
  return file;
}

function sandbox(t: Test): string {
  // Before testdir(): teardowns run in order, and the testdir is removed by one of them.
  t.teardown(() => unmountAllUnder(t.testdirName));
  return t.testdir();
}

const mdevLine = (uuid: string, matrix: string, controlDomains: string, guestMatrix = matrix): string =>
  `mdev ${uuid} parent=matrix type=${TYPE} bus=yes type-link=yes matrix=${matrix} guest_matrix=${guestMatrix} control_domains=${controlDomains}`;
const lines = (...l: string[]): string => l.map(s => `${s}\n`).join('');

t.test('the mdevctl lifecycle: types, define, start, list, modify, stop, undefine, transient start', async t => {
  const tmp = sandbox(t);
  const g1Attrs: Attr[] = [{ assign_adapter: '5' }, { assign_domain: '4' }, { assign_domain: '0xab' }, { assign_control_domain: '0xab' }];
  const g2Attrs: Attr[] = [{ assign_adapter: '6' }, { assign_domain: '0x47' }, { assign_domain: '0xff' }, { assign_control_domain: '0x47' }];
  const f1 = jsonFile(tmp, 'guest1', g1Attrs);
  const f2 = jsonFile(tmp, 'guest2', g2Attrs);
  const r = await runSteps({ tmp, topology: TOPOLOGY }, [
    SECURE,
    ['types', 'mdevctl types'],
    ['types --dumpjson', 'mdevctl types --dumpjson'],
    ['define', `mdevctl define -u ${G1} -p matrix --jsonfile ${f1}`],
    ['after define', 'mdevs'],
    ['definition', `cat /etc/mdevctl.d/matrix/${G1}`],
    ['list after define', 'mdevctl list'],
    ['list -d after define', 'mdevctl list -d'],
    ['start', `mdevctl start -u ${G1}`],
    ['after start', 'mdevs'],
    ['list', 'mdevctl list'],
    ['list -d', 'mdevctl list -d'],
    ['list --dumpjson', 'mdevctl list --dumpjson'],
    ['list -d --dumpjson', 'mdevctl list -d --dumpjson'],
    ['start again', `mdevctl start -u ${G1}`],
    ['modify', `mdevctl modify -u ${G1} --addattr assign_domain --value 0x47 && mdevctl modify -u ${G1} --auto`],
    ['after modify', 'mdevs'],
    ['definition after modify', `cat /etc/mdevctl.d/matrix/${G1}`],
    ['stop', `mdevctl stop -u ${G1}`],
    ['after stop', 'mdevs; queues'],
    ['list after stop', 'mdevctl list'],
    ['list -d after stop', 'mdevctl list -d'],
    ['start modified', `mdevctl start -u ${G1}`],
    ['after start modified', 'mdevs'],
    ['stop modified', `mdevctl stop -u ${G1}`],
    ['undefine', `mdevctl undefine -u ${G1}`],
    ['after undefine', 'mdevs'],
    ['list -d after undefine', 'mdevctl list -d'],
    ['transient start', `mdevctl start -u ${G2} -p matrix --jsonfile ${f2}`],
    ['after transient start', 'mdevs'],
    ['list transient', 'mdevctl list'],
    ['list -d transient', 'mdevctl list -d'],
    ['stop transient', `mdevctl stop -u ${G2}`],
    ['after transient stop', 'mdevs'],
    ['start, uuid generated', `mdevctl start -p matrix -t ${TYPE}`],
    ['after start, uuid generated', 'ls /sys/bus/mdev/devices'],
    ['stop generated', 'mdevctl stop -u "$(ls /sys/bus/mdev/devices)" && mdevs'],
  ]);
  t.equal(r.run.code, 0, r.run.stderr);
  /** The step succeeded quietly on stderr; its stdout is `stdout` (when given). */
  const ok = (name: string, stdout?: string, what = 'stdout'): string => {
    const s = r.step(name);
    t.strictSame([s.code, s.stderr], [0, ''], `${name}: exit 0, nothing on stderr`);
    if (stdout !== undefined) t.equal(s.stdout, stdout, `${name}: ${what}`);
    return s.stdout;
  };
  const json = (name: string): unknown => {
    const s = r.step(name);
    t.equal(s.code, 0, `${name}: ${s.stderr}`);
    return JSON.parse(s.stdout);
  };
  const empty = 'available_instances 65536\n';

  ok('secure', '');
  ok('types', lines('matrix', `  ${TYPE}`, '    Available instances: 65536', '    Device API: vfio-ap', '    Name: VFIO AP Passthrough Device', ''));
  t.strictSame(json('types --dumpjson'), [
    { matrix: [{ [TYPE]: { available_instances: 65536, device_api: 'vfio-ap', name: 'VFIO AP Passthrough Device' } }] },
  ]);

  ok('define', '');
  ok('after define', lines('available_instances 65536', `defined ${G1}`));
  t.strictSame(JSON.parse(ok('definition')), definition(g1Attrs), 'the definition file holds the attributes in order');
  ok('list after define', '\n');
  ok('list -d after define', lines(`${G1} matrix ${TYPE} manual`, ''));

  ok('start', '');
  ok('after start', lines('available_instances 65535', mdevLine(G1, '05.0004,05.00ab', '00ab'), `defined ${G1}`));
  ok('list', lines(`${G1} matrix ${TYPE} manual (defined)`, ''));
  ok('list -d', lines(`${G1} matrix ${TYPE} manual (active)`, ''));
  t.strictSame(json('list --dumpjson'), [{ matrix: [{ [G1]: definition(g1Attrs) }] }]);
  t.strictSame(json('list -d --dumpjson'), [{ matrix: [{ [G1]: definition(g1Attrs) }] }]);
  const again = r.step('start again');
  t.equal(again.code, 1, 'a running device cannot be started twice');
  t.equal(again.stderr, 'Error: Device already exists');

  ok('modify', '');
  ok('after modify', lines('available_instances 65535', mdevLine(G1, '05.0004,05.00ab', '00ab'), `defined ${G1}`), 'the running device is unaffected');
  t.strictSame(JSON.parse(r.step('definition after modify').stdout), definition([...g1Attrs, { assign_domain: '0x47' }], 'auto'));

  ok('stop', '');
  const afterStop = ok('after stop');
  t.ok(afterStop.startsWith(lines(empty.trim(), `defined ${G1}`)), 'the device is gone, available_instances is back, the definition stays');
  t.match(afterStop, /^vfio_ap 04\.0004 04\.0047 04\.00ab 04\.00ff 05\.0004 05\.0006 05\.0047 05\.00ab 05\.00ff 06\.0004 /m, 'the queues stay bound to vfio_ap');
  ok('list after stop', '\n');
  ok('list -d after stop', lines(`${G1} matrix ${TYPE} auto`, ''));

  ok('start modified', '');
  ok('after start modified', lines('available_instances 65535', mdevLine(G1, '05.0004,05.0047,05.00ab', '00ab'), `defined ${G1}`), 'the added attribute applies at the next start');
  ok('stop modified', '');

  ok('undefine', '');
  ok('after undefine', empty);
  ok('list -d after undefine', '\n');

  ok('transient start', '');
  ok('after transient start', lines('available_instances 65535', mdevLine(G2, '06.0047,06.00ff', '0047')), 'started with its attributes, not defined');
  ok('list transient', lines(`${G2} matrix ${TYPE} manual`, ''));
  ok('list -d transient', '\n');
  ok('stop transient', '');
  ok('after transient stop', empty);

  const generated = ok('start, uuid generated');
  t.match(generated, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/, 'mdevctl prints the UUID it made up');
  ok('after start, uuid generated', generated);
  ok('stop generated', empty);

  t.strictSame(readdirSync('/etc/mdevctl.d').sort(), hostDefinitions, "the host's /etc/mdevctl.d is untouched");
  t.strictSame(readdirSync(tmp).sort(), ['guest1.json', 'guest2.json'], 'the run removed its temp dir');
});

t.test('a start whose attribute write fails leaves no half-made device behind', async t => {
  const tmp = sandbox(t);
  const H = 'b0000000-0000-4000-8000-00000000000a';
  const S = 'b0000000-0000-4000-8000-00000000000b';
  const R = 'b0000000-0000-4000-8000-00000000000c';
  const holder = jsonFile(tmp, 'holder', [{ assign_adapter: '5' }, { assign_domain: '0x47' }]);
  // 05.0047 is the holder's: the write that completes the conflicting APQN fails, whichever it is.
  const onDomain = jsonFile(tmp, 'on-domain', [{ assign_adapter: '6' }, { assign_adapter: '5' }, { assign_domain: '0x47' }]);
  const onAdapter = jsonFile(tmp, 'on-adapter', [{ assign_domain: '0x47' }, { assign_domain: '4' }, { assign_adapter: '5' }]);
  // 04.0006 stays reserved for the host: apmask bit 4 and aqmask bit 6 are still set.
  const reserved = jsonFile(tmp, 'reserved', [{ assign_adapter: '4' }, { assign_domain: '6' }]);
  const free = jsonFile(tmp, 'free', [{ assign_adapter: '6' }, { assign_domain: '0x47' }]);
  const r = await runSteps({ tmp, topology: TOPOLOGY }, [
    SECURE,
    ['holder', `mdevctl start -u ${H} -p matrix --jsonfile ${holder}`],
    ['after holder', 'mdevs'],
    ['sharing on domain', `mdevctl start -u ${S} -p matrix --jsonfile ${onDomain}`],
    ['after sharing on domain', 'mdevs'],
    ['sharing on adapter', `mdevctl start -u ${S} -p matrix --jsonfile ${onAdapter}`],
    ['after sharing on adapter', 'mdevs; ls /sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/devices'],
    ['define reserved', `mdevctl define -u ${R} -p matrix --jsonfile ${reserved}`],
    ['reserved', `mdevctl start -u ${R}`],
    ['after reserved', 'mdevs'],
    ['list after failures', 'mdevctl list; mdevctl list -d'],
    ['same uuid, free queues', `mdevctl start -u ${S} -p matrix --jsonfile ${free}`],
    ['after retry', 'mdevs'],
  ]);
  t.equal(r.run.code, 0, r.run.stderr);
  const onlyHolder = lines('available_instances 65535', mdevLine(H, '05.0047', ''));

  t.equal(r.step('holder').code, 0, r.step('holder').stderr);
  t.equal(r.step('after holder').stdout, onlyHolder);

  for (const [name, value, attr] of [
    ['sharing on domain', '0x47', 'assign_domain'],
    ['sharing on adapter', '5', 'assign_adapter'],
  ] as const) {
    const s = r.step(name);
    t.equal(s.code, 1, `${name}: mdevctl fails`);
    t.equal(s.stderr, `Error: Failed to write ${value} to attribute ${attr}\n\nCaused by:\n    Address already in use (os error 98)`, `${name}: EADDRINUSE`);
    t.equal(s.stdout, '');
  }
  t.equal(r.step('after sharing on domain').stdout, onlyHolder, 'the half-made device is removed, available_instances is back');
  t.equal(r.step('after sharing on adapter').stdout, `${onlyHolder}${H}\n`, 'and the type lists the holder only');

  t.equal(r.step('define reserved').code, 0);
  const res = r.step('reserved');
  t.equal(res.code, 1, 'mdevctl fails on a queue reserved for the host');
  t.equal(res.stderr, 'Error: Failed to write 6 to attribute assign_domain\n\nCaused by:\n    Cannot assign requested address (os error 99)', 'EADDRNOTAVAIL');
  t.equal(r.step('after reserved').stdout, `${onlyHolder}defined ${R}\n`, 'no device; the definition stays');
  t.equal(r.step('list after failures').stdout, lines(`${H} matrix ${TYPE} manual`, '', `${R} matrix ${TYPE} manual`, ''));

  t.equal(r.step('same uuid, free queues').code, 0, 'nothing of the failed starts is in the way');
  t.equal(
    r.step('after retry').stdout,
    lines('available_instances 65534', mdevLine(H, '05.0047', ''), mdevLine(S, '06.0047', ''), `defined ${R}`),
  );
  t.strictSame(readdirSync('/etc/mdevctl.d').sort(), hostDefinitions, "the host's /etc/mdevctl.d is untouched");
});

t.test('no mount is left on the host', async t => {
  t.strictSame(newMounts(before), []);
});
