// Issue "Prove it holds", permissions: every node carries sysfs's owner (root:root) and mode; a user
// other than root reads what the modes let them read (the same bytes root reads), gets EACCES on
// every write, read of a 0200/0600 file, and on anything that would change the tree; root may
// chmod/chown as on sysfs; and the control socket refuses other users. Unprivileged commands run through setpriv (util-linux).
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { socketPath } from '../../src/control/socket-path.js';
import { createSysfs } from '../../src/sysfs/tree.js';
import { FUZZ_TOPOLOGY_FILE, fuzzHost } from '../helpers/fuzz.js';
import { mountTree } from '../helpers/mount.js';
import { run } from '../helpers/shell.js';
import { readAttr } from '../helpers/state-dump.js';

const errnoCode = (n: number): string => Object.entries(os.constants.errno).find(([, v]) => v === n)?.[0] ?? String(n);

const NOBODY = 65534;
/** `file args` as nobody:nogroup with no capabilities. */
const asNobody = (file: string, args: string[]) => run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', file, ...args]);
/** tap's process-info hook, injected into every node child, cannot write .tap/ as nobody and says so on stderr at exit. */
const firstLine = (stderr: string): string => stderr.split('\n')[0] ?? '';

interface Seen {
  readonly path: string;
  readonly kind: 'dir' | 'file' | 'link';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** File content (latin1), or the errno code of opening it for reading. */
  readonly read?: string;
  /** 'OK' or the errno code of open(O_WRONLY) (nothing is written). */
  readonly openWrite?: string;
  /** Dir listing, or link target. */
  readonly list?: string;
}

/**
 * Walks the mount with lstat/readdir/readlink/open, as whoever runs it, and prints one JSON line
 * per node. Opening for writing writes nothing: sysfs calls store() only on write(2).
 */
const WALK = `
const fs = require('fs');
const root = process.argv[1];
const out = [];
const code = (f) => { try { f(); return 'OK'; } catch (e) { return e.code; } };
const walk = (p) => {
  const full = root + p;
  const st = fs.lstatSync(full);
  const base = { path: p || '/', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (st.isSymbolicLink()) return out.push({ ...base, kind: 'link', list: fs.readlinkSync(full) });
  if (st.isDirectory()) {
    const names = fs.readdirSync(full);
    out.push({ ...base, kind: 'dir', list: names.join(' ') });
    for (const n of names) walk(p + '/' + n);
    return;
  }
  let read;
  try { read = fs.readFileSync(full).toString('latin1'); } catch (e) { read = e.code; }
  const openWrite = code(() => fs.closeSync(fs.openSync(full, fs.constants.O_WRONLY)));
  out.push({ ...base, kind: 'file', read, openWrite });
};
walk('');
process.stdout.write(JSON.stringify(out));`;

/** Things that would change the tree; each answer's errno code. */
const MUTATE = `
const fs = require('fs');
const r = process.argv[1];
const code = (f) => { try { f(); return 'OK'; } catch (e) { return e.code; } };
process.stdout.write(JSON.stringify({
  'truncate bus/ap/apmask': code(() => fs.truncateSync(r + '/bus/ap/apmask', 0)),
  'O_TRUNC bus/ap/apmask': code(() => fs.closeSync(fs.openSync(r + '/bus/ap/apmask', 'w'))),
  'append bus/ap/apmask': code(() => fs.appendFileSync(r + '/bus/ap/apmask', '+1')),
  'chmod bus/ap/apmask': code(() => fs.chmodSync(r + '/bus/ap/apmask', 0o666)),
  'chown bus/ap/apmask': code(() => fs.chownSync(r + '/bus/ap/apmask', 65534, 65534)),
  'utimes bus/ap/apmask': code(() => fs.utimesSync(r + '/bus/ap/apmask', 1, 1)),
  'create bus/ap/new': code(() => fs.writeFileSync(r + '/bus/ap/new', 'x')),
  'mkdir bus/ap/dir': code(() => fs.mkdirSync(r + '/bus/ap/dir')),
  'unlink bus/ap/apmask': code(() => fs.unlinkSync(r + '/bus/ap/apmask')),
  'rename bus/ap/apmask': code(() => fs.renameSync(r + '/bus/ap/apmask', r + '/bus/ap/x')),
  'symlink bus/ap/l': code(() => fs.symlinkSync('apmask', r + '/bus/ap/l')),
  'write create (mdev type)': code(() => fs.writeFileSync(r + '/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create', '${'0'.repeat(8)}-0000-0000-0000-000000000000')),
}));`;

t.test('owners and modes; what an unprivileged user can read and cannot write', async (t) => {
  const m = await mountTree(t, { topology: FUZZ_TOPOLOGY_FILE });
  const asRoot = await run(process.execPath, ['-e', WALK, m.root]);
  t.equal(asRoot.code, 0, asRoot.stderr);
  const rootView = JSON.parse(asRoot.stdout) as Seen[];
  const user = await asNobody(process.execPath, ['-e', WALK, m.root]);
  t.equal(user.code, 0, `the walk as nobody ${user.code ? user.stderr : ''}`);
  const userView = new Map((JSON.parse(user.stdout) as Seen[]).map((s) => [s.path, s]));

  // The model's own idea of every node (the same topology, no writes yet).
  const fs = createSysfs(await fuzzHost({ guest: false, zcdn: false }));
  const files = rootView.filter((s) => s.kind === 'file');
  t.ok(rootView.length > 500 && files.length > 300, `${rootView.length} nodes, ${files.length} files`);
  const wrong: string[] = [];
  const note = (s: Seen, what: string): void => void (wrong.length < 20 && wrong.push(`${s.path}: ${what}`));
  for (const s of rootView) {
    if (s.uid !== 0 || s.gid !== 0) note(s, `owned by ${s.uid}:${s.gid}, not root:root`);
    const st = fs.stat(s.path);
    if (!st) note(s, 'not in the model');
    else if (st.mode !== s.mode) note(s, `mode ${s.mode.toString(8)}, the attribute says ${st.mode.toString(8)}`);
    const modes = s.kind === 'dir' ? [0o755] : s.kind === 'link' ? [0o777] : [0o444, 0o644, 0o200, 0o600];
    if (!modes.includes(s.mode)) note(s, `mode ${s.mode.toString(8)} is not a sysfs mode for a ${s.kind}`);
    const u = userView.get(s.path);
    if (!u) {
      note(s, 'the unprivileged user cannot see it');
      continue;
    }
    if (s.kind !== 'file') {
      if (u.list !== s.list) note(s, `the user lists/reads ${JSON.stringify(u.list)}, root ${JSON.stringify(s.list)}`);
      continue;
    }
    // root: sysfs refuses a read open of a file without show() and a write open of one without
    // store(), even to root; the model's Kernfs says which (and what the content is).
    const want = await readAttr(fs, s.path);
    const wantRead = want.startsWith('!') ? errnoCode(Number(want.slice(1))) : want;
    if (s.read !== wantRead) note(s, `root read ${JSON.stringify(s.read).slice(0, 60)}, the model ${JSON.stringify(wantRead).slice(0, 60)}`);
    let wantOpen = 'OK';
    try {
      fs.open(s.path, 1).release();
    } catch {
      wantOpen = 'EACCES';
    }
    if (s.openWrite !== wantOpen) note(s, `root open(O_WRONLY): ${s.openWrite}, the model ${wantOpen}`);
    // others: the r bit for others decides reads; no file gives others a w bit.
    if (s.mode & 0o004 ? u.read !== s.read : u.read !== 'EACCES') note(s, `user read: ${JSON.stringify(u.read).slice(0, 60)}, root ${JSON.stringify(s.read).slice(0, 60)}`);
    if (u.openWrite !== 'EACCES') note(s, `user open(O_WRONLY): ${u.openWrite}`);
  }
  t.same(wrong, [], 'every node as sysfs has it');

  // The kernel's modes for the kinds of file that matter most (BUS_ATTR_RW, DEVICE_ATTR_WO, __ATTR(0600)...).
  const modeOf = (p: string) => rootView.find((s) => s.path === p)?.mode.toString(8);
  const modelText = (p: string) => rootView.find((s) => s.path === p)?.read;
  const U1 = FUZZ_TOPOLOGY_FILE.mdevs[0]!.uuid;
  const expected: [string, string][] = [
    ['/bus/ap/apmask', '644'],
    ['/bus/ap/ap_adapter_mask', '444'],
    ['/bus/ap/drivers_probe', '200'],
    ['/bus/ap/uevent', '200'],
    ['/bus/ap/drivers/vfio_ap/bind', '200'],
    ['/devices/ap/card05/config', '644'],
    ['/devices/ap/card05/05.0004/status', '444'],
    ['/devices/ap/card04/04.0004/online', '644'],
    ['/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create', '200'],
    ['/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/available_instances', '444'],
    [`/devices/vfio_ap/matrix/${U1}/assign_adapter`, '200'],
    [`/devices/vfio_ap/matrix/${U1}/ap_config`, '644'],
    [`/devices/vfio_ap/matrix/${U1}/matrix`, '444'],
    [`/devices/vfio_ap/matrix/${U1}/remove`, '200'],
    ['/class/zcrypt/create', '600'],
    ['/bus/ap', '755'],
    ['/bus/ap/devices/card05', '777'],
  ];
  for (const [p, mode] of expected) t.equal(modeOf(p), mode, `${p} is ${mode}`);

  const mutate = await asNobody(process.execPath, ['-e', MUTATE, m.root]);
  t.equal(mutate.code, 0, `the attempts as nobody ${mutate.code ? mutate.stderr : ''}`);
  t.same(JSON.parse(mutate.stdout), {
    'truncate bus/ap/apmask': 'EACCES',
    'O_TRUNC bus/ap/apmask': 'EACCES',
    'append bus/ap/apmask': 'EACCES',
    'chmod bus/ap/apmask': 'EPERM',
    'chown bus/ap/apmask': 'EPERM',
    'utimes bus/ap/apmask': 'EPERM',
    'create bus/ap/new': 'EACCES',
    'mkdir bus/ap/dir': 'EACCES',
    'unlink bus/ap/apmask': 'EACCES',
    'rename bus/ap/apmask': 'EACCES',
    'symlink bus/ap/l': 'EACCES',
    'write create (mdev type)': 'EACCES',
  }, 'nothing an unprivileged user tries changes the tree');

  // And shell users get the message they would get on sysfs.
  const sh = await asNobody('sh', ['-c', `echo +1 > ${m.root}/bus/ap/apmask`]);
  t.not(sh.code, 0);
  t.match(sh.stderr, /Permission denied/);
  const cat = await asNobody('cat', [`${m.root}/bus/ap/apmask`, `${m.root}/bus/ap/ap_domain`]);
  t.equal(cat.stdout, `${modelText('/bus/ap/apmask')}4\n`, 'cat as nobody reads what root reads');

  const after = await run(process.execPath, ['-e', WALK, m.root]);
  t.equal(after.stdout, asRoot.stdout, 'the tree reads exactly as before the attempts');
});

t.test('root may chmod and chown, as on sysfs: the node keeps them and the kernel enforces them', async (t) => {
  const m = await mountTree(t);
  const apmask = `${m.root}/bus/ap/apmask`;
  const stat = async (): Promise<string> => (await run('stat', ['-c', '%a %u %g', apmask])).stdout;
  t.equal((await run('chmod', ['600', apmask])).code, 0, 'root chmod');
  t.equal(await stat(), '600 0 0\n');
  t.match((await asNobody('cat', [apmask])).stderr, /Permission denied/, 'nobody lost the read bit');
  t.equal((await run('chown', [`${NOBODY}:${NOBODY}`, apmask])).code, 0, 'root chown');
  t.equal(await stat(), `600 ${NOBODY} ${NOBODY}\n`);
  t.equal((await asNobody('cat', [apmask])).stdout, (await run('cat', [apmask])).stdout, 'the owner reads it now');
  t.equal((await asNobody('chmod', ['400', apmask])).code, 0, 'and may chmod it');
  t.equal(await stat(), `400 ${NOBODY} ${NOBODY}\n`);
  const write = await run('sh', ['-c', `echo +1 > ${apmask}`]);
  t.match(write.stderr, /Permission denied/, 'no write bit left: sysfs refuses even root');
  t.equal((await asNobody('chown', ['0', apmask])).code, 1, 'giving a file away needs CAP_CHOWN');
  t.equal((await run('chmod', ['644', apmask])).code, 0);
  t.equal((await run('sh', ['-c', `echo +1 > ${apmask}`])).code, 0, 'root writes again after chmod 644');
});

t.test('the control socket refuses other users: its directory is 0700, the socket itself 0600', async (t) => {
  const xdg = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-xdg-'));
  t.teardown(() => rmSync(xdg, { recursive: true, force: true }));
  chmodSync(xdg, 0o755);
  const m = await mountTree(t, { env: { XDG_RUNTIME_DIR: xdg } });
  const sock = socketPath(m.root, { runtimeDir: path.join(xdg, 'apsysfs') });
  t.equal(statSync(path.dirname(sock)).mode & 0o777, 0o700, 'the socket directory is private');
  t.equal(statSync(sock).mode & 0o777, 0o600, 'the socket is private');
  const CONNECT = `
    const s = require('net').connect(process.argv[1]);
    s.on('connect', () => { process.stdout.write('connected'); s.destroy(); });
    s.on('error', (e) => process.stdout.write(e.code));`;
  const owner = await run(process.execPath, ['-e', CONNECT, sock]);
  t.equal(owner.stdout, 'connected', 'root, who runs the daemon, connects');
  t.equal((await asNobody(process.execPath, ['-e', CONNECT, sock])).stdout, 'EACCES', 'another user cannot reach it');
  // Even with the directory opened up, the socket's own mode keeps them out.
  chmodSync(path.dirname(sock), 0o755);
  t.equal((await asNobody(process.execPath, ['-e', CONNECT, sock])).stdout, 'EACCES', 'nor connect to the 0600 socket itself');
  chmodSync(path.dirname(sock), 0o700);
  const ctl = await asNobody(process.execPath, [path.resolve('bin/apsysfs.js'), 'ctl', '--mount', m.root, 'status']);
  t.not(ctl.code, 0, `apsysfs ctl as another user fails: ${firstLine(ctl.stderr)}`);
});
