/**
 * vfio_ap as a driver on the AP bus: it binds queues (never cards) that are not reserved for the
 * default drivers, answers the in-use question of mask writes, and follows host configuration
 * changes.
 * @kernel vfio_ap_drv.c vfio_ap_drv; vfio_ap_ops.c vfio_ap_mdev_probe_queue, vfio_ap_mdev_remove_queue,
 *         vfio_ap_mdev_resource_in_use, vfio_ap_on_cfg_changed, vfio_ap_on_scan_complete
 */
import { Errno, KernelError } from '../errno.js';
import type { ApDevice, ApDriver } from '../ap/ap-driver.js';
import { ApMask } from '../ap/ap-mask.js';
import type { ApConfig } from '../ap/ap-config.js';
import type { ApQueue, VfioApQueue } from '../ap/ap-queue.js';
import { mkqid } from '../ap/apqn.js';
import { CEX4_TO_CEX8 } from '../zcrypt/cex4.js';
import type { MatrixDev } from './matrix-dev.js';
import type { MatrixMdev } from './matrix-mdev.js';
import { getUpdateLocksByApqn, getUpdateLocksForMdev, lockKvmAndMdevs, releaseUpdateLocks } from './update-locks.js';
import { filterCdoms, filterMatrix } from './filter.js';
import { linkQueue, resetQueue, resetQueuesForApids, unlinkQueue, updateGuestApcb } from './hotplug.js';
import { verifyNoSharing } from './assign.js';
import { flawWindow, flawed } from '../scenarios/flaw.js';

export const VFIO_AP_DRV_NAME = 'vfio_ap';

export function vfioApDriver(md: MatrixDev): ApDriver {
  return {
    name: VFIO_AP_DRV_NAME,
    isDefault: false,
    devType: 'queue',
    hwtypes: CEX4_TO_CEX8,
    devices: new Set<ApDevice>(),
    probe: (dev) => probeQueue(md, dev as ApQueue),
    remove: (dev) => removeQueue(md, dev as ApQueue),
    inUse: (apm, aqm) => resourceInUse(md, apm, aqm),
    onConfigChanged: (cur, old) => onCfgChanged(md, cur, old),
    onScanComplete: () => onScanComplete(md),
  };
}

/**
 * A queue bound to vfio_ap: create its object (the `status` attribute appears), link it into the
 * mdev that holds its APQN and, unless a configuration change is being processed for that mdev,
 * filter again: binding the last missing queue of an adapter hot-plugs the adapter.
 * @kernel vfio_ap_mdev_probe_queue
 */
async function probeQueue(md: MatrixDev, aq: ApQueue): Promise<void> {
  const q: VfioApQueue = { apqn: aq.qid, matrixMdev: undefined, resetStatus: 0 };
  aq.vfio = q;
  const site = { op: `probe ${aq.name}`, fn: 'vfio_ap_mdev_probe_queue' };
  const held = await getUpdateLocksByApqn(md, aq.apid, aq.apqi, site);
  try {
    const mdev = held.mdev;
    if (!mdev) return;
    linkQueue(mdev, q);
    if (!mdev.apmAdd.isEmpty() || !mdev.aqmAdd.isEmpty()) return;
    const { changed, apmFiltered } = filterMatrix(md, mdev);
    if (changed) {
      updateGuestApcb(md, mdev);
      await resetQueuesForApids(md, mdev, apmFiltered);
    }
  } finally {
    releaseUpdateLocks(md, held);
  }
}

/**
 * A queue leaving vfio_ap: if it was in the guest's view the whole adapter is unplugged and its
 * linked queues reset; otherwise only this queue is reset (if still in the host configuration).
 * @kernel vfio_ap_mdev_remove_queue
 */
async function removeQueue(md: MatrixDev, aq: ApQueue): Promise<void> {
  const q = aq.vfio;
  if (!q) return;
  const site = { op: `remove ${aq.name}`, fn: 'vfio_ap_mdev_remove_queue' };
  const linked = q.matrixMdev ? md.findMdev(q.matrixMdev.uuid) : undefined;
  const held = await getUpdateLocksForMdev(md, linked, site);
  try {
    const mdev = q.matrixMdev ? md.findMdev(q.matrixMdev.uuid) : undefined;
    if (mdev) {
      const s = mdev.shadowApcb;
      if (s.apm.test(aq.apid) && s.aqm.test(aq.apqi)) {
        s.apm.clear(aq.apid);
        updateGuestApcb(md, mdev);
        const qlist: VfioApQueue[] = [];
        for (const apqi of s.aqm.ids()) {
          const lq = mdev.qtable.get(mkqid(aq.apid, apqi));
          if (lq) qlist.push(lq);
        }
        for (const lq of qlist) await resetQueue(md, lq);
      } else if (md.info.apm.test(aq.apid) && md.info.aqm.test(aq.apqi)) {
        await resetQueue(md, q);
      }
      unlinkQueue(mdev, q);
    } else if (md.info.apm.test(aq.apid) && md.info.aqm.test(aq.apqi)) {
      await resetQueue(md, q);
    }
    aq.vfio = undefined;
    // vfio_ap_queue_dev_remove: the `status` attribute group goes with the queue's vfio_ap object.
    md.k.removals.removed(`vfio_ap remove ${aq.name}`);
  } finally {
    releaseUpdateLocks(md, held);
  }
}

/**
 * The in-use question of an apmask/aqmask write (called with ap_perms_mutex held). Trylock profile
 * (spec decision 2): when guests_lock or mdevs_lock is held by anyone, give up at once (EBUSY); this
 * is what breaks the ABBA with assignments that take ap_perms_mutex last. Mainline: block.
 * @kernel vfio_ap_mdev_resource_in_use
 */
async function resourceInUse(md: MatrixDev, apm: ApMask, aqm: ApMask): Promise<boolean> {
  const site = { op: 'in_use', fn: 'vfio_ap_mdev_resource_in_use' };
  // Flawed 'apmask-assign' (spec §16 item 1, Halil Pasic's review of the 2021 dynamic-configuration
  // series): the trylock profile's assign order, but this check blocks; ap_perms_mutex is held here.
  const blockingFlaw = flawed(md.k, 'apmask-assign');
  if (md.k.profile === 'mainline' || blockingFlaw) {
    if (blockingFlaw) await flawWindow(md.k, 'apmask-assign');
    await md.guestsLock.lock(site);
    try {
      await md.mdevsLock.lock(site);
    } catch (e) {
      md.guestsLock.unlock(); // EDEADLK, under a flawed scenario only
      throw e;
    }
  } else {
    if (!md.guestsLock.trylock(site)) throw new KernelError(Errno.EBUSY, 'in_use: matrix_dev->guests_lock is contended');
    if (!md.mdevsLock.trylock(site)) {
      md.guestsLock.unlock();
      throw new KernelError(Errno.EBUSY, 'in_use: matrix_dev->mdevs_lock is contended');
    }
  }
  try {
    verifyNoSharing(md, undefined, apm, aqm);
    return false;
  } catch (e) {
    if (e instanceof KernelError && e.errno === Errno.EADDRINUSE) return true;
    throw e;
  } finally {
    md.mdevsLock.unlock();
    md.guestsLock.unlock();
  }
}

/**
 * Start of a scan that saw a new configuration: take removed resources out of every guest view
 * (no resets: the queues are gone), note added ones for scan-complete, adopt the new QCI.
 * @kernel vfio_ap_on_cfg_changed → vfio_ap_mdev_on_cfg_remove, vfio_ap_mdev_on_cfg_add
 */
async function onCfgChanged(md: MatrixDev, cur: ApConfig, old: ApConfig): Promise<void> {
  const site = { op: 'config changed', fn: 'vfio_ap_on_cfg_changed' };
  await md.guestsLock.lock(site);
  try {
    const removedApm = old.apm.andNot(cur.apm);
    const removedAqm = old.aqm.andNot(cur.aqm);
    const removedAdm = old.adm.andNot(cur.adm);
    for (const mdev of md.mdevList) {
      await withMdevLocks(md, mdev, site, async () => {
        const s = mdev.shadowApcb;
        let changed = false;
        const apm = s.apm.andNot(removedApm.and(mdev.matrix.apm));
        const aqm = s.aqm.andNot(removedAqm.and(mdev.matrix.aqm));
        // Kernel bug kept as read (spec §14.4, §19 item 10): "removed AND NOT assigned" for control domains.
        const adm = s.adm.andNot(removedAdm.andNot(mdev.matrix.adm));
        changed = !apm.equals(s.apm) || !aqm.equals(s.aqm) || !adm.equals(s.adm);
        s.apm = apm;
        s.aqm = aqm;
        s.adm = adm;
        if (changed) updateGuestApcb(md, mdev);
      });
    }
    const addedApm = cur.apm.andNot(old.apm);
    const addedAqm = cur.aqm.andNot(old.aqm);
    const addedAdm = cur.adm.andNot(old.adm);
    if (md.mdevList.length > 0) {
      // Adapter-type filter (vfio_ap_mdev_cfg_add): adapters below CEX4 or not answering are dropped;
      // only newly added domains are queried (spec §19 item 17).
      const added = addedApm.clone();
      for (const apid of addedApm.ids()) {
        for (const apqi of addedAqm.ids()) {
          const hw = md.bus.hw.adapters.get(apid);
          if (!hw || hw.hwtype < 10 || md.bus.hw.queueResponse(apid, apqi) > 4) {
            added.clear(apid);
            break;
          }
        }
      }
      for (const mdev of md.mdevList) {
        await withMdevLocks(md, mdev, site, async () => {
          mdev.apmAdd = mdev.matrix.apm.and(added);
          mdev.aqmAdd = mdev.matrix.aqm.and(addedAqm);
          mdev.admAdd = mdev.matrix.adm.and(addedAdm);
        });
      }
    }
    md.info = cur.clone();
  } finally {
    md.guestsLock.unlock();
  }
}

/**
 * End of that scan: plug what was added into the guests whose matrix names it.
 * @kernel vfio_ap_on_scan_complete → vfio_ap_mdev_hot_plug_cfg
 */
async function onScanComplete(md: MatrixDev): Promise<void> {
  const site = { op: 'scan complete', fn: 'vfio_ap_on_scan_complete' };
  await md.guestsLock.lock(site);
  try {
    for (const mdev of md.mdevList) {
      if (mdev.apmAdd.isEmpty() && mdev.aqmAdd.isEmpty() && mdev.admAdd.isEmpty()) continue;
      await withMdevLocks(md, mdev, site, async () => {
        let doHotplug = false;
        let filtered: ApMask | undefined;
        if (!mdev.apmAdd.isEmpty() || !mdev.aqmAdd.isEmpty()) {
          const r = filterMatrix(md, mdev);
          doHotplug = r.changed;
          filtered = r.apmFiltered;
        }
        if (!mdev.admAdd.isEmpty()) doHotplug = filterCdoms(md, mdev) || doHotplug;
        if (doHotplug) updateGuestApcb(md, mdev);
        // Only control domains added: the kernel's filtered bitmap is uninitialised; reset nothing (§19 item 18).
        if (filtered) await resetQueuesForApids(md, mdev, filtered);
        mdev.apmAdd = ApMask.zero();
        mdev.aqmAdd = ApMask.zero();
        mdev.admAdd = ApMask.zero();
      });
    }
  } finally {
    md.guestsLock.unlock();
  }
}

/** kvm->lock (only when a guest is attached: the v6.17 NULL dereference is not reproduced) then mdevs_lock; guests_lock is already held. */
async function withMdevLocks(md: MatrixDev, mdev: MatrixMdev, site: { op: string; fn: string }, fn: () => Promise<void>): Promise<void> {
  const kvm = mdev.kvm;
  await lockKvmAndMdevs(md, kvm, site);
  try {
    await fn();
  } finally {
    md.mdevsLock.unlock();
    if (kvm) kvm.lock.unlock();
  }
}
