/**
 * The kvm-vfio pseudo device: QEMU creates one per VM (KVM_CREATE_DEVICE, KVM_DEV_TYPE_VFIO) and
 * adds each VFIO group file to it, which sets the group's KVM pointer (what vfio_ap's open_device
 * later finds as device->kvm). When its file is closed, KVM releases it with kvm->lock held, and
 * the release clears the KVM pointer of every group it still has.
 * @kernel virt/kvm/vfio.c struct kvm_vfio, kvm_vfio_create, kvm_vfio_file_add, kvm_vfio_file_del,
 *         kvm_vfio_release; virt/kvm/kvm_main.c kvm_ioctl_create_device, kvm_device_release
 */
import { Errno, KernelError } from '../errno.js';
import type { KernelCtx } from '../kernel.js';
import type { Kvm } from '../kvm/guest.js';
import { KernelMutex } from '../lock/kernel-mutex.js';
import { flawWindow } from '../scenarios/flaw.js';
import { type VfioGroup, vfioFileSetKvm } from './group.js';
import { withLock } from './vfio-main.js';

export class KvmVfio {
  /** @kernel kv->lock (mutex_init in kvm_vfio_create) */
  readonly lock: KernelMutex;
  /** kv->file_list, in the order the files were added. */
  readonly files: VfioGroup[] = [];

  constructor(
    readonly k: KernelCtx,
    readonly kvm: Kvm,
  ) {
    this.lock = new KernelMutex(k.lockdep, '&kv->lock', kvm.name);
  }
}

/** kvm->devices, reduced to the one device type modelled. */
const devices = new WeakMap<Kvm, KvmVfio>();

/** The guest's kvm-vfio device, if QEMU created one. */
export const kvmVfioOf = (kvm: Kvm): KvmVfio | undefined => devices.get(kvm);

/**
 * KVM_CREATE_DEVICE(KVM_DEV_TYPE_VFIO): under kvm->lock; one per VM (EBUSY).
 * @kernel kvm_main.c kvm_ioctl_create_device → vfio.c kvm_vfio_create
 */
export function kvmVfioCreate(k: KernelCtx, kvm: Kvm, op: string): Promise<KvmVfio> {
  return withLock(kvm.lock, { op, fn: 'kvm_ioctl_create_device' }, async () => {
    if (devices.has(kvm)) throw new KernelError(Errno.EBUSY, `guest ${kvm.name} already has a kvm-vfio device`);
    const kv = new KvmVfio(k, kvm);
    devices.set(kvm, kv);
    return kv;
  });
}

/**
 * KVM_DEV_VFIO_FILE_ADD: under kv->lock, list the group and point it at this VM. EEXIST when listed.
 * @kernel vfio.c kvm_vfio_file_add
 */
export function kvmVfioFileAdd(kv: KvmVfio, group: VfioGroup, op: string): Promise<void> {
  return withLock(kv.lock, { op, fn: 'kvm_vfio_file_add' }, async () => {
    if (kv.files.includes(group)) throw new KernelError(Errno.EEXIST, `the vfio group of ${group.name} is already added to ${kv.kvm.name}`);
    kv.files.push(group);
    await vfioFileSetKvm(group, kv.kvm, op);
  });
}

/**
 * KVM_DEV_VFIO_FILE_DEL: under kv->lock, unlist the group and clear its KVM. ENOENT when not listed.
 * @kernel vfio.c kvm_vfio_file_del
 */
export function kvmVfioFileDel(kv: KvmVfio, group: VfioGroup, op: string): Promise<void> {
  return withLock(kv.lock, { op, fn: 'kvm_vfio_file_del' }, async () => {
    if (!kv.files.includes(group)) throw new KernelError(Errno.ENOENT, `the vfio group of ${group.name} is not added to ${kv.kvm.name}`);
    await vfioFileSetKvm(group, undefined, op);
    unlist(kv, group);
  });
}

/**
 * The device's file is closed (QEMU exits): with kvm->lock held, clear the KVM pointer of every
 * group still listed and drop the device. In the model only, a flawed ordering can make this fail
 * with EDEADLK; the groups not yet cleared then stay listed and the device stays.
 * @kernel kvm_main.c kvm_device_release → vfio.c kvm_vfio_release
 */
export function kvmDeviceRelease(kv: KvmVfio, op: string): Promise<void> {
  return withLock(kv.kvm.lock, { op, fn: 'kvm_device_release' }, async () => {
    // The window of 'kvm-vfio-release': kvm->lock held, about to take a group's lock.
    await flawWindow(kv.k, 'kvm-vfio-release');
    for (let group = kv.files[0]; group; group = kv.files[0]) {
      await vfioFileSetKvm(group, undefined, op);
      // fput(kvf->file): the last reference, if it is one, is dropped later, not under kvm->lock.
      unlist(kv, group);
    }
    devices.delete(kv.kvm);
  });
}

/**
 * Take `group` off the list once its KVM is cleared. By identity: in the model a FILE_DEL can run
 * while a release waits (the kernel's file reference rules that out), and both may clear it.
 */
function unlist(kv: KvmVfio, group: VfioGroup): void {
  const i = kv.files.indexOf(group);
  if (i >= 0) kv.files.splice(i, 1);
}
