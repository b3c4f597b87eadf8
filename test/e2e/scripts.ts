// Issue "Real tools, unmodified": the admin scripts in scripts/ (bash, hard-coded /sys paths) run
// unmodified under `apsysfs run` in the documentation's machine
// (test/fixtures/topologies/vfio-ap-doc.json). Each script's own output is checked, then the
// state it leaves (test/helpers/steps.ts: `queues` and `mdevs`).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { apsysfs, capture, eventually, isMounted, missing, mountTable, newMounts, REPO, unmountAllUnder } from '../helpers/ns-tree.js';
import { runSteps } from '../helpers/steps.js';

const why = missing([
  { bin: 'unshare', hint: 'apt-get install util-linux' },
  { bin: 'setpriv', hint: 'apt-get install util-linux' },
  { bin: 'bash', hint: 'apt-get install bash' },
  { bin: 'mdevctl', hint: 'apt-get install mdevctl' },
  { bin: 'shellcheck', hint: 'apt-get install shellcheck' },
]);
if (why !== undefined) t.fail(`the scripts cannot be tested here: ${why}`);

const TOPOLOGY = fileURLToPath(new URL('../fixtures/topologies/vfio-ap-doc.json', import.meta.url));
const script = (name: string): string => join(REPO, 'scripts', name);
const SECURE = script('vfio-ap-secure-queues.sh');
const CREATE = script('vfio-ap-create-mdev.sh');
const EXAMPLE = script('vfio-ap-doc-example.sh');
const RELEASE = script('vfio-ap-release-queues.sh');
const TEARDOWN = script('vfio-ap-teardown.sh');
const before = mountTable();

const lines = (...l: string[]): string => l.map(s => `${s}\n`).join('');
const ALL = `0x${'f'.repeat(64)}`;
/** The masks the documentation shows for its example ("Or the masks can be set as follows"). */
const DOC_APMASK = '0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff';
const DOC_AQMASK = '0xf7fffffffffffffffeffffffffffffffffffffffffeffffffffffffffffffffe';
const DOMAINS = ['0004', '0006', '0047', '00ab', '00ff'];
const queuesOf = (...adapters: string[]): string => adapters.flatMap(a => DOMAINS.map(d => `${a}.${d}`)).join(' ');
/** `queues` when every queue is the host's. */
const HOST_QUEUES = lines(`apmask ${ALL}`, `aqmask ${ALL}`, 'vfio_ap', `cex4queue ${queuesOf('04', '05', '06', '0a')}`, 'unbound');
/** `queues` after the example's masks: adapters 5, 6 and domains 4, 0x47, 0xab, 0xff are vfio_ap's. */
const SECURED_QUEUES = lines(
  `apmask ${DOC_APMASK}`,
  `aqmask ${DOC_AQMASK}`,
  'vfio_ap 04.0004 04.0047 04.00ab 04.00ff 05.0004 05.0006 05.0047 05.00ab 05.00ff 06.0004 06.0006 06.0047 06.00ab 06.00ff 0a.0004 0a.0047 0a.00ab 0a.00ff',
  'cex4queue 04.0006 0a.0006',
  'unbound',
);
const mdevLine = (uuid: string, matrix: string, controlDomains: string): string =>
  `mdev ${uuid} parent=matrix type=vfio_ap-passthrough bus=yes type-link=yes matrix=${matrix} guest_matrix=${matrix} control_domains=${controlDomains}`;

function sandbox(t: Test): string {
  // Before testdir(): teardowns run in order, and the testdir is removed by one of them.
  t.teardown(() => unmountAllUnder(t.testdirName));
  return t.testdir();
}

t.test('shellcheck finds nothing to say about the scripts', async t => {
  const files = readdirSync(join(REPO, 'scripts')).filter(f => f.endsWith('.sh'));
  t.strictSame(files.sort(), ['vfio-ap-create-mdev.sh', 'vfio-ap-doc-example.sh', 'vfio-ap-release-queues.sh', 'vfio-ap-secure-queues.sh', 'vfio-ap-teardown.sh']);
  const r = await capture(spawn('shellcheck', [...files.map(script), join(REPO, 'examples/list-vfio-queues.sh')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  t.equal(r.code, 0, r.stdout + r.stderr);
  for (const f of files) t.ok((statSync(script(f)).mode & 0o111) === 0o111, `${f} is executable`);
});

t.test('secure queues, create mdevs, give the queues back', async t => {
  const tmp = sandbox(t);
  const U1 = 'c1000000-0000-4000-8000-000000000001';
  const r = await runSteps({ tmp, topology: TOPOLOGY }, [
    ['usage', SECURE],
    ['secure', `${SECURE} 5,6 4,0x47,0xab,0xff`],
    ['after secure', 'queues'],
    ['create', `${CREATE} -u ${U1} 5,6 4,0xab 0xab`],
    ['after create', 'mdevs'],
    ['create sharing', `${CREATE} -u c1000000-0000-4000-8000-000000000002 5 0xab`],
    ['after create sharing', 'mdevs'],
    ['create reserved', `${CREATE} -u c1000000-0000-4000-8000-000000000003 4 6`],
    ['after create reserved', 'mdevs'],
    ['create, uuid generated', `${CREATE} 6 0x47,0xff`],
    ['after create, uuid generated', 'mdevs'],
    ['release in use', `${RELEASE} 5,6 4,0x47,0xab,0xff`],
    ['after release in use', 'queues'],
    ['remove mdevs', 'for m in /sys/devices/vfio_ap/matrix/*-*-*-*-*; do echo 1 > $m/remove; done'],
    ['release', `${RELEASE} 5,6 4,0x47,0xab,0xff`],
    ['after release', 'queues; mdevs'],
  ]);
  t.equal(r.run.code, 0, r.run.stderr);

  const usage = r.step('usage');
  t.strictSame([usage.code, usage.stdout, usage.stderr], [2, '', 'usage: vfio-ap-secure-queues.sh ADAPTER[,ADAPTER...] [DOMAIN[,DOMAIN...]]']);

  const secure = r.step('secure');
  t.strictSame([secure.code, secure.stderr], [0, '']);
  t.equal(secure.stdout, lines(`apmask: ${DOC_APMASK}`, `aqmask: ${DOC_AQMASK}`, ...queuesOf('05', '06').split(' ').filter(q => !q.endsWith('0006')).map(q => `${q}: vfio_ap`)));
  t.equal(r.step('after secure').stdout, SECURED_QUEUES, "the relative writes give the documentation's absolute masks");

  const create = r.step('create');
  t.strictSame([create.code, create.stderr], [0, '']);
  t.equal(
    create.stdout,
    lines(U1, 'matrix:', '  05.0004', '  05.00ab', '  06.0004', '  06.00ab', 'guest_matrix:', '  05.0004', '  05.00ab', '  06.0004', '  06.00ab', 'control_domains: 00ab'),
  );
  const one = lines('available_instances 65535', mdevLine(U1, '05.0004,05.00ab,06.0004,06.00ab', '00ab'));
  t.equal(r.step('after create').stdout, one);

  const sharing = r.step('create sharing');
  t.equal(sharing.code, 1);
  t.equal(sharing.stdout, '');
  t.equal(
    sharing.stderr,
    'vfio-ap-create-mdev.sh: assign_domain 0xab: Address already in use: another mdev has one of these queues (see dmesg)\n' +
      'vfio-ap-create-mdev.sh: removed c1000000-0000-4000-8000-000000000002 again',
  );
  t.equal(r.step('after create sharing').stdout, one, 'the half-made mdev is gone');

  const reserved = r.step('create reserved');
  t.equal(reserved.code, 1);
  t.equal(
    reserved.stderr,
    'vfio-ap-create-mdev.sh: assign_domain 6: Cannot assign requested address: a queue is still reserved for the host (apmask/aqmask, see vfio-ap-secure-queues.sh)\n' +
      'vfio-ap-create-mdev.sh: removed c1000000-0000-4000-8000-000000000003 again',
  );
  t.equal(r.step('after create reserved').stdout, one, 'the half-made mdev is gone');

  const generated = r.step('create, uuid generated');
  t.equal(generated.code, 0, generated.stderr);
  const uuid = generated.stdout.split('\n')[0] ?? '';
  t.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a random UUID');
  const two = [mdevLine(U1, '05.0004,05.00ab,06.0004,06.00ab', '00ab'), mdevLine(uuid, '06.0047,06.00ff', '0047,00ff')].sort();
  t.equal(r.step('after create, uuid generated').stdout, lines('available_instances 65534', ...two), 'control domains default to the usage domains');

  const inUse = r.step('release in use');
  t.equal(inUse.code, 1);
  t.equal(inUse.stdout, '');
  const holders = [
    ...['05.0004', '05.00ab', '06.0004', '06.00ab'].map(q => `  ${U1}: ${q}`),
    ...['06.0047', '06.00ff'].map(q => `  ${uuid}: ${q}`),
  ].sort();
  t.equal(
    inUse.stderr,
    ['vfio-ap-release-queues.sh: these queues are still assigned to mdevs:', ...holders, 'vfio-ap-release-queues.sh: remove the mdevs first; nothing was changed'].join('\n'),
  );
  t.equal(r.step('after release in use').stdout, SECURED_QUEUES, 'nothing was changed');

  t.equal(r.step('remove mdevs').code, 0);
  const release = r.step('release');
  t.strictSame([release.code, release.stderr], [0, '']);
  t.equal(
    release.stdout,
    lines(
      `apmask: ${ALL}`,
      `aqmask: ${ALL}`,
      ...queuesOf('04', '05', '06', '0a')
        .split(' ')
        .filter(q => q.startsWith('05') || q.startsWith('06') || !q.endsWith('0006'))
        .map(q => `${q}: cex4queue`),
    ),
  );
  t.equal(r.step('after release').stdout, HOST_QUEUES + lines('available_instances 65536'));
});

t.test("the documentation's three-guest example, then tear everything down", async t => {
  const tmp = sandbox(t);
  const [G1, G2, G3] = ['d1000000-0000-4000-8000-000000000001', 'd2000000-0000-4000-8000-000000000002', 'd3000000-0000-4000-8000-000000000003'];
  const D = 'd9000000-0000-4000-8000-000000000009';
  const r = await runSteps({ tmp, topology: TOPOLOGY }, [
    ['example', `UUID1=${G1} UUID2=${G2} UUID3=${G3} ${EXAMPLE}`],
    ['after example', 'queues; mdevs'],
    ['define', `mdevctl define -u ${D} -p matrix -t vfio_ap-passthrough`],
    ['teardown', TEARDOWN],
    ['after teardown', 'queues; mdevs; mdevctl list -d'],
    ['teardown again', TEARDOWN],
  ]);
  t.equal(r.run.code, 0, r.run.stderr);

  const example = r.step('example');
  t.strictSame([example.code, example.stderr], [0, '']);
  t.equal(
    example.stdout,
    lines(
      'secured: 05.0004 05.0006 05.0047 05.00ab 05.00ff 06.0004 06.0006 06.0047 06.00ab 06.00ff',
      `Guest1: ${G1}`,
      '  matrix:       05.0004 05.00ab 06.0004 06.00ab',
      '  guest_matrix: 05.0004 05.00ab 06.0004 06.00ab',
      `Guest2: ${G2}`,
      '  matrix:       05.0047 05.00ff',
      '  guest_matrix: 05.0047 05.00ff',
      `Guest3: ${G3}`,
      '  matrix:       06.0047 06.00ff',
      '  guest_matrix: 06.0047 06.00ff',
      'Start each guest with -device vfio-ap,sysfsdev=/sys/devices/vfio_ap/matrix/UUID',
    ),
  );
  t.equal(
    r.step('after example').stdout,
    SECURED_QUEUES +
      lines(
        'available_instances 65533',
        mdevLine(G1, '05.0004,05.00ab,06.0004,06.00ab', ''),
        mdevLine(G2, '05.0047,05.00ff', ''),
        mdevLine(G3, '06.0047,06.00ff', ''),
      ),
  );

  t.equal(r.step('define').code, 0);
  const teardown = r.step('teardown');
  t.strictSame([teardown.code, teardown.stderr], [0, '']);
  t.equal(
    teardown.stdout,
    lines(
      `removing mdev ${G1} (05.0004 05.00ab 06.0004 06.00ab)`,
      `removing mdev ${G2} (05.0047 05.00ff)`,
      `removing mdev ${G3} (06.0047 06.00ff)`,
      `undefining mdevctl device ${D}`,
      'all queues are back with the host: 20/20 (complete)',
    ),
  );
  t.equal(r.step('after teardown').stdout, HOST_QUEUES + lines('available_instances 65536', ''), 'no mdev, no definition, every queue the host\'s');
  const again = r.step('teardown again');
  t.strictSame([again.code, again.stdout, again.stderr], [0, 'all queues are back with the host: 20/20 (complete)\n', ''], 'idempotent');
});

t.test('a SIGKILLed apsysfs run in the middle of a script leaves no mount', async t => {
  const tmp = sandbox(t);
  const child = apsysfs(['run', '--topology', TOPOLOGY, '--', 'bash', '-c', `${EXAMPLE} > /dev/null && echo "MOUNT $APSYSFS_DIR" && exec sleep 60`], {
    env: { ...process.env, TMPDIR: tmp },
  });
  const done = capture(child);
  let out = '';
  const dir = await new Promise<string>(resolve => {
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^MOUNT (\S+)$/m.exec(out);
      if (m) resolve(m[1] ?? '');
    });
    void done.then(() => resolve(''));
  });
  t.ok(dir && isMounted(dir), `mounted while the script's guests exist (${dir})`);
  child.kill('SIGKILL');
  const r = await done;
  t.equal(r.signal, 'SIGKILL');
  t.ok(await eventually(() => !mountTable().some(l => l.includes(tmp)), 20_000), 'no mount under the run\'s temp dir in /proc/mounts');
  t.ok(await eventually(() => readdirSync(tmp).length === 0), 'and the temp dir is removed');
});

t.test('no mount is left on the host', async t => {
  t.strictSame(newMounts(before), []);
});
