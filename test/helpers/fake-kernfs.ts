/**
 * A small in-memory Kernfs for testing the FUSE adapter without the model. It keeps the Kernfs
 * contract (src/sysfs/kernfs-api.ts): show once per open on the first read, one store per write on
 * at most 4096 bytes, EACCES for the wrong access mode, ENODEV once the node is gone.
 *
 *   /hello            0444  "hello\n"
 *   /store            0644  shows what was last stored (initially "0\n")
 *   /wonly            0200  takes anything
 *   /busy             0200  store throws KernelError(EBUSY)
 *   /bug              0644  show and store throw a TypeError (an apsysfs bug: EIO)
 *   /slow             0200  store waits the number of milliseconds written, then succeeds
 *   /hold             0200  store waits until something is written to /unhold
 *   /unhold           0200  lets every waiting /hold store return
 *   /create           0200  "NAME" makes /NAME appear, a 0444 file showing "NAME\n"
 *   /remove           0200  "NAME" removes /NAME
 *   /calls            0444  one line per store: `<path> <JSON of the bytes>`
 *   /dir/             0755
 *   /dir/link      -> ../hello
 *   /dir/sub/up    -> ../../dir
 */
import { Errno, KernelError } from '../../src/model/errno.js';
import type { Kernfs, NodeStat, OpenFile } from '../../src/sysfs/kernfs-api.js';

const PAGE_SIZE = 4096;

interface Attr {
  readonly show?: () => string;
  readonly store?: (buf: string) => Promise<void> | void;
}

type Node =
  | { kind: 'dir'; ino: number; mode: number; children: Set<string> }
  | { kind: 'file'; ino: number; mode: number; attr: Attr }
  | { kind: 'link'; ino: number; mode: number; target: string };

export class FakeKernfs implements Kernfs {
  readonly #nodes = new Map<string, Node>();
  readonly #calls: string[] = [];
  #ino = 1;

  constructor() {
    this.#nodes.set('/', { kind: 'dir', ino: this.#ino++, mode: 0o755, children: new Set() });
    this.#file('/hello', 0o444, { show: () => 'hello\n' });
    let stored = '0\n';
    this.#file('/store', 0o644, { show: () => stored, store: buf => void (stored = buf) });
    this.#file('/wonly', 0o200, { store: () => undefined });
    this.#file('/busy', 0o200, {
      store: () => {
        throw new KernelError(Errno.EBUSY, 'fake: busy');
      },
    });
    const bug = (): never => {
      throw new TypeError('fake: an apsysfs bug');
    };
    this.#file('/bug', 0o644, { show: bug, store: bug });
    this.#file('/slow', 0o200, { store: buf => new Promise(r => setTimeout(r, Number(buf))) });
    const held: (() => void)[] = [];
    this.#file('/hold', 0o200, { store: () => new Promise<void>(r => held.push(r)) });
    this.#file('/unhold', 0o200, { store: () => held.splice(0).forEach(r => r()) });
    this.#file('/create', 0o200, { store: buf => this.#file(`/${name(buf)}`, 0o444, { show: () => `${name(buf)}\n` }) });
    this.#file('/remove', 0o200, { store: buf => this.#remove(`/${name(buf)}`) });
    this.#file('/calls', 0o444, { show: () => this.#calls.join('') });
    this.#dir('/dir');
    this.#link('/dir/link', '../hello');
    this.#dir('/dir/sub');
    this.#link('/dir/sub/up', '../../dir');
  }

  stat(path: string): NodeStat | undefined {
    const n = this.#nodes.get(path);
    if (!n) return undefined;
    const size = n.kind === 'file' ? PAGE_SIZE : 0;
    return { kind: n.kind, mode: n.mode, ino: n.ino, size, uid: 0, gid: 0 };
  }

  readdir(path: string): readonly string[] | undefined {
    const n = this.#nodes.get(path);
    return n?.kind === 'dir' ? [...n.children] : undefined;
  }

  readlink(path: string): string | undefined {
    const n = this.#nodes.get(path);
    return n?.kind === 'link' ? n.target : undefined;
  }

  open(path: string, flags: number): OpenFile {
    const node = this.#attrNode(path);
    const { attr } = node;
    const mode = flags & 3;
    if (mode !== 0 && !attr.store) throw new KernelError(Errno.EACCES, `${path}: no store`);
    if (mode !== 1 && !attr.show) throw new KernelError(Errno.EACCES, `${path}: no show`);
    const gone = () => this.#nodes.get(path) !== node;
    let content: Buffer | undefined;
    return {
      read: async (pos, len) => {
        if (gone()) throw new KernelError(Errno.ENODEV, `${path}: gone`);
        content ??= Buffer.from(attr.show?.() ?? '');
        return content.subarray(pos, pos + len);
      },
      write: async data => {
        if (gone()) throw new KernelError(Errno.ENODEV, `${path}: gone`);
        if (data.length === 0) return 0;
        const buf = data.subarray(0, PAGE_SIZE).toString('latin1');
        this.#calls.push(`${path} ${JSON.stringify(buf)}\n`);
        await attr.store?.(buf);
        return Math.min(data.length, PAGE_SIZE);
      },
      release: () => undefined,
    };
  }

  truncate(path: string): void {
    if (!this.#attrNode(path).attr.store) throw new KernelError(Errno.EACCES, `${path}: no store`);
  }

  #attrNode(path: string): Extract<Node, { kind: 'file' }> {
    const n = this.#nodes.get(path);
    if (!n) throw new KernelError(Errno.ENOENT, path);
    if (n.kind === 'dir') throw new KernelError(Errno.EISDIR, path);
    if (n.kind === 'link') throw new KernelError(Errno.ENOENT, `${path}: a link (the kernel follows links itself)`);
    return n;
  }

  #add(path: string, node: Node): void {
    const parent = this.#nodes.get(dirname(path));
    if (parent?.kind !== 'dir') throw new KernelError(Errno.ENOENT, `no parent for ${path}`);
    if (this.#nodes.has(path)) throw new KernelError(Errno.EEXIST, path);
    parent.children.add(path.slice(path.lastIndexOf('/') + 1));
    this.#nodes.set(path, node);
  }

  #remove(path: string): void {
    if (!this.#nodes.delete(path)) throw new KernelError(Errno.ENOENT, path);
    const parent = this.#nodes.get(dirname(path));
    if (parent?.kind === 'dir') parent.children.delete(path.slice(path.lastIndexOf('/') + 1));
  }

  #file(path: string, mode: 0o444 | 0o200 | 0o644, attr: Attr): void {
    this.#add(path, { kind: 'file', ino: this.#ino++, mode, attr });
  }

  #dir(path: string): void {
    this.#add(path, { kind: 'dir', ino: this.#ino++, mode: 0o755, children: new Set() });
  }

  #link(path: string, target: string): void {
    this.#add(path, { kind: 'link', ino: this.#ino++, mode: 0o777, target });
  }
}

const dirname = (path: string): string => path.slice(0, path.lastIndexOf('/')) || '/';
const name = (buf: string): string => {
  const n = buf.trim();
  if (!/^[\w.-]+$/.test(n)) throw new KernelError(Errno.EINVAL, `bad name ${JSON.stringify(buf)}`);
  return n;
};
