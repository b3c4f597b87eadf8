/**
 * Letting the kernel cache names, and making it forget them the moment a path leaves the tree.
 *
 * With entry_timeout=0 every component of every path costs a LOOKUP round trip: 5 of the 9 FUSE
 * requests of an `echo 0x6 > devices/vfio_ap/matrix/UUID/assign_domain`. Real sysfs never shows a
 * removed node (kernfs_dop_revalidate fails its dentries), so a cached name is only acceptable if
 * it is dropped as the node goes. FUSE_NOTIFY_INC_EPOCH (Linux 6.16, protocol 7.44) does that
 * without node ids, which the high-level libfuse API hides: it bumps the connection's epoch, and
 * every dentry looked up before the bump fails its next d_revalidate and is looked up again. It
 * takes no inode lock, so writing it while handlers are waiting cannot deadlock.
 *
 * The model announces every removal synchronously (SysfsRemovals); the epoch is bumped then, if
 * a name may have been cached since the last bump (a positive getattr, which is what libfuse
 * answers a LOOKUP with). A rebind of 65,536 queues thus costs one write(2), not 65,536.
 * @kernel fs/fuse/dev.c fuse_notify_inc_epoch; fs/fuse/dir.c fuse_lookup (d_time = epoch read
 *         before the request), fuse_dentry_revalidate (d_time < epoch → invalid)
 */
import { fstatSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import { log } from '../log.js';

/** enum fuse_notify_code in include/uapi/linux/fuse.h. */
const FUSE_NOTIFY_INC_EPOCH = 8;

/** struct fuse_out_header { u32 len; s32 error (the notify code); u64 unique (0: a notification) }, nothing after. */
const INC_EPOCH = (() => {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(16, 0);
  b.writeInt32LE(FUSE_NOTIFY_INC_EPOCH, 4);
  return b;
})();

/** Whether this kernel knows FUSE_NOTIFY_INC_EPOCH (6.16 and later). Other kernels answer it EINVAL. */
export function kernelHasEpoch(release: string = os.release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 6 || (major === 6 && minor >= 16);
}

/** This process's open /dev/fuse descriptors (libfuse's channels: one per mount). */
export function fuseDeviceFds(): Set<number> {
  const fds = new Set<number>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === '/dev/fuse') fds.add(Number(name));
    } catch {
      // closed while listing (the directory's own descriptor, for one)
    }
  }
  return fds;
}

export class DentryEpoch {
  private fd = -1;
  private rdev = 0;
  /** A name may be in the kernel's cache since the last bump. */
  private cached = false;

  /** libfuse answered a LOOKUP (or a stat) with a node: the kernel may now cache that name. */
  looked(): void {
    this.cached = true;
  }

  /** A path left the tree: drop every cached name if any may be cached. */
  removed(what: string): void {
    if (!this.cached || this.fd < 0) return;
    if (this.bump()) log.fuse('dentry epoch bumped: %s', what);
  }

  /**
   * Use `fd` (this mount's /dev/fuse channel) and bump once, which also drops whatever was cached
   * before. False, and nothing attached, when the kernel refuses the notification.
   */
  attach(fd: number): boolean {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== '/dev/fuse') return false;
      this.rdev = fstatSync(fd).rdev;
    } catch {
      return false; // closed already
    }
    this.fd = fd;
    if (this.bump()) return true;
    this.detach();
    return false;
  }

  /** Before the mount goes: libfuse closes the channel, and its number may be reused. */
  detach(): void {
    this.fd = -1;
  }

  get attached(): boolean {
    return this.fd >= 0;
  }

  private bump(): boolean {
    try {
      // If libfuse closed the channel (the mount was taken away from outside) the number may
      // name another file by now: write only to a /dev/fuse, where a stray epoch is harmless.
      const st = fstatSync(this.fd);
      if (!st.isCharacterDevice() || st.rdev !== this.rdev) {
        log.fuse('fd %d is no longer the FUSE channel; dentry epoch detached', this.fd);
        this.detach();
        return false;
      }
      writeSync(this.fd, INC_EPOCH);
      this.cached = false;
      return true;
    } catch (e) {
      log.fuse('FUSE_NOTIFY_INC_EPOCH on fd %d: %s', this.fd, e instanceof Error ? e.message : String(e));
      return false;
    }
  }
}
