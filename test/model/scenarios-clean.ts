/**
 * The shipped design stays clean (issue "Replay the driver's historic deadlocks", point 4): with
 * the default (trylock) and the mainline ordering, a workload that mixes every path the deadlock
 * scenarios use - assign/unassign, apmask/aqmask writes with rebinding, guest attach/detach with
 * their kvm-vfio release, vCPU PQAP interceptions, KVM_S390_PV_COMMAND, bus scans - run by many
 * concurrent clients records no lockdep report and no client ever gets EDEADLK.
 */
import t from 'tap';
import { Errno, KernelError } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import type { LockProfile } from '../../src/model/kernel.js';
import { kvmPvCommand, vcpuPqap, type ClientOp } from '../../src/model/scenarios/index.js';
import { OK, U1, U2, hostFromFixture, noLockdepReports, sysfs } from '../helpers/model.js';

const m = (u: string, f: string) => `devices/vfio_ap/matrix/${u}/${f}`;

/** Each client runs its ops in order, ROUNDS times. */
const CLIENTS: Record<string, ClientOp[]> = {
  'vm1 life': [
    { op: 'guest-attach', uuid: U1, guest: 'vm1' },
    { op: 'guest-detach', uuid: U1 },
  ],
  'vm2 life': [
    { op: 'guest-attach', uuid: U2, guest: 'vm2' },
    { op: 'guest-detach', uuid: U2 },
  ],
  'vm1 hot-plugs U2': [
    { op: 'guest-attach', uuid: U2, guest: 'vm1' },
    { op: 'guest-detach', uuid: U2 },
  ],
  vcpus: [
    { op: 'vcpu-pqap', guest: 'vm1', apqn: '05.0004' },
    { op: 'vcpu-pqap', guest: 'vm2', apqn: '06.0004', vcpu: 1 },
    { op: 'vcpu-pqap', guest: 'vm1', apqn: '06.0006', vcpu: 1 },
  ],
  'secure execution': [
    { op: 'kvm-pv', guest: 'vm1' },
    { op: 'kvm-pv', guest: 'vm2' },
  ],
  'assign U1': [
    { op: 'write', path: m(U1, 'assign_domain'), value: '6' },
    { op: 'write', path: m(U1, 'assign_control_domain'), value: '1' },
    { op: 'write', path: m(U1, 'unassign_domain'), value: '6' },
    { op: 'write', path: m(U1, 'unassign_control_domain'), value: '1' },
  ],
  'assign U2': [
    { op: 'write', path: m(U2, 'assign_domain'), value: '0x54' },
    { op: 'write', path: m(U2, 'ap_config'), value: '0x02,0x0a,0x08' },
    { op: 'write', path: m(U2, 'unassign_domain'), value: '0x54' },
    { op: 'write', path: m(U2, 'ap_config'), value: '0x02,0x0a,0x08' },
  ],
  masks: [
    { op: 'write', path: 'bus/ap/apmask', value: '-0x0b' },
    { op: 'write', path: 'bus/ap/apmask', value: '+6' },
    { op: 'write', path: 'bus/ap/aqmask', value: '-0x54' },
    { op: 'write', path: 'bus/ap/apmask', value: '+0x0b' },
    { op: 'write', path: 'bus/ap/aqmask', value: '+0x54' },
  ],
  'bind and scan': [
    { op: 'write', path: 'bus/ap/drivers/vfio_ap/unbind', value: '05.0047' },
    { op: 'write', path: 'bus/ap/scans', value: '1' },
    { op: 'write', path: 'bus/ap/drivers/vfio_ap/bind', value: '05.0047' },
  ],
};
const ROUNDS = 4;

async function run(host: Host, write: (p: string, v: string) => Promise<Errno | 0>, op: ClientOp): Promise<Errno | 0> {
  try {
    switch (op.op) {
      case 'write':
        return await write(op.path, `${op.value}\n`);
      case 'guest-attach':
        await host.attachGuest(op.uuid, op.guest);
        return OK;
      case 'guest-detach':
        await host.detachGuest(op.uuid);
        return OK;
      case 'vcpu-pqap':
        await vcpuPqap(host.matrixDev, host.guest(op.guest), op.apqn, op.vcpu === undefined ? {} : { vcpu: op.vcpu });
        return OK;
      case 'kvm-pv':
        await kvmPvCommand(host.k, host.guest(op.guest));
        return OK;
    }
  } catch (e) {
    if (e instanceof KernelError) return e.errno;
    throw e;
  }
}

for (const kernel of ['trylock', 'mainline'] as LockProfile[]) {
  t.test(`shipped ${kernel} profile: ${Object.keys(CLIENTS).length} concurrent clients, no report, no EDEADLK`, async (t) => {
    const host = await hostFromFixture('mdevs', { kernel });
    const sys = sysfs(host);
    const answers = new Map<string, number>();
    const readers = async (): Promise<void> => {
      for (let i = 0; i < ROUNDS * 3; i++) {
        for (const f of ['matrix', 'guest_matrix', 'control_domains']) await sys.read(m(U1, f));
        await sys.read('devices/ap/card05/05.0004/status');
      }
    };
    await Promise.all([
      readers(),
      ...Object.entries(CLIENTS).map(async ([name, ops]) => {
        for (let round = 0; round < ROUNDS; round++) {
          for (const op of ops) {
            const e = await run(host, sys.write, op);
            const key = `${name}: ${e === OK ? 'OK' : Errno[e]}`;
            answers.set(key, (answers.get(key) ?? 0) + 1);
            t.not(e, Errno.EDEADLK, `${name} round ${round}: never EDEADLK`);
          }
        }
      }),
    ]);
    t.same(host.lockdep.reports.map((r) => r.text), [], 'no inversion, no wait cycle');
    t.match(host.lockdep.summary(), '\ntasks holding or waiting (0):\n', 'every lock released');
    t.ok(answers.size > Object.keys(CLIENTS).length, `answers: ${[...answers].map(([k, n]) => `${k} x${n}`).join(', ')}`);
    // Clean up what a round may have left attached.
    for (const u of [U1, U2]) if (host.mdev(u)!.kvm) await host.detachGuest(u);
    const edges = new Set(host.lockdep.edges().map((e) => `${e.from} -> ${e.to}`));
    for (const e of ['&group->group_lock -> &new_dev_set->lock', '&kvm->lock -> &group->kvm_ref_lock', '&kvm->lock -> &vcpu->mutex', '&vcpu->mutex -> &kvm->arch.crypto.pqap_hook_rwsem']) {
      t.ok(edges.has(e), `exercised: ${e}`);
    }
  });
}

noLockdepReports(t);
