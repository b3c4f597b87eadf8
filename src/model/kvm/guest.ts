/**
 * A simulated KVM guest: its lock, the AP masks of its CRYCB (the APCB the guest sees) and the
 * PQAP hook slot. @kernel arch/s390/kvm/kvm-s390.c kvm_arch_crypto_set_masks / _clear_masks
 */
import { ApMask } from '../ap/ap-mask.js';
import type { KernelCtx } from '../kernel.js';
import { KernelMutex, KernelRwsem } from '../lock/kernel-mutex.js';

export interface Apcb {
  apm: ApMask;
  aqm: ApMask;
  adm: ApMask;
}

export class Kvm {
  /** @kernel kvm->lock */
  readonly lock: KernelMutex;
  /** @kernel kvm->arch.crypto.pqap_hook_rwsem */
  readonly pqapHookRwsem: KernelRwsem;
  /** The mdev whose PQAP handler KVM calls. */
  pqapHook: { readonly uuid: string } | undefined;
  readonly apcb: Apcb = { apm: ApMask.zero(), aqm: ApMask.zero(), adm: ApMask.zero() };
  /** How many times the guest's APCB was rewritten (what a guest would notice as hot plug events). */
  apcbUpdates = 0;
  refs = 1;

  constructor(
    k: KernelCtx,
    readonly name: string,
    /** Has a crypto control block (crycbd != 0); without one vfio_ap does nothing on open. */
    readonly crycbd = true,
  ) {
    this.lock = new KernelMutex(k.lockdep, '&kvm->lock', name);
    this.pqapHookRwsem = new KernelRwsem(k.lockdep, '&kvm->arch.crypto.pqap_hook_rwsem', name);
  }

  /** @kernel kvm_arch_crypto_set_masks: the caller must hold kvm->lock (all vCPUs are blocked while it writes). */
  setMasks(apm: ApMask, aqm: ApMask, adm: ApMask): void {
    this.lock.assertHeld();
    this.apcb.apm = apm.clone();
    this.apcb.aqm = aqm.clone();
    this.apcb.adm = adm.clone();
    this.apcbUpdates++;
  }

  /** @kernel kvm_arch_crypto_clear_masks */
  clearMasks(): void {
    this.lock.assertHeld();
    this.apcb.apm = ApMask.zero();
    this.apcb.aqm = ApMask.zero();
    this.apcb.adm = ApMask.zero();
    this.apcbUpdates++;
  }
}
