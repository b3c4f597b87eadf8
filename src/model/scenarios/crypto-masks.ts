/**
 * Scenario 'crypto-masks' (spec §16 item 2): vfio_ap's lock held while KVM's set-masks function
 * takes kvm->lock, against KVM paths that hold kvm->lock.
 */
import { CLASS, MDEVS_TOPOLOGY, U1, mdevFile, type Scenario } from './scenario.js';

export const cryptoMasks: Scenario = {
  name: 'crypto-masks',
  title: 'vfio_ap lock held while calling into KVM for the crypto masks, against KVM paths holding kvm->lock',
  explanation:
    'Hot plug writes the guest\'s APCB with kvm_arch_crypto_set_masks. When that function took kvm->lock ' +
    'itself, vfio_ap called it with its own lock held: mdevs_lock → kvm->lock. KVM holds kvm->lock while it ' +
    'takes every vCPU\'s mutex (KVM_S390_PV_COMMAND, starting a Secure Execution guest), and a vCPU holds ' +
    'its mutex while vfio_ap\'s PQAP handler takes mdevs_lock: a three-way cycle.',
  flawed: 'The update locks are taken as guests_lock → mdevs_lock → kvm->lock (kvm->lock inside the set-masks call).',
  fixed:
    'kvm->lock is taken before mdevs_lock (guests_lock → kvm->lock → mdevs_lock), and ' +
    'kvm_arch_crypto_set_masks/_clear_masks require the caller to hold kvm->lock; guests_lock makes the ' +
    'kvm pointer safe to read before kvm->lock is taken.',
  history: [
    'f21916ec4826 "s390/vfio-ap: clean up vfio_ap resources when KVM pointer invalidated" set the masks under ' +
      'matrix_dev->lock; 0cc00c8d4050 "s390/vfio-ap: fix circular lockdep when setting/clearing crypto masks" ' +
      '(v5.12) dropped the lock around the call (open-coded kvm_busy wait).',
    'Halil Pasic\'s lockdep report on the v14 dynamic-configuration series (2021-04-08): "CPU 1/KVM is trying ' +
      'to acquire &matrix_dev->lock at handle_pqap, but task is already holding &vcpu->mutex"; chain ' +
      '&matrix_dev->lock → &kvm->lock (kvm_arch_crypto_set_masks from assign_adapter_store) → &vcpu->mutex ' +
      '(kvm_s390_cpus_to_pv).',
    '86956e70761b "s390/vfio-ap: replace open coded locks for VFIO_GROUP_NOTIFY_SET_KVM notification" (v5.15): ' +
      'kvm->lock before matrix_dev->lock, set/clear masks require kvm->lock held; guests_lock came with the ' +
      '2022 rework (spec §16 item 2).',
  ],
  topology: MDEVS_TOPOLOGY,
  setup: [{ op: 'guest-attach', uuid: U1, guest: 'vm1' }],
  clients: [
    { name: 'hot plug', ops: [{ op: 'write', path: mdevFile(U1, 'assign_domain'), value: '6' }] },
    { name: 'vm1 PV switch', ops: [{ op: 'kvm-pv', guest: 'vm1' }] },
    { name: 'vm1 CPU 0', ops: [{ op: 'vcpu-pqap', guest: 'vm1', apqn: '05.0004' }] },
  ],
  expected: {
    taking: CLASS.mdevs,
    held: CLASS.pqapHook,
    chain: [CLASS.mdevs, CLASS.kvm, CLASS.vcpu, CLASS.pqapHook],
    victim: 'vm1 CPU 0',
  },
};
