/**
 * What a deadlock scenario is: a lock ordering the vfio_ap driver (or the VFIO/KVM code around
 * it) once had, the ordering it has now, and a workload of concurrent clients that makes the old
 * one deadlock. The clients are written as what a user does to a mount (sysfs writes, `apsysfs ctl`
 * requests), so the same workload runs in-process (runScenario) and from separate processes.
 */
import type { ScenarioName } from './flaw.js';

/** One thing a client does; each is one system call or ctl request, hence one kernel task. */
export type ClientOp =
  /** `echo VALUE > MOUNT/PATH`: one write(2) of VALUE (with its newline) to a sysfs file. */
  | { readonly op: 'write'; readonly path: string; readonly value: string }
  /** `apsysfs ctl guest attach UUID --guest GUEST`: QEMU starts GUEST with the mdev (vfio/qemu.ts). */
  | { readonly op: 'guest-attach'; readonly uuid: string; readonly guest: string }
  /** `apsysfs ctl guest detach UUID`: the guest's QEMU stops. */
  | { readonly op: 'guest-detach'; readonly uuid: string }
  /** A vCPU of GUEST intercepts PQAP(AQIC) for APQN (scenarios/kvm-paths.ts vcpuPqap). */
  | { readonly op: 'vcpu-pqap'; readonly guest: string; readonly apqn: string; readonly vcpu?: number }
  /** KVM_S390_PV_COMMAND on GUEST: kvm->lock, then every vCPU's mutex (kvm-paths.ts kvmPvCommand). */
  | { readonly op: 'kvm-pv'; readonly guest: string };

/** A client: its ops run one after the other, like one shell or one QEMU thread. */
export interface ScenarioClient {
  readonly name: string;
  readonly ops: readonly ClientOp[];
}

export interface Scenario {
  readonly name: ScenarioName;
  /** One line. */
  readonly title: string;
  /** What went wrong, and where the two paths meet. */
  readonly explanation: string;
  /** The flawed ordering, as the selected scenario makes every operation take it. */
  readonly flawed: string;
  /** What apsysfs ships (the kernel's current ordering). */
  readonly fixed: string;
  /** Where the history is written down: commits, mails, the spec. */
  readonly history: readonly string[];
  /** Overrides of the default topology file (docs/topology.md) the workload runs on. */
  readonly topology: Readonly<Record<string, unknown>>;
  /** Done one at a time before the clients start; each must succeed. */
  readonly setup: readonly ClientOp[];
  /**
   * Started together. In the flawed design every client stops at the scenario's window while
   * holding its first lock(s); they go on in this order, so the last one closes the wait cycle
   * and is the one that fails with EDEADLK.
   */
  readonly clients: readonly ScenarioClient[];
  /** The inversion lockdep reports in the flawed design: the chain runs from `taking` to `held`. */
  readonly expected: {
    readonly taking: string;
    readonly held: string;
    /** Lock classes from `taking` to `held`, each taken while the previous one was held. */
    readonly chain: readonly string[];
    /** The client that fails with EDEADLK. */
    readonly victim: string;
  };
}

/**
 * How a client op reads as a command against a mount (relative paths), for listings and logs.
 * `ctl guest pqap` and `ctl guest pv` drive kvm-paths.ts's verbs (control/scenarios.ts).
 */
export function describeOp(op: ClientOp): string {
  switch (op.op) {
    case 'write':
      return `echo ${op.value} > ${op.path}`;
    case 'guest-attach':
      return `apsysfs ctl guest attach ${op.uuid} --guest ${op.guest}`;
    case 'guest-detach':
      return `apsysfs ctl guest detach ${op.uuid}`;
    case 'vcpu-pqap':
      return `apsysfs ctl guest pqap ${op.guest} ${op.apqn}${op.vcpu === undefined ? '' : ` --vcpu ${op.vcpu}`}`;
    case 'kvm-pv':
      return `apsysfs ctl guest pv ${op.guest}`;
  }
}

/** The two mdevs of test/fixtures/topologies/mdevs.json, which the scenarios share. */
export const U1 = 'a297db4a-f4c2-11e6-90f6-d3b88d6c9525';
export const U2 = '62177883-f1bb-47f0-914d-32a22e3a8804';

/**
 * test/fixtures/topologies/mdevs.json as overrides of the default topology: adapters 5 and 6 left
 * to vfio_ap; U1 holds 05.0004 and 05.0047 (control domain 4), U2 holds 06.0004 and 06.0006.
 */
export const MDEVS_TOPOLOGY = {
  apmask: '+0-4,+7-255',
  mdevs: [
    { uuid: U1, adapters: ['0x05'], domains: ['0x0004', '0x0047'], controlDomains: ['0x0004'] },
    { uuid: U2, adapters: ['0x06'], domains: ['0x0004', '0x0006'], controlDomains: ['0x0004'] },
  ],
} as const;

export const mdevFile = (uuid: string, file: string): string => `devices/vfio_ap/matrix/${uuid}/${file}`;

/** Lock class names as lockdep prints them. */
export const CLASS = {
  apPerms: 'ap_perms_mutex',
  guests: 'matrix_dev->guests_lock',
  mdevs: 'matrix_dev->mdevs_lock',
  kvm: '&kvm->lock',
  pqapHook: '&kvm->arch.crypto.pqap_hook_rwsem',
  vcpu: '&vcpu->mutex',
  groupLock: '&group->group_lock',
  devSet: '&new_dev_set->lock',
} as const;
