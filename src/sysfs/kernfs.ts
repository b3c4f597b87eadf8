/**
 * Open-file semantics of sysfs over the node tree: show() on a read at offset 0 (the seq_file
 * restarts there), later reads served from that text; one store() per write of at most PAGE_SIZE
 * bytes, given as a C string; EACCES for opens the attribute cannot serve, even for root; ENODEV
 * once the attribute is gone.
 * @kernel fs/kernfs/file.c kernfs_fop_open, kernfs_fop_write_iter; fs/sysfs/file.c sysfs_kf_seq_show, sysfs_kf_write
 */
import { Errno, KernelError } from '../model/errno.js';
import type { Kernfs, NodeStat, OpenFile } from './kernfs-api.js';
import type { DirNode, FileNode, Node } from './node.js';
import type { SysfsRemovals } from '../model/sysfs-removals.js';
import { PAGE_SIZE } from './emit.js';
import { mapMaybe } from './maybe-async.js';

const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_RDWR = 2;

/** FNV-1a over the path, two seeds folded to 52 bits: stable inode numbers with no table to grow. */
export function inodeOf(path: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return (h1 * 0x100000 + (h2 & 0xfffff)) || 1;
}

/**
 * How many resolved paths are remembered. Every FUSE request names its path, and resolving one
 * walks the tree from the root; the paths a client works on are few. Bounded so that a `find`
 * over 65,536 queues does not keep a million entries.
 */
const RESOLVED_MAX = 4096;

interface Resolved {
  readonly node: Node;
  readonly stat: NodeStat;
}

/** What chmod/chown changed on a node (kernfs_iattrs); the rest comes from the tree. */
interface Iattrs {
  mode?: number;
  uid?: number;
  gid?: number;
}

export class SysfsKernfs implements Kernfs {
  /** Paths that resolved, valid while no path has been removed since (additions change no resolution). */
  private resolved = new Map<string, Resolved>();
  private resolvedAt: number;
  /** chmod/chown per path, for as long as the node lives (kernfs keeps them on the kernfs_node). */
  private readonly iattrs = new Map<string, Iattrs>();

  constructor(
    private readonly root: DirNode,
    private readonly removals: SysfsRemovals,
  ) {
    this.resolvedAt = removals.generation;
    // A node that goes takes its attributes with it: a new one at the same path starts afresh.
    // Checked at each removal, so that a node removed and made again between two requests (an
    // unbind and a bind in one script) is not mistaken for the old one; the cost is one walk per
    // chmod'ed path per removal, nothing while nobody has used chmod/chown.
    removals.subscribe(() => {
      for (const path of this.iattrs.keys()) if (!this.walk(path)) this.iattrs.delete(path);
    });
  }

  onRemoval(listener: (what: string) => void): () => void {
    return this.removals.subscribe(listener);
  }

  resolve(path: string): Node | undefined {
    return this.lookup(path)?.node;
  }

  stat(path: string): NodeStat | undefined {
    const st = this.lookup(path)?.stat;
    const ia = st && this.iattrs.size > 0 ? this.iattrs.get(path) : undefined;
    return ia ? { ...st!, ...ia } : st;
  }

  /** @kernel fs/kernfs/inode.c kernfs_iop_setattr → __kernfs_setattr (the permission checks are the VFS's, setattr_prepare) */
  setattr(path: string, attrs: { readonly mode?: number; readonly uid?: number; readonly gid?: number }): void {
    if (!this.lookup(path)) throw new KernelError(Errno.ENOENT, `${path}: no such file`);
    const ia = this.iattrs.get(path) ?? {};
    if (attrs.mode !== undefined) ia.mode = attrs.mode & 0o7777;
    if (attrs.uid !== undefined) ia.uid = attrs.uid;
    if (attrs.gid !== undefined) ia.gid = attrs.gid;
    this.iattrs.set(path, ia);
  }

  /**
   * The node at `path`, from the remembered resolutions while no removal was announced (a path
   * that resolved keeps resolving to the same node until something is removed: test/sysfs/removals.ts).
   */
  private lookup(path: string): Resolved | undefined {
    if (this.resolvedAt !== this.removals.generation || this.resolved.size >= RESOLVED_MAX) {
      this.resolved = new Map();
      this.resolvedAt = this.removals.generation;
    }
    let r = this.resolved.get(path);
    if (r) return r;
    const node = this.walk(path);
    if (!node) return undefined;
    r = { node, stat: statOf(node, path) };
    this.resolved.set(path, r);
    return r;
  }

  private walk(path: string): Node | undefined {
    let node: Node = this.root;
    for (const seg of path.split('/')) {
      if (seg === '') continue;
      if (node.kind !== 'dir') return undefined;
      const next: Node | undefined = node.child(seg);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  readdir(path: string): readonly string[] | undefined {
    const n = this.resolve(path);
    return n?.kind === 'dir' ? n.list() : undefined;
  }

  readlink(path: string): string | undefined {
    const n = this.resolve(path);
    return n?.kind === 'link' ? n.target : undefined;
  }

  private file(path: string): FileNode {
    const n = this.resolve(path);
    if (!n) throw new KernelError(Errno.ENOENT, `${path}: no such file`);
    if (n.kind === 'dir') throw new KernelError(Errno.EISDIR, `${path}: is a directory`);
    if (n.kind === 'link') throw new KernelError(Errno.EINVAL, `${path}: is a symlink`);
    return n;
  }

  open(path: string, flags: number): OpenFile {
    const f = this.file(path);
    const acc = flags & O_ACCMODE;
    const wantsWrite = acc === O_WRONLY || acc === O_RDWR;
    const wantsRead = acc !== O_WRONLY;
    // kernfs_fop_open: sysfs refuses these whatever the caller's privileges, by the inode's mode
    // (after any chmod) and by what the attribute can do.
    const mode = this.iattrs.get(path)?.mode ?? f.attr.mode;
    if (wantsWrite && (!f.attr.store || !(mode & 0o222))) throw new KernelError(Errno.EACCES, `${path}: not writable`);
    if (wantsRead && (!f.attr.show || !(mode & 0o444))) throw new KernelError(Errno.EACCES, `${path}: not readable`);
    return new SysfsOpenFile(this, path, f);
  }

  truncate(path: string): void {
    this.file(path);
  }
}

function statOf(n: Node, path: string): NodeStat {
  const ino = inodeOf(path === '' ? '/' : path);
  if (n.kind === 'dir') return { kind: 'dir', mode: 0o755, ino, size: 0, uid: 0, gid: 0 };
  // kernfs symlinks have i_size 0 (measured: stat -c %s on /sys links).
  if (n.kind === 'link') return { kind: 'link', mode: 0o777, ino, size: 0, uid: 0, gid: 0 };
  return { kind: 'file', mode: n.attr.mode, ino, size: PAGE_SIZE, uid: 0, gid: 0 };
}

class SysfsOpenFile implements OpenFile {
  private content: Buffer | undefined;

  constructor(
    private readonly fs: SysfsKernfs,
    private readonly path: string,
    private readonly node: FileNode,
  ) {}

  /** kernfs_get_active fails once the node is removed (a device gone, an attribute hidden). */
  private active(): void {
    const n = this.fs.resolve(this.path);
    if (!n || n.kind !== 'file' || n.kobj !== this.node.kobj || n.attr.name !== this.node.attr.name) {
      throw new KernelError(Errno.ENODEV, `${this.path}: gone`);
    }
  }

  read(pos: number, len: number): Buffer | Promise<Buffer> {
    if (pos !== 0 && this.content) return this.content.subarray(pos, pos + len);
    let text: string | Promise<string>;
    try {
      this.active();
      text = this.node.attr.show!(this.node.kobj);
    } catch (e) {
      return Promise.reject(e);
    }
    return mapMaybe(text, (t) => this.keep(t).subarray(pos, pos + len));
  }

  private keep(text: string): Buffer {
    // sysfs_emit/_at never write past PAGE_SIZE - 1 bytes.
    this.content = Buffer.from(text.length >= PAGE_SIZE ? text.slice(0, PAGE_SIZE - 1) : text, 'latin1');
    return this.content;
  }

  async write(data: Buffer, _pos: number): Promise<number> {
    // kernfs_fop_write_iter: at most PAGE_SIZE per write (a short write, not E2BIG); empty writes never reach store.
    const count = Math.min(data.length, PAGE_SIZE);
    if (count === 0) return 0;
    this.active();
    const bytes = data.subarray(0, count);
    const nul = bytes.indexOf(0);
    const buf = (nul >= 0 ? bytes.subarray(0, nul) : bytes).toString('latin1');
    await this.node.attr.store!(this.node.kobj, buf, count);
    return count;
  }

  release(): void {
    this.content = undefined;
  }
}
