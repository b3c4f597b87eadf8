/**
 * The contract between the sysfs view and the FUSE adapter (and any other front end, such as the
 * in-memory test harness). Paths are absolute inside the mount: '/' is the mount's root (what
 * /sys is on a real machine), e.g. '/bus/ap/apmask'.
 *
 * Expected misses (a path that does not exist) return undefined; everything else that can fail
 * throws KernelError, which the FUSE adapter maps to -errno in one place (fuse/errno.ts).
 */
export type NodeKind = 'dir' | 'file' | 'link';

export interface NodeStat {
  readonly kind: NodeKind;
  /** Permission bits only (e.g. 0o644, 0o200, 0o755, 0o777 for links). */
  readonly mode: number;
  /** Stable inode number for the life of the node. */
  readonly ino: number;
  /** sysfs reports 4096 for every attribute, 0 for directories and links' target length for links. */
  readonly size: number;
  readonly uid: number;
  readonly gid: number;
}

/** What open(2) of an attribute returns; one per open file description, like kernfs_open_file. */
export interface OpenFile {
  /**
   * Read `len` bytes at `pos`. The content is produced once per open (the attribute's show() runs
   * on the first read) and later reads are served from it, as sysfs's seq_file does. The bytes
   * come at once when nothing has to wait (a show that takes no lock, a later read); failures
   * always come as a rejected promise.
   */
  read(pos: number, len: number): Buffer | Promise<Buffer>;
  /**
   * One write(2) = one store() call on at most 4096 bytes (PAGE_SIZE); `pos` is ignored as in
   * sysfs. Returns the number of bytes taken. A zero-length write returns 0 without calling store.
   */
  write(data: Buffer, pos: number): Promise<number>;
  /** close(2): release whatever the open holds. */
  release(): void;
}

export interface Kernfs {
  stat(path: string): NodeStat | undefined;
  /** Entry names (without '.' and '..'), undefined if the path is not a directory. */
  readdir(path: string): readonly string[] | undefined;
  /** The relative target, undefined if the path is not a symlink. */
  readlink(path: string): string | undefined;
  /**
   * open(2) of an attribute. `flags` are the raw open flags (O_RDONLY/O_WRONLY/O_RDWR in the low
   * bits). Throws KernelError: ENOENT (no such node), EISDIR (a directory), EACCES (write access to
   * a file without a store, read access to a file without a show: sysfs refuses these even to root).
   */
  open(path: string, flags: number): OpenFile;
  /**
   * truncate(2)/ftruncate(2) and O_TRUNC: sysfs accepts and ignores them on writable attributes
   * (that is how `echo x > attr` works). Throws ENOENT / EACCES / EISDIR like open.
   */
  truncate(path: string): void;
  /**
   * Subscribe to removals: `listener` runs synchronously right after any path stops resolving (or
   * resolves to something else), before the change that caused it returns. Front ends that let
   * the kernel cache names need it; a Kernfs without it is served with no name caching.
   */
  onRemoval?(listener: (what: string) => void): () => void;
  /**
   * chmod(2)/chown(2) by someone the kernel let through (root, or the owner for chmod): the node
   * keeps the new mode (permission bits, setuid/setgid/sticky included), owner and group until it
   * is removed; stat shows them and open's EACCES rule uses the new mode. Throws ENOENT. A Kernfs
   * without it refuses both with EPERM.
   */
  setattr?(path: string, attrs: { readonly mode?: number; readonly uid?: number; readonly gid?: number }): void;
}
