// Issue "Real tools, unmodified": the Node API for test authors, `import { start } from 'apsysfs'`.
// The tree is looked at through child processes only (test/helpers/shell.ts).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { start, type Apsysfs } from '../../src/index.js';
import { eventually, isMounted, REPO } from '../helpers/ns-tree.js';
import { sh } from '../helpers/shell.js';

const DOC_TOPOLOGY = fileURLToPath(new URL('../fixtures/topologies/vfio-ap-doc.json', import.meta.url));

/** Alive and not a zombie (the daemon's parent is init, which may reap it late). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

const HOST_TMP = tmpdir();

/**
 * A fresh $TMPDIR for the test, so that whatever start() leaves there shows. Not t.testdir(): tap
 * removes that before later teardowns run, and would walk into a live mount. One teardown stops
 * every tree started in the test (`track`), then removes the dir.
 */
function sandbox(t: Test): { tmp: string; track(sys: Apsysfs): Apsysfs } {
  const tmp = mkdtempSync(join(HOST_TMP, 'apsysfs-api-test-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  const started: Apsysfs[] = [];
  t.teardown(async () => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await Promise.all(started.map(s => s.stop()));
    rmSync(tmp, { recursive: true });
  });
  return { tmp, track: sys => (started.push(sys), sys) };
}

t.test('start() with the default topology; stop() leaves nothing', async t => {
  const { tmp, track } = sandbox(t);
  const sys = track(await start());
  t.equal(dirname(dirname(sys.root)), tmp, 'in a temp dir under $TMPDIR');
  t.ok(isMounted(sys.root), 'mounted');
  t.ok(alive(sys.pid), 'the daemon runs');
  t.not(sys.pid, process.pid);
  const r = await sh(`cat ${sys.root}/bus/ap/apmask; readlink ${sys.root}/class/mdev_bus/matrix`);
  t.equal(r.stdout, `0x${'f'.repeat(64)}\n../../devices/vfio_ap/matrix\n`);
  t.type(sys.log(), 'string');

  await sys.stop();
  t.notOk(isMounted(sys.root), 'unmounted');
  t.notOk(alive(sys.pid), 'the daemon is gone');
  t.strictSame(readdirSync(tmp), [], 'the temp dir is removed');
  await sys.stop();
  t.pass('stop() again is a no-op');
});

t.test('a topology object, a topology file, a kernel', async t => {
  const { track } = sandbox(t);
  const uuid = '62177883-f1bb-47f0-914d-32a22e3a8804';
  const [fromObject, fromFile] = await Promise.all([
    start({
      topology: {
        adapters: [{ id: '0x05', type: 'CEX8C' }],
        usageDomains: [4, '0x47'],
        apmask: '+0-255,-5',
        mdevs: [{ uuid, adapters: [5], domains: ['0x47'] }],
      },
      kernel: 'mainline',
    }),
    start({ topology: DOC_TOPOLOGY }),
  ]);
  track(fromObject);
  track(fromFile);
  const a = await sh(`cd ${fromObject.root} && ls bus/ap/devices && cat devices/vfio_ap/matrix/${uuid}/matrix`);
  t.equal(a.stdout, '05.0004\n05.0047\ncard05\n05.0047\n');
  const b = await sh(`cd ${fromFile.root} && cat bus/ap/ap_max_domain_id && ls bus/ap/devices | grep -c '\\.'`);
  t.equal(b.stdout, '255\n20\n', "the documentation's machine: 4 adapters x 5 domains");
});

t.test('a bad topology: start() rejects with the reason and leaves nothing', async t => {
  const { tmp } = sandbox(t);
  await t.rejects(start({ topology: { adapters: [{ id: 5, type: 'CEX9C' }] } }), { message: /adapters\[0\]\.type: "CEX9C" is not a card type/ });
  await t.rejects(start({ topology: join(tmp, 'missing.json') }), { message: /missing\.json: no such file/ });
  t.strictSame(readdirSync(tmp).filter(n => n !== 'missing.json'), []);
});

t.test('dir: mount where the caller wants; stop() leaves the directory', async t => {
  const { tmp, track } = sandbox(t);
  const dir = join(tmp, 'sys');
  mkdirSync(dir);
  const sys = track(await start({ dir, args: ['--op-timeout', '5'] }));
  t.equal(sys.root, dir);
  t.equal((await sh(`cat ${dir}/bus/ap/ap_domain`)).code, 0);
  await sys.stop();
  t.notOk(isMounted(dir));
  t.strictSame(readdirSync(tmp), ['sys'], 'only the caller\'s directory is left');
  t.strictSame(readdirSync(dir), []);
});

t.test('the control channel, when the daemon has one', async t => {
  const { track } = sandbox(t);
  const sys = track(await start());
  const socket = readdirSync(join(dirname(sys.root), 'run', 'apsysfs')).some(n => n.endsWith('.sock'));
  t.equal(sys.ctl !== undefined, socket, 'ctl is there exactly when the daemon listens');
  if (sys.ctl) {
    const status = await sys.ctl.call('status', {});
    t.equal(status.mountDir, sys.root);
    t.equal(status.pid, sys.pid);
  }
});

t.test('a caller killed without stop(): the watchdog unmounts and cleans up', async t => {
  const { tmp } = sandbox(t);
  t.ok(existsSync(join(REPO, 'dist/src/index.js')), 'dist/ is built');
  // The package entry as a user imports it (a self-reference: package.json "exports").
  const code = "const { start } = await import('apsysfs'); const s = await start(); console.log(s.root, s.pid); setInterval(() => {}, 1000);";
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: tmp } });
  const line = await new Promise<string>(resolve => child.stdout.once('data', (b: Buffer) => resolve(b.toString().trim())));
  const [root = '', pid = ''] = line.split(' ');
  t.ok(isMounted(root), 'mounted');
  child.kill('SIGKILL');
  t.ok(await eventually(() => !isMounted(root), 20_000), 'unmounted');
  t.ok(await eventually(() => !alive(Number(pid))), 'the daemon is gone');
  t.ok(await eventually(() => readdirSync(tmp).length === 0), 'the temp dir is removed');
});
