/**
 * The switch the model's code paths test to take a historic flawed lock ordering instead of the
 * shipped one (docs/deadlocks.md). A leaf module: the flawed branches in vfio_ap/, vfio/ and
 * scenarios/kvm-paths.ts import only this, never the scenario registry.
 */
import { Errno, KernelError } from '../errno.js';
import type { KernelCtx, LockProfile, ScenarioSelection } from '../kernel.js';

/** The scenarios, in the order `apsysfs ctl scenario list` shows them. */
export const SCENARIO_NAMES = ['apmask-assign', 'kvm-vfio-release', 'pqap-hook', 'crypto-masks'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const isScenarioName = (s: string): s is ScenarioName => (SCENARIO_NAMES as readonly string[]).includes(s);

/** True when the flawed ordering of scenario `name` is selected for this host. */
export const flawed = (k: KernelCtx, name: ScenarioName): boolean => k.scenario?.name === name;

/**
 * In a flawed path only: wait where the historic code could sleep while holding what it holds, so
 * that a concurrent client gets in between (the window is the host's: a barrier for
 * runScenario, a real delay for a daemon serving shells). Free in the shipped design.
 */
export async function flawWindow(k: KernelCtx, name: ScenarioName): Promise<void> {
  if (k.scenario?.name === name) await k.scenario.window();
}

/**
 * The profile a scenario's flawed ordering sits on. 'apmask-assign' is the trylock profile's order
 * (ap_perms_mutex last in assign) with the in-use check blocking instead of trying.
 */
const FLAW_PROFILE: Partial<Record<ScenarioName, LockProfile>> = { 'apmask-assign': 'trylock' };

/**
 * What a Host needs to run with scenario `name` selected: the selection for KernelCtx and the
 * profile. Throws EINVAL for an unknown name, or a profile the flawed ordering cannot sit on.
 */
export function selectScenario(
  name: string,
  profile: LockProfile | undefined,
  window: (() => Promise<void>) | undefined,
): { selection: ScenarioSelection; profile: LockProfile | undefined } {
  if (!isScenarioName(name)) throw new KernelError(Errno.EINVAL, `no scenario '${name}' (known: ${SCENARIO_NAMES.join(', ')})`);
  const needs = FLAW_PROFILE[name];
  if (needs && profile && profile !== needs) {
    throw new KernelError(Errno.EINVAL, `scenario '${name}' is a flaw of the ${needs} profile's ordering, not of ${profile}`);
  }
  return { selection: { name, window: window ?? (async () => undefined) }, profile: needs ?? profile };
}

/** The profile scenario `name`'s flawed ordering sits on, if it needs one. */
export const flawProfile = (name: ScenarioName): LockProfile | undefined => FLAW_PROFILE[name];
