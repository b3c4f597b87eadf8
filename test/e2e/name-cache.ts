/**
 * The kernel caches names on the mount (entry_timeout, src/fuse/dentry-epoch.ts) and still never
 * shows a path that has left the tree, as real sysfs never does. Each script below looks a path
 * up (so its dentry is cached), removes it, and tests for it at once, in one shell: mdev remove
 * (the directory and its bus/type links), unbind (the `driver` link, the driver's link, the
 * driver's attributes), an apmask write, zcrypt destroy and an SE/HMC adapter removal.
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import { kernelHasEpoch } from '../../src/fuse/dentry-epoch.js';
import { mountTree, repoRoot, type MountedTree } from '../helpers/mount.js';
import { bash, run } from '../helpers/shell.js';

const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');
const U = '3b1f8c2e-7d4a-4e6b-9c5d-0a1b2c3d4e5f';
const TYPE = 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough';
const MDEV = `devices/vfio_ap/matrix/${U}`;

/** Run `script` in the mount's root; its stdout lines (each GHOST line names a path seen after its removal). */
async function script(t: Test, m: MountedTree, body: string): Promise<string> {
  const r = await bash(`set -u\n${body}`, { cwd: m.root });
  t.equal(r.stderr, '', 'no error output');
  return r.stdout;
}

/** Create, look up, remove and test an mdev 20 times: the directory and every link to it must go. */
async function mdevRemoveLoop(t: Test, m: MountedTree): Promise<void> {
  const out = await script(t, m, `
    for i in $(seq 20); do
      echo ${U} > ${TYPE}/create
      stat ${MDEV}/assign_adapter ${MDEV}/mdev_type bus/mdev/devices/${U} ${TYPE}/devices/${U} > /dev/null
      echo 1 > ${MDEV}/remove
      for p in ${MDEV} ${MDEV}/assign_adapter ${MDEV}/mdev_type bus/mdev/devices/${U} ${TYPE}/devices/${U} class/mdev_bus/matrix/${U}; do
        if test -e $p || test -L $p; then echo "GHOST $p"; fi
      done
    done
    echo done`);
  t.equal(out, 'done\n');
}

t.test('names are cached, and a removed path is gone the moment its removal returns', async (t) => {
  const m = await mountTree(t, { env: { DEBUG: 'apsysfs:fuse' } });
  const expected = kernelHasEpoch() ? 'on' : 'off';
  t.match(m.output(), new RegExp(`name cache ${expected}\\b`), `the daemon says the name cache is ${expected}`);

  await t.test('mdev remove, 20 times over', (t) => mdevRemoveLoop(t, m));

  await t.test('unbind: the driver link, the driver\'s link and its attributes go', async (t) => {
    const q = 'devices/ap/card05/05.0004';
    const out = await script(t, m, `
      stat ${q}/driver ${q}/online bus/ap/drivers/cex4queue/05.0004 > /dev/null
      echo 05.0004 > bus/ap/drivers/cex4queue/unbind
      for p in ${q}/driver ${q}/online bus/ap/drivers/cex4queue/05.0004; do
        if test -e $p || test -L $p; then echo "GHOST $p"; fi
      done
      echo done`);
    t.equal(out, 'done\n');
  });

  await t.test('an apmask write moves queues: their cex4queue links and attributes go', async (t) => {
    const out = await script(t, m, `
      stat bus/ap/drivers/cex4queue/06.0006 devices/ap/card06/06.0006/online > /dev/null
      echo -6 > bus/ap/apmask
      for p in bus/ap/drivers/cex4queue/06.0006 devices/ap/card06/06.0006/online; do
        if test -e $p || test -L $p; then echo "GHOST $p"; fi
      done
      readlink devices/ap/card06/06.0006/driver`);
    t.equal(out, '../../../../bus/ap/drivers/vfio_ap\n');
  });

  await t.test('zcrypt destroy', async (t) => {
    const out = await script(t, m, `
      echo zc7 > class/zcrypt/create
      stat class/zcrypt/zc7/ioctlmask > /dev/null
      echo zc7 > class/zcrypt/destroy
      for p in class/zcrypt/zc7 class/zcrypt/zc7/ioctlmask; do
        if test -e $p; then echo "GHOST $p"; fi
      done
      echo done`);
    t.equal(out, 'done\n');
  });

  await t.test('an adapter the SE/HMC takes away (the control channel, not a sysfs write)', async (t) => {
    const looked = await script(t, m, 'stat -c %F devices/ap/card05/05.0047 bus/ap/devices/card05');
    t.equal(looked, 'directory\nsymbolic link\n');
    const r = await run(process.execPath, [CLI, 'ctl', '--mount', m.root, 'host', 'adapter', 'remove', '5']);
    t.equal(r.code, 0, r.stderr);
    const out = await script(t, m, `
      for p in devices/ap/card05 devices/ap/card05/05.0047 bus/ap/devices/card05 bus/ap/devices/05.0047; do
        if test -e $p || test -L $p; then echo "GHOST $p"; fi
      done
      echo done`);
    t.equal(out, 'done\n');
  });
});

t.test('--no-name-cache: every lookup goes to the daemon, with the same answers', async (t) => {
  const m = await mountTree(t, { args: ['--no-name-cache'], env: { DEBUG: 'apsysfs:fuse' } });
  t.match(m.output(), /name cache off\b/);
  t.match(m.output(), /entry_timeout=0,/, 'libfuse is told entry_timeout=0');
  await mdevRemoveLoop(t, m);
});
