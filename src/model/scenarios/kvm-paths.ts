/**
 * The KVM-side paths the historic deadlocks need and no sysfs file reaches: a vCPU that intercepts
 * PQAP(AQIC) and calls vfio_ap's hook, and KVM_S390_PV_COMMAND, which takes every vCPU's mutex
 * under kvm->lock. Each call is one task, named like the kernel's thread (`CPU 0/KVM`).
 *
 * Locks: vcpu->mutex (held for the whole KVM_RUN ioctl) → kvm->arch.crypto.pqap_hook_rwsem (read,
 * around the hook) → matrix_dev->mdevs_lock (vfio_ap's handler); kvm->lock → vcpu->mutex (PV).
 * @kernel virt/kvm/kvm_main.c kvm_vcpu_ioctl; arch/s390/kvm/priv.c handle_pqap;
 *         drivers/s390/crypto/vfio_ap_ops.c handle_pqap; arch/s390/kvm/kvm-s390.c
 *         kvm_s390_handle_pv → kvm_s390_cpus_to_pv
 */
import { Errno, KernelError } from '../errno.js';
import type { KernelCtx } from '../kernel.js';
import type { Kvm } from '../kvm/guest.js';
import { KernelMutex } from '../lock/kernel-mutex.js';
import { parseQueueName, type Apqn } from '../ap/apqn.js';
import type { MatrixDev } from '../vfio_ap/matrix-dev.js';
import { flawWindow } from './flaw.js';

/** AP response codes the handler answers with (asm/ap.h). */
export const AP_RESPONSE_NORMAL = 0x00;
export const AP_RESPONSE_Q_NOT_AVAIL = 0x01;

/** How many vCPUs a simulated guest has. */
export const VCPUS = 2;

const vcpus = new WeakMap<Kvm, KernelMutex[]>();

/** vcpu->mutex of the guest's vCPU `id` (created with the guest's first vCPU use). */
export function vcpuMutex(k: KernelCtx, kvm: Kvm, id: number): KernelMutex {
  let list = vcpus.get(kvm);
  if (!list) {
    list = Array.from({ length: VCPUS }, (_, i) => new KernelMutex(k.lockdep, '&vcpu->mutex', `${kvm.name} CPU ${i}`));
    vcpus.set(kvm, list);
  }
  const m = list[id];
  if (!m) throw new KernelError(Errno.EINVAL, `guest ${kvm.name} has vCPUs 0..${VCPUS - 1}, not ${id}`);
  return m;
}

/**
 * vCPU `vcpu` of `kvm` runs and the guest issues PQAP(AQIC) for `apqn` ("05.0004"): KVM calls
 * vfio_ap's hook under pqap_hook_rwsem (read). Returns the AP response code the guest sees:
 * 0x00 when the queue belongs to the guest's mdev, 0x01 otherwise (no hook, no guest, not in
 * the mdev's queue table). Throws EINVAL for a bad APQN or vCPU, EDEADLK when a flawed ordering's
 * deadlock was broken.
 */
export async function vcpuPqap(md: MatrixDev, kvm: Kvm, apqn: string, opts: { vcpu?: number } = {}): Promise<number> {
  const id = opts.vcpu ?? 0;
  const qid = parseQueueName(apqn);
  if (qid === undefined) throw new KernelError(Errno.EINVAL, `${JSON.stringify(apqn)} is not an APQN (e.g. 05.0004)`);
  const k = md.k;
  const op = `vcpu ${kvm.name}/${id} PQAP(AQIC) ${apqn}`;
  const mutex = vcpuMutex(k, kvm, id);
  return k.lockdep.runTask(`CPU ${id}/KVM`, async () => {
    await mutex.lock({ op, fn: 'kvm_vcpu_ioctl' });
    try {
      // The window of 'crypto-masks': the vCPU mutex held, the intercept about to be handled.
      await flawWindow(k, 'crypto-masks');
      await kvm.pqapHookRwsem.downRead({ op, fn: 'handle_pqap' });
      try {
        if (!kvm.pqapHook) return AP_RESPONSE_Q_NOT_AVAIL;
        // The window of 'pqap-hook': the rwsem held for read, vfio_ap's handler about to take mdevs_lock.
        await flawWindow(k, 'pqap-hook');
        return await vfioApHandlePqap(md, kvm, qid, op);
      } finally {
        kvm.pqapHookRwsem.upRead();
      }
    } finally {
      mutex.unlock();
    }
  });
}

/** @kernel vfio_ap_ops.c handle_pqap: under mdevs_lock, the hook's mdev must be attached to this guest and own the queue. */
async function vfioApHandlePqap(md: MatrixDev, kvm: Kvm, qid: Apqn, op: string): Promise<number> {
  await md.mdevsLock.lock({ op, fn: 'handle_pqap [vfio_ap]' });
  try {
    const mdev = md.mdevList.find((m) => m === kvm.pqapHook);
    if (!mdev || mdev.kvm !== kvm || !mdev.qtable.has(qid)) return AP_RESPONSE_Q_NOT_AVAIL;
    return AP_RESPONSE_NORMAL;
  } finally {
    md.mdevsLock.unlock();
  }
}

/**
 * KVM_S390_PV_COMMAND (e.g. KVM_PV_ENABLE, starting a Secure Execution guest): under kvm->lock,
 * every vCPU's mutex in turn (kvm_s390_cpus_to_pv). Throws EDEADLK when a flawed ordering's
 * deadlock was broken.
 */
export function kvmPvCommand(k: KernelCtx, kvm: Kvm): Promise<void> {
  const op = `KVM_S390_PV_COMMAND ${kvm.name}`;
  return k.lockdep.runTask(`qemu ${kvm.name}`, async () => {
    await kvm.lock.lock({ op, fn: 'kvm_s390_handle_pv' });
    try {
      // The window of 'crypto-masks': kvm->lock held, the vCPU mutexes next.
      await flawWindow(k, 'crypto-masks');
      for (let id = 0; id < VCPUS; id++) {
        const m = vcpuMutex(k, kvm, id);
        await m.lock({ op, fn: 'kvm_s390_cpus_to_pv' });
        m.unlock();
      }
    } finally {
      kvm.lock.unlock();
    }
  });
}
