/**
 * Services every part of the model shares: the lock checker, the event log, the clock and the
 * locking profile. One per Host; passed down instead of globals so tests can build many hosts.
 */
import type { Lockdep } from './lock/lockdep.js';
import type { EventLog } from './events.js';
import type { SysfsRemovals } from './sysfs-removals.js';

/**
 * 'trylock' (default, spec decision 2): the in-use check of an apmask/aqmask write only tries the
 * vfio_ap locks and fails with EBUSY; assignments take ap_perms_mutex last.
 * 'mainline': assignments take ap_perms_mutex first and the in-use check blocks.
 */
export type LockProfile = 'trylock' | 'mainline';

/**
 * A historic flawed lock ordering switched on for every operation (docs/deadlocks.md); undefined
 * in the shipped design. Only src/model/scenarios/flaw.ts reads it.
 */
export interface ScenarioSelection {
  /** The scenario's name, e.g. 'kvm-vfio-release'. */
  readonly name: string;
  /** Where the flawed code would sleep: lets concurrent clients interleave there. */
  readonly window: () => Promise<void>;
}

export interface KernelCtx {
  readonly lockdep: Lockdep;
  readonly events: EventLog;
  /** Announces every path that leaves the sysfs view (see sysfs-removals.ts). */
  readonly removals: SysfsRemovals;
  readonly clock: () => number;
  readonly profile: LockProfile;
  readonly scenario?: ScenarioSelection | undefined;
}

/**
 * Run `fn` as one logical kernel task (one syscall): reuses the current lockdep task when there is
 * one, so a verb that calls another verb stays in the same task and its held locks are seen.
 */
export function inTask<T>(k: KernelCtx, name: string, fn: () => Promise<T>): Promise<T> {
  return k.lockdep.currentTask() ? fn() : k.lockdep.runTask(name, fn);
}
