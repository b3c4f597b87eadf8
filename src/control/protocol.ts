/**
 * The control channel's messages: newline-delimited JSON over the daemon's Unix socket.
 *
 *   client → daemon   {"id":1,"method":"guest.attach","params":{"uuid":"…"}}
 *   daemon → client   {"id":1,"ok":true,"result":{…}}
 *                     {"id":1,"ok":false,"error":{"errno":"EPERM","message":"open: guest vm1 already uses mdev …"}}
 *                     {"id":1,"event":{…}}         (log --follow: after the ok, until the client hangs up)
 *
 * Requests on one connection may overlap; answers carry the request's id and come in completion
 * order (a `guest detach` is answered while a `remove` elsewhere still waits for it).
 */
import type { ConfigChange } from '../model/host-config.js';
import type { EventKind, LogEvent } from '../model/events.js';
import type { LockProfile } from '../model/kernel.js';
import type { MatrixPicture } from '../model/matrix-picture.js';

export const PROTOCOL_VERSION = 1;

/** A request line may not be longer than this; longer input closes the connection. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** Adapters, domains and control domains of a mask triple (matrix, guest_matrix, an APCB). */
export interface Ids {
  readonly adapters: readonly number[];
  readonly domains: readonly number[];
  readonly controlDomains: readonly number[];
}

export interface GuestInfo {
  readonly uuid: string;
  /** The attached guest, null when the mdev's device is not open. */
  readonly guest: string | null;
  /** The guest's APCB (what it sees), null when none is attached. */
  readonly apcb: Ids | null;
  /** How many times the guest's APCB was written (hot plug events it saw), null when none is attached. */
  readonly apcbUpdates: number | null;
  /** The mdev's assigned matrix and its filtered view (`matrix`, `guest_matrix`). */
  readonly matrix: Ids;
  readonly guestMatrix: Ids;
}

export interface GuestListEntry {
  readonly guest: string;
  /** The mdev it has open, null when it has none. */
  readonly mdev: string | null;
  readonly apcb: Ids;
  readonly apcbUpdates: number;
}

export const HOST_RESOURCES = ['adapter', 'domain', 'control-domain'] as const;
export type HostResource = (typeof HOST_RESOURCES)[number];
export type HostAction = 'add' | 'remove';

export interface GuestUpdateResult {
  readonly guest: string;
  readonly mdev: string | null;
  readonly apcb: Ids;
}

export interface HostChangeResult extends Omit<ConfigChange, 'guestsUpdated'> {
  readonly guestsUpdated: readonly GuestUpdateResult[];
}

export interface LogResult {
  /** Oldest seq still in the ring (entries before it were dropped), 0 when the log is empty. */
  readonly first: number;
  /** Newest seq so far; `--follow` streams what comes after it. */
  readonly last: number;
  readonly entries: readonly LogEvent[];
}

export interface LocksResult {
  /** Lockdep's own summary text (classes, dependencies, busy tasks, reports). */
  readonly text: string;
  readonly reports: number;
  /** Lockdep's state as data (classes, edges, tasks, reports). */
  readonly state: unknown;
}

export interface StatusResult {
  readonly protocol: number;
  readonly pid: number;
  readonly mountDir: string;
  readonly socket: string;
  readonly kernel: LockProfile;
  readonly uptimeMs: number;
  readonly config: { readonly adapters: number; readonly usageDomains: number; readonly controlDomains: number };
  readonly devices: { readonly cards: number; readonly queues: number; readonly bound: number };
  readonly mdevs: number;
  readonly guests: readonly { readonly guest: string; readonly mdev: string }[];
  readonly events: number;
  readonly lockdepReports: number;
}

/** Every method: its parameters and its result. */
export interface Methods {
  status: { params: Record<string, never>; result: StatusResult };
  'guest.attach': { params: { uuid: string; guest?: string }; result: GuestInfo };
  'guest.detach': { params: { uuid: string }; result: GuestInfo };
  'guest.show': { params: { uuid: string }; result: GuestInfo };
  'guest.list': { params: Record<string, never>; result: readonly GuestListEntry[] };
  'host.change': { params: { resource: HostResource; action: HostAction; id: number; type?: string }; result: HostChangeResult };
  log: { params: { since?: number; follow?: boolean; kinds?: EventKind[] }; result: LogResult };
  locks: { params: Record<string, never>; result: LocksResult };
  show: { params: { adapters?: number[]; domains?: number[] }; result: MatrixPicture };
}

export type Method = keyof Methods;
export type Params<M extends Method> = Methods[M]['params'];
export type Result<M extends Method> = Methods[M]['result'];

export const METHODS: readonly Method[] = ['status', 'guest.attach', 'guest.detach', 'guest.show', 'guest.list', 'host.change', 'log', 'locks', 'show'];
export const EVENT_KINDS: readonly EventKind[] = ['kernel', 'uevent', 'op', 'lockdep'];

export interface Request<M extends Method = Method> {
  readonly id: number;
  readonly method: M;
  readonly params: Params<M>;
}

/** `errno` is the kernel's name (`EPERM`); EIO for a daemon bug, EPROTO for a malformed request. */
export interface ErrorBody {
  readonly errno: string;
  readonly message: string;
}

export type Response =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: ErrorBody }
  | { readonly id: number; readonly event: LogEvent };

/** One message as a line. */
export const encode = (m: Request | Response): string => `${JSON.stringify(m)}\n`;

/**
 * Split a byte stream into lines; `onLine` gets each complete line. Returns false (and stops)
 * once the pending partial line exceeds `max` bytes.
 */
export function lineSplitter(onLine: (line: string) => void, max: number): (chunk: string) => boolean {
  let parts: string[] = [];
  let size = 0;
  return (chunk) => {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      parts.push(chunk.slice(start, nl));
      const line = parts.join('');
      parts = [];
      size = 0;
      start = nl + 1;
      if (line.trim()) onLine(line);
    }
    const rest = chunk.slice(start);
    if (rest) {
      parts.push(rest);
      size += Buffer.byteLength(rest);
    }
    return size <= max;
  };
}
