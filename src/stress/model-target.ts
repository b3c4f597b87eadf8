/**
 * Ops against a Host in this process: the same sysfs view (an in-memory Kernfs, no FUSE) and the
 * same control handlers as the daemon. A replay takes milliseconds, so the minimiser can try
 * thousands of candidate sequences.
 */
import { Errno, KernelError } from '../model/errno.js';
import { Host } from '../model/host.js';
import type { LockProfile } from '../model/kernel.js';
import { snapshotState, type StateSnapshot } from '../model/state-snapshot.js';
import { defaultTopology } from '../model/default-topology.js';
import type { Topology } from '../model/topology.js';
import { createSysfs } from '../sysfs/tree.js';
import type { Kernfs } from '../sysfs/kernfs-api.js';
import { handle, ProtocolError, type HandlerContext } from '../control/handlers.js';
import type { Op } from './ops.js';
import { OpError, runOp, type Backend, type OpOutcome } from './target.js';

const O_WRONLY = 1;

function opError(e: unknown): OpError {
  if (e instanceof KernelError) return new OpError(Errno[e.errno] ?? String(e.errno), e.why);
  if (e instanceof ProtocolError) return new OpError('EPROTO', e.message);
  return new OpError('EIO', e instanceof Error ? (e.stack ?? e.message) : String(e));
}

export class ModelTarget implements Backend {
  private readonly ctx: HandlerContext;

  private constructor(
    readonly host: Host,
    private readonly fs: Kernfs,
  ) {
    this.ctx = { host, mountDir: '/sys', socket: '(in process)', startedAt: 0 };
  }

  /** `scenario`: a historic flawed lock ordering switched on (HostOptions.scenario), without a window. */
  static async create(o: { topology?: Topology; kernel?: LockProfile; scenario?: string }): Promise<ModelTarget> {
    const host = await Host.fromTopology(o.topology ?? defaultTopology, { ...(o.kernel && { kernel: o.kernel }), ...(o.scenario !== undefined && { scenario: o.scenario }) });
    return new ModelTarget(host, createSysfs(host));
  }

  run(op: Op): Promise<OpOutcome> {
    return runOp(this, op);
  }

  snapshot(): StateSnapshot {
    return snapshotState(this.host);
  }

  async write(path: string, data: string): Promise<void> {
    try {
      const f = this.fs.open(`/${path}`, O_WRONLY);
      try {
        await f.write(Buffer.from(data, 'latin1'), 0);
      } finally {
        f.release();
      }
    } catch (e) {
      throw opError(e);
    }
  }

  async ctl(method: string, params: Readonly<Record<string, unknown>>): Promise<unknown> {
    try {
      return await handle(this.ctx, method, params);
    } catch (e) {
      throw opError(e);
    }
  }

  /** Nothing in the model waits on a timer: a write still pending after a few turns is blocked. */
  async pause(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  }
}
