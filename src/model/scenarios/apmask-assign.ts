/**
 * Scenario 'apmask-assign' (spec §16 item 1): the AP bus's mask mutex against vfio_ap's locks.
 */
import { CLASS, MDEVS_TOPOLOGY, U1, mdevFile, type Scenario } from './scenario.js';

export const apmaskAssign: Scenario = {
  name: 'apmask-assign',
  title: 'apmask write against assign_adapter: ap_perms_mutex vs guests_lock, with a blocking in-use check',
  explanation:
    'A write to apmask holds ap_perms_mutex while it asks vfio_ap whether the newly reserved APQNs ' +
    'are in use; vfio_ap needs guests_lock and mdevs_lock to answer. An assign_adapter/assign_domain ' +
    'write holds those vfio_ap locks while it asks the AP bus whether the new APQNs are reserved, which ' +
    'needs ap_perms_mutex. Each holds what the other waits for.',
  flawed:
    'assign_*/ap_config take guests_lock → [kvm->lock] → mdevs_lock and then ap_perms_mutex (the trylock ' +
    'profile\'s order), and the in-use callback takes guests_lock and mdevs_lock with a blocking mutex_lock ' +
    'while ap_perms_mutex is held.',
  fixed:
    'trylock profile (default): the in-use callback only tries guests_lock and mdevs_lock and answers EBUSY ' +
    'when either is taken, so it never waits (a trylock adds no ordering edge). mainline profile: ' +
    'assign_*/ap_config take ap_perms_mutex first, and the AP-bus helper asserts it is held.',
  history: [
    'Halil Pasic\'s review of the 2021 vfio_ap dynamic-configuration series (Tony Krowiak): the ABBA between ' +
      'the AP bus\'s mask mutex and vfio_ap\'s lock (spec §16 item 1).',
    'Revisions of that series used mutex_trylock with EBUSY/EAGAIN; comments in assign_adapter_store and ' +
      'assign_domain_store still list "-EAGAIN: lock could not be obtained" (spec §13).',
    'Mainline (v6.0 rework onwards): ap_perms_mutex (ap_attr_mutex in 6.19+) first; ' +
      'ap_apqn_in_matrix_owned_by_def_drv requires the caller to hold it.',
  ],
  topology: { apmask: MDEVS_TOPOLOGY.apmask, mdevs: [MDEVS_TOPOLOGY.mdevs[0]] },
  setup: [],
  clients: [
    { name: 'apmask writer', ops: [{ op: 'write', path: 'bus/ap/apmask', value: '+6' }] },
    { name: 'assigner', ops: [{ op: 'write', path: mdevFile(U1, 'assign_domain'), value: '6' }] },
  ],
  expected: { taking: CLASS.guests, held: CLASS.apPerms, chain: [CLASS.guests, CLASS.mdevs, CLASS.apPerms], victim: 'assigner' },
};
