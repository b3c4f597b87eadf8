/**
 * Scenario 'pqap-hook' (spec §16 item 3): the PQAP hook rwsem taken for write under mdevs_lock
 * against a vCPU in the PQAP handler.
 */
import { CLASS, MDEVS_TOPOLOGY, U1, type Scenario } from './scenario.js';

export const pqapHook: Scenario = {
  name: 'pqap-hook',
  title: 'PQAP hook rwsem taken for write while the mdevs lock is held, against a vCPU in the PQAP handler',
  explanation:
    'A vCPU that intercepts PQAP(AQIC) holds kvm->arch.crypto.pqap_hook_rwsem for read while vfio_ap\'s ' +
    'handler takes mdevs_lock. set_kvm/unset_kvm install and remove the hook under the rwsem taken for ' +
    'write. If they do that with mdevs_lock held, a guest stopping while one of its vCPUs handles a PQAP ' +
    'deadlocks: the writer waits for the reader, the reader for mdevs_lock.',
  flawed: 'vfio_ap_mdev_set_kvm/_unset_kvm take pqap_hook_rwsem for write after guests_lock → kvm->lock → mdevs_lock.',
  fixed: 'They take and release pqap_hook_rwsem (write) before taking any vfio_ap lock; it is never held together with them.',
  history: [
    '1e753732bda6 "s390/vfio-ap: r/w lock for PQAP interception handler function pointer" (Tony Krowiak, v5.15).',
    '86956e70761b "s390/vfio-ap: replace open coded locks for VFIO_GROUP_NOTIFY_SET_KVM notification" (v5.15): ' +
      'the hook is set under the rwsem before kvm->lock and matrix_dev->lock are taken.',
    'Documentation/arch/s390/vfio-ap-locking.rst "The PQAP Hook Lock"; spec §16 item 3 (the rule; no ' +
      'lockdep report of this exact ordering was found, it is the one the design rules out).',
  ],
  topology: MDEVS_TOPOLOGY,
  setup: [{ op: 'guest-attach', uuid: U1, guest: 'vm1' }],
  clients: [
    { name: 'vm1 stops', ops: [{ op: 'guest-detach', uuid: U1 }] },
    { name: 'vm1 CPU 0', ops: [{ op: 'vcpu-pqap', guest: 'vm1', apqn: '05.0004' }] },
  ],
  expected: { taking: CLASS.mdevs, held: CLASS.pqapHook, chain: [CLASS.mdevs, CLASS.pqapHook], victim: 'vm1 CPU 0' },
};
