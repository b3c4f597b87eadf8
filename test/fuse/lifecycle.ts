// Mount and unmount: signals, killed daemons, dead mounts, --daemon and `apsysfs umount`.
// The daemon is `apsysfs mount` over the FakeKernfs (test/helpers/fake-daemon.ts).
import { existsSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { findMount } from '../../src/fuse/mountpoint.js';
import { mountFake, repoRoot } from '../helpers/mount.js';
import { run, sh } from '../helpers/shell.js';

const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');
const FAKE_DAEMON = path.join(repoRoot, 'dist', 'test', 'helpers', 'fake-daemon.js');

/** A directory for the test to mount on, removed at teardown (after the mounts' own teardowns). */
const freshDir = (t: Test): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-test-'));
  t.teardown(() => rmdirSync(dir));
  return dir;
};

/** Running, neither gone nor a zombie waiting for a parent that does not reap. */
const isRunning = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/**
 * A fresh directory with a dead mount on it: the daemon and the fusermount that would have
 * auto-unmounted are both SIGKILLed.
 */
const deadMount = async (t: Test): Promise<string> => {
  const dir = freshDir(t);
  const m = await mountFake(t, { dir });
  const helpers = (await run('pgrep', ['-P', String(m.pid), 'fusermount'])).stdout.split('\n').filter(Boolean);
  for (const h of helpers) process.kill(Number(h), 'SIGKILL');
  process.kill(m.pid, 'SIGKILL');
  await m.exited;
  return dir;
};

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  t.test(`${signal} unmounts cleanly and exits 0`, async t => {
    const m = await mountFake(t);
    process.kill(m.pid, signal);
    t.same(await m.exited, { code: 0, signal: null });
    t.equal(findMount(m.root), undefined, 'no mount left');
  });
}

t.test('a daemon killed with SIGKILL leaves no mount (auto_unmount)', async t => {
  const m = await mountFake(t);
  process.kill(m.pid, 'SIGKILL');
  await m.exited;
  // fusermount notices the daemon's end and unmounts; stop() (teardown) waits for that and fails if it does not happen.
  await m.stop();
  t.equal(findMount(m.root), undefined);
});

t.test('a dead mount on the directory is cleared by the next mount', async t => {
  const dir = await deadMount(t);
  const dead = await sh(`stat ${dir}`);
  t.match(dead.stderr, /Transport endpoint is not connected/, 'a dead mount is there');
  const second = await mountFake(t, { dir });
  t.equal((await sh(`cat ${dir}/hello`)).stdout, 'hello\n');
  await second.stop();
});

t.test('mounting over a live mount is refused', async t => {
  const m = await mountFake(t);
  const r = await run(process.execPath, [FAKE_DAEMON, m.root]);
  t.equal(r.code, 1);
  t.match(r.stderr, `apsysfs: mount: ${m.root}: already mounted (fuse.apsysfs)`);
  t.equal((await sh(`cat ${m.root}/hello`)).stdout, 'hello\n', 'the first mount still serves');
});

t.test('--daemon returns once mounted; apsysfs umount stops it', async t => {
  const dir = freshDir(t);
  const started = await run(process.execPath, [FAKE_DAEMON, dir, '--daemon']);
  t.equal(started.code, 0, started.stderr);
  const [, pid, log] = /\(pid (\d+), log (.+)\)\n$/.exec(started.stdout) ?? [];
  t.ok(pid && isRunning(Number(pid)), `daemon running: ${started.stdout}`);
  t.teardown(() => {
    if (pid && isRunning(Number(pid))) process.kill(Number(pid), 'SIGKILL');
  });
  t.equal((await sh(`cat ${dir}/hello`)).stdout, 'hello\n', 'ready when --daemon returns');
  t.ok(log && existsSync(log), 'its log file exists');
  const stopped = await run(process.execPath, [CLI, 'umount', dir]);
  t.equal(stopped.code, 0, stopped.stderr);
  t.equal(stopped.stderr, '');
  t.equal(findMount(dir), undefined, 'unmounted');
  t.notOk(isRunning(Number(pid)), 'the daemon is gone');
  t.notOk(existsSync(log ?? ''), 'its log, empty, is gone too');
});

t.test('--daemon passes on why the daemon could not mount', async t => {
  const m = await mountFake(t);
  const r = await run(process.execPath, [FAKE_DAEMON, m.root, '--daemon']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^apsysfs: mount: .*: already mounted \(fuse\.apsysfs\)\nsee 'apsysfs --help'\n$/);
});

t.test('apsysfs umount stops a foreground daemon too', async t => {
  const m = await mountFake(t);
  const r = await run(process.execPath, [CLI, 'umount', m.root]);
  t.equal(r.code, 0, r.stderr);
  t.same(await m.exited, { code: 0, signal: null });
  t.equal(findMount(m.root), undefined);
});

t.test('apsysfs umount clears a dead mount', async t => {
  const dir = await deadMount(t);
  t.ok(findMount(dir), 'dead mount there');
  const r = await run(process.execPath, [CLI, 'umount', dir]);
  t.equal(r.code, 0, r.stderr);
  t.equal(findMount(dir), undefined);
});

t.test('apsysfs umount of a directory with nothing mounted is an error', async t => {
  const dir = freshDir(t);
  const r = await run(process.execPath, [CLI, 'umount', dir]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `apsysfs: umount: ${dir}: not mounted\nsee 'apsysfs --help'\n`);
});
