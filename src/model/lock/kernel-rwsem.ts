/**
 * A kernel `struct rw_semaphore` for the model (e.g. `kvm->arch.crypto.pqap_hook_rwsem`):
 * readers share, a writer excludes, and waiters are served in arrival order, so a reader that
 * comes after a waiting writer waits too (the kernel's rwsem is writer-fair the same way).
 *
 * async-mutex has no reader/writer lock, and its Semaphore cannot say whether someone is
 * queued, which down_read and down_write_trylock need; so the FIFO is ours. Holders are set
 * at the hand-over, synchronously, which keeps the wait-for graph exact.
 */
import type { LockClass, LockSite, LockTask, Lockdep, TrackedLock } from './lockdep.js';

interface Waiter {
  readonly task: LockTask;
  readonly write: boolean;
  readonly wake: () => void;
}

const READ = { read: true, trylock: false } as const;
const WRITE = { read: false, trylock: false } as const;
const TRY_READ = { read: true, trylock: true } as const;
const TRY_WRITE = { read: false, trylock: true } as const;

export class KernelRwsem implements TrackedLock {
  readonly lockClass: LockClass;
  private writer: LockTask | undefined;
  /** Reader → how many read holds it has (a recursive down_read is a bug lockdep reports, not an error). */
  private readonly readers = new Map<LockTask, number>();
  private readonly queue: Waiter[] = [];

  constructor(
    private readonly lockdep: Lockdep,
    className: string,
    readonly instance?: string,
  ) {
    this.lockClass = lockdep.lockClass(className);
  }

  get locked(): boolean {
    return this.writer !== undefined || this.readers.size > 0;
  }

  /**
   * down_read. Throws EDEADLK when waiting would never end (see KernelMutex.lock), and a plain
   * Error outside Lockdep.runTask.
   */
  async downRead(site: LockSite): Promise<void> {
    const task = this.lockdep.task('down_read', this);
    this.lockdep.acquire(task, this, site, READ);
    if (this.readBlocked()) await this.enqueue(task, site, false);
    else this.readers.set(task, (this.readers.get(task) ?? 0) + 1);
    this.lockdep.acquired(task, this, site, READ);
  }

  /** down_read_trylock: synchronous; adds no ordering edge. */
  tryDownRead(site: LockSite): boolean {
    const task = this.lockdep.task('down_read_trylock', this);
    if (this.readBlocked()) return false;
    this.lockdep.acquire(task, this, site, TRY_READ);
    this.readers.set(task, (this.readers.get(task) ?? 0) + 1);
    this.lockdep.acquired(task, this, site, TRY_READ);
    return true;
  }

  /** up_read; a plain Error (a bug) unless the current task holds it for read. */
  upRead(): void {
    const task = this.lockdep.task('up_read', this);
    const n = this.readers.get(task);
    if (n === undefined) throw new Error(`up_read(${this.lockClass.name}) by ${task}, which does not hold it for read`);
    this.lockdep.release(task, this, 'up_read');
    if (n > 1) this.readers.set(task, n - 1);
    else this.readers.delete(task);
    this.grant();
  }

  /** down_write. Throws as downRead. */
  async downWrite(site: LockSite): Promise<void> {
    const task = this.lockdep.task('down_write', this);
    this.lockdep.acquire(task, this, site, WRITE);
    if (this.writeBlocked()) await this.enqueue(task, site, true);
    else this.writer = task;
    this.lockdep.acquired(task, this, site, WRITE);
  }

  /** down_write_trylock: synchronous; adds no ordering edge. */
  tryDownWrite(site: LockSite): boolean {
    const task = this.lockdep.task('down_write_trylock', this);
    if (this.writeBlocked()) return false;
    this.lockdep.acquire(task, this, site, TRY_WRITE);
    this.writer = task;
    this.lockdep.acquired(task, this, site, TRY_WRITE);
    return true;
  }

  /** up_write; a plain Error (a bug) unless the current task holds it for write. */
  upWrite(): void {
    const task = this.lockdep.task('up_write', this);
    if (this.writer !== task)
      throw new Error(`up_write(${this.lockClass.name}) by ${task}, which does not hold it for write`);
    this.lockdep.release(task, this, 'up_write');
    this.writer = undefined;
    this.grant();
  }

  holders(): readonly LockTask[] {
    return this.writer ? [this.writer] : [...this.readers.keys()];
  }

  private readBlocked(): boolean {
    return this.writer !== undefined || this.queue.length > 0;
  }

  private writeBlocked(): boolean {
    return this.writer !== undefined || this.readers.size > 0 || this.queue.length > 0;
  }

  private enqueue(task: LockTask, site: LockSite, write: boolean): Promise<void> {
    this.lockdep.wait(task, this, site, !write);
    return new Promise<void>((wake) => this.queue.push({ task, write, wake }));
  }

  /** Hand the rwsem to the waiters at the head of the queue that can have it now. */
  private grant(): void {
    for (let w = this.queue[0]; w; w = this.queue[0]) {
      if (w.write ? this.locked : this.writer !== undefined) return;
      this.queue.shift();
      if (w.write) this.writer = w.task;
      else this.readers.set(w.task, (this.readers.get(w.task) ?? 0) + 1);
      w.task.waiting = undefined;
      w.wake();
    }
  }
}
