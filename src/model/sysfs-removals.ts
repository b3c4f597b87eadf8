/**
 * Paths leaving the sysfs namespace, announced the moment they go.
 *
 * The kernel's dcache never shows a removed sysfs node: kernfs_remove() deactivates the node and
 * kernfs_dop_revalidate() fails every dentry that still points at it. A front end that lets the
 * kernel cache names (the FUSE mount's dentry cache, src/fuse/dentry-epoch.ts) must drop them at
 * the same moment, so the model calls `removed()` right after each change that makes a path
 * vanish (a device deleted, a driver unbound, a group hidden, an mdev going) and before anything
 * awaits: nothing can look the old path up in between. Additions need no notice: a name that did
 * not exist was never cached (negative lookups are not).
 * @kernel fs/kernfs/dir.c kernfs_remove, kernfs_dop_revalidate
 */
export type RemovalListener = (what: string) => void;

export class SysfsRemovals {
  private count = 0;
  private readonly listeners = new Set<RemovalListener>();

  /** How many removals have been announced: a test compares it across an operation. */
  get generation(): number {
    return this.count;
  }

  /** `what` names the change, for the debug log (e.g. 'unbind 05.0004'). */
  removed(what: string): void {
    this.count++;
    for (const l of this.listeners) l(what);
  }

  subscribe(l: RemovalListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
