/**
 * The KVM-side paths the deadlock scenarios need (src/model/scenarios/kvm-paths.ts): a vCPU's
 * PQAP(AQIC) interception through vfio_ap's hook, and KVM_S390_PV_COMMAND.
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import { AP_RESPONSE_NORMAL, AP_RESPONSE_Q_NOT_AVAIL, VCPUS, kvmPvCommand, vcpuPqap } from '../../src/model/scenarios/index.js';
import { U1, hostFromFixture, kerr, noLockdepReports } from '../helpers/model.js';

t.test('PQAP(AQIC): 0x00 for a queue of the attached mdev, 0x01 otherwise', async (t) => {
  const host = await hostFromFixture('mdevs');
  const md = host.matrixDev;
  const vm1 = host.guest('vm1');
  t.equal(await vcpuPqap(md, vm1, '05.0004'), AP_RESPONSE_Q_NOT_AVAIL, 'no hook before attach');
  await host.attachGuest(U1, 'vm1');
  t.equal(await vcpuPqap(md, vm1, '05.0004'), AP_RESPONSE_NORMAL);
  t.equal(await vcpuPqap(md, vm1, '05.0047', { vcpu: 1 }), AP_RESPONSE_NORMAL, 'any vCPU');
  t.equal(await vcpuPqap(md, vm1, '06.0004'), AP_RESPONSE_Q_NOT_AVAIL, 'the other mdev\'s queue');
  t.equal(await vcpuPqap(md, vm1, '05.0006'), AP_RESPONSE_Q_NOT_AVAIL, 'not assigned');
  await t.rejects(vcpuPqap(md, vm1, '5.4'), kerr(Errno.EINVAL), 'not an APQN');
  await t.rejects(vcpuPqap(md, vm1, '05.0004', { vcpu: VCPUS }), kerr(Errno.EINVAL), 'no such vCPU');
  await host.detachGuest(U1);
  t.equal(await vcpuPqap(md, vm1, '05.0004'), AP_RESPONSE_Q_NOT_AVAIL, 'the hook is gone with the guest');
  const edges = host.lockdep.edges().map((e) => `${e.from} -> ${e.to}`);
  t.ok(edges.includes('&vcpu->mutex -> &kvm->arch.crypto.pqap_hook_rwsem'));
  t.ok(edges.includes('&kvm->arch.crypto.pqap_hook_rwsem -> matrix_dev->mdevs_lock'));
});

t.test('KVM_S390_PV_COMMAND takes every vCPU mutex under kvm->lock, next to an attached mdev', async (t) => {
  const host = await hostFromFixture('mdevs');
  await host.attachGuest(U1, 'vm1');
  await kvmPvCommand(host.k, host.guest('vm1'));
  t.equal(await vcpuPqap(host.matrixDev, host.guest('vm1'), '05.0004'), AP_RESPONSE_NORMAL);
  await host.detachGuest(U1);
  const edges = host.lockdep.edges().map((e) => `${e.from} -> ${e.to}`);
  t.ok(edges.includes('&kvm->lock -> &vcpu->mutex'));
  t.ok(edges.includes('&kvm->lock -> matrix_dev->mdevs_lock'), 'shipped: kvm->lock before mdevs_lock');
  t.notOk(edges.includes('matrix_dev->mdevs_lock -> &kvm->lock'));
  t.equal(host.lockdep.reports.length, 0);
});

noLockdepReports(t);
