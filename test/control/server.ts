/**
 * The control channel in one process: the daemon's server on a real Unix socket, the CLI's client
 * talking to it. Guests attach and detach, the host configuration changes, the log streams, and a
 * blocked `remove` does not block the channel.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Host } from '../../src/model/host.js';
import type { LogEvent } from '../../src/model/events.js';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { ControlClient, ControlError } from '../../src/control/client.js';
import { socketPath, prepareSocketDir } from '../../src/control/socket-path.js';
import { adapterRemove } from '../../src/model/host-config.js';
import { U1, U2, hostFromFixture, hostWith } from '../helpers/model.js';

/** A short private directory (sun_path is 108 bytes: tap's testdirs are too deep). */
function runtimeDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-ctl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Setup {
  host: Host;
  server: ControlServer;
  client: ControlClient;
  dir: string;
  mountDir: string;
  connect(): Promise<ControlClient>;
}

async function setup(t: Test, host?: Host): Promise<Setup> {
  const h = host ?? (await hostFromFixture('mdevs'));
  const dir = path.join(runtimeDir(t), 'run');
  const mountDir = path.join(path.dirname(dir), 'mnt');
  const server = await startControlServer(h, { mountDir, runtimeDir: dir });
  const clients: ControlClient[] = [];
  const connect = async (): Promise<ControlClient> => {
    const c = await ControlClient.connect({ mountDir, runtimeDir: dir });
    clients.push(c);
    return c;
  };
  t.teardown(async () => {
    for (const c of clients) c.close();
    await server.close();
  });
  return { host: h, server, client: await connect(), dir, mountDir, connect };
}

/** The rejection of p as { errno, why }. */
async function refused(p: Promise<unknown>): Promise<{ errno: string; why: string } | string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    if (e instanceof ControlError) return { errno: e.errno, why: e.why };
    return String(e);
  }
}

/** Send raw lines, collect the answer lines until `n` arrived (or the socket closes). */
function raw(sock: string, text: string, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buf = '';
    const c = net.connect(sock, () => c.write(text));
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
      if (lines.length >= n) {
        c.destroy();
        resolve(lines);
      }
    });
    c.on('close', () => resolve(lines));
    c.on('error', reject);
  });
}

const ids = (o: { adapters: readonly number[]; domains: readonly number[]; controlDomains: readonly number[] } | null) =>
  o && [o.adapters, o.domains, o.controlDomains];

t.test('the socket: where ctl --mount DIR finds it, private to its owner, gone after close', async (t) => {
  const { server, dir, mountDir, client } = await setup(t);
  t.equal(server.path, socketPath(mountDir, { runtimeDir: dir }));
  t.equal(server.path, socketPath(`${mountDir}/`, { runtimeDir: dir }), 'the same mount however it is written');
  t.equal(statSync(server.path).mode & 0o777, 0o600);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  const s = await client.call('status', {});
  t.equal(s.pid, process.pid);
  t.equal(s.mountDir, mountDir);
  t.equal(s.socket, server.path);
  t.same(s.config, { adapters: 4, usageDomains: 4, controlDomains: 5 });
  t.same(s.devices, { cards: 4, queues: 16, bound: 16 });
  t.equal(s.mdevs, 2);
  t.same(s.guests, []);
  const ended = client.ended();
  await server.close();
  t.notOk(existsSync(server.path), 'the socket is removed');
  await ended;
  t.same(await refused(client.call('status', {})), `NoDaemonError: ${server.path}: the daemon closed the connection`);
  await t.rejects(ControlClient.connect({ mountDir, runtimeDir: dir }), { name: 'NoDaemonError', message: /no apsysfs daemon serves .*mnt \(no control socket / });
});

t.test('the socket directory: made private, refused when another user owns it', async (t) => {
  const base = runtimeDir(t);
  const open = path.join(base, 'open');
  mkdirSync(open, { mode: 0o755 });
  chmodSync(open, 0o755);
  prepareSocketDir(open);
  t.equal(statSync(open).mode & 0o777, 0o700, 'group and other permissions taken away');
  const theirs = path.join(base, 'theirs');
  mkdirSync(theirs, { mode: 0o700 });
  chownSync(theirs, 12345, 12345);
  t.throws(() => prepareSocketDir(theirs), /belongs to uid 12345, not to this user/);
  const file = path.join(base, 'file');
  writeFileSync(file, '');
  t.throws(() => prepareSocketDir(file), /EEXIST|not a directory/);
  await t.rejects(startControlServer(await hostWith(), { mountDir: '/x', runtimeDir: theirs }), /belongs to uid 12345/);
  // The client will not talk to a socket another user could have put there.
  const sock = socketPath('/x', { runtimeDir: theirs });
  const squatter = net.createServer().listen(sock);
  t.teardown(() => void squatter.close());
  await new Promise((r) => squatter.once('listening', r));
  await t.rejects(ControlClient.connect({ mountDir: '/x', runtimeDir: theirs }), { name: 'NoDaemonError', message: /belongs to uid 12345: not talking to a daemon another user runs/ });
});

t.test('a stale socket is replaced; a live one is another daemon', async (t) => {
  const dir = path.join(runtimeDir(t), 'run');
  const host = await hostWith();
  const first = await startControlServer(host, { mountDir: '/m', runtimeDir: dir });
  await t.rejects(startControlServer(host, { mountDir: '/m', runtimeDir: dir }), /another daemon is serving this mount/);
  // A daemon killed with SIGKILL leaves its socket file behind.
  await first.close();
  const script = 'require("net").createServer().listen(process.argv[1], () => process.stdout.write("up"))';
  const victim = spawn(process.execPath, ['-e', script, first.path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => victim.stdout.once('data', r));
  victim.kill('SIGKILL');
  await new Promise((r) => victim.once('exit', r));
  t.ok(existsSync(first.path), 'a stale socket file');
  await t.rejects(ControlClient.connect({ mountDir: '/m', runtimeDir: dir }), { name: 'NoDaemonError', message: /the daemon that served \/m is gone \(stale socket / });
  const second = await startControlServer(host, { mountDir: '/m', runtimeDir: dir });
  t.teardown(() => second.close());
  const c = await ControlClient.connect({ mountDir: '/m', runtimeDir: dir });
  t.teardown(() => c.close());
  t.equal((await c.call('status', {})).mountDir, '/m');
});

t.test('guest attach, show, detach: the KVM lifecycle of §15', async (t) => {
  const { host, client } = await setup(t);
  const before = await client.call('guest.show', { uuid: U1 });
  t.equal(before.guest, null);
  t.equal(before.apcb, null);
  t.same(ids(before.guestMatrix), [[5], [4, 0x47], [4]]);
  const g = await client.call('guest.attach', { uuid: U1.toUpperCase(), guest: 'vm1' });
  t.equal(g.uuid, U1);
  t.equal(g.guest, 'vm1');
  t.same(ids(g.apcb), [[5], [4, 0x47], [4]]);
  t.equal(host.mdev(U1)?.kvm?.name, 'vm1');
  t.same(ids((await client.call('guest.show', { uuid: U1 })).apcb), [[5], [4, 0x47], [4]]);
  const dflt = await client.call('guest.attach', { uuid: U2 });
  t.equal(dflt.guest, 'guest-62177883', 'default guest name');
  t.same(
    (await client.call('guest.list', {})).map((l) => [l.guest, l.mdev]),
    [['vm1', U1], ['guest-62177883', U2]],
  );
  t.same((await client.call('status', {})).guests, [{ guest: 'guest-62177883', mdev: U2 }, { guest: 'vm1', mdev: U1 }]);
  const d = await client.call('guest.detach', { uuid: U1 });
  t.equal(d.guest, null);
  t.same(ids(d.guestMatrix), [[5], [4, 0x47], [4]], 'the shadow stays');
  t.same(host.guest('vm1').apcb.apm.ids(), [], 'the guest lost everything');
  t.ok(host.events.entries().some((e) => e.kind === 'op' && e.text === `ctl guest attach ${U1} vm1: ok`));
  t.ok(host.events.entries().some((e) => e.kind === 'op' && e.text === `ctl guest detach ${U1}: ok`));
});

t.test('guest errors carry the errno names', async (t) => {
  const { host, client } = await setup(t);
  await client.call('guest.attach', { uuid: U1, guest: 'vm1' });
  const cases: [string, Promise<unknown>, string, RegExp][] = [
    ['no such mdev', client.call('guest.show', { uuid: 'c5d0a1e4-2b7e-4d43-9a51-0d6f3b1e7a20' }), 'ENODEV', /^no mdev c5d0a1e4/],
    ['not a UUID', client.call('guest.attach', { uuid: 'nope' }), 'EINVAL', /"nope" is not a UUID/],
    ['already open', client.call('guest.attach', { uuid: U1, guest: 'vm2' }), 'EBUSY', /already open/],
    ['one mdev per guest', client.call('guest.attach', { uuid: U2, guest: 'vm1' }), 'EPERM', /guest vm1 already uses mdev/],
    ['not open', client.call('guest.detach', { uuid: U2 }), 'ENODEV', /is not open/],
    ['bad guest name', client.call('guest.attach', { uuid: U2, guest: 'a b' }), 'EINVAL', /is not a guest name/],
    ['uuid missing', client.call('guest.show', {} as { uuid: string }), 'EPROTO', /'uuid' must be a string/],
  ];
  for (const [name, p, errno, why] of cases) {
    const r = await refused(p);
    t.match(r, { errno, why }, name);
  }
  t.ok(host.events.entries().some((e) => e.kind === 'op' && e.level === 'warn' && /^ctl guest attach .* vm1: EPERM: /.test(e.text)), 'refusals are logged');
});

t.test('remove blocks while the guest runs, and the channel still detaches it (§8 remove, §19 item 13)', async (t) => {
  const { host, client, connect } = await setup(t);
  await client.call('guest.attach', { uuid: U1, guest: 'vm1' });
  const mdev = host.mdev(U1)!;
  let removed = false;
  const removing = host.mdevCore.remove(mdev, () => 1).then(() => (removed = true));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.equal(removed, false, 'remove waits for the guest');
  t.same(host.guest('vm1').apcb.apm.ids(), [], 'the request cleared the APCB');
  const other = await connect();
  t.equal((await other.call('status', {})).mdevs, 2, 'another connection is answered');
  t.equal((await client.call('guest.show', { uuid: U1 })).guest, 'vm1', 'so is this one');
  await client.call('guest.detach', { uuid: U1 });
  await removing;
  t.equal(removed, true, 'the detach let the remove finish');
  t.match(await refused(client.call('guest.show', { uuid: U1 })), { errno: 'ENODEV' });
});

t.test('host changes through the channel', async (t) => {
  const { host, client } = await setup(t);
  await client.call('guest.attach', { uuid: U1, guest: 'vm1' });
  const c = await client.call('host.change', { resource: 'adapter', action: 'remove', id: 5 });
  t.equal(c.what, 'SE/HMC: adapter 0x05 (CEX7C) removed from the configuration');
  t.same(c.devicesRemoved, ['card05', '05.0004', '05.0006', '05.0047', '05.0054']);
  t.same(c.guestsUpdated.map((g) => [g.guest, g.mdev, ids(g.apcb)]), [['vm1', U1, [[], [4, 0x47], [4]]]]);
  const back = await client.call('host.change', { resource: 'adapter', action: 'add', id: 5 });
  t.same(ids(back.guestsUpdated[0]!.apcb), [[5], [4, 0x47], [4]]);
  const typed = await client.call('host.change', { resource: 'adapter', action: 'add', id: 7, type: 'CEX6P' });
  t.equal(typed.what, 'SE/HMC: adapter 0x07 (CEX6P) added to the configuration');
  const dom = await client.call('host.change', { resource: 'domain', action: 'add', id: 0x30 });
  t.same(dom.devicesAdded, ['04.0030', '05.0030', '06.0030', '07.0030', '0b.0030']);
  await client.call('host.change', { resource: 'control-domain', action: 'remove', id: 1 });
  t.same(host.bus.qci.adm.ids(), [4, 6, 0x47, 0x54]);
  const cases: [string, Promise<unknown>, string, RegExp][] = [
    ['exists', client.call('host.change', { resource: 'adapter', action: 'add', id: 4 }), 'EEXIST', /adapter 0x04 is already in the configuration/],
    ['absent', client.call('host.change', { resource: 'domain', action: 'remove', id: 5 }), 'ENOENT', /usage domain 0x0005 is not in the configuration/],
    ['bad type', client.call('host.change', { resource: 'adapter', action: 'add', id: 8, type: 'CEX3C' }), 'EINVAL', /type: "CEX3C" is not a card type/],
    ['bad resource', client.call('host.change', { resource: 'card' as 'adapter', action: 'add', id: 8 }), 'EPROTO', /'resource' must be adapter, domain, control-domain/],
    ['bad action', client.call('host.change', { resource: 'adapter', action: 'plug' as 'add', id: 8 }), 'EPROTO', /'action' must be add or remove/],
    ['bad id', client.call('host.change', { resource: 'adapter', action: 'add', id: '8' as unknown as number }), 'EPROTO', /'id' must be an integer/],
    ['type for a domain', client.call('host.change', { resource: 'domain', action: 'add', id: 8, type: 'CEX8C' }), 'EPROTO', /'type' is only for adapter add/],
  ];
  for (const [name, p, errno, why] of cases) t.match(await refused(p), { errno, why }, name);
});

t.test('log: the backlog, since, kinds, and follow without gaps', async (t) => {
  const { host, client, connect } = await setup(t);
  const all = await client.call('log', {});
  t.equal(all.last, host.events.lastSeq);
  t.equal(all.first, 1);
  t.equal(all.entries.length, host.events.entries().length);
  const since = await client.call('log', { since: all.last - 3 });
  t.same(since.entries.map((e) => e.seq), [all.last - 2, all.last - 1, all.last]);
  const kernelOnly = await client.call('log', { kinds: ['op'] });
  t.ok(kernelOnly.entries.every((e) => e.kind === 'op'));

  const follower = await connect();
  const streamed: LogEvent[] = [];
  const backlog = await follower.follow({ since: host.events.lastSeq, kinds: ['uevent', 'op'] }, (e) => streamed.push(e));
  t.same(backlog.entries, []);
  // Events added while the answer is on its way are streamed, not lost.
  host.events.add('op', 'info', 'between');
  await adapterRemove(host, 0x0b);
  await client.call('status', {});
  for (let i = 0; i < 20 && !streamed.some((e) => e.text === 'remove /devices/ap/card0b'); i++) await new Promise((r) => setTimeout(r, 5));
  t.equal(streamed[0]?.text, 'between');
  t.ok(streamed.some((e) => e.text === 'SE/HMC: adapter 0x0b (CEX7P) removed from the configuration'));
  t.ok(streamed.some((e) => e.text === 'remove /devices/ap/card0b'));
  t.ok(streamed.every((e) => e.kind === 'uevent' || e.kind === 'op'), 'only the kinds asked for');
  const seqs = streamed.map((e) => e.seq);
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'in order');
  t.match(await refused(client.call('log', { kinds: ['dmesg' as 'kernel'] })), { errno: 'EPROTO' });
  t.match(await refused(client.call('log', { since: -1 })), { errno: 'EPROTO' });
  const ended = follower.ended();
  follower.close();
  await ended;
});

t.test('locks and show', async (t) => {
  const { client } = await setup(t);
  await client.call('guest.attach', { uuid: U1, guest: 'vm1' });
  const l = await client.call('locks', {});
  t.match(l.text, /^lock classes \(\d+\):/);
  t.match(l.text, /matrix_dev->guests_lock -> &kvm->lock/);
  t.equal(l.reports, 0);
  t.match(l.state, { classes: Array, edges: Array, reports: [] });
  const p = await client.call('show', {});
  t.same(p.adapters.map((a) => a.id), [4, 5, 6, 0x0b]);
  t.same(p.cells[1]!.map((c) => c.state), ['in-use', 'free', 'in-use', 'free']);
  const zoom = await client.call('show', { adapters: [5, 6], domains: [4] });
  t.same(zoom.cells.map((r) => r.map((c) => [c.state, c.mdev, c.guest])), [[['in-use', U1, 'vm1']], [['assigned', U2, null]]]);
  t.match(await refused(client.call('show', { adapters: [256] })), { errno: 'EPROTO' });
});

t.test('malformed requests are answered EPROTO; requests may overlap on one connection', async (t) => {
  const { server } = await setup(t);
  const lines = await raw(
    server.path,
    ['not json', '{"id":2}', '{"id":3,"method":"nope"}', '{"id":4,"method":"status","params":[]}', '[1]', '{"id":5,"method":"status"}', ''].join('\n'),
    6,
  );
  const answers = lines.map((l) => JSON.parse(l) as { id: number; ok: boolean; error?: { errno: string; message: string } });
  // Answers come in completion order: sort them to compare.
  t.same(
    answers.map((a) => [a.id, a.ok, a.error?.errno]).sort((a, b) => (a[0] as number) - (b[0] as number)),
    [[0, false, 'EPROTO'], [0, false, 'EPROTO'], [2, false, 'EPROTO'], [3, false, 'EPROTO'], [4, false, 'EPROTO'], [5, true, undefined]],
  );
  t.match(answers.find((a) => a.id === 2)!.error!.message, /unknown method undefined/);
  t.match(answers.find((a) => a.id === 3)!.error!.message, /unknown method "nope"/);
  t.match(answers.find((a) => a.id === 4)!.error!.message, /'params' must be an object/);
  const big = await raw(server.path, 'x'.repeat(100 * 1024), 1);
  t.match(JSON.parse(big[0]!), { id: 0, ok: false, error: { errno: 'EPROTO', message: /longer than/ } });
});

t.test('a 256 x 256 machine: show answers with every cell', async (t) => {
  const { client } = await setup(t, await hostFromFixture('256x256'));
  const p = await client.call('show', {});
  t.equal(p.adapters.length, 256);
  t.equal(p.domains.length, 256);
  t.equal(p.counts.host, 65536);
});
