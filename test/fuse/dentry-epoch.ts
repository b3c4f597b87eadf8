/**
 * The pieces of the name cache that need no mount: which kernels have FUSE_NOTIFY_INC_EPOCH, and
 * that the epoch refuses a descriptor that is no mount's FUSE channel (so that a wrong descriptor
 * means "no name cache", never a cache nobody can clear). The cache on a real mount is
 * test/e2e/name-cache.ts.
 */
import t from 'tap';
import { closeSync, openSync } from 'node:fs';
import { DentryEpoch, fuseDeviceFds, kernelHasEpoch } from '../../src/fuse/dentry-epoch.js';

t.test('FUSE_NOTIFY_INC_EPOCH came with Linux 6.16', async (t) => {
  for (const [release, has] of [
    ['6.18.44-fc-v657', true],
    ['6.16.0', true],
    ['6.15.11-200.fc42.x86_64', false],
    ['5.15.0-91-generic', false],
    ['7.0.1', true],
    ['', false],
    ['not-a-version', false],
  ] as const) {
    t.equal(kernelHasEpoch(release), has, release || '(empty)');
  }
});

t.test('attach refuses what is not a connected FUSE channel', async (t) => {
  const devNull = openSync('/dev/null', 'w');
  t.teardown(() => closeSync(devNull));
  const epoch = new DentryEpoch();
  t.equal(epoch.attach(devNull), false, '/dev/null takes any write, but is no /dev/fuse');
  t.equal(epoch.attached, false);

  // A /dev/fuse opened here belongs to no mount: the kernel refuses notifications on it.
  const fresh = openSync('/dev/fuse', 'r+');
  t.teardown(() => closeSync(fresh));
  t.ok(fuseDeviceFds().has(fresh), 'listed among the process\'s /dev/fuse descriptors');
  t.equal(epoch.attach(fresh), false, 'no connection behind it');
  t.equal(epoch.attached, false);
  epoch.looked();
  epoch.removed('nothing attached: a no-op');
  t.equal(epoch.attached, false);
});
