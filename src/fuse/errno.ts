/**
 * The one place where errors become FUSE answers (style.md, "Errors → errno").
 */
import { Errno, isKernelError } from '../model/errno.js';
import { log } from '../log.js';

/** A FUSE answer for an errno: libfuse wants it negated. */
export const fuseErrno = (errno: Errno): number => -errno;

/**
 * KernelError → -errno. Anything else is a bug in apsysfs: log its stack on apsysfs:fuse and
 * answer -EIO, as mdev_type_attr_show does when a type has no show().
 */
export function toFuseErrno(e: unknown, context?: string): number {
  if (isKernelError(e)) {
    if (log.fuse.enabled) log.fuse('%s%s', context ? `${context}: ` : '', e.message);
    return fuseErrno(e.errno);
  }
  log.fuse('BUG%s: %s', context ? ` in ${context}` : '', e instanceof Error ? (e.stack ?? e.message) : String(e));
  return fuseErrno(Errno.EIO);
}
