/**
 * A stand-in for the mounted tree: plain files and relative symlinks with the top-level layout of
 * the real mount root (kernel-behaviour.md §1), so the namespace machinery can be tested without
 * FUSE; and what the e2e tests of `apsysfs run` share.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STANDIN_MDEV = '7f1c9a3e-1111-4d2a-9a6b-000000000001';
const ALL_ONES = `0x${'f'.repeat(64)}\n`;
const MATRIX = 'devices/vfio_ap/matrix';
const TYPE = `${MATRIX}/mdev_supported_types/vfio_ap-passthrough`;
const MDEV = `${MATRIX}/${STANDIN_MDEV}`;

/** path → file content, `{ link }` for a symlink, `{}` for an empty directory. */
export type StandInEntry = string | { readonly link: string } | Record<string, never>;

export const STANDIN_TREE: Readonly<Record<string, StandInEntry>> = {
  'bus/ap/apmask': ALL_ONES,
  'bus/ap/aqmask': ALL_ONES,
  'bus/ap/ap_domain': '5\n',
  'bus/ap/devices/card04': { link: '../../../devices/ap/card04' },
  'bus/ap/devices/04.0005': { link: '../../../devices/ap/card04/04.0005' },
  'bus/ap/drivers/cex4card/card04': { link: '../../../../devices/ap/card04' },
  'bus/ap/drivers/vfio_ap/04.0005': { link: '../../../../devices/ap/card04/04.0005' },
  'devices/ap/card04/online': '1\n',
  'devices/ap/card04/driver': { link: '../../../bus/ap/drivers/cex4card' },
  'devices/ap/card04/04.0005/online': '1\n',
  'devices/ap/card04/04.0005/driver': { link: '../../../../bus/ap/drivers/vfio_ap' },
  [`${MATRIX}/driver`]: { link: '../../../bus/matrix/drivers/vfio_ap' },
  [`${MATRIX}/subsystem`]: { link: '../../../bus/matrix' },
  [`${TYPE}/name`]: 'VFIO AP Passthrough Device\n',
  [`${TYPE}/device_api`]: 'vfio-ap\n',
  [`${TYPE}/available_instances`]: '65534\n',
  [`${TYPE}/create`]: '',
  [`${TYPE}/devices/${STANDIN_MDEV}`]: { link: `../../../${STANDIN_MDEV}` },
  [`${MDEV}/matrix`]: '04.0005\n',
  [`${MDEV}/guest_matrix`]: '',
  [`${MDEV}/assign_adapter`]: '',
  [`${MDEV}/assign_domain`]: '',
  [`${MDEV}/assign_control_domain`]: '',
  [`${MDEV}/control_domains`]: '',
  [`${MDEV}/remove`]: '',
  [`${MDEV}/mdev_type`]: { link: '../mdev_supported_types/vfio_ap-passthrough' },
  [`${MDEV}/driver`]: { link: '../../../../bus/mdev/drivers/vfio_ap_mdev' },
  [`${MDEV}/subsystem`]: { link: '../../../../bus/mdev' },
  [`bus/mdev/devices/${STANDIN_MDEV}`]: { link: `../../../${MDEV}` },
  [`bus/mdev/drivers/vfio_ap_mdev/${STANDIN_MDEV}`]: { link: `../../../../${MDEV}` },
  'bus/matrix/devices/matrix': { link: `../../../${MATRIX}` },
  'bus/matrix/drivers/vfio_ap/matrix': { link: `../../../../${MATRIX}` },
  'class/mdev_bus/matrix': { link: `../../${MATRIX}` },
  'class/zcrypt': {},
};

/** The top-level entries the tree adds under bus, devices and class. */
export const STANDIN_GRAFTS = ['bus/ap', 'bus/matrix', 'bus/mdev', 'class/mdev_bus', 'class/zcrypt', 'devices/ap', 'devices/vfio_ap'];

/** Writes STANDIN_TREE (or `tree`) under `root`. */
export function buildStandInTree(root: string, tree: Readonly<Record<string, StandInEntry>> = STANDIN_TREE): void {
  for (const [path, entry] of Object.entries(tree)) {
    const full = join(root, path);
    if (typeof entry === 'string') {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, entry);
    } else if ('link' in entry) {
      mkdirSync(dirname(full), { recursive: true });
      symlinkSync(entry.link as string, full);
    } else {
      mkdirSync(full, { recursive: true });
    }
  }
}

/** The host's mount table, one line per mount, for "nothing new remains" checks. */
export function mountTable(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8').trim().split('\n');
}

/**
 * Mounts that appeared since `before` where the namespace setup could leave one if it leaked: on
 * /sys, on mdevctl's directories, on a staging directory. (Mounts elsewhere, such as other
 * engineers' or another test's daemon, are not this check's business.)
 */
export function newMounts(before: readonly string[]): string[] {
  const had = new Set(before);
  const ours = /^\S+ (\/sys\/|\/etc\/mdevctl\.d|\/usr\/lib\/mdevctl|\S*\/apsysfs-stage-|\S*\/stage )/;
  return mountTable().filter(l => !had.has(l) && ours.test(l));
}

/** Whether `dir` is a mount point on the host. */
export function isMounted(dir: string): boolean {
  return mountTable().some(l => l.split(' ')[1] === dir);
}

export interface Captured {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Collects a child's output and waits until its stdio is closed. */
export function capture(child: ChildProcess): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs a command on the host (outside any namespace) and captures it. */
export function sh(script: string): Promise<Captured> {
  return capture(spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO, 'bin/apsysfs.js');

/** `node bin/apsysfs.js ARGS…` with piped output (the real CLI; it needs a built dist/). */
export function apsysfs(args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** Why the e2e tests cannot run here, with the fix, or undefined when they can. */
export function missing(tools: readonly { bin: string; hint: string }[]): string | undefined {
  if (!existsSync(join(REPO, 'dist/src/cli/main.js'))) return 'dist/ is not built: npm run build';
  for (const { bin, hint } of tools) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is missing: ${hint}`;
  }
  return undefined;
}

/** Polls `ok` every 50 ms until it holds or `ms` pass; returns whether it held. */
export async function eventually(ok: () => boolean, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 50))) {
    if (ok()) return true;
  }
  return ok();
}

/**
 * Teardown for tests that mount: stop whatever daemon still serves a mount under `dir` and
 * lazily unmount what remains, so that a failing test leaves nothing behind.
 */
export function unmountAllUnder(dir: string): void {
  const under = mountTable()
    .map(l => l.split(' ')[1] ?? '')
    .filter(mp => mp.startsWith(`${dir}/`));
  for (const mp of under.reverse()) {
    spawnSync(process.execPath, [CLI, 'umount', mp], { stdio: 'ignore', timeout: 20_000 });
    if (isMounted(mp)) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
}
