import { Semaphore } from 'async-mutex';
import t from 'tap';
import { KernelError } from '../../src/model/errno.js';
import { KernelMutex, KernelRwsem } from '../../src/model/lock/kernel-mutex.js';
import { Lockdep, type LockSite } from '../../src/model/lock/lockdep.js';

const at = (fn: string, op = 'test'): LockSite => ({ fn, op });

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => (fire = r));
  return { promise, fire };
}

/** Let every queued promise job run, several rounds deep. */
const settle = async (rounds = 10) => {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
};

t.test('async-mutex 0.5 behaves as KernelMutex assumes', async (t) => {
  const m = new Semaphore(1);
  void m.acquire();
  t.ok(m.isLocked(), 'acquire() of a free mutex locks it synchronously');
  const order: string[] = [];
  const w1 = m.acquire().then(() => order.push('w1'));
  const w2 = m.acquire().then(() => order.push('w2'));
  m.release();
  t.ok(m.isLocked(), 'release() hands it to the first waiter synchronously');
  await w1;
  t.same(order, ['w1'], 'first come, first served');
  m.release();
  await w2;
  t.same(order, ['w1', 'w2']);
  m.release();
  t.notOk(m.isLocked());
  t.equal(m.getValue(), 1);
});

t.test('mutual exclusion holds under concurrent tasks, served in arrival order', async (t) => {
  const ld = new Lockdep();
  const m = new KernelMutex(ld, 'matrix_dev->mdevs_lock');
  let inside = 0;
  let most = 0;
  let counter = 0;
  const order: number[] = [];
  const tasks = Array.from({ length: 20 }, (_, i) =>
    ld.runTask(`task ${i}`, async () => {
      await m.lock(at('worker'));
      try {
        m.assertHeld();
        inside++;
        most = Math.max(most, inside);
        order.push(i);
        const seen = counter;
        await settle(i % 4);
        counter = seen + 1;
        inside--;
      } finally {
        m.unlock();
      }
    }),
  );
  await Promise.all(tasks);
  t.equal(most, 1, 'never two tasks inside');
  t.equal(counter, 20, 'no lost update');
  t.same(
    order,
    Array.from({ length: 20 }, (_, i) => i),
  );
  t.notOk(m.locked);
  t.same(ld.reports, []);
});

t.test('trylock is synchronous: it takes a free mutex and never waits', async (t) => {
  const ld = new Lockdep();
  const m = new KernelMutex(ld, 'matrix_dev->guests_lock');
  const holderIn = signal();
  const release = signal();
  const holder = ld.runTask('holder', async () => {
    t.equal(m.trylock(at('holder')), true);
    t.ok(m.locked);
    t.ok(m.isHeldByCurrentTask());
    holderIn.fire();
    await release.promise;
    m.unlock();
  });
  await holderIn.promise;
  await ld.runTask('other', async () => {
    t.equal(m.trylock(at('other')), false, 'held by another task');
    t.notOk(m.isHeldByCurrentTask());
    t.same(ld.currentTask()?.held, []);
  });
  release.fire();
  await holder;

  // While the mutex is being handed to a waiter, it is not free for a trylock.
  await ld.runTask('owner', async () => {
    await m.lock(at('owner'));
    const waiter = ld.runTask('waiter', async () => {
      await m.lock(at('waiter'));
      m.unlock();
    });
    await settle();
    m.unlock();
    t.ok(m.locked, 'handed over to the waiter');
    t.equal(m.trylock(at('owner')), false);
    await waiter;
  });
  t.notOk(m.locked);
});

t.test('assertHeld and isHeldByCurrentTask', async (t) => {
  const ld = new Lockdep();
  const m = new KernelMutex(ld, '&kvm->lock', 'kvm 7');
  t.throws(() => m.assertHeld(), /lockdep_assert_held\(&kvm->lock \(kvm 7\)\) failed in no task: not held/);
  const inside = signal();
  const done = signal();
  const owner = ld.runTask('owner', async () => {
    t.throws(() => m.assertHeld(), /failed in owner\/1: not held/);
    await m.lock(at('own'));
    m.assertHeld();
    t.ok(m.isHeldByCurrentTask());
    inside.fire();
    await done.promise;
    m.unlock();
    t.notOk(m.isHeldByCurrentTask());
  });
  await inside.promise;
  await ld.runTask('other', async () => {
    const e = (() => {
      try {
        m.assertHeld();
      } catch (e) {
        return e;
      }
    })();
    t.ok(e instanceof Error && !(e instanceof KernelError), 'a plain Error: a bug');
    t.match(e, { message: /failed in other\/2: held by owner\/1/ });
  });
  done.fire();
  await owner;
});

t.test('unlock by a task that does not hold the mutex is a bug', async (t) => {
  const ld = new Lockdep();
  const m = new KernelMutex(ld, 'ap_perms_mutex');
  await ld.runTask('nobody', async () => {
    t.throws(() => m.unlock(), /mutex_unlock\(ap_perms_mutex\) by nobody\/1, which does not hold it \(not held\)/);
  });
  const inside = signal();
  const done = signal();
  const owner = ld.runTask('owner', async () => {
    await m.lock(at('own'));
    inside.fire();
    await done.promise;
    m.unlock();
  });
  await inside.promise;
  await ld.runTask('thief', async () => {
    t.throws(() => m.unlock(), /by thief\/3, which does not hold it \(held by owner\/2\)/);
  });
  t.ok(m.locked, 'still held by its owner');
  done.fire();
  await owner;
  t.notOk(m.locked);
});

t.test('rwsem: readers share', async (t) => {
  const ld = new Lockdep();
  const s = new KernelRwsem(ld, '&kvm->arch.crypto.pqap_hook_rwsem');
  const both = [signal(), signal()];
  const readers = both.map((mine, i) =>
    ld.runTask(`vcpu ${i}`, async () => {
      await s.downRead(at('handle_pqap'));
      mine.fire();
      await Promise.all(both.map((b) => b.promise)); // both inside at once
      s.upRead();
    }),
  );
  await Promise.all(readers);
  t.notOk(s.locked);
  t.same(ld.reports, []);
});

t.test('rwsem: a writer excludes readers and writers; waiters are served in order', async (t) => {
  const ld = new Lockdep();
  const s = new KernelRwsem(ld, '&kvm->arch.crypto.pqap_hook_rwsem');
  const log: string[] = [];
  const readerIn = signal();
  const releaseReader = signal();
  const first = ld.runTask('reader 1', async () => {
    await s.downRead(at('handle_pqap'));
    log.push('r1 in');
    readerIn.fire();
    await releaseReader.promise;
    log.push('r1 out');
    s.upRead();
  });
  await readerIn.promise;
  const writer = ld.runTask('writer', async () => {
    t.equal(s.tryDownWrite(at('try')), false, 'a reader holds it');
    await s.downWrite(at('vfio_ap_mdev_set_kvm'));
    log.push('w in');
    await settle();
    log.push('w out');
    s.upWrite();
  });
  const late = ld.runTask('reader 2', async () => {
    t.equal(s.tryDownRead(at('try')), false, 'a writer waits: readers queue behind it');
    await s.downRead(at('handle_pqap'));
    log.push('r2 in');
    s.upRead();
  });
  await settle();
  t.same(log, ['r1 in'], 'writer and late reader wait');
  releaseReader.fire();
  await Promise.all([first, writer, late]);
  t.same(log, ['r1 in', 'r1 out', 'w in', 'w out', 'r2 in']);

  await ld.runTask('try', async () => {
    t.equal(s.tryDownWrite(at('try')), true, 'free: taken synchronously');
    t.equal(s.tryDownRead(at('try')), false);
    s.upWrite();
    t.equal(s.tryDownRead(at('try')), true);
    t.throws(() => s.upWrite(), /up_write\(&kvm->arch\.crypto\.pqap_hook_rwsem\) by try\/4, which does not hold it/);
    s.upRead();
    t.throws(() => s.upRead(), /which does not hold it for read/);
  });
  t.notOk(s.locked);
});

t.test('rwsem acquisitions, read or write, are ordered by lockdep', async (t) => {
  const ld = new Lockdep();
  const s = new KernelRwsem(ld, 'hook_rwsem');
  const m = new KernelMutex(ld, 'matrix_dev->mdevs_lock');
  await ld.runTask('vcpu', async () => {
    await s.downRead(at('handle_pqap'));
    await m.lock(at('vfio_ap_irq_enable'));
    m.unlock();
    s.upRead();
  });
  await ld.runTask('set_kvm', async () => {
    await m.lock(at('bad_order'));
    await s.downWrite(at('vfio_ap_mdev_set_kvm'));
    s.upWrite();
    m.unlock();
  });
  t.same(
    ld.edges().map((e) => `${e.from}->${e.to}${e.inverted ? ' (inverted)' : ''}`),
    ['hook_rwsem->matrix_dev->mdevs_lock', 'matrix_dev->mdevs_lock->hook_rwsem (inverted)'],
  );
  t.equal(ld.reports.length, 1);
  t.match(
    ld.reports[0]!.text,
    '  lock(matrix_dev->mdevs_lock);\n                               lock(hook_rwsem);\n' +
      '                               lock(matrix_dev->mdevs_lock);\n  lock(hook_rwsem);\n',
  );
  t.match(ld.summary(), '  hook_rwsem {++++}\n');
});

t.test('lockNow: a free mutex is taken in the call, as lock() takes it; a held one is left alone', async (t) => {
  const ld = new Lockdep();
  const outer = new KernelMutex(ld, 'matrix_dev->guests_lock');
  const m = new KernelMutex(ld, 'matrix_dev->mdevs_lock');
  const taken = ld.runTaskSync('reader', () => {
    t.ok(outer.lockNow(at('outer')), 'free: taken');
    const got = m.lockNow(at('inner'));
    t.ok(m.isHeldByCurrentTask(), 'held by this task, with no promise in between');
    m.unlock();
    outer.unlock();
    return got;
  });
  t.ok(taken);
  t.same(ld.edges().map((e) => `${e.from} -> ${e.to}`), ['matrix_dev->guests_lock -> matrix_dev->mdevs_lock'], 'the ordering edge a blocking mutex_lock records');

  const gate = signal();
  const holder = ld.runTask('holder', async () => {
    await m.lock(at('holder'));
    await gate.promise;
    m.unlock();
  });
  await settle();
  t.equal(ld.runTaskSync('second reader', () => m.lockNow(at('reader'))), false, 'held elsewhere: false');
  t.notOk(ld.summary().includes('waits for'), 'and nothing recorded as waiting');
  gate.fire();
  await holder;
  t.same(ld.reports, []);
});

t.test('runTaskSync: a lock still held when the task ends is a bug, as for runTask', async (t) => {
  const ld = new Lockdep();
  const m = new KernelMutex(ld, 'ap_perms_mutex');
  t.throws(() => ld.runTaskSync('leaky', () => m.lockNow(at('leak'))), /lock held when returning to user space/);
});
