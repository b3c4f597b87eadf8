/**
 * A kernel `struct mutex` for the model: async-mutex does the waiting, lockdep checks the
 * order and the wait-for graph, and the mutex knows its owner task as the kernel's does.
 *
 * async-mutex 0.5's `Mutex` is a `Semaphore(1)` behind a tslib generator that costs about
 * 1.3 µs per acquire; the semaphore itself costs about 0.1 µs, and a rebind of 65,536 queues
 * takes ~10 locks per queue, so we use the semaphore. Facts relied on (pinned by
 * test/model/kernel-mutex.ts): `acquire()` of a free semaphore takes it synchronously (only
 * the returned promise settles later); `release()` hands it to the first waiter
 * synchronously, so `isLocked()` never reads false while someone waits; waiters are served
 * first come, first served. async-mutex's `tryAcquire` is asynchronous, hence `trylock` below
 * is `isLocked()` + `acquire()`.
 */
import { Semaphore } from 'async-mutex';
import type { LockClass, LockSite, LockTask, Lockdep, TrackedLock } from './lockdep.js';

export { KernelRwsem } from './kernel-rwsem.js';

const WRITE = { read: false, trylock: false } as const;
const TRY = { read: false, trylock: true } as const;

export class KernelMutex implements TrackedLock {
  readonly lockClass: LockClass;
  private readonly sem = new Semaphore(1);
  /** Set when the owner runs with it: undefined while async-mutex hands it to a waiter. */
  private owner: LockTask | undefined;

  /**
   * @param className the lockdep class, e.g. 'ap_perms_mutex', 'matrix_dev->mdevs_lock',
   *   '&kvm->lock' (one class, many instances)
   * @param instance names this instance in reports, e.g. the guest
   */
  constructor(
    private readonly lockdep: Lockdep,
    className: string,
    readonly instance?: string,
  ) {
    this.lockClass = lockdep.lockClass(className);
  }

  get locked(): boolean {
    return this.sem.isLocked();
  }

  /**
   * mutex_lock: wait until the mutex is free, then hold it.
   *
   * Throws:
   * - EDEADLK: the owner (transitively) waits for a lock this task holds, so waiting would
   *   never end; a 'deadlock' report is recorded and nothing is held.
   * - a plain Error outside Lockdep.runTask (a bug).
   */
  async lock(site: LockSite): Promise<void> {
    if (this.lockNow(site)) return;
    const task = this.lockdep.task('mutex_lock', this);
    this.lockdep.acquire(task, this, site, WRITE);
    this.lockdep.wait(task, this, site, false);
    await this.sem.acquire();
    this.owner = task;
    this.lockdep.acquired(task, this, site, WRITE);
  }

  /**
   * mutex_lock when it would not sleep: a free mutex is taken in this call, with what lock()
   * records (a blocking acquisition's ordering edges, not a trylock's); a held one is left alone
   * and false returned, nothing recorded. Lets a reader that finds the lock free answer without a
   * promise (matrix-read.ts).
   */
  lockNow(site: LockSite): boolean {
    return this.takeIfFree('mutex_lock', site, WRITE);
  }

  /**
   * mutex_trylock: take the mutex if it is free, synchronously; never waits. Adds no ordering
   * edge into this lock (lockdep's trylock rule), but the mutex is then held.
   */
  trylock(site: LockSite): boolean {
    return this.takeIfFree('mutex_trylock', site, TRY);
  }

  /** Both of the above: `how` says whether lockdep records a blocking acquisition or a trylock. */
  private takeIfFree(what: string, site: LockSite, how: typeof WRITE | typeof TRY): boolean {
    const task = this.lockdep.task(what, this);
    if (this.sem.isLocked()) return false;
    this.lockdep.acquire(task, this, site, how);
    void this.sem.acquire();
    this.owner = task;
    this.lockdep.acquired(task, this, site, how);
    return true;
  }

  /** mutex_unlock; a plain Error (a bug) unless the current task holds it. */
  unlock(): void {
    const task = this.lockdep.task('mutex_unlock', this);
    this.lockdep.release(task, this, 'mutex_unlock');
    this.owner = undefined;
    this.sem.release();
  }

  /** lockdep_assert_held; a plain Error (a bug) unless the current task holds it. */
  assertHeld(): void {
    if (this.isHeldByCurrentTask()) return;
    const who = this.owner ? `held by ${this.owner}` : this.locked ? 'being handed over' : 'not held';
    const name = this.instance === undefined ? this.lockClass.name : `${this.lockClass.name} (${this.instance})`;
    throw new Error(`lockdep_assert_held(${name}) failed in ${this.lockdep.current() ?? 'no task'}: ${who}`);
  }

  isHeldByCurrentTask(): boolean {
    return this.owner !== undefined && this.owner === this.lockdep.current();
  }

  holders(): readonly LockTask[] {
    return this.owner ? [this.owner] : [];
  }
}
