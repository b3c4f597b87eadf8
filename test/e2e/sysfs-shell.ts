// Issue 3 acceptance: the tree mounted for real, driven by real shells in child processes.
// Every write goes through `sh -c 'echo … > …'` (bash for its error texts) and every read through cat.
import t from 'tap';
import { mountTree } from '../helpers/mount.js';
import { sh } from '../helpers/shell.js';

const UUID_A = '6a1d5b3e-0c1f-4c5e-9d3a-1f2e3d4c5b6a';
const UUID_B = '7b2e6c4f-1d20-4d6f-8e4b-2a3f4e5d6c7b';

t.test('the default tree over FUSE, through real shells', async (t) => {
  const { root } = await mountTree(t);
  const bash = async (cmd: string) => sh(cmd, { shell: 'bash', cwd: root });
  const cat = async (p: string) => (await bash(`cat ${p}`)).stdout;

  t.equal(await cat('bus/ap/apmask'), '0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n');
  t.equal(await cat('bus/ap/bindings'), '16/16 (complete)\n');
  t.equal((await bash('readlink bus/ap/devices/05.0004')).stdout, '../../../devices/ap/card05/05.0004\n');
  t.equal((await bash('readlink class/mdev_bus/matrix')).stdout, '../../devices/vfio_ap/matrix\n');
  t.equal((await bash('readlink devices/ap/card05/05.0004/driver')).stdout, '../../../../bus/ap/drivers/cex4queue\n');

  await t.test('a mask edit moves queues to vfio_ap and the driver links follow', async (t) => {
    const r = await bash('echo -0x05,-6 > bus/ap/apmask');
    t.equal(r.code, 0, r.stderr);
    t.equal(await cat('bus/ap/apmask'), '0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n');
    t.equal((await bash('readlink devices/ap/card05/05.0004/driver')).stdout, '../../../../bus/ap/drivers/vfio_ap\n');
    const vfio = (await bash('ls bus/ap/drivers/vfio_ap')).stdout.split('\n').filter(Boolean);
    t.same(vfio.filter((n) => /^\d\d\./.test(n)), ['05.0004', '05.0006', '05.0047', '05.0054', '06.0004', '06.0006', '06.0047', '06.0054']);
    t.notOk((await bash('ls bus/ap/drivers/cex4queue')).stdout.includes('05.0004'));
    t.equal(await cat('devices/ap/card05/05.0004/status'), 'unassigned\n');
    t.equal((await bash('test -e devices/ap/card05/05.0004/online')).code, 1, 'online is gone with cex4queue');
  });

  await t.test('create an mdev and assign a matrix', async (t) => {
    const type = 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough';
    t.equal(await cat(`${type}/available_instances`), '65536\n');
    t.equal((await bash(`test -e bus/mdev/devices/${UUID_A}`)).code, 1, 'absent before create');
    t.equal((await bash(`echo ${UUID_A} > ${type}/create`)).code, 0);
    t.equal((await bash(`test -d bus/mdev/devices/${UUID_A}`)).code, 0, 'present right after create');
    t.equal(await cat(`${type}/available_instances`), '65535\n');
    t.equal((await bash(`readlink devices/vfio_ap/matrix/${UUID_A}/mdev_type`)).stdout, '../mdev_supported_types/vfio_ap-passthrough\n');
    const m = `devices/vfio_ap/matrix/${UUID_A}`;
    for (const [file, v] of [['assign_adapter', '5'], ['assign_adapter', '0x06'], ['assign_domain', '4'], ['assign_domain', '0x47'], ['assign_control_domain', '4']]) {
      const r = await bash(`echo ${v} > ${m}/${file}`);
      t.equal(r.code, 0, `${file} ${v}: ${r.stderr}`);
    }
    t.equal(await cat(`${m}/matrix`), '05.0004\n05.0047\n06.0004\n06.0047\n');
    t.equal(await cat(`${m}/guest_matrix`), '05.0004\n05.0047\n06.0004\n06.0047\n');
    t.equal(await cat(`${m}/control_domains`), '0004\n');
    t.equal(await cat('devices/ap/card05/05.0004/status'), 'assigned\n');
  });

  await t.test('the kernel errno reach the shell', async (t) => {
    const type = 'devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough';
    t.equal((await bash(`echo ${UUID_B} > ${type}/create`)).code, 0);
    const b = `devices/vfio_ap/matrix/${UUID_B}`;
    t.equal((await bash(`echo 4 > ${b}/assign_domain`)).code, 0);
    let r = await bash(`echo 5 > ${b}/assign_adapter`);
    t.not(r.code, 0);
    t.match(r.stderr, /Address already in use/);
    r = await bash(`echo 4 > ${b}/assign_adapter`);
    t.match(r.stderr, /Cannot assign requested address/, 'card04 is still reserved for the host');
    r = await bash(`echo 300 > ${b}/assign_adapter`);
    t.match(r.stderr, /No such device/);
    r = await bash(`echo 5x > ${b}/assign_adapter`);
    t.match(r.stderr, /Invalid argument/);
    r = await bash('echo +5 > bus/ap/apmask');
    t.match(r.stderr, /Device or resource busy/, 'the APQNs of card05 are in use by an mdev');
    t.equal(await cat('bus/ap/apmask'), '0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n', 'mask unchanged');
    r = await bash(`echo ${UUID_A} > ${type}/create`);
    t.match(r.stderr, /File exists/);
  });

  await t.test('wrong-mode opens get EACCES, even for root', async (t) => {
    let r = await bash('echo 1 > bus/ap/ap_max_domain_id');
    t.match(r.stderr, /Permission denied/);
    r = await bash(`cat devices/vfio_ap/matrix/${UUID_A}/assign_adapter`);
    t.match(r.stderr, /Permission denied/);
  });

  await t.test('remove', async (t) => {
    const r = await bash(`echo 1 > devices/vfio_ap/matrix/${UUID_B}/remove`);
    t.equal(r.code, 0, r.stderr);
    t.equal((await bash(`test -e bus/mdev/devices/${UUID_B}`)).code, 1);
    t.equal((await bash(`test -e devices/vfio_ap/matrix/${UUID_B}`)).code, 1);
    t.equal(await cat('devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/available_instances'), '65535\n');
  });
});
