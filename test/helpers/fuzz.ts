/**
 * The fuzzing harness for writable sysfs attributes ("Prove it holds").
 *
 * Every writable attribute (src/sysfs/errno-sets.ts WRITE_ERRNOS) is a target. For each write the
 * harness checks that:
 *   1. the model answers, and only with a KernelError (anything else is a bug), and never hangs;
 *   2. the errno is in the attribute's documented set;
 *   3. a refused write left dumpHost() identical (and, every `walkEvery` writes, the whole sysfs
 *      walk too); a successful one returned the byte count (at most PAGE_SIZE);
 *   4. where fuzz-oracles.ts can compute the kernel's answer, the answer is that one, and the
 *      state after a success is what the write asked for.
 *
 * Reproduce a failure with the seed it prints: `FUZZ_SEED=<seed> npx tap test/fuzz/<file>.ts`.
 * `FUZZ_ITERATIONS` (model writes per target, default 10000) and `FUZZ_MOUNT_ITERATIONS` (writes
 * per target through the mount, default 500) make longer runs.
 */
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { Host } from '../../src/model/host.js';
import { Errno, KernelError } from '../../src/model/errno.js';
import { parseTopology, type Topology } from '../../src/model/topology.js';
import { ApMask } from '../../src/model/ap/ap-mask.js';
import { createSysfs } from '../../src/sysfs/tree.js';
import type { Kernfs, OpenFile } from '../../src/sysfs/kernfs-api.js';
import { WRITE_ERRNOS, writeErrnosKey } from '../../src/sysfs/errno-sets.js';
import { diffDumps, dumpHost, dumpSysfs } from './state-dump.js';
import { genInput, Rng, type InputContext, type InputKind } from './fuzz-inputs.js';
import { ORACLES, type Expectation, type Outcome } from './fuzz-oracles.js';
import { run } from './shell.js';

export { Rng } from './fuzz-inputs.js';

// ---- configuration --------------------------------------------------------------------------

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
}

/** FUZZ_SEED, or a fresh random seed (printed with every failure). */
export const fuzzSeed = (): number => envInt('FUZZ_SEED') ?? randomInt(0x7fffffff);
export const modelIterations = (): number => envInt('FUZZ_ITERATIONS') ?? 10_000;
export const mountIterations = (): number => envInt('FUZZ_MOUNT_ITERATIONS') ?? 500;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));

export const U1 = 'a297db4a-f4c2-11e6-90f6-d3b88d6c9525';
export const U2 = '62177883-f1bb-47f0-914d-32a22e3a8804';
export const U3 = 'c5d0a1e4-2b7e-4d43-9a51-0d6f3b1e7a20';

/**
 * The fuzzed machine: the default LPAR plus a deconfigured, a checkstopped and an offline card
 * (ENODEV/EINVAL paths of `online`), adapters 5, 6 and 0x20 left to vfio_ap, and three mdevs: U1
 * (05.0004, 05.0047, control domain 4; attached to guest vm1 in the model runs), U2 (06.0004,
 * 06.0006) and U3 (0x20, which the host has not got: over-provisioned).
 */
export const FUZZ_TOPOLOGY_FILE = {
  adapters: [
    { id: '0x04', type: 'CEX7C' },
    { id: '0x05', type: 'CEX7C' },
    { id: '0x06', type: 'CEX7A' },
    { id: '0x0b', type: 'CEX7P' },
    { id: '0x0c', type: 'CEX8C', configured: false },
    { id: '0x0d', type: 'CEX8A', chkstop: true },
    { id: '0x0e', type: 'CEX6P', online: false },
  ],
  usageDomains: ['0x0004', '0x0006', '0x0047', '0x0054'],
  controlDomains: ['0x0001', '0x0004', '0x0006', '0x0047', '0x0054'],
  apmask: '+0-4,+7-0x1f,+0x21-255',
  apDomain: 4,
  mdevs: [
    { uuid: U1, adapters: ['0x05'], domains: ['0x0004', '0x0047'], controlDomains: [4] },
    { uuid: U2, adapters: ['0x06'], domains: ['0x0004', '0x0006'], controlDomains: [4] },
    { uuid: U3, adapters: ['0x20'], domains: ['0x0006'], controlDomains: [] },
  ],
};
export const FUZZ_TOPOLOGY: Topology = parseTopology(FUZZ_TOPOLOGY_FILE);
/** Additional zcrypt nodes of the fixture: one named, one automatic (`zcrypt_1`). */
export const FUZZ_ZCDN_NODES = ['fuzz0', ''];

/** Hosts built so far and the lockdep reports of those already let go (a host is kept only while in use). */
const built = { hosts: 0, reports: [] as string[], current: [] as Host[] };

/**
 * Let a host go. Each Lockdep owns an AsyncLocalStorage, which Node keeps in a global list until
 * it is disabled; every promise created afterwards is initialised once per listed storage. Without
 * this, a run that builds hundreds of hosts slows down and ends out of memory. (Reported: the
 * model has no way to release a Host yet; this reaches into Lockdep for it.)
 */
function dispose(h: Host): void {
  built.reports.push(...h.lockdep.reports.map((r) => r.text));
  h.lockdep.close();
}

/** The fuzz machine, with U1 open by guest vm1 and the zcrypt nodes unless told otherwise. */
export async function fuzzHost(opts: { guest?: boolean; zcdn?: boolean } = {}): Promise<Host> {
  for (const h of built.current.splice(0)) dispose(h);
  const host = await Host.fromTopology(FUZZ_TOPOLOGY);
  if (opts.guest ?? true) await host.attachGuest(U1, 'vm1');
  if (opts.zcdn ?? true) for (const name of FUZZ_ZCDN_NODES) await host.zcrypt.create(name);
  built.hosts++;
  built.current.push(host);
  return host;
}

/** Lockdep reports of every host fuzzHost() built. */
export function lockdepReports(): { hosts: number; reports: string[] } {
  return { hosts: built.hosts, reports: [...built.reports, ...built.current.flatMap((h) => h.lockdep.reports.map((r) => r.text))] };
}

// ---- targets --------------------------------------------------------------------------------

export interface FuzzTarget {
  /** The concrete path, or the key when it has placeholders (<card>, <queue>, <uuid>). */
  readonly name: string;
  /** The WRITE_ERRNOS key. */
  readonly key: string;
  readonly kinds: readonly InputKind[];
  /** The concrete paths of this attribute that exist in `host` now. */
  paths(host: Host, fs: Kernfs): string[];
  ctx(host: Host): InputContext;
}

const KINDS: Record<string, readonly InputKind[]> = {
  ap_domain: ['int'],
  config_time: ['int'],
  poll_thread: ['bool'],
  poll_timeout: ['ulong'],
  apmask: ['mask'],
  aqmask: ['mask'],
  scans: ['int', 'bool'],
  drivers_autoprobe: ['bool', 'int'],
  drivers_probe: ['device'],
  uevent: ['uevent'],
  bind: ['device'],
  unbind: ['device'],
  request_count: ['int'],
  reset: ['int', 'bool'],
  config: ['int'],
  online: ['int', 'bool'],
  create: ['uuid'],
  assign_adapter: ['ulong'],
  unassign_adapter: ['ulong'],
  assign_domain: ['ulong'],
  unassign_domain: ['ulong'],
  assign_control_domain: ['ulong'],
  unassign_control_domain: ['ulong'],
  ap_config: ['apconfig', 'mask'],
  remove: ['ulong', 'bool'],
  ioctlmask: ['mask'],
  admask: ['mask'],
};
/** Where the file name alone does not tell the kind. */
const KINDS_BY_KEY: Record<string, readonly InputKind[]> = {
  '/class/zcrypt/create': ['device'],
  '/class/zcrypt/destroy': ['device'],
};

const apDeviceNames = (host: Host): string[] => {
  const names: string[] = [];
  for (const c of host.bus.cards.values()) names.push(c.name, ...[...c.queues.values()].map((q) => q.name));
  return names;
};
const uuids = (host: Host): string[] => host.matrixDev.mdevList.map((m) => m.uuid);

function boundsFor(base: string, host: Host): (number | bigint)[] {
  const domains = host.bus.qci.aqm.ids();
  const adapters = [...host.bus.cards.keys(), 0x20];
  const md = host.matrixDev;
  switch (base) {
    case 'ap_domain':
      return [host.bus.maxDomainId, ...domains, 0, (1n << 32n) + 4n];
    case 'config_time':
      return [5, 120, (1n << 32n) + 30n];
    case 'poll_timeout':
      return [120000000000n, 250000];
    case 'assign_adapter':
    case 'unassign_adapter':
      return [md.apmMax, ...adapters];
    case 'assign_domain':
    case 'unassign_domain':
      return [md.aqmMax, ...domains];
    case 'assign_control_domain':
    case 'unassign_control_domain':
      return [md.admMax, ...host.bus.qci.adm.ids()];
    default:
      return [0, 1];
  }
}

/** One target per writable attribute; `<driver>` keys become one target per driver. */
export function allTargets(): FuzzTarget[] {
  const out: FuzzTarget[] = [];
  for (const key of Object.keys(WRITE_ERRNOS)) {
    const base = key.slice(key.lastIndexOf('/') + 1);
    const kinds = KINDS_BY_KEY[key] ?? KINDS[base] ?? ['int'];
    const bus = key.startsWith('/bus/matrix') ? 'matrix' : key.startsWith('/bus/mdev') ? 'mdev' : key.startsWith('/bus/ap') ? 'ap' : key.startsWith('/class/zcrypt') ? 'zcrypt' : 'any';
    const ctx = (host: Host): InputContext => ({
      devices:
        bus === 'matrix' ? ['matrix']
        : bus === 'mdev' ? uuids(host)
        : bus === 'ap' ? apDeviceNames(host)
        : bus === 'zcrypt' ? [...host.zcrypt.nodes.keys(), 'zcrypt_0', 'zcrypt_1', 'zcrypt_2', 'create', 'destroy', 'a/b', 'a!b', ' fuzz0 ', 'x'.repeat(40), '']
        : [...apDeviceNames(host), 'matrix', ...uuids(host)],
      uuids: uuids(host),
      bounds: boundsFor(base, host),
    });
    // A path through a node named "." or ".." exists in the model but no syscall can name it.
    const exists = (fs: Kernfs, p: string): boolean => fs.stat(p)?.kind === 'file' && !/\/\.\.?\//.test(p);
    const names = key.includes('<driver>') ? ['cex4card', 'cex4queue', 'vfio_ap'].map((d) => key.replace('<driver>', d)) : [key];
    for (const name of names) {
      let paths: FuzzTarget['paths'];
      if (key.includes('<queue>')) paths = (host, fs) => [...host.bus.queues()].map((q) => `/devices/ap/${q.card.name}/${q.name}/${base}`).filter((p) => exists(fs, p));
      else if (key.includes('<card>')) paths = (host, fs) => [...host.bus.cards.values()].map((c) => `/devices/ap/${c.name}/${base}`).filter((p) => exists(fs, p));
      else if (key.includes('<uuid>')) paths = (host, fs) => uuids(host).map((u) => `/devices/vfio_ap/matrix/${u}/${base}`).filter((p) => exists(fs, p));
      else if (key.includes('<zcdn>')) paths = (host, fs) => [...host.zcrypt.nodes.keys()].map((n) => `/class/zcrypt/${n}/${base}`).filter((p) => exists(fs, p));
      else if (key.includes('<group>')) paths = (host, fs) => host.matrixDev.mdevList.map((m) => `/kernel/iommu_groups/${m.iommuGroup}/${base}`).filter((p) => exists(fs, p));
      else paths = (_h, fs) => (exists(fs, name) ? [name] : []);
      out.push({ name, key, kinds, paths, ctx });
    }
  }
  return out;
}

/** Targets whose key starts with one of `prefixes`. */
export const targetsUnder = (...prefixes: string[]): FuzzTarget[] => allTargets().filter((x) => prefixes.some((p) => x.key.startsWith(p)));

// ---- one write against the model ------------------------------------------------------------

const O_WRONLY = 1;

export type WriteResult =
  | { readonly kind: 'answer'; readonly stage: 'open' | 'write'; readonly outcome: Outcome; readonly n: number; readonly why?: string }
  | { readonly kind: 'bug'; readonly error: unknown }
  | { readonly kind: 'hung' };

const PENDING = Symbol('pending');
const immediate = (): Promise<typeof PENDING> => new Promise((r) => setImmediate(() => r(PENDING)));
const later = (ms: number): Promise<typeof PENDING> => new Promise((r) => setTimeout(() => r(PENDING), ms).unref());

/**
 * One write(2) on an open file, as the FUSE adapter would issue it. A write still pending after the
 * model has run everything it can is blocked: if a guest holds an mdev (a `remove` waits for the
 * VFIO device to be closed, spec §8), the guests are detached, as QEMU would answer the request;
 * still pending after that, it is hung.
 */
export async function writeOpenFile(host: Host, f: OpenFile, data: Buffer): Promise<WriteResult> {
  const p = f.write(data, 0).then(
    (n): WriteResult => ({ kind: 'answer', stage: 'write', outcome: 0, n }),
    (e: unknown): WriteResult => (e instanceof KernelError ? { kind: 'answer', stage: 'write', outcome: e.errno, n: -1, why: e.why } : { kind: 'bug', error: e }),
  );
  let r = await Promise.race([p, immediate()]);
  for (let i = 0; r === PENDING && i < 20; i++) r = await Promise.race([p, immediate()]);
  if (r !== PENDING) return r;
  for (const m of host.matrixDev.mdevList) if (m.kvm) await host.detachGuest(m.uuid).catch(() => undefined);
  r = await Promise.race([p, later(2000)]);
  return r === PENDING ? { kind: 'hung' } : r;
}

/** open(O_WRONLY), one write, release: what `printf … > attr` does. */
export async function modelWrite(host: Host, fs: Kernfs, path: string, data: Buffer): Promise<WriteResult> {
  let f: OpenFile;
  try {
    f = fs.open(path, O_WRONLY);
  } catch (e) {
    return e instanceof KernelError ? { kind: 'answer', stage: 'open', outcome: e.errno, n: -1, why: e.why } : { kind: 'bug', error: e };
  }
  try {
    return await writeOpenFile(host, f, data);
  } finally {
    f.release();
  }
}

// ---- checking one answer --------------------------------------------------------------------

export const errnoName = (o: Outcome): string => (o === 0 ? 'OK' : (Errno[o] ?? `errno ${o}`));

/** The input as a reproducible literal: a JS string for printable latin1, hex otherwise. */
export function showInput(data: Buffer): string {
  const head = data.subarray(0, 160);
  const printable = head.every((c) => c === 9 || c === 10 || (c >= 0x20 && c < 0x7f));
  const text = printable ? JSON.stringify(head.toString('latin1')) : `hex ${head.toString('hex')}`;
  return `${text}${data.length > head.length ? ` … (${data.length} bytes)` : ` (${data.length} bytes)`}`;
}

export interface Verdict {
  readonly problems: string[];
}

/** kernfs_get_active failed: the file was opened before its node went away (ENODEV, store() not called). */
const gone = (r: WriteResult): boolean => r.kind === 'answer' && r.outcome === Errno.ENODEV && (r.why ?? '').endsWith(': gone');

/**
 * Everything wrong with one answer. `before` is dumpHost() taken just before the write; `after`
 * is read only when needed. `kept`: the file was opened by an earlier write, so ENODEV for a node
 * that went away since is the kernfs answer, whatever the attribute.
 */
export function judge(opts: { key: string; data: Buffer; result: WriteResult; before: string; host: Host; expect: Expectation | undefined; kept?: boolean }): string[] {
  const { key, data, result, before, host } = opts;
  if (result.kind === 'bug') return [`not a KernelError: ${result.error instanceof Error ? (result.error.stack ?? result.error.message) : String(result.error)} (FUZZ_STACKS=1 for the stack)`];
  if (result.kind === 'hung') return ['the write never completed (hung)'];
  const problems: string[] = [];
  if (result.stage === 'open') return [`open(O_WRONLY) failed with ${errnoName(result.outcome)}`];
  const count = Math.min(data.length, 4096);
  const { outcome } = result;
  const nodeGone = opts.kept === true && gone(result) && count > 0;
  const expect = nodeGone ? undefined : opts.expect;
  const allowed = nodeGone ? [Errno.ENODEV] : WRITE_ERRNOS[key]!.errnos;
  if (outcome !== 0 && !allowed.includes(outcome)) problems.push(`${errnoName(outcome)} is not in the documented set {${allowed.map(errnoName).join(', ') || 'never fails'}}`);
  if (count === 0 && (outcome !== 0 || result.n !== 0)) problems.push(`a zero-length write must return 0 without calling store(), got ${outcome ? errnoName(outcome) : result.n}`);
  if (outcome === 0 && result.n !== count) problems.push(`success returned ${result.n}, not the ${count} bytes taken`);
  if (outcome !== 0 || count === 0) {
    const after = dumpHost(host);
    if (after !== before) problems.push(`a ${outcome ? 'refused' : 'zero-length'} write changed the state:\n${diffDumps(before, after)}`);
  }
  if (expect && count > 0) {
    if (!expect.outcomes.includes(outcome)) problems.push(`the kernel answers ${expect.outcomes.map(errnoName).join(' or ')} (${expect.why}), apsysfs ${errnoName(outcome)}`);
    else if (outcome === 0 && expect.after) {
      const wrong = expect.after(host);
      if (wrong) problems.push(`after a successful write: ${wrong} (${expect.why})`);
    }
  }
  return problems;
}

// ---- the model runner -----------------------------------------------------------------------

export interface ModelFuzzOptions {
  readonly seed: number;
  readonly iterations: number;
  /** Start from a fresh fixture after this many writes: drift explores, the fixture keeps the variety. */
  readonly refreshEvery?: number;
  /** Compare the whole sysfs walk around every n-th write too. */
  readonly walkEvery?: number;
  /** Report at most this many failing writes per target. */
  readonly maxReports?: number;
}

/** What a fuzz run reports, one JSON line each when it runs in a child process. */
export type FuzzEvent =
  | { readonly t: 'fail'; readonly target: string; readonly msg: string; readonly write: number }
  | { readonly t: 'done'; readonly target: string; readonly writes: number; readonly failures: number; readonly summary: string }
  | { readonly t: 'check'; readonly name: string; readonly ok: boolean; readonly msg: string };

export type Report = (e: FuzzEvent) => void;

/** A stable 32-bit hash, to give each target its own stream from one seed. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Counts answers and failures of one target and reports them. */
export class TargetTally {
  private readonly counts = new Map<string, number>();
  failures = 0;

  constructor(
    private readonly target: string,
    private readonly report: Report,
    private readonly maxReports: number,
  ) {}

  count(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }

  fail(write: number, msg: string): void {
    this.failures++;
    if (this.failures <= this.maxReports) this.report({ t: 'fail', target: this.target, msg, write });
  }

  done(writes: number, extra: string): void {
    const summary = [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    this.report({ t: 'done', target: this.target, writes, failures: this.failures, summary: `${summary}; ${extra}` });
  }
}

const MAX_MDEVS = 12;
const MAX_ZCDN = 12;
const MDEV_CREATE = '/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create';

const idsMask = (ids: readonly (string | number)[]): string => ApMask.fromIds(ids.map((x) => (typeof x === 'number' ? x : parseInt(x, 16)))).toString();

/** The fixture's mdevs (with their matrix) and zcrypt nodes, made again through their files where they are gone. */
export async function replenish(host: Host, fs: Kernfs): Promise<void> {
  for (const m of FUZZ_TOPOLOGY_FILE.mdevs) {
    if (host.matrixDev.findMdev(m.uuid)) continue;
    await modelWrite(host, fs, MDEV_CREATE, Buffer.from(m.uuid));
    const config = `${idsMask(m.adapters)},${idsMask(m.domains)},${idsMask(m.controlDomains)}\n`;
    await modelWrite(host, fs, `/devices/vfio_ap/matrix/${m.uuid}/ap_config`, Buffer.from(config));
  }
  if (host.zcrypt.nodes.size === 0) for (const name of FUZZ_ZCDN_NODES) await modelWrite(host, fs, '/class/zcrypt/create', Buffer.from(`${name}\n`));
}

/** Remove what a target added beyond the fixture (mdevs, zcrypt nodes), through their files. */
export async function tidy(host: Host, fs: Kernfs): Promise<void> {
  const keep = new Set<string>(FUZZ_TOPOLOGY_FILE.mdevs.map((m) => m.uuid));
  for (const m of [...host.matrixDev.mdevList]) if (!keep.has(m.uuid)) await modelWrite(host, fs, `/devices/vfio_ap/matrix/${m.uuid}/remove`, Buffer.from('1'));
  for (const n of [...host.zcrypt.nodes.keys()].slice(FUZZ_ZCDN_NODES.length)) await modelWrite(host, fs, '/class/zcrypt/destroy', Buffer.from(n, 'latin1'));
}

/** Run `opts.iterations` writes against each target, on the model only. */
export async function runModelFuzz(targets: readonly FuzzTarget[], opts: ModelFuzzOptions, report: Report): Promise<void> {
  const refreshEvery = opts.refreshEvery ?? 2500;
  const walkEvery = opts.walkEvery ?? 5000;
  for (const target of targets) {
    const rng = new Rng((opts.seed ^ hash32(target.name)) >>> 0);
    const tally = new TargetTally(target.name, report, opts.maxReports ?? 5);
    const oracle = ORACLES[target.key];
    let refreshes = 0;
    // The state as last dumped: only writes change the host, so after a refused write it is
    // still the state before the next one (one dump per write instead of two).
    let host!: Host;
    let fs!: Kernfs;
    let state = '';
    let paths: string[] = [];
    let ctx!: InputContext;
    const observe = (): void => {
      state = dumpHost(host);
      paths = target.paths(host, fs);
      ctx = target.ctx(host);
    };
    const fresh = async (): Promise<void> => {
      host = await fuzzHost();
      fs = createSysfs(host);
      refreshes++;
      observe();
    };
    await fresh();
    let i = 0;
    for (; i < opts.iterations; i++) {
      // create fills the machine with mdevs and zcrypt nodes, and every dump pays for each: start
      // over once there are many. remove and destroy take the fixture's away: make them again.
      if (i % refreshEvery === refreshEvery - 1) await fresh();
      else if (host.matrixDev.mdevList.length > MAX_MDEVS || host.zcrypt.nodes.size > MAX_ZCDN) {
        await tidy(host, fs);
        observe();
      } else if (paths.length === 0) {
        await replenish(host, fs);
        observe();
        if (paths.length === 0) await fresh();
      }
      if (paths.length === 0) {
        tally.fail(i, `no instance of ${target.key} exists in the fuzz fixture`);
        break;
      }
      const path = rng.pick(paths);
      const data = genInput(rng, target.kinds, ctx);
      const walk = i % walkEvery === walkEvery - 1 ? await dumpSysfs(fs) : undefined;
      const expect = oracle?.(host, path, data);
      const result = await modelWrite(host, fs, path, data);
      const problems = judge({ key: target.key, data, result, before: state, host, expect });
      if (walk !== undefined && result.kind === 'answer' && result.outcome !== 0) {
        const now = await dumpSysfs(fs);
        if (now !== walk) problems.push(`a refused write changed what sysfs shows:\n${diffDumps(walk, now)}`);
      }
      tally.count(result.kind === 'answer' ? errnoName(result.outcome) : result.kind);
      if (problems.length) tally.fail(i, `${path} <- ${showInput(data)}: ${problems.join('; ')}`);
      if (result.kind !== 'answer') await fresh();
      else if (result.outcome === 0 || problems.length) observe();
    }
    tally.done(i, `${refreshes} fresh fixtures`);
  }
  const { hosts, reports } = lockdepReports();
  report({ t: 'check', name: `lockdep recorded no report in the ${hosts} fuzzed hosts`, ok: reports.length === 0, msg: reports.slice(0, 3).join('\n') });
}

// ---- running a fuzzer in a child process ----------------------------------------------------

/**
 * Where fuzz-main.ts lands when compiled. The fuzzers run there, in a plain `node` without tap's
 * instrumentation: tap's async hooks and coverage make every write about twice as slow, and the
 * budget is 10,000 writes for each of ~50 attributes.
 */
const FUZZ_MAIN = path.join(repoRoot, 'dist', 'test', 'helpers', 'fuzz-main.js');

export interface ChildFuzzRequest {
  readonly mode: 'model' | 'mount';
  readonly seed: number;
  readonly iterations: number;
  /** Targets whose key starts with one of these (all when empty). */
  readonly prefixes: readonly string[];
  /** The mount point (mode 'mount'). */
  readonly root?: string;
}

/** Run a fuzzer in a child process and turn its report into one subtest per target. */
export async function fuzzInChild(t: Test, req: ChildFuzzRequest, opts: { timeoutMs: number }): Promise<FuzzEvent[]> {
  assertBuilt(FUZZ_MAIN);
  // A larger young generation: every write makes a few KiB of short-lived strings (the state dump).
  // No coverage: tap's process-info hook follows every node child and would record it, at twice the cost.
  const r = await run(process.execPath, ['--max-semi-space-size=32', FUZZ_MAIN, JSON.stringify(req)], {
    timeoutMs: opts.timeoutMs,
    env: { _TAPJS_PROCESSINFO_COVERAGE_: '0' },
  });
  const events: FuzzEvent[] = [];
  for (const line of r.stdout.split('\n')) if (line.startsWith('{')) events.push(JSON.parse(line) as FuzzEvent);
  const reproduce = `FUZZ_SEED=${req.seed} ${req.mode === 'model' ? 'FUZZ_ITERATIONS' : 'FUZZ_MOUNT_ITERATIONS'}=${req.iterations} npx tap ${path.relative(repoRoot, process.argv[1] ?? '')}`;
  t.equal(r.code, 0, `the fuzzer exited 0${r.code ? `: ${r.stderr.slice(-2000)}` : ''}`);
  const fails = new Map<string, FuzzEvent[]>();
  for (const e of events) if (e.t === 'fail') fails.set(e.target, [...(fails.get(e.target) ?? []), e]);
  for (const e of events) {
    if (e.t === 'done') {
      t.test(e.target, async (t) => {
        for (const f of fails.get(e.target) ?? []) if (f.t === 'fail') t.fail(f.msg, { write: f.write, seed: req.seed, reproduce });
        if (e.failures > (fails.get(e.target)?.length ?? 0)) t.fail(`${e.failures - (fails.get(e.target)?.length ?? 0)} more failing writes`, { reproduce });
        t.equal(e.failures, 0, `${e.writes} writes (${e.summary}; seed ${req.seed})`);
        t.ok(e.writes >= req.iterations, `at least ${req.iterations} writes`);
      });
    } else if (e.t === 'check') {
      t.ok(e.ok, `${e.name}${e.ok ? '' : `: ${e.msg}`}`, { reproduce });
    }
  }
  return events;
}

/**
 * The child runs compiled code: fail clearly when it is missing or older than its source (npm test
 * compiles first; `npx tap FILE` alone does not). Follows the relative imports from `entry`.
 */
function assertBuilt(entry: string): void {
  const dist = path.join(repoRoot, 'dist');
  const todo = [entry];
  const seen = new Set<string>();
  for (let js = todo.pop(); js !== undefined; js = todo.pop()) {
    if (seen.has(js)) continue;
    seen.add(js);
    const ts = path.join(repoRoot, path.relative(dist, js)).replace(/\.js$/, '.ts');
    if (!existsSync(js) || (existsSync(ts) && statSync(ts).mtimeMs > statSync(js).mtimeMs)) {
      throw new Error(`dist/ is not up to date (${path.relative(repoRoot, ts)}): run npx tsc -p tsconfig.json (npm test does)`);
    }
    for (const [, spec] of readFileSync(js, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) todo.push(path.resolve(path.dirname(js), spec ?? ''));
  }
}

/** Every writable file of a Kernfs (walked from `/`), for the coverage check. */
export function writableFiles(fs: Kernfs, from = '/'): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const st = fs.stat(p);
    if (!st) return;
    if (st.kind === 'file') {
      if (st.mode & 0o222) out.push(p);
      return;
    }
    if (st.kind !== 'dir') return;
    for (const n of fs.readdir(p) ?? []) walk(p === '/' ? `/${n}` : `${p}/${n}`);
  };
  walk(from);
  return out;
}

export { writeErrnosKey };
