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
import type { StateSnapshot } from '../model/state-snapshot.js';
import type { MatrixIds } from '../model/vfio_ap/matrix-mdev.js';

export const PROTOCOL_VERSION = 1;

/** A request line may not be longer than this; longer input closes the connection. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** Adapters, domains and control domains of a mask triple (matrix, guest_matrix, an APCB). */
export type Ids = MatrixIds;

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
  /** The deadlock scenario the mount replays (--scenario), absent for the shipped design. */
  readonly scenario?: string;
}

export interface PqapResult {
  readonly guest: string;
  readonly vcpu: number;
  readonly apqn: string;
  /** The AP response code the guest sees: 0x00 normal, 0x01 queue not available. */
  readonly response: number;
}

export interface ScenarioInfo {
  readonly name: string;
  readonly title: string;
  /** The profile its flawed ordering needs, null when it sits on either. */
  readonly profile: LockProfile | null;
  readonly expected: { readonly taking: string; readonly held: string; readonly chain: readonly string[]; readonly victim: string };
  /** Each client's ops as commands (describeOp). */
  readonly setup: readonly string[];
  readonly clients: readonly { readonly name: string; readonly ops: readonly string[] }[];
}

export interface ScenarioListResult {
  /** What `ctl scenario list` prints (formatScenarioList). */
  readonly text: string;
  readonly scenarios: readonly ScenarioInfo[];
}

export interface ScenarioReport {
  readonly kind: string;
  readonly task: string;
  readonly taking: string;
  readonly held: string;
  /** Lock classes from `taking` to `held` ('circular'), or the wait cycle's ('deadlock'). */
  readonly chain: readonly string[];
  readonly text: string;
}

export interface ScenarioRunResult {
  readonly scenario: string;
  readonly design: 'flawed' | 'fixed';
  readonly profile: LockProfile;
  readonly clients: readonly { readonly name: string; readonly results: readonly { readonly op: string; readonly answer: string; readonly response?: number }[] }[];
  readonly inversions: number;
  readonly deadlocks: number;
  /** True when lockdep reported the scenario's expected chain. */
  readonly expectedReported: boolean;
  readonly reports: readonly ScenarioReport[];
  /** The readable account `ctl scenario run` prints. */
  readonly text: string;
}

/** Every method: its parameters and its result. */
export interface Methods {
  status: { params: Record<string, never>; result: StatusResult };
  'guest.attach': { params: { uuid: string; guest?: string }; result: GuestInfo };
  'guest.detach': { params: { uuid: string }; result: GuestInfo };
  'guest.show': { params: { uuid: string }; result: GuestInfo };
  'guest.list': { params: Record<string, never>; result: readonly GuestListEntry[] };
  /** A vCPU of the guest intercepts PQAP(AQIC) for an APQN (model/scenarios/kvm-paths.ts). */
  'guest.pqap': { params: { guest: string; apqn: string; vcpu?: number }; result: PqapResult };
  /** KVM_S390_PV_COMMAND on the guest: kvm->lock, then each vCPU's mutex. */
  'guest.pv': { params: { guest: string }; result: { readonly guest: string } };
  'host.change': { params: { resource: HostResource; action: HostAction; id: number; type?: string }; result: HostChangeResult };
  log: { params: { since?: number; follow?: boolean; kinds?: EventKind[] }; result: LogResult };
  locks: { params: Record<string, never>; result: LocksResult };
  /** The historic deadlock scenarios (docs/deadlocks.md) and their explanations. */
  'scenario.list': { params: Record<string, never>; result: ScenarioListResult };
  /** One scenario's workload on a scratch host (not the mounted one), flawed or fixed. */
  'scenario.run': { params: { name: string; design?: 'flawed' | 'fixed'; kernel?: LockProfile }; result: ScenarioRunResult };
  show: { params: { adapters?: number[]; domains?: number[] }; result: MatrixPicture };
  /** The whole state as a topology file's JSON (docs/topology.md): what `ctl save` writes. */
  save: { params: Record<string, never>; result: Record<string, unknown> };
  /** The state the stress runner checks, from one moment (model/state-snapshot.ts). */
  dump: { params: Record<string, never>; result: StateSnapshot };
}

export type Method = keyof Methods;
export type Params<M extends Method> = Methods[M]['params'];
export type Result<M extends Method> = Methods[M]['result'];

export const METHODS: readonly Method[] = ['status', 'guest.attach', 'guest.detach', 'guest.show', 'guest.list', 'guest.pqap', 'guest.pv', 'host.change', 'log', 'locks', 'scenario.list', 'scenario.run', 'show', 'save', 'dump'];
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
