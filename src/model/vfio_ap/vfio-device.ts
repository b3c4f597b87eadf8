/**
 * What opening and closing the mdev's VFIO device does (QEMU starting and stopping a guest), and
 * the request callback the VFIO core calls while a removal waits for the device to be closed.
 * @kernel vfio_ap_ops.c vfio_ap_mdev_open_device/_set_kvm, vfio_ap_mdev_close_device/_unset_kvm,
 *         vfio_ap_mdev_request
 */
import { Errno, KernelError } from '../errno.js';
import { inTask } from '../kernel.js';
import type { Kvm } from '../kvm/guest.js';
import type { MatrixDev } from './matrix-dev.js';
import type { MatrixMdev } from './matrix-mdev.js';
import { getUpdateLocksForKvm, releaseUpdateLocks } from './update-locks.js';
import { resetQlist, updateGuestApcb } from './hotplug.js';
import { flawWindow, flawed } from '../scenarios/flaw.js';
import type { LockSite } from '../lock/lockdep.js';

/** Waiters for an mdev's device to be closed (vfio_unregister_group_dev's wait). */
const closeWaiters = new WeakMap<MatrixMdev, Array<() => void>>();

/**
 * Attach: install the PQAP hook (under the rwsem, released before the other locks: §16 item 3),
 * then under guests_lock → kvm->lock → mdevs_lock refuse a second mdev on one guest (EPERM, the hook
 * stays installed: spec §19 item 11), take a reference and push the current shadow.
 * Throws: EINVAL (no KVM), EPERM (the guest already has an mdev), EBUSY (this mdev is already open).
 */
export function openDevice(md: MatrixDev, mdev: MatrixMdev, kvm: Kvm | undefined): Promise<void> {
  const site = { op: `open ${mdev.uuid}`, fn: 'vfio_ap_mdev_set_kvm' };
  return inTask(md.k, site.op, async () => {
    if (!kvm) throw new KernelError(Errno.EINVAL, 'open: no KVM associated with the device');
    if (mdev.state !== 'active') throw new KernelError(Errno.ENODEV, `open: ${mdev.uuid} is being removed`);
    if (mdev.kvm) throw new KernelError(Errno.EBUSY, `open: ${mdev.uuid} is already open by ${mdev.kvm.name}`);
    if (!kvm.crycbd) return;
    const hookFlaw = flawed(md.k, 'pqap-hook');
    if (!hookFlaw) await setPqapHook(kvm, mdev, site);
    const held = await getUpdateLocksForKvm(md, kvm, site);
    try {
      if (hookFlaw) await setPqapHookFlawed(md, kvm, mdev, site);
      const other = md.mdevList.find((m) => m !== mdev && m.kvm === kvm);
      if (other) throw new KernelError(Errno.EPERM, `open: guest ${kvm.name} already uses mdev ${other.uuid}`);
      kvm.refs++;
      mdev.kvm = kvm;
      updateGuestApcb(md, mdev);
    } finally {
      releaseUpdateLocks(md, held);
    }
  });
}

/**
 * Detach: remove the PQAP hook, then under the update locks clear the guest's masks, reset every
 * queue linked to the mdev (not only those in the guest's view), drop the reference. The assigned
 * matrix, the shadow and the links stay.
 */
export function closeDevice(md: MatrixDev, mdev: MatrixMdev): Promise<void> {
  const site = { op: `close ${mdev.uuid}`, fn: 'vfio_ap_mdev_unset_kvm' };
  return inTask(md.k, site.op, async () => {
    const kvm = mdev.kvm;
    if (!kvm) throw new KernelError(Errno.ENODEV, `close: ${mdev.uuid} is not open`);
    const hookFlaw = flawed(md.k, 'pqap-hook');
    if (!hookFlaw) await setPqapHook(kvm, undefined, site);
    const held = await getUpdateLocksForKvm(md, kvm, site);
    try {
      if (hookFlaw) await setPqapHookFlawed(md, kvm, undefined, site);
      kvm.clearMasks();
      await resetQlist(md, [...mdev.qtable.values()]);
      kvm.refs--;
      mdev.kvm = undefined;
    } finally {
      releaseUpdateLocks(md, held);
    }
    mdev.reqTrigger = false;
    mdev.cfgChgTrigger = false;
    const waiters = closeWaiters.get(mdev) ?? [];
    closeWaiters.delete(mdev);
    for (const w of waiters) w();
  });
}

/** Set or clear the PQAP hook under pqap_hook_rwsem taken for write. */
async function setPqapHook(kvm: Kvm, hook: MatrixMdev | undefined, site: LockSite): Promise<void> {
  await kvm.pqapHookRwsem.downWrite(site);
  kvm.pqapHook = hook;
  kvm.pqapHookRwsem.upWrite();
}

/**
 * Flawed 'pqap-hook' (spec §16 item 3): the rwsem taken for write with guests_lock, kvm->lock and
 * mdevs_lock held, while a vCPU in the PQAP handler holds it for read and waits for mdevs_lock.
 * Shipped since 1e753732bda6/86956e70761b (v5.15): taken and released before the other locks.
 */
async function setPqapHookFlawed(md: MatrixDev, kvm: Kvm, hook: MatrixMdev | undefined, site: LockSite): Promise<void> {
  await flawWindow(md.k, 'pqap-hook');
  await setPqapHook(kvm, hook, site);
}

/**
 * The VFIO core asks the driver to give the device up: clear the guest's masks, signal config
 * change, then relay the request to QEMU if it registered an eventfd. The shadow is kept.
 * @kernel vfio_ap_mdev_request
 */
export async function requestDevice(md: MatrixDev, mdev: MatrixMdev, count: number): Promise<void> {
  const kvm = mdev.kvm;
  if (!kvm) return;
  const site = { op: `remove ${mdev.uuid}`, fn: 'vfio_ap_mdev_request' };
  const held = await getUpdateLocksForKvm(md, kvm, site);
  try {
    kvm.clearMasks();
    if (mdev.cfgChgTrigger) mdev.cfgChgSignals++;
    if (mdev.reqTrigger) {
      if (count % 10 === 0) md.k.events.kernel('info', `${mdev.devPrefix}Relaying device request to user (#${count})`);
    } else if (count === 0) {
      md.k.events.kernel('info', `${mdev.devPrefix}No device request registered, blocked until released by user`);
    }
  } finally {
    releaseUpdateLocks(md, held);
  }
}

/** Resolves once the mdev's device is closed (immediately when it is not open). */
export function waitForClose(mdev: MatrixMdev): Promise<void> {
  if (!mdev.kvm) return Promise.resolve();
  return new Promise((resolve) => {
    const list = closeWaiters.get(mdev) ?? [];
    list.push(resolve);
    closeWaiters.set(mdev, list);
  });
}

export { updateGuestApcb };
