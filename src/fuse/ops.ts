/**
 * The fuse-native operations over a Kernfs. Every answer comes from the Kernfs: no path is special
 * here. Every handler is guarded so that it answers exactly once: with its result, with the errno
 * of what it threw (fuse/errno.ts), or with ETIMEDOUT when an asynchronous one outlives the
 * operation timeout.
 *
 * Operations left out on purpose, because the kernel's answer to ENOSYS already is sysfs's:
 * flush and fsync (the kernel turns ENOSYS into success, as sysfs's noop_fsync succeeds), access
 * (with default_permissions the kernel checks modes itself, root passing as on sysfs), opendir
 * and releasedir. getxattr/listxattr answer EOPNOTSUPP where sysfs says ENODATA and an empty list;
 * implementing them would add round trips for every file `ls -l` lists (the kernel stops asking
 * after the first ENOSYS).
 */
import path from 'node:path';
import { Errno } from '../model/errno.js';
import type { Kernfs, NodeKind, NodeStat, OpenFile } from '../sysfs/kernfs-api.js';
import { log } from '../log.js';
import { fuseErrno, toFuseErrno } from './errno.js';
import { FdTable } from './fd-table.js';
import { mapMaybe } from '../sysfs/maybe-async.js';
import type { FuseCallback } from './libfuse.js';

export interface OpsOptions {
  /** Bound on an asynchronous operation (read, write) in ms; 0 = none. See fuse/mount.ts. */
  readonly opTimeoutMs: number;
  /** atime/mtime/ctime of every node (sysfs shows the time its inode was made). */
  readonly time: Date;
  /** Called when getattr finds a node: libfuse answers a LOOKUP with it, so the kernel may cache the name. */
  readonly onFound?: () => void;
}

const S_IFMT: Record<NodeKind, number> = { dir: 0o040000, file: 0o100000, link: 0o120000 };

/** sysfs's statfs: 4 KiB blocks, no block or inode counts, 255-byte names (measured on 6.18). */
const SYSFS_STATFS = { bsize: 4096, frsize: 4096, namemax: 255 } as const;

type Reply = readonly [code: number, ...values: unknown[]];
type Handler = (...args: never[]) => void;

/** Build the ops object fuse-native calls, over `kernfs`. */
export function createOps(kernfs: Kernfs, opts: OpsOptions): Record<string, Handler> {
  const fds = new FdTable<OpenFile>();
  const attr = (st: NodeStat) => toFuseStat(st, opts.time);

  const openFile = (fd: number): OpenFile => {
    const file = fds.get(fd);
    // The kernel only sends handles we gave it: a miss is a bug here, hence EIO and a stack.
    if (!file) throw new Error(`no open file for handle ${fd}`);
    return file;
  };

  const ops = {
    getattr: (p: string): Reply => {
      const st = kernfs.stat(p);
      if (!st) return [fuseErrno(Errno.ENOENT)];
      opts.onFound?.();
      return [0, attr(st)];
    },
    readdir: (p: string): Reply => {
      const names = kernfs.readdir(p);
      if (!names) return [fuseErrno(kernfs.stat(p) ? Errno.ENOTDIR : Errno.ENOENT)];
      const entries: [string, NodeStat | undefined][] = [
        ['.', kernfs.stat(p)],
        ['..', kernfs.stat(path.posix.dirname(p))],
        ...names.map((n): [string, NodeStat | undefined] => [n, kernfs.stat(path.posix.join(p, n))]),
      ];
      // A node removed since readdir() is left out; names and stats must stay aligned.
      const present = entries.filter((e): e is [string, NodeStat] => e[1] !== undefined);
      return [0, present.map(e => e[0]), present.map(e => attr(e[1]))];
    },
    readlink: (p: string): Reply => {
      const target = kernfs.readlink(p);
      // fuse-native crashes the daemon on anything but a string.
      if (typeof target === 'string') return [0, target];
      return [fuseErrno(kernfs.stat(p) ? Errno.EINVAL : Errno.ENOENT)];
    },
    open: (p: string, flags: number): Reply => [0, fds.add(kernfs.open(p, flags))],
    read: (_p: string, fd: number, buf: Buffer, len: number, pos: number): Reply | Promise<Reply> => {
      // After a timeout fuse-native has detached `buf` (length 0): the copy is then a no-op.
      // Answered in this call when nothing waits: no promise, no timer (npm run bench: reads).
      return mapMaybe(openFile(fd).read(pos, len), (data): Reply => [data.copy(buf, 0, 0, Math.min(len, data.length))]);
    },
    write: async (_p: string, fd: number, buf: Buffer, len: number, pos: number): Promise<Reply> => {
      // Copy before the first await: libfuse reuses `buf` once the operation is answered.
      const data = Buffer.from(buf.subarray(0, len));
      return [await openFile(fd).write(data, pos)];
    },
    release: (_p: string, fd: number): Reply => {
      fds.delete(fd)?.release();
      return [0];
    },
    // open(O_TRUNC) carries the truncation (atomic_o_trunc, fuse/mount.ts); truncate(1) still comes
    // here: sysfs accepts and ignores both.
    truncate: (p: string): Reply => (kernfs.truncate(p), [0]),
    ftruncate: (p: string): Reply => (kernfs.truncate(p), [0]),
    statfs: (): Reply => [0, SYSFS_STATFS],
    // With default_permissions the kernel has checked ownership and CAP_CHOWN/CAP_FOWNER already
    // (setattr_prepare): what arrives here is root's, or an owner's chmod. sysfs keeps it.
    chmod: (p: string, mode: number): Reply => {
      if (!kernfs.setattr) return [fuseErrno(Errno.EPERM)];
      kernfs.setattr(p, { mode });
      return [0];
    },
    chown: (p: string, uid: number, gid: number): Reply => {
      if (!kernfs.setattr) return [fuseErrno(Errno.EPERM)];
      // (uid_t)-1 / (gid_t)-1: leave that one as it is (chown(2), and libfuse passes them on so).
      const given = (id: number): number | undefined => (id === -1 || id === 0xffffffff ? undefined : id);
      kernfs.setattr(p, { uid: given(uid), gid: given(gid) });
      return [0];
    },
    // sysfs stores the new times (touch works, even on a 0444 attribute as root); ours are fixed.
    utimens: (): Reply => [0],
  };

  const guarded: Record<string, Handler> = {};
  for (const [name, impl] of Object.entries(ops)) {
    guarded[name] = guard(name, impl as (...args: unknown[]) => Reply | Promise<Reply>, opts.opTimeoutMs);
  }
  for (const [name, errno] of Object.entries(REFUSED)) guarded[name] = guard(name, () => [fuseErrno(errno)], 0);
  return guarded;
}

/**
 * What sysfs answers, measured on Linux 6.18 as root (the kernel checks permissions first for
 * everyone else, as it does on sysfs with default_permissions).
 */
const REFUSED: Record<string, Errno> = {
  // kernfs_iop_mkdir/rmdir/rename without syscall ops, and no unlink/symlink/link/mknod i_op.
  mkdir: Errno.EPERM,
  rmdir: Errno.EPERM,
  rename: Errno.EPERM,
  unlink: Errno.EPERM,
  symlink: Errno.EPERM,
  link: Errno.EPERM,
  mknod: Errno.EPERM,
  // No ->create: open(O_CREAT) of a new name is EACCES ("touch: cannot touch ...: Permission denied").
  create: Errno.EACCES,
  // kernfs directories have no ->fsync: fsync(2) on one is EINVAL. (ENOSYS would become success.)
  fsyncdir: Errno.EINVAL,
};

function toFuseStat(st: NodeStat, time: Date) {
  return {
    mode: S_IFMT[st.kind] | st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    ino: st.ino,
    // sysfs reports 2 + subdirectories for a directory; counting them costs a stat per child on
    // every lookup, so say 1, the "not counted" value (btrfs's) that find and fts never trust.
    nlink: 1,
    blksize: 4096,
    blocks: 0,
    atime: time,
    mtime: time,
    ctime: time,
  };
}

/** Answer `cb` exactly once, whatever `impl` does. */
function guard(
  name: string,
  impl: (...args: unknown[]) => Reply | Promise<Reply>,
  timeoutMs: number,
): Handler {
  return (...all: unknown[]): void => {
    const cb = all.pop() as FuseCallback;
    const context = (): string => `${name} ${String(all[0])}`;
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    const answer = (reply: Reply): void => {
      if (answered) return;
      answered = true;
      if (timer) clearTimeout(timer);
      cb(...reply);
    };
    const fail = (e: unknown): void => answer([toFuseErrno(e, context())]);
    try {
      const reply = impl(...all);
      if (!(reply instanceof Promise)) return answer(reply);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          log.fuse('%s: no answer after %d ms, ETIMEDOUT (a hung operation is a bug)', context(), timeoutMs);
          answer([fuseErrno(Errno.ETIMEDOUT)]);
        }, timeoutMs);
      }
      reply.then(answer, fail);
    } catch (e) {
      fail(e);
    }
  };
}
