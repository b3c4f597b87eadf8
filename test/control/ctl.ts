/**
 * `apsysfs ctl` (cli/ctl.ts) against a control server in this process: the command line, the text
 * and --json output, the exit codes and the `apsysfs: <what>: <why>` errors.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ctlMain, idList, type CtlIo } from '../../src/cli/ctl.js';
import { CliError, UsageError } from '../../src/cli/cli-error.js';
import { startControlServer } from '../../src/control/server.js';
import type { Host } from '../../src/model/host.js';
import { U1, U2, hostFromFixture } from '../helpers/model.js';

// The socket directory comes from XDG_RUNTIME_DIR, for the server and the CLI alike.
const runtime = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-ctl-'));
process.env.XDG_RUNTIME_DIR = runtime;
t.teardown(() => rmSync(runtime, { recursive: true, force: true }));

interface Run {
  code: number | string;
  out: string;
}

async function setup(t: Test): Promise<{ host: Host; ctl: (...args: string[]) => Promise<Run>; mountDir: string }> {
  const host = await hostFromFixture('mdevs');
  const mountDir = path.join(runtime, `mnt-${Math.random().toString(16).slice(2)}`);
  const server = await startControlServer(host, { mountDir });
  t.teardown(() => server.close());
  const ctl = async (...args: string[]): Promise<Run> => {
    let out = '';
    const io: CtlIo = { write: (s) => void (out += s), columns: 80, isTTY: false };
    try {
      return { code: await ctlMain(['--mount', mountDir, ...args], io), out };
    } catch (e) {
      if (e instanceof CliError) return { code: `${e.exitCode} apsysfs: ${e.what}: ${e.why}`, out };
      throw e;
    }
  };
  return { host, ctl, mountDir };
}

t.test('guest attach, show, detach', async (t) => {
  const { host, ctl } = await setup(t);
  const a = await ctl('guest', 'attach', U1, '--guest', 'vm1');
  t.equal(a.code, 0);
  t.equal(a.out, `mdev ${U1}: guest vm1 (APCB written 1 time)\nAPCB:\n  adapters         05\n  domains          0004,0047\n  control domains  0004\n`);
  t.equal(host.mdev(U1)?.kvm?.name, 'vm1');
  const s = await ctl('guest', 'show', U1, '--json');
  t.match(JSON.parse(s.out), { uuid: U1, guest: 'vm1', apcb: { adapters: [5], domains: [4, 0x47], controlDomains: [4] } });
  const l = await ctl('guest', 'list');
  t.match(l.out, /^GUEST\s+MDEV\s+APCB\nvm1\s+a297db4a-f4c2-11e6-90f6-d3b88d6c9525\s+adapters 05; domains 0004,0047; control domains 0004\n$/);
  const d = await ctl('guest', 'detach', U1);
  t.equal(d.out, `mdev ${U1}: no guest attached\nguest_matrix (what an attach would give the guest):\n  adapters         05\n  domains          0004,0047\n  control domains  0004\n`);
});

t.test('errors: the daemon\'s errno, usage errors, no daemon', async (t) => {
  const { ctl } = await setup(t);
  await ctl('guest', 'attach', U1, '--guest', 'vm1');
  t.same(await ctl('guest', 'attach', U2, '--guest', 'vm1'), { code: `1 apsysfs: ctl guest attach ${U2}: EPERM: open: guest vm1 already uses mdev ${U1}`, out: '' });
  const j = await ctl('--json', 'guest', 'detach', U2);
  t.equal(j.code, `1 apsysfs: ctl guest detach ${U2}: ENODEV: close: ${U2} is not open`);
  t.same(JSON.parse(j.out), { error: { errno: 'ENODEV', message: `close: ${U2} is not open` } });
  const usage: [string[], RegExp][] = [
    [[], /^2 apsysfs: ctl: a COMMAND is expected/],
    [['frobnicate'], /^2 apsysfs: ctl: unknown command 'frobnicate'/],
    [['guest'], /^2 apsysfs: ctl guest: expected attach, detach, show, list, pqap or pv, got ''/],
    [['guest', 'attach'], /^2 apsysfs: ctl guest attach: one UUID expected/],
    [['guest', 'list', 'x'], /^2 apsysfs: ctl guest list: no argument expected/],
    [['host', 'card', 'add', '1'], /^2 apsysfs: ctl host: expected adapter, domain, control-domain, got 'card'/],
    [['host', 'adapter', 'plug', '1'], /^2 apsysfs: ctl host adapter: expected add or remove, got 'plug'/],
    [['host', 'adapter', 'add'], /^2 apsysfs: ctl host adapter add: one ID expected/],
    [['host', 'adapter', 'add', '0b'], /^2 apsysfs: ctl host adapter add: '0b' is not an ID \(decimal or 0x hex\)/],
    [['host', 'adapter', 'add', '256'], /^2 apsysfs: ctl host adapter add: '256' is not an ID \(0\.\.255\)/],
    [['host', 'domain', 'add', '3', '--type', 'CEX8C'], /^2 apsysfs: ctl host domain add: option '--type' does not apply/],
    [['status', 'now'], /^2 apsysfs: ctl status: no argument expected, got 'now'/],
    [['status', '--follow'], /^2 apsysfs: ctl status: option '--follow' does not apply/],
    [['log', '--since', 'x'], /^2 apsysfs: ctl log: --since: 'x' is not a count/],
    [['log', '--kind', 'dmesg'], /^2 apsysfs: ctl log: --kind: 'dmesg' is not one of kernel, uevent, op, lockdep/],
    [['show', '--grid', '--summary'], /^2 apsysfs: ctl show: --grid and --summary exclude each other/],
    [['show', '--adapters', '5-3'], /^2 apsysfs: --adapters: '5-3' is not a range \(start > end\)/],
    [['--bogus'], /^2 apsysfs: ctl: unknown option '--bogus'/],
  ];
  for (const [args, want] of usage) t.match((await ctl(...args)).code, want, args.join(' '));
  let out = '';
  const none = await ctlMain(['--mount', path.join(runtime, 'nothing-here'), 'status'], { write: (s) => void (out += s), columns: 80, isTTY: false }).catch((e: CliError) => `${e.exitCode} ${e.what}: ${e.why}`);
  t.match(none, /^1 ctl: no apsysfs daemon serves .*nothing-here \(no control socket /);
  const cwd = process.cwd();
  process.chdir(runtime);
  t.teardown(() => process.chdir(cwd));
  await t.rejects(ctlMain(['status'], { write: () => undefined, columns: 80, isTTY: false }), new UsageError('ctl', 'no --mount DIR given and no ./mount here'), 'no --mount and no ./mount');
});

t.test('help', async (t) => {
  let out = '';
  t.equal(await ctlMain(['--help'], { write: (s) => void (out += s), columns: 80, isTTY: false }), 0);
  t.match(out, /^usage: apsysfs ctl \[--mount DIR\] \[--json\] COMMAND/);
  t.match(out, /guest attach UUID/);
  t.match(out, /host control-domain add\|remove ID/);
});

t.test('host changes', async (t) => {
  const { host, ctl } = await setup(t);
  await ctl('guest', 'attach', U1, '--guest', 'vm1');
  const r = await ctl('host', 'adapter', 'remove', '0x05');
  t.equal(r.code, 0);
  t.equal(
    r.out,
    [
      'SE/HMC: adapter 0x05 (CEX7C) removed from the configuration',
      '  devices added    none',
      '  devices removed  card05 05.0004 05.0006 05.0047 05.0054',
      `  guest_matrix of ${U1} changed`,
      `  guest vm1 (mdev ${U1}) APCB now: adapters none; domains 0004,0047; control domains 0004`,
      '',
    ].join('\n'),
  );
  const a = await ctl('host', 'adapter', 'add', '5');
  t.match(a.out, /guest vm1 \(mdev .*\) APCB now: adapters 05; domains 0004,0047; control domains 0004/);
  const typed = await ctl('host', 'adapter', 'add', '0x20', '--type', 'CEX8A', '--json');
  t.match(JSON.parse(typed.out), { what: 'SE/HMC: adapter 0x20 (CEX8A) added to the configuration', devicesAdded: ['card20', '20.0004', '20.0006', '20.0047', '20.0054'], guestsUpdated: [] });
  const d = await ctl('host', 'domain', 'add', '0x10');
  t.match(d.out, /devices added    04\.0010 05\.0010 06\.0010 0b\.0010 20\.0010\n/);
  t.match(d.out, /no guest APCB changed/);
  t.equal((await ctl('host', 'control-domain', 'remove', '1')).code, 0);
  t.same(host.bus.qci.adm.ids(), [4, 6, 0x47, 0x54]);
  t.match((await ctl('host', 'domain', 'remove', '0x10')).out, /devices removed  04\.0010 05\.0010 06\.0010 0b\.0010 20\.0010/);
  t.match((await ctl('host', 'control-domain', 'add', '7')).out, /^SE\/HMC: control domain 0x0007 added to the configuration\n/);
  t.match((await ctl('host', 'adapter', 'add', '4')).code, /^1 apsysfs: ctl host adapter add 4: EEXIST: adapter 0x04 is already in the configuration$/);
});

t.test('status, log, locks', async (t) => {
  const { host, ctl, mountDir } = await setup(t);
  const s = await ctl('status');
  t.match(s.out, new RegExp(`^daemon     pid ${process.pid}, serving ${mountDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, up \\d+ s\\n`));
  t.match(s.out, /\nconfig     4 adapters, 4 usage domains, 5 control domains\n/);
  t.match(s.out, /\nguests     none attached\n/);
  t.match(s.out, /\nlockdep    0 reports\n$/);
  await ctl('guest', 'attach', U1, '--guest', 'vm1');
  const all = await ctl('log');
  t.match(all.out, /^\s+1  uevent\s+add \/devices\/ap\/card04 /);
  t.match(all.out, new RegExp(`\\n\\s+\\d+  op\\s+ctl guest attach ${U1} vm1: ok\\n$`));
  const last = host.events.lastSeq;
  const since = await ctl('log', '--since', String(last - 1));
  t.equal(since.out.split('\n').length, 2, 'one event after since');
  const json = await ctl('log', '--kind', 'op', '--json');
  const events = json.out.trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
  t.ok(events.length > 0 && events.every((e) => e.kind === 'op'), 'JSON lines of op events');
  const locks = await ctl('locks');
  t.match(locks.out, /^lock classes \(\d+\):\n/);
  t.equal((await ctl('locks', '--check')).code, 0, 'no report');
  t.match(JSON.parse((await ctl('locks', '--json')).out), { reports: 0, state: { reports: [] } });
});

t.test('locks --check fails when lockdep has a report', async (t) => {
  const { host, ctl } = await setup(t);
  // Take guests_lock and mdevs_lock in the wrong order in one task: an inversion report.
  const md = host.matrixDev;
  await host.lockdep.runTask('inverter', async () => {
    await md.mdevsLock.lock({ op: 'test', fn: 'inverter' });
    await md.guestsLock.lock({ op: 'test', fn: 'inverter' });
    md.guestsLock.unlock();
    md.mdevsLock.unlock();
  });
  const r = await ctl('locks', '--check');
  t.equal(r.code, 1);
  t.match(r.out, /reports \(1\):\n  #1 circular: /);
  t.match(r.out, /WARNING: possible circular locking dependency detected/);
});

t.test('log --follow streams until the daemon stops', async (t) => {
  const host = await hostFromFixture('mdevs');
  const mountDir = path.join(runtime, 'follow');
  const server = await startControlServer(host, { mountDir });
  let out = '';
  const io: CtlIo = { write: (s) => void (out += s), columns: 80, isTTY: false };
  const following = ctlMain(['--mount', mountDir, 'log', '--follow', '--since', String(host.events.lastSeq), '--kind', 'op'], io);
  // Once the follower is registered, the next op reaches it.
  for (let i = 0; i < 500 && !out.includes('ctl tick'); i++) {
    await new Promise((r) => setTimeout(r, 10));
    host.events.add('op', 'info', `ctl tick ${i}`);
  }
  await server.close();
  t.equal(await following, 0, 'exits 0 when the daemon goes away');
  t.match(out, /^\s+\d+  op\s+ctl tick \d+\n/);
});

t.test('show: a grid that fits, a summary that does not, JSON either way', async (t) => {
  const { ctl } = await setup(t);
  await ctl('guest', 'attach', U1, '--guest', 'vm1');
  const g = await ctl('show');
  t.equal(g.code, 0);
  t.equal(
    g.out.split('\n').slice(0, 8).join('\n'),
    [
      'AP matrix: 4 adapters x 4 domains, 2 mdevs, 1 guest attached',
      '',
      '  domain  04 06 47 54',
      ' control  C  C  C  C',
      '04 CEX7C  h  h  h  h',
      '05 CEX7C  1* .  1* .',
      '06 CEX7A  2  2  .  .',
      '0b CEX7P  h  h  h  h',
    ].join('\n'),
  );
  t.match(g.out, /\n   1  a297db4a-f4c2-11e6-90f6-d3b88d6c9525  guest vm1, control domains 0004\n   2  62177883-f1bb-47f0-914d-32a22e3a8804  no guest, control domains 0004\n/);
  t.match(g.out, /\nhost control domains: 0001,0004,0006,0047,0054 \(not in the picture: 0001\)\n$/);
  const s = await ctl('show', '--summary');
  t.match(s.out, /\nAPQNs: absent 0, host 8, free 4, assigned 2, in-use 2\n/);
  t.match(s.out, /\n05    CEX7C     1\* 04,47  \. 06,54\n/);
  const z = await ctl('show', '--adapters', '5-6', '--domains', '0x04');
  t.match(z.out, /^AP matrix: 2 adapters x 1 domain, /);
  const j = JSON.parse((await ctl('show', '--json')).out) as { cells: { state: string }[][] };
  t.same(j.cells[1]!.map((c) => c.state), ['in-use', 'free', 'in-use', 'free']);
});

t.test('idList', async (t) => {
  t.same(idList('0x04-0x07,0x0b,5', 'x'), [4, 5, 6, 7, 11]);
  t.throws(() => idList('1-2-3', 'x'), /'1-2-3' is not an ID or a range/);
});
