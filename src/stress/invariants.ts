/**
 * What must hold whenever no operation is half done, checked against one state dump
 * (model/state-snapshot.ts). Each rule cites where the spec says so.
 */
import type { SnapshotMdev, SnapshotQueue, StateSnapshot } from '../model/state-snapshot.js';
import type { MatrixIds } from '../model/vfio_ap/matrix-mdev.js';

export const RULES = {
  'no-sharing': 'no APQN is in two mdevs (§13 vfio_ap_mdev_verify_no_sharing)',
  'not-reserved': "no APQN of an mdev is reserved for the host by apmask/aqmask (§13 validate_masks, §2 in_use)",
  'binding-follows-masks': 'a queue bound to cex4queue is reserved, one bound to vfio_ap is not (§6 ap_device_probe)',
  'queue-links': "a vfio_ap queue is linked to the mdev whose matrix holds it, and only then (§11 linking invariant)",
  'guest-matrix-inside': 'guest_matrix is inside matrix, and its adapters and domains inside the host configuration (§12 step 1)',
  'guest-matrix-whole-adapters': 'guest_matrix drops whole adapters only: every domain of matrix ∩ host stays, and every adapter left has all its queues passable (§12 step 2)',
  'apcb-is-guest-matrix': "an attached guest's APCB equals its mdev's guest_matrix, unless a remove waits for it (§14.6, §15)",
  'available-instances': 'available_instances + the number of mdevs = 65536 (§7)',
  'iommu-groups': 'every mdev not yet past its removal is alone in an IOMMU group of its own (vfio_register_emulated_iommu_dev)',
  'lockdep': 'the lock-order checker has no report (§16)',
} as const;
/** The invariants, and the rules checked otherwise: per operation (no-eio, bound) and by saving (nothing-lost). */
export type RuleName = keyof typeof RULES | 'no-eio' | 'bound' | 'nothing-lost';

export interface Violation {
  readonly rule: RuleName;
  readonly text: string;
}

export interface CheckResult {
  readonly violations: readonly Violation[];
  /** How many individual facts were checked. */
  readonly assertions: number;
}

const MAX_INSTANCES = 65536;
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
const apqn = (a: number, q: number): string => `${hex2(a)}.${hex4(q)}`;
const list = (ids: readonly number[]): string => (ids.length ? ids.map(hex2).join(',') : 'none');
const idsText = (x: MatrixIds): string => `adapters ${list(x.adapters)} domains ${list(x.domains)} control domains ${list(x.controlDomains)}`;
const sameIds = (a: MatrixIds, b: MatrixIds): boolean =>
  a.adapters.join() === b.adapters.join() && a.domains.join() === b.domains.join() && a.controlDomains.join() === b.controlDomains.join();

/** vfio_ap's _queue_passable: linked to this mdev, last reset normal (0), deconfigured (3) or checkstopped (4). */
function passable(q: SnapshotQueue | undefined, uuid: string): boolean {
  return q !== undefined && q.driver === 'vfio_ap' && q.mdev === uuid && (q.resetStatus === 0 || q.resetStatus === 3 || q.resetStatus === 4);
}

export function checkInvariants(s: StateSnapshot): CheckResult {
  const violations: Violation[] = [];
  let assertions = 0;
  const fail = (rule: RuleName, text: string): void => {
    violations.push({ rule, text });
  };
  const check = (ok: boolean, rule: RuleName, text: () => string): void => {
    assertions++;
    if (!ok) fail(rule, text());
  };
  const apmask = new Set(s.apmask);
  const aqmask = new Set(s.aqmask);
  const reserved = (a: number, q: number): boolean => apmask.has(a) && aqmask.has(q);
  const queues = new Map(s.queues.map((q) => [`${q.apid}.${q.apqi}`, q]));
  const queue = (a: number, q: number): SnapshotQueue | undefined => queues.get(`${a}.${q}`);

  // APQN → the mdev holding it.
  const holder = new Map<string, SnapshotMdev>();
  for (const m of s.mdevs) {
    for (const a of m.matrix.adapters) {
      for (const q of m.matrix.domains) {
        const key = `${a}.${q}`;
        const other = holder.get(key);
        check(other === undefined, 'no-sharing', () => `APQN ${apqn(a, q)} is assigned to ${m.uuid} and ${other!.uuid}`);
        holder.set(key, m);
        check(!reserved(a, q), 'not-reserved', () => `APQN ${apqn(a, q)} of ${m.uuid} is reserved for the host (apmask and aqmask bits set)`);
      }
    }
  }

  for (const q of s.queues) {
    if (q.driver === 'cex4queue') check(reserved(q.apid, q.apqi), 'binding-follows-masks', () => `${q.name} is bound to cex4queue but not reserved for the host`);
    if (q.driver === 'vfio_ap') {
      check(!reserved(q.apid, q.apqi), 'binding-follows-masks', () => `${q.name} is bound to vfio_ap but reserved for the host`);
      const want = holder.get(`${q.apid}.${q.apqi}`)?.uuid ?? null;
      check(q.mdev === want, 'queue-links', () => `${q.name} is linked to ${q.mdev ?? 'no mdev'}, but ${want ?? 'no mdev'} holds it`);
    } else {
      check(q.mdev === null, 'queue-links', () => `${q.name} is not bound to vfio_ap but linked to ${q.mdev}`);
    }
  }

  const host = { adapters: new Set(s.host.adapters), domains: new Set(s.host.domains) };
  for (const m of s.mdevs) {
    const g = m.guestMatrix;
    const inMatrix = { adapters: new Set(m.matrix.adapters), domains: new Set(m.matrix.domains), controlDomains: new Set(m.matrix.controlDomains) };
    for (const key of ['adapters', 'domains', 'controlDomains'] as const) {
      for (const id of g[key]) check(inMatrix[key].has(id), 'guest-matrix-inside', () => `guest_matrix of ${m.uuid} has ${key} ${hex2(id)}, which its matrix has not`);
    }
    // Control domains are left out on purpose: the kernel's "andnot" bug keeps a removed control domain (§14.4, §19 item 10).
    for (const a of g.adapters) check(host.adapters.has(a), 'guest-matrix-inside', () => `guest_matrix of ${m.uuid} has adapter ${hex2(a)}, which the host configuration has not`);
    for (const q of g.domains) check(host.domains.has(q), 'guest-matrix-inside', () => `guest_matrix of ${m.uuid} has domain ${hex4(q)}, which the host configuration has not`);

    const wantDomains = m.matrix.domains.filter((q) => host.domains.has(q));
    check(wantDomains.join() === g.domains.join(), 'guest-matrix-whole-adapters', () => `guest_matrix of ${m.uuid} has domains ${list(g.domains)}, matrix ∩ host has ${list(wantDomains)}: domains are never filtered`);
    for (const a of g.adapters) {
      for (const q of g.domains) {
        check(passable(queue(a, q), m.uuid), 'guest-matrix-whole-adapters', () => {
          const x = queue(a, q);
          const why = !x ? 'no such queue' : x.driver !== 'vfio_ap' ? `bound to ${x.driver ?? 'no driver'}` : x.mdev !== m.uuid ? `linked to ${x.mdev ?? 'no mdev'}` : `last reset rc ${x.resetStatus}`;
          return `guest_matrix of ${m.uuid} has adapter ${hex2(a)}, but queue ${apqn(a, q)} is not passable (${why})`;
        });
      }
    }

    if (m.guest !== null && m.state === 'active') {
      check(m.apcb !== null && sameIds(m.apcb, g), 'apcb-is-guest-matrix', () => `guest ${m.guest} of ${m.uuid} sees ${m.apcb ? idsText(m.apcb) : 'no APCB'}, guest_matrix is ${idsText(g)}`);
    }
  }
  const groups = new Map<number, string>();
  for (const m of s.mdevs) {
    check(m.iommuGroup !== null || m.state !== 'active', 'iommu-groups', () => `${m.uuid} is active without an IOMMU group`);
    if (m.iommuGroup === null) continue;
    const other = groups.get(m.iommuGroup);
    check(other === undefined, 'iommu-groups', () => `${m.uuid} and ${other} share IOMMU group ${m.iommuGroup}`);
    groups.set(m.iommuGroup, m.uuid);
  }
  check(s.availableInstances + s.mdevs.length === MAX_INSTANCES, 'available-instances', () => `available_instances is ${s.availableInstances} with ${s.mdevs.length} mdevs`);
  check(s.lockdep.reports === 0, 'lockdep', () => `${s.lockdep.reports} report(s): ${Object.entries(s.lockdep.kinds).map(([k, n]) => `${n} ${k}`).join(', ')}`);
  return { violations, assertions };
}
