/**
 * Kernel error numbers and the one exception the model throws.
 *
 * Names are the kernel's, numbers are Linux's (os.constants.errno agrees on Linux).
 * The FUSE adapter turns a KernelError into -errno in exactly one place (fuse/errno.ts).
 */
export enum Errno {
  EPERM = 1,
  ENOENT = 2,
  ENXIO = 6,
  EINTR = 4,
  EIO = 5,
  E2BIG = 7,
  EAGAIN = 11,
  ENOMEM = 12,
  EACCES = 13,
  EBUSY = 16,
  EEXIST = 17,
  ENODEV = 19,
  ENOTDIR = 20,
  EISDIR = 21,
  EINVAL = 22,
  ENOSPC = 28,
  ERANGE = 34,
  EDEADLK = 35,
  ENOSYS = 38,
  ENOTEMPTY = 39,
  EUSERS = 87,
  EOPNOTSUPP = 95,
  EADDRINUSE = 98,
  EADDRNOTAVAIL = 99,
  ETIMEDOUT = 110,
}

/**
 * The only exception the model throws: an errno plus a human reason for the event log. An answer,
 * not a bug, so it carries no stack: capturing one costs more than the rest of a refused write.
 */
export class KernelError extends Error {
  constructor(
    readonly errno: Errno,
    readonly why: string,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${Errno[errno]}: ${why}`);
    Error.stackTraceLimit = limit;
    this.name = 'KernelError';
  }
}

export const isKernelError = (e: unknown): e is KernelError => e instanceof KernelError;
