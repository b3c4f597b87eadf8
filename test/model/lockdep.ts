import t from 'tap';
import { Errno, KernelError } from '../../src/model/errno.js';
import { KernelMutex, KernelRwsem } from '../../src/model/lock/kernel-mutex.js';
import { Lockdep, type LockSite, type LockdepReport } from '../../src/model/lock/lockdep.js';

const at = (fn: string, op = 'test'): LockSite => ({ fn, op });

/** A promise with its resolve, for handing control between tasks. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => (fire = r));
  return { promise, fire };
}

/** The rejection of p, or a failure if it resolves. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

function setup() {
  const reports: LockdepReport[] = [];
  const ld = new Lockdep({ onReport: (r) => reports.push(r) });
  const mutex = (name: string, instance?: string) => new KernelMutex(ld, name, instance);
  return { ld, reports, mutex };
}

t.test('blocking acquisitions record class dependencies with their first site', async (t) => {
  const { ld, reports, mutex } = setup();
  const [a, b, c] = [mutex('A'), mutex('B'), mutex('C')];
  const take = (op: string) =>
    ld.runTask(op, async () => {
      await a.lock(at('take_a', op));
      await b.lock(at('take_b', op));
      await c.lock(at('take_c', op));
      c.unlock();
      b.unlock();
      a.unlock();
    });
  await take('first');
  await take('second');
  const edges = Object.fromEntries(ld.edges().map((e) => [`${e.from}->${e.to}`, e]));
  t.same(Object.keys(edges).sort(), ['A->B', 'A->C', 'B->C']);
  t.same(edges['B->C'], {
    from: 'B',
    to: 'C',
    first: { fn: 'take_c', op: 'first' },
    count: 2,
    task: 'first/1',
    heldAtFirst: ['A', 'B'],
    inverted: false,
  });
  t.equal(edges['A->B']!.count, 2);
  t.same(reports, []);
  t.same(ld.reports, []);
});

t.test('an ABBA inversion between two tasks is a circular report in lockdep layout', async (t) => {
  const { ld, reports, mutex } = setup();
  const mdevs = mutex('matrix_dev->mdevs_lock');
  const kvm = mutex('&kvm->lock');
  const op1 = 'write assign_adapter (8f2b)';
  const op2 = 'write apmask';
  const abba = async () => {
    await ld.runTask(op1, async () => {
      await kvm.lock(at('get_update_locks_for_kvm', op1));
      await mdevs.lock(at('get_update_locks_for_mdev', op1));
      mdevs.unlock();
      kvm.unlock();
    });
    await ld.runTask(op2, async () => {
      await mdevs.lock(at('vfio_ap_mdev_resource_in_use', op2));
      await kvm.lock(at('kvm_arch_crypto_set_masks', op2));
      kvm.unlock();
      mdevs.unlock();
    });
  };
  await abba();
  t.equal(reports.length, 1);
  const r = reports[0]!;
  t.equal(r.kind, 'circular');
  t.equal(r.taking, '&kvm->lock');
  t.equal(r.held, 'matrix_dev->mdevs_lock');
  t.equal(r.task, `${op2}/2`);
  t.same(r.chain, [{ from: '&kvm->lock', to: 'matrix_dev->mdevs_lock', first: at('get_update_locks_for_mdev', op1) }]);
  t.equal(
    r.text,
    `======================================================
WARNING: possible circular locking dependency detected
------------------------------------------------------
write apmask/2 is trying to acquire lock:
  (&kvm->lock){+.+.}, at: kvm_arch_crypto_set_masks [write apmask]

but task is already holding lock:
  (matrix_dev->mdevs_lock){+.+.}, at: vfio_ap_mdev_resource_in_use [write apmask]

which lock already depends on the new lock.


the existing dependency chain (in reverse order) is:

-> #1 (matrix_dev->mdevs_lock){+.+.}:
       get_update_locks_for_mdev [write assign_adapter (8f2b)]

-> #0 (&kvm->lock){+.+.}:
       kvm_arch_crypto_set_masks [write apmask]

other info that might help us debug this:

 Possible unsafe locking scenario:

       CPU0                    CPU1
       ----                    ----
  lock(matrix_dev->mdevs_lock);
                               lock(&kvm->lock);
                               lock(matrix_dev->mdevs_lock);
  lock(&kvm->lock);

 *** DEADLOCK ***

1 lock held by write apmask/2:
 #0: (matrix_dev->mdevs_lock){+.+.}, at: vfio_ap_mdev_resource_in_use [write apmask]
`,
  );
  t.same(ld.reports, reports, 'reports property and onReport agree');

  await abba();
  t.equal(reports.length, 1, 'reported once per (held, taking) pair');
  const inverted = ld.edges().find((e) => e.inverted);
  t.match(inverted, { from: 'matrix_dev->mdevs_lock', to: '&kvm->lock', count: 2 });
});

t.test('trylock adds no dependency (README decision 2: in-use check under ap_perms_mutex)', async (t) => {
  const { ld, reports, mutex } = setup();
  const perms = mutex('ap_perms_mutex');
  const guests = mutex('matrix_dev->guests_lock');
  const mdevs = mutex('matrix_dev->mdevs_lock');
  await ld.runTask('write apmask', async () => {
    await perms.lock(at('apmask_store', 'write apmask'));
    t.ok(guests.trylock(at('vfio_ap_mdev_resource_in_use', 'write apmask')));
    t.ok(mdevs.trylock(at('vfio_ap_mdev_resource_in_use', 'write apmask')));
    t.same(ld.currentTask()?.held, ['ap_perms_mutex', 'matrix_dev->guests_lock', 'matrix_dev->mdevs_lock']);
    mdevs.unlock();
    guests.unlock();
    perms.unlock();
  });
  t.same(ld.edges(), [], 'no edge into a trylocked lock');
  await ld.runTask('write assign_adapter', async () => {
    await guests.lock(at('get_update_locks_for_mdev', 'write assign_adapter'));
    await mdevs.lock(at('get_update_locks_for_mdev', 'write assign_adapter'));
    await perms.lock(at('vfio_ap_mdev_validate_masks', 'write assign_adapter'));
    perms.unlock();
    mdevs.unlock();
    guests.unlock();
  });
  t.same(reports, [], 'the opposite blocking order is no inversion');
  t.same(ld.edges().map((e) => `${e.from}->${e.to}`).sort(), [
    'matrix_dev->guests_lock->ap_perms_mutex',
    'matrix_dev->guests_lock->matrix_dev->mdevs_lock',
    'matrix_dev->mdevs_lock->ap_perms_mutex',
  ]);
});

t.test('a lock taken under a trylocked lock gets an edge from it', async (t) => {
  const { ld, reports, mutex } = setup();
  const [a, b] = [mutex('A'), mutex('B')];
  await ld.runTask('t', async () => {
    t.ok(a.trylock(at('try_a')));
    await b.lock(at('lock_b'));
    b.unlock();
    a.unlock();
  });
  t.same(ld.edges().map((e) => `${e.from}->${e.to}`), ['A->B']);
  await ld.runTask('u', async () => {
    await b.lock(at('lock_b'));
    await a.lock(at('lock_a'));
    a.unlock();
    b.unlock();
  });
  t.equal(reports.length, 1);
  t.equal(reports[0]!.kind, 'circular');
});

t.test('a three-lock chain prints the "Chain exists of" form', async (t) => {
  const { ld, reports, mutex } = setup();
  const [a, b, c] = [mutex('A'), mutex('B'), mutex('C')];
  const pair = (name: string, x: KernelMutex, y: KernelMutex) =>
    ld.runTask(name, async () => {
      await x.lock(at(`${name}_outer`));
      await y.lock(at(`${name}_inner`));
      y.unlock();
      x.unlock();
    });
  await pair('ab', a, b);
  await pair('bc', b, c);
  t.same(reports, []);
  await pair('ca', c, a);
  t.equal(reports.length, 1);
  const r = reports[0]!;
  t.equal(r.taking, 'A');
  t.equal(r.held, 'C');
  t.same(r.chain, [
    { from: 'A', to: 'B', first: at('ab_inner') },
    { from: 'B', to: 'C', first: at('bc_inner') },
  ]);
  const text = r.text;
  t.match(text, '-> #2 (C){+.+.}:\n       bc_inner [test]\n\n-> #1 (B){+.+.}:\n       ab_inner [test]\n\n-> #0 (A)');
  t.match(text, 'Chain exists of:\n  A --> B --> C\n\n Possible unsafe locking scenario:');
  t.match(
    text,
    '  lock(C);\n                               lock(B);\n                               lock(C);\n  lock(A);\n',
  );
});

t.test('taking a class already held is a recursive report, once per class', async (t) => {
  const { ld, reports, mutex } = setup();
  const kvm1 = mutex('&kvm->lock', 'kvm 1');
  const kvm2 = mutex('&kvm->lock', 'kvm 2');
  for (let i = 0; i < 2; i++)
    await ld.runTask('write ap_config', async () => {
      await kvm1.lock(at('outer'));
      await kvm2.lock(at('inner'));
      kvm2.unlock();
      kvm1.unlock();
    });
  t.equal(reports.length, 1);
  const r = reports[0]!;
  t.match(r, { kind: 'recursive', taking: '&kvm->lock', held: '&kvm->lock', chain: [] });
  t.match(r.text, 'WARNING: possible recursive locking detected\n');
  t.match(r.text, '  kvm 2 (&kvm->lock){+.+.}, at: inner [test]\n\nbut task is already holding lock:\n');
  t.match(r.text, '  kvm 1 (&kvm->lock){+.+.}, at: outer [test]\n');
  t.match(r.text, '       CPU0\n       ----\n  lock(&kvm->lock);\n  lock(&kvm->lock);\n\n *** DEADLOCK ***\n');
  t.match(r.text, ' May be due to missing lock nesting notation\n');
  t.same(ld.edges(), [], 'no self-dependency');
});

const noHang = { timeout: 10_000 };

t.test('a real two-task deadlock fails one acquisition with EDEADLK; the other task completes', noHang, async (t) => {
  const { ld, reports, mutex } = setup();
  const perms = mutex('ap_perms_mutex');
  const guests = mutex('matrix_dev->guests_lock');
  const bWaits = signal();
  const a = ld.runTask('write apmask', async () => {
    await perms.lock(at('apmask_store', 'write apmask'));
    try {
      await bWaits.promise;
      await guests.lock(at('vfio_ap_mdev_resource_in_use', 'write apmask'));
      guests.unlock();
      return 'locked';
    } finally {
      perms.unlock();
    }
  });
  const b = ld.runTask('write assign_adapter', async () => {
    await guests.lock(at('get_update_locks_for_mdev', 'write assign_adapter'));
    const waiting = perms.lock(at('vfio_ap_mdev_validate_masks', 'write assign_adapter'));
    bWaits.fire();
    await waiting;
    t.ok(perms.isHeldByCurrentTask());
    perms.unlock();
    guests.unlock();
    return 'done';
  });
  const e = await rejection(a);
  t.ok(e instanceof KernelError, 'a KernelError');
  t.equal((e as KernelError).errno, Errno.EDEADLK);
  t.equal(await b, 'done');
  t.notOk(perms.locked);
  t.notOk(guests.locked);

  t.same(
    reports.map((r) => r.kind),
    ['circular', 'deadlock'],
  );
  const d = reports[1]!;
  t.equal(d.taking, 'matrix_dev->guests_lock');
  t.equal(d.held, 'ap_perms_mutex');
  t.same(d.tasks, ['write apmask/1', 'write assign_adapter/2']);
  t.same(d.chain, [
    {
      from: 'ap_perms_mutex',
      to: 'matrix_dev->guests_lock',
      first: at('vfio_ap_mdev_resource_in_use', 'write apmask'),
    },
    {
      from: 'matrix_dev->guests_lock',
      to: 'ap_perms_mutex',
      first: at('vfio_ap_mdev_validate_masks', 'write assign_adapter'),
    },
  ]);
  t.match(d.text, 'WARNING: circular lock wait: a real deadlock\n');
  t.match(d.text, 'write apmask/1 waits for (matrix_dev->guests_lock), held by write assign_adapter/2:\n');
  t.match(d.text, 'write assign_adapter/2 waits for (ap_perms_mutex), held by write apmask/1:\n');
  t.match(
    d.text,
    `       write apmask/1          write assign_adapter/2
       ----                    ----
  lock(ap_perms_mutex);
                               lock(matrix_dev->guests_lock);
                               lock(ap_perms_mutex);
  lock(matrix_dev->guests_lock);

 *** DEADLOCK ***
`,
  );
  t.match(d.text, 'write apmask/1 does not wait: the acquisition fails with -EDEADLK.\n');
  t.match(d.text, '1 lock held by write assign_adapter/2:\n #0: (matrix_dev->guests_lock)');
});

t.test('a three-task wait cycle is found through the owners', noHang, async (t) => {
  const { ld, reports, mutex } = setup();
  const [a, b, c] = [mutex('A'), mutex('B'), mutex('C')];
  const [t2Waits, t3Waits] = [signal(), signal()];
  // Each task takes its first lock synchronously at its start: t1 A, t2 B, t3 C.
  const t1 = ld.runTask('t1', async () => {
    await a.lock(at('t1_a'));
    try {
      await t3Waits.promise;
      await b.lock(at('t1_b'));
      b.unlock();
    } finally {
      a.unlock();
    }
  });
  const t2 = ld.runTask('t2', async () => {
    await b.lock(at('t2_b'));
    const p = c.lock(at('t2_c'));
    t2Waits.fire();
    await p;
    c.unlock();
    b.unlock();
  });
  const t3 = ld.runTask('t3', async () => {
    await c.lock(at('t3_c'));
    await t2Waits.promise;
    const p = a.lock(at('t3_a'));
    t3Waits.fire();
    await p;
    a.unlock();
    c.unlock();
  });
  t.ok((await rejection(t1)) instanceof KernelError);
  await Promise.all([t2, t3]);
  const d = reports.find((r) => r.kind === 'deadlock')!;
  t.same(d.tasks, ['t1/1', 't2/2', 't3/3']);
  t.match(d.text, ' Circular wait:\n\n  t1/1 --> t2/2 --> t3/3 --> t1/1\n');
});

t.test('taking a mutex the task itself holds fails with EDEADLK instead of hanging', noHang, async (t) => {
  const { ld, reports, mutex } = setup();
  const m = mutex('matrix_dev->mdevs_lock');
  await ld.runTask('self', async () => {
    await m.lock(at('outer'));
    const e = await rejection(m.lock(at('inner')));
    t.equal((e as KernelError).errno, Errno.EDEADLK);
    t.ok(m.isHeldByCurrentTask(), 'still held once');
    m.unlock();
  });
  t.same(
    reports.map((r) => r.kind),
    ['recursive', 'deadlock'],
  );
  t.match(reports[1]!.text, 'but task is already holding that very lock:\n');
});

t.test('a rwsem reader recursing behind a waiting writer deadlocks: EDEADLK', noHang, async (t) => {
  const { ld, reports } = setup();
  const hook = new KernelRwsem(ld, '&kvm->arch.crypto.pqap_hook_rwsem');
  const readerHolds = signal();
  const writerWaits = signal();
  const reader = ld.runTask('vcpu', async () => {
    await hook.downRead(at('handle_pqap'));
    readerHolds.fire();
    await writerWaits.promise;
    const e = await rejection(hook.downRead(at('handle_pqap_again')));
    hook.upRead();
    return e;
  });
  const writer = ld.runTask('open_device', async () => {
    await readerHolds.promise;
    const p = hook.downWrite(at('vfio_ap_mdev_set_kvm'));
    writerWaits.fire();
    await p;
    hook.upWrite();
  });
  t.equal(((await reader) as KernelError).errno, Errno.EDEADLK);
  await writer;
  t.same(
    reports.map((r) => r.kind),
    ['recursive', 'deadlock'],
  );
  t.match(reports[0]!.text, '  rlock(&kvm->arch.crypto.pqap_hook_rwsem);\n  rlock(');
});

t.test('tasks: ids, names, held locks; a nested runTask is an independent task', async (t) => {
  const { ld, mutex } = setup();
  const m = mutex('M');
  t.equal(ld.currentTask(), undefined);
  await ld.runTask('outer', async () => {
    await m.lock(at('outer'));
    t.same(ld.currentTask(), { id: 1, name: 'outer', held: ['M'] });
    await ld.runTask('worker', async () => {
      t.same(ld.currentTask(), { id: 2, name: 'worker', held: [] });
      t.notOk(m.isHeldByCurrentTask());
      t.notOk(m.trylock(at('worker')), 'the outer task holds it');
    });
    t.same(ld.currentTask()?.held, ['M']);
    m.unlock();
  });
  t.equal(ld.currentTask(), undefined);
});

t.test('a task that ends holding a lock is a bug', async (t) => {
  const { ld, mutex } = setup();
  const m = mutex('M');
  const e = await rejection(ld.runTask('leaky', async () => m.lock(at('leak'))));
  t.notOk(e instanceof KernelError);
  t.match(e, { message: /lock held when returning to user space: leaky\/1 still holds M at leak \[test\]/ });

  const cause = new KernelError(Errno.EINVAL, 'boom');
  const n = mutex('N');
  const e2 = await rejection(
    ld.runTask('throws', async () => {
      await n.lock(at('leak'));
      throw cause;
    }),
  );
  t.equal((e2 as Error).cause, cause);
});

t.test('acquiring outside runTask is a bug (plain Error)', async (t) => {
  const { ld, mutex } = setup();
  const m = mutex('ap_perms_mutex');
  const e = await rejection(m.lock(at('x')));
  t.notOk(e instanceof KernelError);
  t.match(e, { message: /mutex_lock\(ap_perms_mutex\) outside a task/ });
  t.throws(() => m.trylock(at('x')), /mutex_trylock\(ap_perms_mutex\) outside a task/);
  t.throws(() => m.unlock(), /outside a task/);
  const s = new KernelRwsem(ld, 'S');
  t.match(await rejection(s.downRead(at('x'))), { message: /down_read\(S\) outside a task/ });
  t.throws(() => s.tryDownWrite(at('x')), /outside a task/);
});

t.test('summary and toJSON show classes, dependencies, tasks and reports', async (t) => {
  const { ld, mutex } = setup();
  const [a, b] = [mutex('A'), mutex('B', 'b0')];
  await ld.runTask('ab', async () => {
    await a.lock(at('fa', 'op a'));
    await b.lock(at('fb', 'op b'));
    b.unlock();
    a.unlock();
  });
  await ld.runTask('ba', async () => {
    await b.lock(at('fb'));
    await a.lock(at('fa'));
    const s = ld.summary();
    t.match(s, 'lock classes (2):\n  A {+.+.}\n  B {+.+.}\n');
    t.match(s, '  A -> B  x1\n      first: fb [op b] by ab/1 holding A\n');
    t.match(s, '  B -> A (inverted, reported)  x1\n');
    t.match(s, 'tasks holding or waiting (1):\n  ba/2 holds B (b0), A\n');
    t.match(s, 'reports (1):\n  #1 circular: ba/2 taking A holding B\n');
    t.match(s, 'WARNING: possible circular locking dependency detected');
    a.unlock();
    b.unlock();
  });
  type State = { classes: unknown[]; edges: unknown[]; reports: unknown[]; tasks: unknown[] };
  const j = JSON.parse(JSON.stringify(ld)) as State;
  t.same(j.classes, [
    { name: 'A', usage: '+.+.' },
    { name: 'B', usage: '+.+.' },
  ]);
  t.equal(j.edges.length, 2);
  t.equal(j.reports.length, 1);
  t.same(j.tasks, []);
});

t.test('one task cannot wait for two locks at once (concurrent work needs its own runTask)', async (t) => {
  const { ld, mutex } = setup();
  const [a, b] = [mutex('A'), mutex('B')];
  const inside = signal();
  const done = signal();
  const holder = ld.runTask('holder', async () => {
    await a.lock(at('ha'));
    await b.lock(at('hb'));
    inside.fire();
    await done.promise;
    b.unlock();
    a.unlock();
  });
  await inside.promise;
  await ld.runTask('forked', async () => {
    const first = a.lock(at('fa'));
    const state = ld.toJSON() as { tasks: { name: string; waiting?: { class: string } }[] };
    t.same(state.tasks.find((x) => x.name === 'forked')?.waiting, { class: 'A', instance: undefined });
    t.match(ld.summary(), '  forked/2 holds nothing; waits for A\n');
    const e = await rejection(b.lock(at('fb')));
    t.notOk(e instanceof KernelError);
    t.match(e, { message: /forked\/2 waits for A and for B at once/ });
    done.fire();
    await first;
    a.unlock();
  });
  await holder;
});
