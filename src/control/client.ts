/**
 * The client's end of the control channel: find the socket of the daemon serving a mount, send
 * requests, match answers by id. Throws ControlError for what the daemon refused (with its errno
 * name) and NoDaemonError when there is no daemon to talk to.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { LogEvent } from '../model/events.js';
import { encode, lineSplitter, type ErrorBody, type Method, type Params, type Response, type Result } from './protocol.js';
import { canonicalMountDir, checkSocketDir, socketPath, type SocketLocation } from './socket-path.js';

/** Answers can be large (a 256 x 256 `show`), but not unbounded. */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** The daemon refused a request: `errno` is the kernel's name (EPERM...), EPROTO or EIO. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly errno: string,
    readonly why: string,
  ) {
    super(`${errno}: ${why}`);
  }
}

/** No daemon serves the mount (no socket, a stale one, or the connection broke). */
export class NoDaemonError extends Error {
  override readonly name = 'NoDaemonError';
}

export interface ConnectOptions extends SocketLocation {
  readonly mountDir: string;
}

interface Pending {
  resolve(result: unknown): void;
  reject(e: Error): void;
  onEvent?: (e: LogEvent) => void;
}

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedWith: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly path: string,
  ) {
    socket.setEncoding('utf8');
    const feed = lineSplitter((line) => this.onLine(line), MAX_RESPONSE_BYTES);
    socket.on('data', (chunk: string) => {
      if (!feed(chunk)) this.fail(new NoDaemonError(`${path}: answer longer than ${MAX_RESPONSE_BYTES} bytes`));
    });
    socket.on('error', (e) => this.fail(new NoDaemonError(`${path}: ${e.message}`)));
    socket.on('close', () => this.fail(new NoDaemonError(`${path}: the daemon closed the connection`)));
  }

  /** Connect to the daemon serving `mountDir`. Throws NoDaemonError. */
  static connect(opts: ConnectOptions): Promise<ControlClient> {
    const dir = canonicalMountDir(opts.mountDir);
    const sock = socketPath(dir, opts);
    if (!existsSync(sock)) return Promise.reject(new NoDaemonError(`no apsysfs daemon serves ${dir} (no control socket ${sock})`));
    try {
      checkSocketDir(path.dirname(sock));
    } catch (e) {
      return Promise.reject(new NoDaemonError((e as Error).message));
    }
    return new Promise((resolve, reject) => {
      const s = net.connect(sock);
      s.once('connect', () => {
        s.off('error', onError);
        resolve(new ControlClient(s, sock));
      });
      const onError = (e: NodeJS.ErrnoException): void => {
        const why = e.code === 'ECONNREFUSED' ? `the daemon that served ${dir} is gone (stale socket ${sock})` : `${sock}: ${e.message}`;
        reject(new NoDaemonError(why));
      };
      s.once('error', onError);
    });
  }

  /** One request; resolves with its result. Throws ControlError, NoDaemonError. */
  call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    return this.send(method, params) as Promise<Result<M>>;
  }

  /**
   * `log` with follow: `onEvent` gets every event after the backlog, until close() or the daemon
   * goes away. Resolves with the backlog.
   */
  follow(params: Omit<Params<'log'>, 'follow'>, onEvent: (e: LogEvent) => void): Promise<Result<'log'>> {
    return this.send('log', { ...params, follow: true }, onEvent) as Promise<Result<'log'>>;
  }

  /** Resolves when the connection ends (the daemon stopped, or close() was called). */
  ended(): Promise<void> {
    if (this.socket.closed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private send(method: Method, params: unknown, onEvent?: (e: LogEvent) => void): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onEvent && { onEvent }) });
      this.socket.write(encode({ id, method, params: params as never }));
    });
  }

  private onLine(line: string): void {
    let m: Response;
    try {
      m = JSON.parse(line) as Response;
    } catch {
      this.fail(new NoDaemonError(`${this.path}: the daemon answered something that is not JSON`));
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if ('event' in m) {
      p.onEvent?.(m.event);
      return;
    }
    // A follower stays registered for its events; anything else is done.
    if (!p.onEvent || !m.ok) this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new ControlError((m.error as ErrorBody).errno, (m.error as ErrorBody).message));
  }

  private fail(e: Error): void {
    if (this.closedWith) return;
    this.closedWith = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.socket.destroy();
  }
}
