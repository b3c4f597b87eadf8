/**
 * The one place the CLI wires the model and the sysfs view together.
 */
import { readFile } from 'node:fs/promises';
import { Host } from '../model/host.js';
import { defaultTopology } from '../model/default-topology.js';
import { parseTopology, serializeTopology } from '../model/topology.js';
import { captureTopology } from '../model/state.js';
import { createSysfs } from '../sysfs/tree.js';
import { startControlServer } from '../control/server.js';
import type { BuiltKernfs, ScenarioMountOptions } from './mount.js';

/** Long enough for clients started together from separate shells to meet in the window. */
export const DEFAULT_SCENARIO_WINDOW_MS = 300;

/**
 * `--scenario NAME`: the flawed ordering for every operation, with a real delay as its window, so
 * that clients from separate shells, started a little apart, meet there (docs/deadlocks.md).
 */
function scenarioOptions(opts: ScenarioMountOptions): { scenario?: string; scenarioWindow?: () => Promise<void> } {
  if (opts.scenario === undefined) return {};
  const ms = opts.scenarioWindowMs ?? DEFAULT_SCENARIO_WINDOW_MS;
  return { scenario: opts.scenario, ...(ms > 0 && { scenarioWindow: () => new Promise<void>((r) => setTimeout(r, ms)) }) };
}

/**
 * Throws what reading the file throws (ENOENT...), SyntaxError for bad JSON and KernelError(EINVAL)
 * for a topology that does not validate; cli/mount.ts words them.
 */
export async function buildKernfs(opts: { topologyFile?: string; kernel?: string } & ScenarioMountOptions): Promise<BuiltKernfs> {
  const topology = opts.topologyFile
    ? parseTopology(JSON.parse(await readFile(opts.topologyFile, 'utf8')) as unknown)
    : defaultTopology;
  // cli/mount.ts has checked the name against KERNELS.
  const kernel = opts.kernel as 'trylock' | 'mainline' | undefined;
  const host = await Host.fromTopology(topology, { ...(kernel && { kernel }), ...scenarioOptions(opts) });
  return {
    kernfs: createSysfs(host),
    host,
    startControl: (mountDir) => startControlServer(host, { mountDir }),
    saveState: () => `${JSON.stringify(serializeTopology(captureTopology(host)), null, 2)}\n`,
  };
}
