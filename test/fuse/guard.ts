// src/fuse/ops.ts called directly (no mount): every handler answers exactly once, whatever the
// Kernfs does.
import t from 'tap';
import { Errno, KernelError } from '../../src/model/errno.js';
import { createOps } from '../../src/fuse/ops.js';
import type { Kernfs, OpenFile } from '../../src/sysfs/kernfs-api.js';
import { FakeKernfs } from '../helpers/fake-kernfs.js';

type Answer = unknown[];
/** Call handler `name` and collect every answer it gives within `waitMs`. */
const call = async (ops: Record<string, (...a: never[]) => void>, name: string, args: unknown[], waitMs = 0): Promise<Answer[]> => {
  const answers: Answer[] = [];
  (ops[name] as (...a: unknown[]) => void)(...args, (...answer: unknown[]) => answers.push(answer));
  await new Promise(r => setTimeout(r, waitMs));
  return answers;
};
const time = new Date(0);

t.test('misses and wrong kinds', async t => {
  const ops = createOps(new FakeKernfs(), { opTimeoutMs: 0, time });
  t.same(await call(ops, 'getattr', ['/nope']), [[-Errno.ENOENT]]);
  t.same(await call(ops, 'readdir', ['/hello']), [[-Errno.ENOTDIR]]);
  t.same(await call(ops, 'readdir', ['/nope']), [[-Errno.ENOENT]]);
  t.same(await call(ops, 'readlink', ['/hello']), [[-Errno.EINVAL]]);
  t.same(await call(ops, 'readlink', ['/nope']), [[-Errno.ENOENT]]);
  t.same(await call(ops, 'open', ['/dir', 0]), [[-Errno.EISDIR]]);
});

t.test('readdir lists . and .. with stats aligned to names', async t => {
  const ops = createOps(new FakeKernfs(), { opTimeoutMs: 0, time });
  const [[code, names, stats]] = (await call(ops, 'readdir', ['/dir'])) as [[number, string[], { mode: number }[]]];
  t.equal(code, 0);
  t.same(names, ['.', '..', 'link', 'sub']);
  t.same(stats.map(s => s.mode.toString(8)), ['40755', '40755', '120777', '40755']);
});

t.test('a read or write on a handle never given out is a bug: EIO', async t => {
  const ops = createOps(new FakeKernfs(), { opTimeoutMs: 0, time });
  t.same(await call(ops, 'read', ['/hello', 42, Buffer.alloc(10), 10, 0]), [[-Errno.EIO]]);
  t.same(await call(ops, 'write', ['/store', 42, Buffer.from('1'), 1, 0]), [[-Errno.EIO]]);
});

t.test('a late answer after the timeout is dropped', async t => {
  let finish: (n: number) => void = () => undefined;
  const file: OpenFile = { read: async () => Buffer.alloc(0), write: () => new Promise(r => (finish = r)), release: () => undefined };
  const kernfs: Kernfs = { stat: () => undefined, readdir: () => undefined, readlink: () => undefined, truncate: () => undefined, open: () => file };
  const ops = createOps(kernfs, { opTimeoutMs: 20, time });
  const [[, fd]] = (await call(ops, 'open', ['/x', 1])) as [[number, number]];
  const answers: Answer[] = [];
  (ops.write as (...a: unknown[]) => void)('/x', fd, Buffer.from('1\n'), 2, 0, (...a: unknown[]) => answers.push(a));
  await new Promise(r => setTimeout(r, 50));
  finish(2);
  await new Promise(r => setTimeout(r, 10));
  t.same(answers, [[-Errno.ETIMEDOUT]]);
});

t.test('a rejected promise and a synchronous throw both answer once', async t => {
  class Vanishing extends FakeKernfs {
    override stat(): never {
      throw new KernelError(Errno.ENODEV, 'gone');
    }
  }
  const ops = createOps(new Vanishing(), { opTimeoutMs: 0, time });
  t.same(await call(ops, 'getattr', ['/hello']), [[-Errno.ENODEV]]);
  const [[, fd]] = (await call(ops, 'open', ['/busy', 1])) as [[number, number]];
  t.same(await call(ops, 'write', ['/busy', fd, Buffer.from('1'), 1, 0], 10), [[-Errno.EBUSY]]);
});
