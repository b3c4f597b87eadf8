// Issue "Prove it holds": what the fuzzers found, pinned. Each case is the reproducer the fuzzer
// printed, cut down, with the kernel's answer (docs/errno.md; the function named with each case).
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import { OK, hostWith, sysfs, U1 } from '../helpers/model.js';

const TYPE = '/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough';

t.test('drivers_autoprobe: a first byte other than "0" sets it, an empty C string too (bus.c drivers_autoprobe_store)', async (t) => {
  const sys = sysfs(await hostWith());
  for (const bus of ['ap', 'matrix', 'mdev']) {
    t.equal(await sys.write(`/bus/${bus}/drivers_autoprobe`, '0'), OK);
    t.equal(await sys.read(`/bus/${bus}/drivers_autoprobe`), '0\n', `${bus}: 0 is kept`);
    t.equal(await sys.write(`/bus/${bus}/drivers_autoprobe`, '\0'), OK);
    t.equal(await sys.read(`/bus/${bus}/drivers_autoprobe`), '1\n', `${bus}: "\\0" sets it`);
  }
});

t.test('drivers_probe on the matrix and mdev buses finds the bound device and returns the count (bus.c drivers_probe_store)', async (t) => {
  const sys = sysfs(await hostWith({ apmask: '+0-4,+7-255', mdevs: [{ uuid: U1, adapters: [5], domains: [4], controlDomains: [] }] }));
  t.equal(await sys.write('/bus/matrix/drivers_probe', 'matrix'), OK);
  t.equal(await sys.write('/bus/matrix/drivers_probe', 'matrix\n'), OK);
  t.equal(await sys.write('/bus/matrix/drivers_probe', 'matrix\n\n'), Errno.ENODEV);
  t.equal(await sys.write('/bus/mdev/drivers_probe', `${U1}\n`), OK);
  t.equal(await sys.write('/bus/mdev/drivers_probe', U1.toUpperCase()), Errno.ENODEV, 'sysfs_streq is case-sensitive');
});

t.test('uevent: the arguments after the action must be "UUID[ KEY=VALUE]..." (kobject_uevent.c kobject_action_args)', async (t) => {
  const sys = sysfs(await hostWith());
  const cases: [string, Errno | 0][] = [
    ['add', OK],
    ['add\n', OK],
    ['add \n', Errno.EINVAL],
    ['bind x', Errno.EINVAL],
    [`change ${U1}`, OK],
    [`change ${U1}\n`, OK],
    [`change ${U1} A=1 B2=x\n`, OK],
    [`change ${U1} A==1`, Errno.EINVAL],
    [`change ${U1}  A=1`, Errno.EINVAL],
    [`change ${U1} A=`, Errno.EINVAL],
    [`change ${U1} a_b=1`, Errno.EINVAL],
    [`change ${U1.slice(0, 35)}`, Errno.EINVAL],
    [`change ${U1}x`, Errno.EINVAL],
    [`change ${U1}${' K=v'.repeat(10)}`, OK],
    [`change ${U1}${' K=v'.repeat(64)}`, Errno.EINVAL],
  ];
  for (const [text, errno] of cases) {
    for (const file of ['/bus/ap/uevent', '/devices/ap/card05/uevent', '/bus/ap/drivers/vfio_ap/uevent']) t.equal(await sys.write(file, text), errno, `${file} <- ${JSON.stringify(text)}`);
  }
});

t.test('zcrypt create: names sysfs already has fail with EEXIST, nothing is replaced (zcrypt_api.c zcdn_create, device_register)', async (t) => {
  const host = await hostWith();
  const sys = sysfs(host);
  const create = (name: string) => sys.write('/class/zcrypt/create', name);
  t.equal(await create('create'), Errno.EEXIST, 'the class file "create"');
  t.equal(await create('destroy\n'), Errno.EEXIST, 'the class file "destroy"');
  t.equal(await create('zcrypt_1'), OK, 'a node named like an automatic one (minor 0)');
  t.equal(await sys.write('/class/zcrypt/zcrypt_1/apmask', '+5'), OK);
  t.equal(await create('\n'), Errno.EEXIST, 'the automatic name for minor 1 is taken');
  t.equal(await sys.read('/class/zcrypt/zcrypt_1/apmask'), `0x04${'0'.repeat(62)}\n`, 'the named node is untouched');
  t.same([...host.zcrypt.nodes.keys()], ['zcrypt_1']);
  t.equal(await create('a!b'), OK);
  t.equal(await create('a/b'), Errno.EEXIST, '"a/b" would be "a!b"');
  t.equal(await sys.write('/class/zcrypt/destroy', 'a/b'), Errno.ENOENT, 'destroy compares the name as written');
  t.equal(await sys.write('/class/zcrypt/destroy', 'a!b'), OK);
});
