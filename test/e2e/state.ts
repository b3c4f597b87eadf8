/**
 * Nothing lost, through a real mount: `apsysfs ctl save FILE` writes the whole state as a topology
 * file and mounting FILE shows the same tree, file for file and byte for byte; `--state FILE`
 * saves on a clean shutdown and restores on the next mount. The trees are walked by a separate
 * process with plain system calls, as any tool would read them.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mountTree, repoRoot, type MountedTree } from '../helpers/mount.js';
import { run, sh, type ShellResult } from '../helpers/shell.js';

const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');
const MDEVS = 'test/fixtures/topologies/mdevs.json';
const U1 = 'a297db4a-f4c2-11e6-90f6-d3b88d6c9525';
const U2 = '62177883-f1bb-47f0-914d-32a22e3a8804';
const U3 = 'c5d0a1e4-2b7e-4d43-9a51-0d6f3b1e7a20';
const TYPE = 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough';

/** Every directory listing, link target, file mode and readable file's content under the root. */
const WALKER = `
const fs = require('node:fs');
const root = process.argv[1];
const lines = [];
const walk = (p) => {
  const full = root + p;
  const st = fs.lstatSync(full);
  if (st.isSymbolicLink()) return lines.push(p + ' -> ' + fs.readlinkSync(full));
  if (st.isFile()) {
    const mode = st.mode & 0o7777;
    let content = '(write-only)';
    if (mode & 0o444) { try { content = JSON.stringify(fs.readFileSync(full, 'latin1')); } catch (e) { content = '!' + e.code; } }
    return lines.push(p + ' ' + mode.toString(8) + ' ' + content);
  }
  const names = fs.readdirSync(full).sort();
  lines.push((p || '') + '/ ' + names.join(' '));
  for (const n of names) walk(p + '/' + n);
};
walk('');
process.stdout.write(lines.sort().join('\\n'));
`;

async function walk(m: MountedTree): Promise<string> {
  const r = await run(process.execPath, ['-e', WALKER, m.root]);
  if (r.code !== 0) throw new Error(`walking ${m.root}: ${r.stderr}`);
  return r.stdout;
}

const ctl = (m: MountedTree, ...args: string[]): Promise<ShellResult> => run(process.execPath, [CLI, 'ctl', '--mount', m.root, ...args]);

async function ok(t: Test, p: Promise<ShellResult>, what: string): Promise<string> {
  const r = await p;
  t.equal(r.code, 0, `${what}${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
  return r.stdout;
}

/** `printf '%s' TEXT > ROOT/FILE`: one write(2), as echo -n does. */
const put = (t: Test, m: MountedTree, file: string, text: string): Promise<string> => ok(t, sh(`printf '%s' '${text}' > ${m.root}/${file}`), `${file} <- ${text}`);

/**
 * A directory for state files that outlives the daemons: tap empties t.testdir() before the
 * teardowns that stop them (and save) have run.
 */
function scratch(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `guest list` without the APCB write counters: history, not state. */
async function guests(t: Test, m: MountedTree): Promise<unknown> {
  const list = JSON.parse(await ok(t, ctl(m, '--json', 'guest', 'list'), 'guest list')) as Record<string, unknown>[];
  return list.map(({ apcbUpdates, ...g }) => (void apcbUpdates, g));
}

/** The first lines where two walks differ. */
function firstDifferences(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(al.length, bl.length) && out.length < 12; i++) if (al[i] !== bl[i]) out.push(`- ${al[i]}`, `+ ${bl[i]}`);
  return out.join('\n');
}

function sameTree(t: Test, a: string, b: string, what: string): void {
  if (a === b) t.pass(`${what}: the same ${a.split('\n').length} lines`);
  else t.fail(`${what}: the trees differ\n${firstDifferences(a, b)}`);
}

/** A state no boot gives: masks edited, an mdev created, queues and a card unbound, guests, host changes. */
async function busy(t: Test, m: MountedTree): Promise<void> {
  await put(t, m, 'bus/ap/apmask', '-0x0b');
  await put(t, m, `${TYPE}/create`, U3);
  await put(t, m, `devices/vfio_ap/matrix/${U3}/assign_adapter`, '0x0b');
  await put(t, m, `devices/vfio_ap/matrix/${U3}/assign_domain`, '0x54');
  await put(t, m, 'bus/ap/drivers/vfio_ap/unbind', '06.0006');
  await put(t, m, 'devices/ap/card04/online', '0');
  await put(t, m, 'class/zcrypt/create', 'tenant');
  await put(t, m, 'class/zcrypt/tenant/apmask', '+4');
  await put(t, m, 'bus/ap/ap_domain', '6');
  await ok(t, ctl(m, 'guest', 'attach', U1, '--guest', 'vm1'), 'attach vm1');
  await ok(t, ctl(m, 'guest', 'attach', U3, '--guest', 'vm3'), 'attach vm3');
  await ok(t, ctl(m, 'guest', 'detach', U3), 'detach vm3');
  await ok(t, ctl(m, 'host', 'control-domain', 'remove', '4'), 'host control-domain remove 4');
  await ok(t, ctl(m, 'host', 'domain', 'remove', '0x47'), 'host domain remove 0x47');
  await put(t, m, 'bus/ap/drivers_autoprobe', '0');
  await ok(t, ctl(m, 'host', 'adapter', 'add', '0x20', '--type', 'CEX8A'), 'host adapter add 0x20 (stays unbound)');
}

t.test('ctl save FILE, then mount FILE: the same tree, byte for byte', async (t) => {
  const m = await mountTree(t, { topology: MDEVS });
  await busy(t, m);
  const file = path.join(scratch(t), 'saved.json');
  t.equal(await ok(t, ctl(m, 'save', file), 'ctl save'), `saved to ${file}\n`);
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  t.match(saved, { guests: [{ name: 'vm1', mdev: U1 }, { name: 'vm3' }], driversAutoprobe: false, apDomain: 6 });
  const again = await mountTree(t, { topology: file });
  sameTree(t, await walk(m), await walk(again), 'saved and mounted again');
  t.same(await guests(t, again), await guests(t, m), 'the same guests with the same APCBs');
  t.equal(await ok(t, ctl(again, 'save', '-'), 'save -'), readFileSync(file, 'utf8'), 'saving the copy gives the same file');
});

t.test('--state FILE: a clean shutdown saves, the next mount restores', async (t) => {
  const state = path.join(scratch(t), 'state.json');
  const first = await mountTree(t, { topology: MDEVS, args: ['--state', state] });
  t.notOk(existsSync(state), 'nothing is written while the daemon runs');
  await busy(t, first);
  const before = await walk(first);
  await first.stop();
  t.ok(existsSync(state), 'SIGTERM saved the state');
  // --topology only describes the first start: the saved state wins.
  const second = await mountTree(t, { topology: 'test/fixtures/topologies/4x4.json', args: ['--state', state] });
  sameTree(t, before, await walk(second), 'after a restart');
  await ok(t, ctl(second, 'guest', 'detach', U1), 'the restored guest detaches');
  await put(t, second, `devices/vfio_ap/matrix/${U2}/remove`, '1');
  const changed = await walk(second);
  await second.stop();
  const third = await mountTree(t, { args: ['--state', state] });
  sameTree(t, changed, await walk(third), 'the second run saved over the first');
  await third.stop();
});

t.test('ctl save: usage and errors', async (t) => {
  const m = await mountTree(t);
  const none = await ctl(m, 'save');
  t.equal(none.code, 2);
  t.match(none.stderr, 'one FILE (- for stdout) expected');
  const bad = await ctl(m, 'save', path.join(scratch(t), 'no', 'such', 'dir', 'f.json'));
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^apsysfs: ctl save: .*f\.json: ENOENT/);
  const json = JSON.parse(await ok(t, ctl(m, 'save', '-'), 'save -')) as Record<string, unknown>;
  t.same(Object.keys(json).slice(0, 3), ['adapters', 'usageDomains', 'controlDomains'], 'a topology file');
});
