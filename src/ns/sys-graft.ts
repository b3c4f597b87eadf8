/**
 * Grafting the mounted tree onto /sys inside a private mount namespace.
 *
 * sysfs refuses mkdir, and on x86 /sys/bus/ap, /sys/devices/vfio_ap, /sys/class/mdev_bus … do not
 * exist (docs/run.md). So every top-level directory of the tree (bus, devices, class, kernel) is covered
 * with a tmpfs that holds one mount point per entry: the real entries are bound back from a
 * staging bind of /sys, the tree's entries are bound from the tree. Where both have an entry
 * (e.g. /sys/bus/mdev on a host with vfio-mdev loaded) the tree wins. Overlayfs would also work
 * but silently redirects writes meant for the real sysfs files.
 *
 * Relative symlinks resolve as on a real machine: `..` leaves a bind mount's root through the
 * mount point, so bus/ap/devices/card04 -> ../../../devices/ap/card04 lands on /sys/devices/ap.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { MountStep } from './mount-steps.js';

/** One directory entry, as lstat(2) sees it. */
export type DirEntry =
  | { readonly name: string; readonly kind: 'dir' | 'file' }
  | { readonly name: string; readonly kind: 'link'; readonly target: string };

/** One top-level directory of the tree (e.g. `bus`) and what stands in it on both sides. */
export interface SysLayer {
  readonly top: string;
  readonly real: readonly DirEntry[];
  readonly fake: readonly DirEntry[];
}

export interface SysGraftPlan {
  /** The mounted tree (what /sys is on a real machine). */
  readonly root: string;
  /** Where the tree goes: '/sys'. */
  readonly sys: string;
  /** An empty directory; a bind of `sys` is kept there while the real entries are bound back. */
  readonly stage: string;
  readonly layers: readonly SysLayer[];
}

/** Mount points first (one mkdir, one touch), then the symlinks and binds, in entry order. */
function placeEntries(entries: readonly { entry: DirEntry; from: string; to: string }[]): MountStep[] {
  const ofKind = (k: DirEntry['kind']): string[] => entries.filter(e => e.entry.kind === k).map(e => e.to);
  const dirs = ofKind('dir');
  const files = ofKind('file');
  const steps: MountStep[] = [];
  if (dirs.length > 0) steps.push({ op: 'mkdir', paths: dirs });
  if (files.length > 0) steps.push({ op: 'touch', paths: files });
  for (const { entry, from, to } of entries) {
    steps.push(entry.kind === 'link' ? { op: 'symlink', target: entry.target, path: to } : { op: 'rbind', from, to });
  }
  return steps;
}

/** The steps that graft `root` onto `sys`; pure, so tests read the plan as data. */
export function planSysGraft(plan: SysGraftPlan): MountStep[] {
  const { root, sys, stage } = plan;
  const steps: MountStep[] = [{ op: 'rbind', from: sys, to: stage }];
  for (const { top, real, fake } of plan.layers) {
    const faked = new Set(fake.map(e => e.name));
    const at = join(sys, top);
    const entries = [
      ...real.filter(e => !faked.has(e.name)).map(entry => ({ entry, from: join(stage, top, entry.name) })),
      ...fake.map(entry => ({ entry, from: join(root, top, entry.name) })),
    ].map(e => ({ ...e, to: join(at, e.entry.name) }));
    steps.push({ op: 'tmpfs', at }, ...placeEntries(entries));
    // A stray mkdir or touch fails with EROFS instead of succeeding in the tmpfs.
    steps.push({ op: 'readonly', at });
  }
  steps.push({ op: 'detach', at: stage });
  return steps;
}

/** lstat-based listing; sorted so plans are deterministic. */
export function listDir(dir: string): DirEntry[] {
  return readdirSync(dir)
    .sort()
    .map((name): DirEntry => {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isSymbolicLink()) return { name, kind: 'link', target: readlinkSync(path) };
      return { name, kind: st.isDirectory() ? 'dir' : 'file' };
    });
}

/**
 * Reads both sides: every top-level directory of `root` becomes a layer. A top-level directory
 * the real `sys` lacks cannot be grafted (sysfs refuses mkdir); that is an error, not a skip.
 */
export function scanSysLayers(root: string, sys: string): SysLayer[] {
  const tops = listDir(root).filter(e => e.kind === 'dir');
  return tops.map(({ name: top }) => {
    let real: DirEntry[];
    try {
      real = listDir(join(sys, top));
    } catch (e) {
      throw new Error(`cannot graft ${join(root, top)}: ${join(sys, top)}: ${(e as Error).message}`);
    }
    return { top, real, fake: listDir(join(root, top)) };
  });
}
