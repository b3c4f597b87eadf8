/**
 * Ops against a real mount, as a tool does them: open(2) the sysfs file write-only, one write(2),
 * close(2); guests and host changes through the daemon's control socket.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { ControlClient, ControlError } from '../control/client.js';
import type { Method } from '../control/protocol.js';
import type { Op } from './ops.js';
import { OpError, runOp, type Backend, type OpOutcome } from './target.js';

/** How long a blocked remove is left alone before the guest is asked to let go. */
const PAUSE_MS = 20;

export class MountTarget implements Backend {
  private constructor(
    private readonly root: string,
    private readonly client: ControlClient,
  ) {}

  /** `runtimeDir`: the directory of the daemon's control socket (ControlClient.path's). */
  static async connect(o: { root: string; runtimeDir: string }): Promise<MountTarget> {
    return new MountTarget(o.root, await ControlClient.connect({ mountDir: o.root, runtimeDir: o.runtimeDir }));
  }

  run(op: Op): Promise<OpOutcome> {
    return runOp(this, op);
  }

  async write(file: string, data: string): Promise<void> {
    let fh;
    try {
      fh = await open(path.join(this.root, file), constants.O_WRONLY);
      await fh.write(Buffer.from(data, 'latin1'));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new OpError(err.code ?? 'EIO', err.message);
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  async ctl(method: string, params: Readonly<Record<string, unknown>>): Promise<unknown> {
    try {
      return await this.client.call(method as Method, params as never);
    } catch (e) {
      if (e instanceof ControlError) throw new OpError(e.errno, e.why);
      throw new OpError('EIO', e instanceof Error ? e.message : String(e));
    }
  }

  pause(): Promise<void> {
    return new Promise((r) => setTimeout(r, PAUSE_MS));
  }

  close(): void {
    this.client.close();
  }
}
