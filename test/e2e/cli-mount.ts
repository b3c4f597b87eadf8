// `apsysfs mount` with the real model: the default tree, --topology, and how a bad topology is
// reported. (test/fuse/ covers signals, --daemon, umount and dead mounts over a fake tree.)
import path from 'node:path';
import t from 'tap';
import { findMount } from '../../src/fuse/mountpoint.js';
import { mountTree, repoRoot } from '../helpers/mount.js';
import { run, sh } from '../helpers/shell.js';

const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');
const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'topologies', `${name}.json`);

t.test('the default tree', async t => {
  const m = await mountTree(t);
  t.equal((await sh('ls', { cwd: m.root })).stdout, 'bus\nclass\ndevices\nkernel\n');
  t.equal((await sh('cat bus/ap/ap_domain', { cwd: m.root })).stdout, '4\n');
  t.equal((await sh('ls devices/ap', { cwd: m.root })).stdout, 'card04\ncard05\ncard06\ncard0b\nuevent\n');
});

t.test('--topology FILE', async t => {
  const m = await mountTree(t, { topology: fixture('4x4') });
  t.equal((await sh('ls -d devices/ap/card*', { cwd: m.root })).stdout, 'devices/ap/card00\ndevices/ap/card01\ndevices/ap/card02\ndevices/ap/card03\n');
});

t.test('--topology given as an object', async t => {
  const m = await mountTree(t, { topology: { adapters: [{ id: 7, type: 'CEX8A' }], usageDomains: [9] } });
  t.equal((await sh('ls devices/ap/card07', { cwd: m.root })).stdout.includes('07.0009'), true);
});

const bad: [string, string, RegExp][] = [
  ['a topology that does not validate', fixture('bad-type'), /: adapters\[0\]\.type: "CEX9C" is not a card type/],
  ['a missing file', '/nonexistent/topology.json', /: no such file/],
  ['a file that is not JSON', CLI, /: not valid JSON: /],
];
for (const [what, file, why] of bad) {
  t.test(`--topology with ${what}: an error naming the file, nothing mounted`, async t => {
    const dir = t.testdir();
    const r = await run(process.execPath, [CLI, 'mount', dir, '--topology', file]);
    t.equal(r.code, 1);
    t.match(r.stderr, new RegExp(`^apsysfs: mount: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${why.source}.*\\nsee 'apsysfs --help'\\n$`));
    t.equal(findMount(dir), undefined, 'nothing mounted');
  });
}
