// /sys/class/zcrypt (spec §9): create/destroy and the per-node masks, through the in-memory kernfs.
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import { hostWith, maskOf, noLockdepReports, OK, sysfs } from '../helpers/model.js';

const ZERO = `0x${'0'.repeat(64)}\n`;

t.test('create and destroy', async (t) => {
  const host = await hostWith();
  const sys = sysfs(host);
  t.same(sys.ls('/class/zcrypt'), ['create', 'destroy']);
  const cases: [string, string, Errno | 0, string[]][] = [
    ['a name with blanks around it', '  mynode \t\n', OK, ['mynode']],
    ['an empty name gets zcrypt_<minor>', '\n', OK, ['mynode', 'zcrypt_1']],
    ['an existing name', 'mynode', Errno.EEXIST, ['mynode', 'zcrypt_1']],
    ["'/' becomes '!' (kobject names)", 'a/b', OK, ['mynode', 'zcrypt_1', 'a!b']],
    ['only 31 characters are kept', 'x'.repeat(40), OK, ['mynode', 'zcrypt_1', 'a!b', 'x'.repeat(31)]],
  ];
  for (const [name, input, errno, nodes] of cases) {
    t.equal(await sys.write('/class/zcrypt/create', input), errno, name);
    t.same((sys.ls('/class/zcrypt') ?? []).slice(2), nodes, `${name}: nodes`);
  }
  t.equal(await sys.write('/class/zcrypt/destroy', 'nope\n'), Errno.ENOENT);
  t.equal(await sys.write('/class/zcrypt/destroy', ' zcrypt_1 \n'), OK);
  t.same((sys.ls('/class/zcrypt') ?? []).slice(2), ['mynode', 'a!b', 'x'.repeat(31)]);
  t.equal(await sys.write('/class/zcrypt/create', '\n'), OK, 'the freed minor is reused');
  t.ok((sys.ls('/class/zcrypt') ?? []).includes('zcrypt_1'));
  t.equal(await sys.read('/class/zcrypt/create'), Errno.EACCES, 'no show: a read open is refused');
});

t.test('the masks of a node', async (t) => {
  const host = await hostWith();
  const sys = sysfs(host);
  t.equal(await sys.write('/class/zcrypt/create', 'n1'), OK);
  for (const f of ['ioctlmask', 'apmask', 'aqmask', 'admask']) t.equal(await sys.read(`/class/zcrypt/n1/${f}`), ZERO, `${f} starts at zero`);
  t.equal(await sys.write('/class/zcrypt/n1/apmask', '+4-6'), OK);
  t.equal(await sys.read('/class/zcrypt/n1/apmask'), maskOf([4, 5, 6]));
  t.equal(await sys.write('/class/zcrypt/n1/aqmask', '0x8'), OK);
  t.equal(await sys.read('/class/zcrypt/n1/aqmask'), maskOf([0]));
  t.equal(await sys.write('/class/zcrypt/n1/apmask', '+256'), Errno.EINVAL);
  t.equal(await sys.read('/class/zcrypt/n1/apmask'), maskOf([4, 5, 6]), 'unchanged after EINVAL');
  t.equal(await sys.read('/bus/ap/apmask'), `0x${'f'.repeat(64)}\n`, 'node masks do not touch the bus masks');
});

noLockdepReports(t);
