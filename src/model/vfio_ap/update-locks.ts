/**
 * The only place vfio_ap's locks are taken, always in the documented order
 * ap_perms_mutex → guests_lock → kvm->lock → mdevs_lock (vfio-ap-locking.rst).
 * @kernel vfio_ap_ops.c get_update_locks_for_kvm, get_update_locks_for_mdev,
 *         get_update_locks_by_apqn, release_update_locks_for_mdev
 */
import type { LockSite } from '../lock/lockdep.js';
import type { Kvm } from '../kvm/guest.js';
import type { MatrixDev } from './matrix-dev.js';
import type { MatrixMdev } from './matrix-mdev.js';

/** What a helper took, so the release undoes exactly that (the kvm pointer may change meanwhile). */
export interface HeldUpdateLocks {
  readonly kvm: Kvm | undefined;
  readonly mdev: MatrixMdev | undefined;
}

/** guests_lock, then the kvm->lock of the mdev's guest if attached, then mdevs_lock. */
export async function getUpdateLocksForMdev(md: MatrixDev, mdev: MatrixMdev | undefined, site: LockSite): Promise<HeldUpdateLocks> {
  await md.guestsLock.lock(site);
  // matrix_mdev->kvm may only be read under guests_lock (§16 item 2).
  const kvm = mdev?.kvm;
  if (kvm) await kvm.lock.lock(site);
  await md.mdevsLock.lock(site);
  return { kvm, mdev };
}

export async function getUpdateLocksForKvm(md: MatrixDev, kvm: Kvm, site: LockSite): Promise<HeldUpdateLocks> {
  await md.guestsLock.lock(site);
  await kvm.lock.lock(site);
  await md.mdevsLock.lock(site);
  return { kvm, mdev: undefined };
}

/**
 * Find the mdev that holds the APQN (under guests_lock, §16 item 7) and take its locks.
 */
export async function getUpdateLocksByApqn(md: MatrixDev, apid: number, apqi: number, site: LockSite): Promise<HeldUpdateLocks> {
  await md.guestsLock.lock(site);
  const mdev = md.mdevForApqn(apid, apqi);
  const kvm = mdev?.kvm;
  if (kvm) await kvm.lock.lock(site);
  await md.mdevsLock.lock(site);
  return { kvm, mdev };
}

export function releaseUpdateLocks(md: MatrixDev, held: HeldUpdateLocks): void {
  md.mdevsLock.unlock();
  if (held.kvm) held.kvm.lock.unlock();
  md.guestsLock.unlock();
}

/** Run `fn` with the update locks for `mdev`; released on every path (the kernel's `done:` label). */
export async function withUpdateLocksForMdev<T>(md: MatrixDev, mdev: MatrixMdev | undefined, site: LockSite, fn: (held: HeldUpdateLocks) => Promise<T>): Promise<T> {
  const held = await getUpdateLocksForMdev(md, mdev, site);
  try {
    return await fn(held);
  } finally {
    releaseUpdateLocks(md, held);
  }
}

/**
 * The assignment entry: in the mainline profile ap_perms_mutex is taken first (the AP-bus helper
 * then asserts it); in the trylock profile it is taken last, inside the reservation check.
 */
export async function withAssignLocks<T>(md: MatrixDev, mdev: MatrixMdev, site: LockSite, fn: (held: HeldUpdateLocks) => Promise<T>): Promise<T> {
  if (md.k.profile !== 'mainline') return withUpdateLocksForMdev(md, mdev, site, fn);
  await md.bus.apPermsMutex.lock(site);
  try {
    return await withUpdateLocksForMdev(md, mdev, site, fn);
  } finally {
    md.bus.apPermsMutex.unlock();
  }
}
