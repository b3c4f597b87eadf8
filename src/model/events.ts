/**
 * The event log: what the kernel would have printed (dev_warn/pr_info lines, WARNs), the uevents it
 * would have sent, the operations apsysfs carried out with their results, and lockdep reports.
 * Kernel lines carry the kernel's own text, prefixed the way dmesg shows them
 * (e.g. `vfio_ap_mdev <uuid>: Userspace may not assign queue 05.0004 to mdev: already assigned to <uuid>`).
 *
 * Bounded (a ring of `capacity` entries) so a long stress run cannot grow memory without limit.
 */
export type EventKind = 'kernel' | 'uevent' | 'op' | 'lockdep';
export type EventLevel = 'err' | 'warn' | 'info' | 'debug';

export interface LogEvent {
  readonly seq: number;
  /** Milliseconds from the host clock. */
  readonly time: number;
  readonly kind: EventKind;
  readonly level: EventLevel;
  readonly text: string;
}

export type EventListener = (e: LogEvent) => void;

export class EventLog {
  private readonly ring: LogEvent[] = [];
  private nextSeq = 1;
  private readonly listeners = new Set<EventListener>();

  constructor(
    private readonly clock: () => number,
    private readonly capacity = 20000,
  ) {}

  add(kind: EventKind, level: EventLevel, text: string): LogEvent {
    const e: LogEvent = { seq: this.nextSeq++, time: this.clock(), kind, level, text };
    this.ring.push(e);
    // Trim in chunks: dropping one entry per add would shift the whole ring every time.
    if (this.ring.length > this.capacity + (this.capacity >> 2)) this.ring.splice(0, this.ring.length - this.capacity);
    for (const l of this.listeners) l(e);
    return e;
  }

  /** A kernel log line, exactly as dmesg would show it (without the timestamp). */
  kernel(level: EventLevel, text: string): LogEvent {
    return this.add('kernel', level, text);
  }

  /** A uevent: `ACTION devpath` followed by its KEY=value environment, space separated. */
  uevent(action: 'add' | 'remove' | 'change' | 'bind' | 'unbind', devpath: string, env: Record<string, string> = {}): LogEvent {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    return this.add('uevent', 'info', [action, devpath, ...vars].join(' '));
  }

  /** Entries with seq > since, oldest first. */
  entries(since = 0): LogEvent[] {
    const all = this.ring.length > this.capacity ? this.ring.slice(-this.capacity) : this.ring;
    return since === 0 ? [...all] : all.filter((e) => e.seq > since);
  }

  /** Kernel lines only, as text (what `dmesg` would show), for tests and `ctl log`. */
  kernelLines(since = 0): string[] {
    return this.entries(since)
      .filter((e) => e.kind === 'kernel')
      .map((e) => e.text);
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  subscribe(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
