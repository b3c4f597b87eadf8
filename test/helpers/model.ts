/**
 * Shared fixtures for the model and sysfs tests: hosts built from the default topology (or a
 * fixture file) with overrides, an in-memory sysfs with read/write helpers that answer text or the
 * errno, and the lockdep check every test file ends with.
 */
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Host, type HostOptions } from '../../src/model/host.js';
import { defaultTopologyFile } from '../../src/model/default-topology.js';
import { parseTopology, type Topology } from '../../src/model/topology.js';
import { Errno, KernelError } from '../../src/model/errno.js';
import { ApMask } from '../../src/model/ap/ap-mask.js';
import type { MatrixMdev } from '../../src/model/vfio_ap/matrix-mdev.js';
import type { KernelMutex } from '../../src/model/lock/kernel-mutex.js';
import { readWhole } from './state-dump.js';
import { createSysfs } from '../../src/sysfs/tree.js';
import type { Kernfs } from '../../src/sysfs/kernfs-api.js';
import { formatMatrix } from '../../src/sysfs/emit.js';

/** What tap matches a thrown KernelError against (tap 21 wants `name` for the ErrorMatch type). */
export const kerr = (errno: Errno): { name: string; errno: Errno } => ({ name: 'KernelError', errno });

/** Success, as C says it: errno 0. */
export const OK = 0;

/** Run `p`; 0 when it resolves, the errno when it rejects with a KernelError (anything else rethrows). */
export async function errnoOf(p: Promise<unknown> | (() => Promise<unknown> | unknown)): Promise<Errno | 0> {
  try {
    await (typeof p === 'function' ? p() : p);
    return OK;
  } catch (e) {
    if (e instanceof KernelError) return e.errno;
    throw e;
  }
}

/** UUIDs used across the tests. */
export const U1 = 'a297db4a-f4c2-11e6-90f6-d3b88d6c9525';
export const U2 = '62177883-f1bb-47f0-914d-32a22e3a8804';
export const U3 = 'c5d0a1e4-2b7e-4d43-9a51-0d6f3b1e7a20';

export const FULL_MASK = `0x${'f'.repeat(64)}\n`;
/** '0x' + the given leading digits padded with zeros to 64 digits + "\n": how a mask reads. */
export const maskText = (digits: string): string => `0x${digits.padEnd(64, '0')}\n`;
export const maskOf = (ids: number[]): string => `${ApMask.fromIds(ids).toString()}\n`;

const created = new Map<Host, { expectReports: boolean }>();

export interface HostWithOptions extends HostOptions {
  /** This host is meant to record lockdep reports (lock-order tests); the end-of-file check skips it. */
  readonly expectLockdepReports?: boolean;
}

/** The default topology (README table) with some top-level fields replaced. */
export function topologyWith(overrides: Record<string, unknown> = {}): Topology {
  return parseTopology({ ...defaultTopologyFile, ...overrides });
}

function track(host: Host, opts: HostWithOptions): Host {
  created.set(host, { expectReports: opts.expectLockdepReports ?? false });
  return host;
}

/** A host built from the default topology with `overrides` applied. */
export async function hostWith(overrides: Record<string, unknown> = {}, opts: HostWithOptions = {}): Promise<Host> {
  return track(await Host.fromTopology(topologyWith(overrides), opts), opts);
}

const fixtureDir = fileURLToPath(new URL('../fixtures/topologies/', import.meta.url));

export function fixtureTopology(name: string): Topology {
  return parseTopology(JSON.parse(readFileSync(`${fixtureDir}${name}.json`, 'utf8')));
}

/** A host built from test/fixtures/topologies/<name>.json. */
export async function hostFromFixture(name: string, opts: HostWithOptions = {}): Promise<Host> {
  return track(await Host.fromTopology(fixtureTopology(name), opts), opts);
}

/** Create an mdev through the mdev core (as a 37-byte `echo UUID > create` would). */
export async function createMdev(host: Host, uuid: string): Promise<MatrixMdev> {
  return host.mdevCore.create(`${uuid}\n`, uuid.length + 1);
}

/** What `matrix` would read for this mdev's assigned matrix / shadow. */
export const matrixText = (m: MatrixMdev, which: 'matrix' | 'shadowApcb' = 'matrix'): string =>
  formatMatrix(m[which].apm, m[which].aqm, m[which].apmMax, m[which].aqmMax);

/** The driver a queue is bound to ('' when unbound). */
export function driverOf(host: Host, apid: number, apqi: number): string | undefined {
  const q = host.bus.queue(apid, apqi);
  return q && (q.driver?.name ?? '');
}

/** Snapshot of every queue's binding, `05.0004=vfio_ap` ..., to prove "nothing was rebound". */
export function bindingsOf(host: Host): string[] {
  return [...host.bus.queues()].map((q) => `${q.name}=${q.driver?.name ?? ''}`);
}

const O_WRONLY = 1;

export interface Sys {
  readonly fs: Kernfs;
  /** The whole content of an attribute, or the errno of open/read. */
  read(path: string): Promise<string | Errno>;
  /** One write(2) of `text` (latin1); 0 on success, else the errno. */
  write(path: string, text: string | Buffer): Promise<Errno | 0>;
  /** One write(2); the byte count it returned, or the errno (negated, to tell the two apart). */
  writeCount(path: string, data: Buffer): Promise<number>;
  ls(path: string): readonly string[] | undefined;
  readlink(path: string): string | undefined;
}

/** Kernfs paths are absolute inside the mount; the helpers accept `bus/ap/apmask` too. */
const abs = (p: string): string => (p.startsWith('/') ? p : `/${p}`);

/**
 * The in-memory sysfs of a host with the helpers the tests use. `fs` is the Kernfs itself, with
 * every path made absolute as the FUSE adapter passes them.
 */
export function sysfs(host: Host): Sys {
  const raw = createSysfs(host);
  const fs: Kernfs = {
    stat: (p) => raw.stat(abs(p)),
    readdir: (p) => raw.readdir(abs(p)),
    readlink: (p) => raw.readlink(abs(p)),
    open: (p, flags) => raw.open(abs(p), flags),
    truncate: (p) => raw.truncate(abs(p)),
  };
  const read = async (path: string): Promise<string | Errno> => {
    try {
      return await readWhole(fs, path);
    } catch (e) {
      if (e instanceof KernelError) return e.errno;
      throw e;
    }
  };

  const writeCount = async (path: string, data: Buffer): Promise<number> => {
    try {
      const f = fs.open(path, O_WRONLY);
      try {
        return await f.write(data, 0);
      } finally {
        f.release();
      }
    } catch (e) {
      if (e instanceof KernelError) return -e.errno;
      throw e;
    }
  };
  const write = async (path: string, text: string | Buffer): Promise<Errno | 0> => {
    const n = await writeCount(path, typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
    return n < 0 ? (-n as Errno) : OK;
  };
  return { fs, read, write, writeCount, ls: (p) => fs.readdir(p), readlink: (p) => fs.readlink(p) };
}

/**
 * The last test of every model/sysfs test file: no host built through these helpers recorded a
 * lockdep report (an inversion, a recursion or a deadlock), except hosts built to provoke one.
 */
export function noLockdepReports(t: Test): void {
  t.test('lockdep recorded no report in any host of this file', async (t) => {
    let n = 0;
    for (const [host, { expectReports }] of created) {
      if (expectReports) continue;
      n++;
      t.equal(host.lockdep.reports.length, 0, host.lockdep.reports.map((r) => r.text).join('\n') || 'no lockdep report');
    }
    t.equal(n > 0, true, `${n} hosts checked`);
  });
}

/**
 * Hold `lock` in a task of its own (another thread of the kernel) until `release()` is called.
 * Resolves once the lock is held.
 */
export async function holdLock(host: Host, lock: KernelMutex, name: string): Promise<{ release: () => Promise<void> }> {
  let letGo!: () => void;
  const gate = new Promise<void>((r) => (letGo = r));
  let held!: () => void;
  const isHeld = new Promise<void>((r) => (held = r));
  const task = host.lockdep.runTask(`holder of ${name}`, async () => {
    await lock.lock({ op: `test holds ${name}`, fn: 'test_holder' });
    held();
    try {
      await gate;
    } finally {
      lock.unlock();
    }
  });
  await isHeld;
  return {
    release: async () => {
      letGo();
      await task;
    },
  };
}

/** Let every pending promise job and immediate run (to show that something is still blocked). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Hosts built by the helpers so far (the lock-order test runs them all through lockdep). */
export const hostsCreated = (): Host[] => [...created.keys()];
