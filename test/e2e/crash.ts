// Issue "Prove it holds", crashes: the real `apsysfs mount` killed with SIGKILL leaves no dead mount
// ("Transport endpoint is not connected") and the next mount of the same directory works, stale
// control socket and daemon record included; SIGTERM and SIGINT unmount cleanly and exit 0, even
// while a client holds a file open and sits in the mount.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { findMount, probe } from '../../src/fuse/mountpoint.js';
import { socketPath } from '../../src/control/socket-path.js';
import { mountTree, repoRoot, type MountedTree } from '../helpers/mount.js';
import { run, sh } from '../helpers/shell.js';

const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');

/** A directory to mount on, removed at teardown (after the mounts' own teardowns). */
function freshDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-crash-'));
  t.teardown(() => rmdirSync(dir));
  return dir;
}

/** A private runtime dir, so that the control sockets and daemon records of this file are its own. */
function runtimeEnv(t: Test): Record<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-xdg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { XDG_RUNTIME_DIR: dir };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A deadline for Promise.race that does not keep the test process alive once the race is won. */
const deadline = <T>(ms: number, value: T): Promise<T> => new Promise((r) => setTimeout(() => r(value), ms).unref());

async function gone(dir: string, ms = 3000): Promise<boolean> {
  for (let waited = 0; findMount(dir) && waited < ms; waited += 50) await sleep(50);
  return findMount(dir) === undefined;
}

const ctl = (dir: string, env: Record<string, string>, ...args: string[]) => run(process.execPath, [CLI, 'ctl', '--mount', dir, ...args], { env });

/** The mount serves the tree: what a tool sees first. */
async function serves(t: Test, dir: string): Promise<void> {
  const r = await sh(`cat ${dir}/bus/ap/ap_domain ${dir}/bus/ap/bindings`);
  t.equal(r.stdout, '4\n16/16 (complete)\n', `${dir} serves the tree ${r.stderr}`);
}

/**
 * A client busy in the mount: its cwd is there, it holds a queue's request_count open and keeps
 * writing it and reading bus/ap/bindings. It reports the first error and then exits.
 */
function busyClient(dir: string): { child: ChildProcess; ready: Promise<void>; result: Promise<{ errors: string[]; ops: number }>; seen: () => string } {
  const script = `
    const fs = require('fs');
    process.chdir(process.argv[1]);
    const held = fs.openSync('devices/ap/card05/05.0004/request_count', 'r+');
    let ops = 0; const errors = [];
    const until = Date.now() + 15000;
    while (Date.now() < until && errors.length < 2) {
      try { fs.writeSync(held, '0'); fs.readFileSync('bus/ap/bindings'); if (++ops === 1) process.stdout.write('ready\\n'); }
      catch (e) { errors.push(e.code); }
    }
    try { fs.closeSync(held); } catch (e) { errors.push('close ' + e.code); }
    process.stdout.write(JSON.stringify({ errors, ops }) + '\\n');`;
  const child = spawn(process.execPath, ['-e', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout.setEncoding('utf8');
  const ready = new Promise<void>((resolve) => child.stdout.on('data', (d: string) => ((out += d), out.includes('ready') && resolve())));
  const result = (async () => {
    await ready;
    await new Promise((r) => child.once('exit', r));
    const last = out.trim().split('\n').at(-1) ?? '';
    return last.startsWith('{') ? (JSON.parse(last) as { errors: string[]; ops: number }) : { errors: [`no report: ${out} ${err}`], ops: -1 };
  })();
  return { child, ready, result, seen: () => `stdout ${JSON.stringify(out)} stderr ${JSON.stringify(err)} exit ${child.exitCode}/${child.signalCode}` };
}

/** A client that only sits in the mount with a file open, until killed. */
function idleHolder(dir: string): { child: ChildProcess; ready: Promise<void> } {
  const script = `process.chdir(process.argv[1]); require('fs').openSync('bus/ap/apmask', 'r'); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return { child, ready };
}

t.test('SIGKILL: no dead mount is left, and the same directory mounts again (socket and record too)', async (t) => {
  const dir = freshDir(t);
  const env = runtimeEnv(t);
  const first = await mountTree(t, { dir, env });
  await serves(t, dir);
  t.equal((await ctl(dir, env, 'status')).code, 0, 'the control socket answers');
  process.kill(first.pid, 'SIGKILL');
  t.same(await first.exited, { code: null, signal: 'SIGKILL' });
  t.ok(await gone(dir), 'fusermount auto_unmount removed the mount');
  t.equal(await probe(dir, 10_000), 'ok', 'stat of the directory works (no ENOTCONN)');
  t.ok(existsSync(socketPath(dir, { runtimeDir: path.join(env.XDG_RUNTIME_DIR!, 'apsysfs') })), 'the killed daemon left its socket behind');
  await t.resolves(first.stop(), 'teardown finds nothing to clean');

  const second = await mountTree(t, { dir, env });
  await serves(t, dir);
  t.equal((await ctl(dir, env, 'status')).code, 0, 'the stale socket was replaced: ctl reaches the new daemon');
  await second.stop();
  t.same(await second.exited, { code: 0, signal: null });
  t.same(readdirSync(path.join(env.XDG_RUNTIME_DIR!, 'apsysfs')).filter((n) => !n.endsWith('.log')), [], 'a clean stop leaves no socket and no record');
});

t.test('SIGKILL in the middle of I/O: the client gets errors instead of hanging, no mount is left', async (t) => {
  const dir = freshDir(t);
  const env = runtimeEnv(t);
  const m = await mountTree(t, { dir, env });
  const client = busyClient(dir);
  t.teardown(() => void client.child.kill('SIGKILL'));
  await Promise.race([client.ready, deadline(20_000, undefined)]);
  await sleep(50); // the first round is done: the kill comes while it loops
  process.kill(m.pid, 'SIGKILL');
  await m.exited;
  const { errors, ops } = await Promise.race([client.result, deadline(20_000, undefined).then(() => ({ errors: [`the client hung: ${client.seen()}`], ops: -1 }))]);
  t.ok(ops > 0, `the client worked before the kill (${ops} rounds)`);
  t.ok(errors.length > 0 && !errors.some((e) => e.startsWith('the client hung')), `the client saw errors and finished: ${errors.join(', ')}`);
  t.ok(await gone(dir), 'no mount left, although a file was open and the cwd was inside');
  t.equal(await probe(dir, 10_000), 'ok', 'no ENOTCONN');
  const again = await mountTree(t, { dir, env });
  await serves(t, dir);
  await again.stop();
});

t.test('a dead mount (daemon and its fusermount killed) is cleared by the next apsysfs mount', async (t) => {
  const dir = freshDir(t);
  const env = runtimeEnv(t);
  const first = await mountTree(t, { dir, env });
  const helpers = (await run('pgrep', ['-P', String(first.pid), 'fusermount'])).stdout.split('\n').filter(Boolean);
  t.ok(helpers.length > 0, 'the daemon runs fusermount for auto_unmount');
  for (const h of helpers) process.kill(Number(h), 'SIGKILL');
  process.kill(first.pid, 'SIGKILL');
  await first.exited;
  await sleep(200);
  t.ok(findMount(dir), 'the mount is still there');
  // ls, not stat: for attr_timeout after the crash the kernel still answers a stat from its cache.
  const dead = await sh(`ls ${dir}`);
  t.match(dead.stderr, /Transport endpoint is not connected/, `and dead: ${dead.stdout}${dead.stderr}`);
  // Right away, inside that window: the stale-mount check must not take the cached root for a live daemon.
  const second = await mountTree(t, { dir, env });
  await serves(t, dir);
  t.equal((await ctl(dir, env, 'status')).code, 0);
  await second.stop();
  t.ok(await gone(dir));
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal}: unmounts cleanly and exits 0, also while a client holds a file open in the mount`, async (t) => {
    const dir = freshDir(t);
    const env = runtimeEnv(t);
    const m: MountedTree = await mountTree(t, { dir, env });
    const holder = idleHolder(dir);
    t.teardown(() => void holder.child.kill('SIGKILL'));
    await holder.ready;
    process.kill(m.pid, signal);
    t.same(await Promise.race([m.exited, deadline(15_000, 'no exit')]), { code: 0, signal: null }, `exit 0 on ${signal}`);
    t.equal(findMount(dir), undefined, 'no mount left');
    t.equal(await probe(dir, 10_000), 'ok', 'no ENOTCONN');
    t.same(readdirSync(path.join(env.XDG_RUNTIME_DIR!, 'apsysfs')).filter((n) => !n.endsWith('.log')), [], 'socket and record removed');
  });
}

t.test('--daemon: SIGKILL leaves no mount; the next --daemon on the directory works; umount stops it', async (t) => {
  const dir = freshDir(t);
  const env = runtimeEnv(t);
  const start = async (): Promise<number> => {
    const r = await run(process.execPath, [CLI, 'mount', dir, '--daemon'], { env });
    t.equal(r.code, 0, r.stderr);
    const pid = Number(/\(pid (\d+),/.exec(r.stdout)?.[1]);
    t.teardown(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    return pid;
  };
  const pid = await start();
  await serves(t, dir);
  process.kill(pid, 'SIGKILL');
  t.ok(await gone(dir), 'no mount after SIGKILL');
  await start();
  await serves(t, dir);
  const r = await run(process.execPath, [CLI, 'umount', dir], { env });
  t.equal(r.code, 0, r.stderr);
  t.ok(await gone(dir, 500), 'umount stopped the second daemon');
});
