/**
 * Scenario 'kvm-vfio-release': the kvm-vfio device's release (kvm->lock held) against opening the
 * mdev's VFIO device (group_lock → dev_set->lock → vfio_ap's guests_lock → kvm->lock).
 */
import { CLASS, MDEVS_TOPOLOGY, U1, U2, type Scenario } from './scenario.js';

export const kvmVfioRelease: Scenario = {
  name: 'kvm-vfio-release',
  title: 'kvm-vfio release against opening the device: kvm->lock vs the VFIO group lock',
  explanation:
    'Opening the mdev\'s device holds group->group_lock and dev_set->lock while vfio_ap\'s open_device takes ' +
    'guests_lock and kvm->lock. When QEMU closes the kvm-vfio device, KVM releases it with kvm->lock held, ' +
    'and the release clears each group\'s KVM pointer through vfio_file_set_kvm. If that takes ' +
    'group->group_lock, a guest stopping while another device of the same guest is being opened deadlocks.',
  flawed:
    'vfio_file_set_kvm takes group->group_lock, so kvm_vfio_release (under kvm->lock) orders ' +
    'kvm->lock → group->group_lock; the open reads group->kvm under group_lock only.',
  fixed:
    'vfio_file_set_kvm takes only the spinlock group->kvm_ref_lock, and the open takes its KVM reference ' +
    'under that spinlock before calling open_device: nothing under kvm->lock takes the group lock.',
  history: [
    '51cdc8bc120e "kvm/vfio: Fix potential deadlock on vfio group_lock" (Yi Liu, v6.2-rc5): kvm_vfio_destroy ' +
      'became kvm_vfio_release, which KVM calls with kvm->lock held.',
    'Anthony Krowiak\'s lockdep report on it (2023-01-31, vfio_ap test VfioAPAssignMdevToGuestTest): ' +
      '"CPU 0/KVM is trying to acquire &group->group_lock at vfio_file_set_kvm, but task is already holding ' +
      '&kvm->lock at kvm_device_release"; chain &group->group_lock → &new_dev_set->lock → ' +
      '&matrix_dev->guests_lock → &kvm->lock.',
    '2b48f52f2bff "vfio: fix deadlock between group lock and kvm lock" (Matthew Rosato, v6.2-rc8): ' +
      'group->kvm_ref_lock, vfio_device_get_kvm_safe under it.',
  ],
  topology: MDEVS_TOPOLOGY,
  setup: [{ op: 'guest-attach', uuid: U1, guest: 'vm1' }],
  clients: [
    { name: 'vm1 stops', ops: [{ op: 'guest-detach', uuid: U1 }] },
    { name: 'vm1 hot-plugs U2', ops: [{ op: 'guest-attach', uuid: U2, guest: 'vm1' }] },
  ],
  expected: {
    taking: CLASS.groupLock,
    held: CLASS.kvm,
    chain: [CLASS.groupLock, CLASS.devSet, CLASS.guests, CLASS.kvm],
    victim: 'vm1 hot-plugs U2',
  },
};
