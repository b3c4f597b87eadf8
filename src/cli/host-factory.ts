/**
 * The one place the CLI wires the model and the sysfs view together.
 */
import { readFile } from 'node:fs/promises';
import { Host } from '../model/host.js';
import { defaultTopology } from '../model/default-topology.js';
import { parseTopology } from '../model/topology.js';
import { createSysfs } from '../sysfs/tree.js';
import { startControlServer } from '../control/server.js';
import type { BuiltKernfs } from './mount.js';

/**
 * Throws what reading the file throws (ENOENT...), SyntaxError for bad JSON and KernelError(EINVAL)
 * for a topology that does not validate; cli/mount.ts words them.
 */
export async function buildKernfs(opts: { topologyFile?: string; kernel?: string }): Promise<BuiltKernfs> {
  const topology = opts.topologyFile
    ? parseTopology(JSON.parse(await readFile(opts.topologyFile, 'utf8')) as unknown)
    : defaultTopology;
  // cli/mount.ts has checked the name against KERNELS.
  const kernel = opts.kernel as 'trylock' | 'mainline' | undefined;
  const host = await Host.fromTopology(topology, kernel ? { kernel } : {});
  return { kernfs: createSysfs(host), host, startControl: (mountDir) => startControlServer(host, { mountDir }) };
}
