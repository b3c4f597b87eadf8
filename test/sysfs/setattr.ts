/**
 * chmod/chown on sysfs: root may change an attribute's (or a directory's, or a link's) mode, owner
 * and group; the node keeps them until it goes, stat shows them, and open's EACCES rule follows the
 * new mode while what the attribute can do still decides (kernfs_iop_setattr, kernfs_fop_open).
 * The permission checks before (ownership, CAP_CHOWN) are the kernel's, with default_permissions:
 * test/e2e/permissions.ts.
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import { createSysfs } from '../../src/sysfs/tree.js';
import type { Kernfs } from '../../src/sysfs/kernfs-api.js';
import { OK, U1, createMdev, hostWith, kerr, noLockdepReports, sysfs } from '../helpers/model.js';

const O_RDONLY = 0;
const O_WRONLY = 1;

async function setup(): Promise<{ fs: Kernfs; sys: ReturnType<typeof sysfs>; host: Awaited<ReturnType<typeof hostWith>> }> {
  const host = await hostWith();
  return { host, fs: createSysfs(host), sys: sysfs(host) };
}

t.test('mode, owner and group are kept and shown', async (t) => {
  const { fs } = await setup();
  fs.setattr!('/bus/ap/apmask', { mode: 0o600 });
  fs.setattr!('/bus/ap/apmask', { uid: 65534 });
  t.match(fs.stat('/bus/ap/apmask'), { kind: 'file', mode: 0o600, uid: 65534, gid: 0 });
  fs.setattr!('/bus/ap/apmask', { gid: 100, uid: undefined });
  t.match(fs.stat('/bus/ap/apmask'), { mode: 0o600, uid: 65534, gid: 100 }, 'an id left out stays');
  fs.setattr!('/bus/ap/apmask', { mode: 0o104755 });
  t.equal(fs.stat('/bus/ap/apmask')?.mode, 0o4755, 'setuid kept, the type bits are the node\'s');
  fs.setattr!('/devices/ap', { mode: 0o700 });
  t.match(fs.stat('/devices/ap'), { kind: 'dir', mode: 0o700 });
  t.match(fs.stat('/bus/ap/aqmask'), { mode: 0o644, uid: 0 }, 'other nodes keep theirs');
  t.throws(() => fs.setattr!('/bus/ap/nothing', { mode: 0o600 }), kerr(Errno.ENOENT));
});

t.test("open's EACCES rule follows the new mode, and what the attribute can do", async (t) => {
  const { fs } = await setup();
  fs.setattr!('/bus/ap/apmask', { mode: 0o200 });
  t.throws(() => fs.open('/bus/ap/apmask', O_RDONLY), kerr(Errno.EACCES), 'no read bit left: refused even to root');
  t.doesNotThrow(() => fs.open('/bus/ap/apmask', O_WRONLY).release());
  fs.setattr!('/bus/ap/ap_max_domain_id', { mode: 0o666 });
  t.throws(() => fs.open('/bus/ap/ap_max_domain_id', O_WRONLY), kerr(Errno.EACCES), 'a write bit does not give a read-only attribute a store');
  fs.setattr!('/bus/ap/apmask', { mode: 0o644 });
  t.doesNotThrow(() => fs.open('/bus/ap/apmask', O_RDONLY).release(), 'and back');
});

t.test('a node that goes takes its attributes with it', async (t) => {
  const { fs, sys, host } = await setup();
  const online = '/devices/ap/card05/05.0004/online';
  fs.setattr!(online, { mode: 0o600, uid: 1 });
  t.equal(await sys.write('bus/ap/drivers/cex4queue/unbind', '05.0004'), OK);
  t.equal(fs.stat(online), undefined);
  t.equal(await sys.write('bus/ap/drivers/cex4queue/bind', '05.0004'), OK);
  t.match(fs.stat(online), { mode: 0o644, uid: 0 }, 'the rebound queue has a new online file');

  await createMdev(host, U1);
  const dir = `/devices/vfio_ap/matrix/${U1}`;
  fs.setattr!(dir, { uid: 7 });
  fs.setattr!(`${dir}/assign_adapter`, { mode: 0o220 });
  t.equal(await sys.write(`${dir.slice(1)}/remove`, '1'), OK);
  await createMdev(host, U1);
  t.match(fs.stat(dir), { uid: 0 }, 'a new mdev of the same name starts afresh');
  t.equal(fs.stat(`${dir}/assign_adapter`)?.mode, 0o200);
});

noLockdepReports(t);
