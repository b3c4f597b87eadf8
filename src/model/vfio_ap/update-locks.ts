/**
 * The only place vfio_ap's locks are taken, always in the documented order
 * ap_perms_mutex → guests_lock → kvm->lock → mdevs_lock (vfio-ap-locking.rst), unless a historic
 * flawed ordering is selected (scenarios 'apmask-assign', 'crypto-masks': docs/deadlocks.md).
 * @kernel vfio_ap_ops.c get_update_locks_for_kvm, get_update_locks_for_mdev,
 *         get_update_locks_by_apqn, release_update_locks_for_mdev
 */
import type { LockSite } from '../lock/lockdep.js';
import type { Kvm } from '../kvm/guest.js';
import type { MatrixDev } from './matrix-dev.js';
import type { MatrixMdev } from './matrix-mdev.js';
import { flawWindow, flawed } from '../scenarios/flaw.js';

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
  await underGuestsLock(md, () => lockKvmAndMdevs(md, kvm, site));
  return { kvm, mdev };
}

export async function getUpdateLocksForKvm(md: MatrixDev, kvm: Kvm, site: LockSite): Promise<HeldUpdateLocks> {
  await md.guestsLock.lock(site);
  await underGuestsLock(md, () => lockKvmAndMdevs(md, kvm, site));
  return { kvm, mdev: undefined };
}

/**
 * The guest's kvm->lock (if any), then mdevs_lock; the caller holds guests_lock.
 * Flawed 'crypto-masks' (docs/deadlocks.md): mdevs_lock first, kvm->lock under it, as when
 * vfio_ap held matrix_dev->lock and kvm_arch_crypto_set_masks took kvm->lock itself
 * (f21916ec4826, fixed by 0cc00c8d4050 and 86956e70761b, 2021).
 *
 * Throws EDEADLK (only ever under a flawed scenario) with neither lock held.
 */
export async function lockKvmAndMdevs(md: MatrixDev, kvm: Kvm | undefined, site: LockSite): Promise<void> {
  if (!kvm) return md.mdevsLock.lock(site);
  const crypto = flawed(md.k, 'crypto-masks');
  const [first, second] = crypto ? [md.mdevsLock, kvm.lock] : [kvm.lock, md.mdevsLock];
  await first.lock(site);
  try {
    if (crypto) await flawWindow(md.k, 'crypto-masks');
    await second.lock(site);
  } catch (e) {
    first.unlock();
    throw e;
  }
}

/** Run the rest of an acquisition; if it fails (EDEADLK), give guests_lock back. */
async function underGuestsLock(md: MatrixDev, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    md.guestsLock.unlock();
    throw e;
  }
}

/**
 * Find the mdev that holds the APQN (under guests_lock, §16 item 7) and take its locks.
 */
export async function getUpdateLocksByApqn(md: MatrixDev, apid: number, apqi: number, site: LockSite): Promise<HeldUpdateLocks> {
  await md.guestsLock.lock(site);
  const mdev = md.mdevForApqn(apid, apqi);
  const kvm = mdev?.kvm;
  await underGuestsLock(md, () => lockKvmAndMdevs(md, kvm, site));
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
  if (md.k.profile !== 'mainline') {
    if (!flawed(md.k, 'apmask-assign')) return withUpdateLocksForMdev(md, mdev, site, fn);
    // Flawed 'apmask-assign': the vfio_ap locks held, ap_perms_mutex wanted next (window before it).
    return withUpdateLocksForMdev(md, mdev, site, async (held) => {
      await flawWindow(md.k, 'apmask-assign');
      return fn(held);
    });
  }
  await md.bus.apPermsMutex.lock(site);
  try {
    return await withUpdateLocksForMdev(md, mdev, site, fn);
  } finally {
    md.bus.apPermsMutex.unlock();
  }
}
