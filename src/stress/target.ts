/**
 * Running one op against something that serves the tree: a real mount (mount-target.ts, in the
 * client processes) or a Host in this process (model-target.ts, for replaying and minimising).
 * Both run an op the same way; only the system calls differ.
 */
import { performance } from 'node:perf_hooks';
import type { Op } from './ops.js';

/** An op that failed: the errno's name (EINVAL...) or EIO for anything unexpected. */
export class OpError extends Error {
  constructor(
    readonly errno: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Backend {
  /** open(O_WRONLY), one write(2), close. Throws OpError. */
  write(path: string, data: string): Promise<void>;
  /** One control-channel request. Throws OpError. */
  ctl(method: string, params: Readonly<Record<string, unknown>>): Promise<unknown>;
  /** Resolves after a short while: how long a blocked write is left alone before acting on it. */
  pause(): Promise<void>;
}

export interface OpOutcome {
  /** 'OK' or the errno's name. */
  readonly errno: string;
  /** When it started, in ms since the epoch (comparable between processes of one machine). */
  readonly start: number;
  /** Wall time from the first system call to the last answer. */
  readonly ms: number;
  /** For EIO: what went wrong; for a remove: that it had to wait for its guest. */
  readonly detail?: string;
}

/** A remove that blocks is waiting for its guest: detach it, as QEMU does on the device request. */
const MAX_DETACH_TRIES = 1000;

function outcome(t0: number, e?: unknown, detail?: string): OpOutcome {
  const ms = performance.now() - t0;
  const start = performance.timeOrigin + t0;
  if (e === undefined) return { errno: 'OK', start, ms, ...(detail !== undefined && { detail }) };
  if (e instanceof OpError) return { errno: e.errno, start, ms, ...(e.errno === 'EIO' && { detail: e.message }) };
  return { errno: 'EIO', start, ms, detail: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

export async function runOp(b: Backend, op: Op): Promise<OpOutcome> {
  const start = performance.now();
  try {
    if (op.type === 'ctl') {
      await b.ctl(op.method, op.params);
      return outcome(start);
    }
    if (op.kind !== 'remove') {
      await b.write(op.path, op.data);
      return outcome(start);
    }
    return await removeOp(b, op.path, op.data, start);
  } catch (e) {
    return outcome(start, e);
  }
}

/**
 * `echo 1 > remove` blocks while a guest has the mdev open (spec §8): the VFIO core asks QEMU to
 * let go, and QEMU does, so the runner detaches the guest if the write is still pending after a
 * pause. Guests that ignore the request are not simulated: the write would block for ever.
 */
async function removeOp(b: Backend, path: string, data: string, start: number): Promise<OpOutcome> {
  let settled: { e?: unknown } | undefined;
  const write = b.write(path, data).then(
    () => (settled = {}),
    (e: unknown) => (settled = { e }),
  );
  const uuid = path.split('/').at(-2)!;
  let waited = false;
  for (let i = 0; !settled && i < MAX_DETACH_TRIES; i++) {
    await Promise.race([write, b.pause()]);
    if (settled) break;
    waited = true;
    await b.ctl('guest.detach', { uuid }).catch(() => undefined);
  }
  if (!settled) return outcome(start, new OpError('EIO', `remove of ${uuid} still blocked after ${MAX_DETACH_TRIES} detaches`));
  const done = settled as { e?: unknown };
  return outcome(start, done.e, waited ? 'waited for its guest' : undefined);
}
