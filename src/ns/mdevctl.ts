/**
 * Keeping mdevctl's persistent state and callouts private to one `apsysfs run`.
 *
 * mdevctl keeps its definitions in /etc/mdevctl.d/<parent>/<uuid> and runs the scripts in
 * /etc/mdevctl.d/scripts.d/{callouts,notifiers} (1.2.0, Debian 12) or
 * /usr/lib/mdevctl/scripts.d/{callouts,notifiers} (1.3 and later); at start it insists that these
 * directories exist ("Required directory … doesn't exist"). A definition written against the
 * fake tree must never reach the host's /etc: on a real s390 host it would be started at the next
 * boot. Hence 'private' is the default (docs/run.md, "mdevctl state").
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MountStep } from './mount-steps.js';

/**
 * - 'private': fresh, empty tmpfs copies of the directories, gone after the run;
 * - 'host': the host's directories, read and written as they are;
 * - { keepIn }: that directory stands at /etc/mdevctl.d, so definitions outlive the run.
 */
export type MdevctlState = 'private' | 'host' | { readonly keepIn: string };

export const MDEVCTL_CONFIG = '/etc/mdevctl.d';
export const MDEVCTL_SCRIPTS = '/usr/lib/mdevctl/scripts.d';
/** The script directories each base must contain for mdevctl's self check. */
const SCRIPT_DIRS = ['callouts', 'notifiers'] as const;

function freshTmpfs(at: string, subdirs: readonly string[]): MountStep[] {
  return [{ op: 'tmpfs', at }, { op: 'mkdir', paths: subdirs.map(d => join(at, d)) }];
}

/**
 * The steps that hide the host's mdevctl directories. Directories the host lacks are left alone:
 * without them mdevctl is not installed, and a mount point cannot be made without writing to /etc.
 */
export function planMdevctl(state: MdevctlState, exists: (path: string) => boolean): MountStep[] {
  if (state === 'host') return [];
  const steps: MountStep[] = [];
  const configScripts = SCRIPT_DIRS.map(d => join('scripts.d', d));
  if (state === 'private') {
    if (exists(MDEVCTL_CONFIG)) steps.push(...freshTmpfs(MDEVCTL_CONFIG, configScripts));
  } else {
    if (!exists(MDEVCTL_CONFIG)) {
      throw new Error(`--keep-state: ${MDEVCTL_CONFIG} does not exist (is mdevctl installed?)`);
    }
    steps.push({ op: 'rbind', from: state.keepIn, to: MDEVCTL_CONFIG });
  }
  if (exists(MDEVCTL_SCRIPTS)) steps.push(...freshTmpfs(MDEVCTL_SCRIPTS, SCRIPT_DIRS));
  return steps;
}

/** Gives a --keep-state directory the skeleton mdevctl's self check wants (host side, before the run). */
export function prepareKeptState(dir: string): void {
  for (const d of SCRIPT_DIRS) mkdirSync(join(dir, 'scripts.d', d), { recursive: true });
}
