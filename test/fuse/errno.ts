// fuse/errno.ts: the one mapping from errors to FUSE answers.
import t from 'tap';
import { Errno, KernelError } from '../../src/model/errno.js';
import { fuseErrno, toFuseErrno } from '../../src/fuse/errno.js';

const cases: [string, unknown, number][] = [
  ['a KernelError: minus its errno', new KernelError(Errno.EADDRINUSE, 'sharing'), -98],
  ['EBUSY', new KernelError(Errno.EBUSY, 'locked'), -16],
  ['a TypeError (a bug): EIO', new TypeError('x is undefined'), -5],
  ['a thrown string: EIO', 'oops', -5],
  ['undefined: EIO', undefined, -5],
];
for (const [name, error, answer] of cases) t.equal(toFuseErrno(error), answer, name);
t.equal(fuseErrno(Errno.ENOENT), -2);
