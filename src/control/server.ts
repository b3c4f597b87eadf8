/**
 * The daemon's end of the control channel: a Unix socket only its owner can reach (see
 * socket-path.ts), newline-delimited JSON requests, each run as soon as it arrives so that a slow
 * one (a guest detach that resets queues, or anything waiting on a lock) never holds up the next:
 * `guest detach` must get through while a sysfs `remove` waits for it.
 */
import { existsSync, rmSync, statSync, chmodSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { KernelError, Errno } from '../model/errno.js';
import type { Host } from '../model/host.js';
import type { LogEvent } from '../model/events.js';
import { log } from '../log.js';
import { handle, ProtocolError, type HandlerContext } from './handlers.js';
import { encode, lineSplitter, MAX_REQUEST_BYTES, type ErrorBody, type LogResult, type Response } from './protocol.js';
import { prepareSocketDir, socketPath, type SocketLocation } from './socket-path.js';

export interface ControlServerOptions extends SocketLocation {
  /** The mount point the daemon serves; the socket's name derives from it. */
  readonly mountDir: string;
}

export interface ControlServer {
  /** The socket's path. */
  readonly path: string;
  /** Stop listening, end every connection (followers too) and remove the socket. */
  close(): Promise<void>;
}

/** A follower that lets this much output pile up is cut off rather than grow the daemon's memory. */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

/**
 * Listen on the control socket of `mountDir`. A stale socket left by a dead daemon is replaced; a
 * live one (another daemon serving the same mount) is an error. Throws Error with the reason.
 */
export async function startControlServer(host: Host, opts: ControlServerOptions): Promise<ControlServer> {
  const sock = socketPath(opts.mountDir, opts);
  prepareSocketDir(path.dirname(sock));
  const ctx: HandlerContext = { host, mountDir: opts.mountDir, socket: sock, startedAt: Date.now() };
  const connections = new Set<net.Socket>();
  const server = net.createServer((c) => serveConnection(ctx, c, connections));
  await listen(server, sock);
  chmodSync(sock, 0o600);
  const ino = statSync(sock).ino;
  log.ctl('listening on %s for %s', sock, opts.mountDir);
  let closing: Promise<void> | undefined;
  return {
    path: sock,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of connections) c.destroy();
        // Only our own socket: a daemon started since may have replaced it.
        try {
          if (statSync(sock).ino === ino) rmSync(sock);
        } catch {
          /* already gone */
        }
      })),
  };
}

async function listen(server: net.Server, sock: string): Promise<void> {
  try {
    await listenOnce(server, sock);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new Error(`control socket ${sock}: ${(e as Error).message}`);
    if (await answers(sock)) throw new Error(`control socket ${sock}: another daemon is serving this mount`);
    log.ctl('%s: stale socket replaced', sock);
    rmSync(sock, { force: true });
    await listenOnce(server, sock);
  }
}

function listenOnce(server: net.Server, sock: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Does something accept connections on `sock`? */
function answers(sock: string): Promise<boolean> {
  if (!existsSync(sock)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const c = net.connect(sock);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

function serveConnection(ctx: HandlerContext, c: net.Socket, connections: Set<net.Socket>): void {
  connections.add(c);
  const unsubscribers: Array<() => void> = [];
  c.once('close', () => {
    connections.delete(c);
    for (const u of unsubscribers) u();
  });
  c.on('error', (e) => log.ctl('connection: %s', e.message));
  c.setEncoding('utf8');
  const send = (m: Response): void => {
    if (c.destroyed) return;
    c.write(encode(m));
  };
  const feed = lineSplitter((line) => void request(line), MAX_REQUEST_BYTES);
  c.on('data', (chunk: string) => {
    if (!feed(chunk)) {
      send({ id: 0, ok: false, error: { errno: 'EPROTO', message: `request longer than ${MAX_REQUEST_BYTES} bytes` } });
      c.end();
    }
  });

  async function request(line: string): Promise<void> {
    let id = 0;
    let stream: Follower | undefined;
    try {
      const msg = JSON.parse(line) as unknown;
      if (typeof msg !== 'object' || msg === null || !Number.isSafeInteger((msg as { id?: unknown }).id)) throw new ProtocolError(`a request is {"id": N, "method": ..., "params": {...}}`);
      const { method, params } = msg as { id: number; method: unknown; params: unknown };
      id = (msg as { id: number }).id;
      log.ctl('#%d %s %o', id, method, params);
      // Subscribe before the backlog is read, so nothing falls between the answer and the stream.
      if (method === 'log' && (params as { follow?: unknown } | null)?.follow === true) stream = follower(id);
      const result = await handle(ctx, method, params);
      send({ id, ok: true, result });
      stream?.start((result as LogResult).last, (params as { kinds?: string[] }).kinds);
    } catch (e) {
      stream?.stop();
      send({ id, ok: false, error: errorBody(e) });
    }
  }

  /** Events for a `log --follow`: held back until the answer is out, then streamed until the client hangs up. */
  function follower(id: number): Follower {
    let held: LogEvent[] | undefined = [];
    let kinds: readonly string[] | undefined;
    const emit = (event: LogEvent): void => {
      if (kinds && !kinds.includes(event.kind)) return;
      if (c.writableLength > MAX_BACKLOG_BYTES) {
        log.ctl('follower too slow: disconnected');
        c.destroy();
        return;
      }
      send({ id, event });
    };
    const stop = ctx.host.events.subscribe((event) => (held ? held.push(event) : emit(event)));
    unsubscribers.push(stop);
    return {
      start(last, k) {
        kinds = k;
        const backlog = held ?? [];
        held = undefined;
        for (const e of backlog) if (e.seq > last) emit(e);
      },
      stop,
    };
  }
}

interface Follower {
  start(last: number, kinds: readonly string[] | undefined): void;
  stop(): void;
}

function errorBody(e: unknown): ErrorBody {
  if (e instanceof KernelError) return { errno: Errno[e.errno] ?? 'EIO', message: e.why };
  if (e instanceof ProtocolError) return { errno: 'EPROTO', message: e.message };
  if (e instanceof SyntaxError) return { errno: 'EPROTO', message: `not JSON: ${e.message}` };
  // A bug in the daemon: say so, keep serving.
  log.ctl('%s', e instanceof Error ? e.stack : e);
  return { errno: 'EIO', message: `internal error: ${e instanceof Error ? e.message : String(e)}` };
}
