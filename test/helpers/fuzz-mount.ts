/**
 * Fuzzing through a real mount, differentially: this process writes every input twice, once to
 * the mount (open/write/close with real syscalls, so the kernel's FUSE layer and the daemon are
 * in the path) and once to a shadow Host built from the same topology. The daemon runs the same
 * deterministic model, so the two must agree on every answer: same errno at the same stage, same
 * byte count. The shadow answer is judged like a model-level one (documented set, state unchanged
 * after a refusal, oracle), so the mount inherits those properties; what the mount adds (O_TRUNC,
 * the 4096-byte cut, NULs, kept-open files, ENODEV on a node gone) is compared directly. After each
 * target the target's directory is read through the mount and compared with the shadow's, and at
 * the end the whole tree.
 */
import { closeSync, constants, lstatSync, openSync, readFileSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import type { Host } from '../../src/model/host.js';
import { KernelError } from '../../src/model/errno.js';
import { createSysfs } from '../../src/sysfs/tree.js';
import type { Kernfs, OpenFile } from '../../src/sysfs/kernfs-api.js';
import { diffDumps, dumpHost, dumpSysfs } from './state-dump.js';
import { genInput, Rng } from './fuzz-inputs.js';
import { ORACLES } from './fuzz-oracles.js';
import { errnoName, fuzzHost, FUZZ_TOPOLOGY_FILE, FUZZ_ZCDN_NODES, hash32, judge, showInput, TargetTally, writeErrnosKey, writeOpenFile, type FuzzTarget, type Report, type WriteResult } from './fuzz.js';

const { O_WRONLY, O_TRUNC, O_CREAT } = constants;

type Mode = 'fresh' | 'trunc' | 'kept';

interface MountAnswer {
  readonly stage: 'open' | 'write' | 'close';
  /** 0 or the errno. */
  readonly errno: number;
  readonly n: number;
}

const errnoOf = (e: unknown): number => -((e as { errno?: number }).errno ?? 0) || -1;

/** `printf … > attr` (mode trunc: O_TRUNC, as a shell opens), or one more write on a kept descriptor. */
function mountWrite(root: string, path: string, data: Buffer, mode: Mode, kept: Map<string, number>): MountAnswer {
  let fd = mode === 'kept' ? kept.get(path) : undefined;
  if (fd === undefined) {
    try {
      fd = openSync(root + path, O_WRONLY | (mode === 'trunc' ? O_TRUNC | O_CREAT : 0));
    } catch (e) {
      return { stage: 'open', errno: errnoOf(e), n: -1 };
    }
    if (mode === 'kept') kept.set(path, fd);
  }
  let answer: MountAnswer;
  try {
    answer = { stage: 'write', errno: 0, n: writeSync(fd, data) };
  } catch (e) {
    answer = { stage: 'write', errno: errnoOf(e), n: -1 };
  }
  if (mode !== 'kept') {
    try {
      closeSync(fd);
    } catch (e) {
      return { stage: 'close', errno: errnoOf(e), n: -1 };
    }
  }
  return answer;
}

/** The shadow: the model the daemon runs, and its state as last dumped. */
interface Shadow {
  readonly host: Host;
  readonly fs: Kernfs;
  state: string;
}

/**
 * The shadow's side of the same step, as the syscalls go: Node's writeSync (libuv's
 * uv__fs_write_all) calls write(2) again after a short write, and sysfs takes at most 4096 bytes a
 * call, so a longer input is several store() calls; each is judged like a model-level write. The
 * answer is libuv's: the bytes written in total, or the first call's error when nothing was.
 */
async function shadowWrite(sh: Shadow, key: string, path: string, data: Buffer, mode: Mode, kept: Map<string, OpenFile>): Promise<{ answer: WriteResult; problems: string[] }> {
  let f = mode === 'kept' ? kept.get(path) : undefined;
  if (!f) {
    try {
      f = sh.fs.open(path, O_WRONLY);
      // open(O_TRUNC) arrives as open + truncate(0) (no atomic_o_trunc): sysfs accepts and ignores it.
      if (mode === 'trunc') sh.fs.truncate(path);
    } catch (e) {
      const answer: WriteResult = e instanceof KernelError ? { kind: 'answer', stage: 'open', outcome: e.errno, n: -1, why: e.why } : { kind: 'bug', error: e };
      return { answer, problems: [] };
    }
    if (mode === 'kept') kept.set(path, f);
  }
  const oracle = ORACLES[key];
  const problems: string[] = [];
  let total = 0;
  let rest = data;
  let answer: WriteResult | undefined;
  for (;;) {
    const expect = oracle?.(sh.host, path, rest);
    const r = await writeOpenFile(sh.host, f, rest);
    problems.push(...judge({ key, data: rest, result: r, before: sh.state, host: sh.host, expect, kept: mode === 'kept' || total > 0 }));
    if (r.kind !== 'answer') {
      answer = r;
      break;
    }
    if (r.outcome !== 0) {
      if (total === 0) answer = r;
      break;
    }
    sh.state = dumpHost(sh.host);
    total += r.n;
    rest = rest.subarray(r.n);
    if (r.n <= 0 || rest.length === 0) break;
  }
  if (mode !== 'kept') f.release();
  return { answer: answer ?? { kind: 'answer', stage: 'write', outcome: 0, n: total }, problems };
}

/** dumpSysfs's format, read through the mount with real syscalls. */
export function walkMount(root: string, from = '/', depth = Infinity): string {
  const lines: string[] = [];
  const read = (full: string): string => {
    try {
      return readFileSync(full).toString('latin1');
    } catch (e) {
      return `!${errnoOf(e)}`;
    }
  };
  const walk = (path: string, left: number): void => {
    const full = root + (path === '/' ? '' : path);
    let st;
    try {
      st = lstatSync(full);
    } catch (e) {
      lines.push(`${path} !${errnoOf(e)}`);
      return;
    }
    if (st.isSymbolicLink()) {
      lines.push(`${path} -> ${readlinkSync(full)}`);
    } else if (st.isFile()) {
      const mode = st.mode & 0o7777;
      lines.push(`${path} ${mode.toString(8)} ${mode & 0o444 ? JSON.stringify(read(full)) : '(write-only)'}`);
    } else {
      const names = readdirSync(full).sort();
      lines.push(`${path === '/' ? '' : path}/ ${names.join(' ')}`);
      if (left > 0) for (const n of names) walk(path === '/' ? `/${n}` : `${path}/${n}`, left - 1);
    }
  };
  walk(from, depth);
  return lines.sort().join('\n');
}

/**
 * Targets in an order where the destructive ones come late: devices first, mdevs with `remove`
 * last among them, the bus files (masks, bind, unbind) at the end.
 */
function ordered(targets: readonly FuzzTarget[]): FuzzTarget[] {
  const rank = (x: FuzzTarget): number => {
    if (x.key.startsWith('/devices/ap/')) return 0;
    if (x.key.endsWith('/create')) return 1;
    if (x.key.endsWith('/remove') || x.key.endsWith('/destroy')) return 3;
    if (x.key.startsWith('/devices/') || x.key.startsWith('/class/')) return 2;
    if (x.key.startsWith('/bus/matrix') || x.key.startsWith('/bus/mdev')) return 4;
    if (/^\/bus\/ap\/(apmask|aqmask|drivers\/.*)$/.test(x.key)) return 6;
    return 5;
  };
  return [...targets].sort((a, b) => rank(a) - rank(b));
}

export async function runMountFuzz(root: string, targets: readonly FuzzTarget[], opts: { seed: number; iterations: number; maxReports?: number }, report: Report): Promise<void> {
  // The daemon's machine: the topology alone (no guest: nothing opens VFIO devices through a mount).
  const host = await fuzzHost({ guest: false, zcdn: false });
  const fs = createSysfs(host);
  const sh: Shadow = { host, fs, state: dumpHost(host) };
  const check = (name: string, want: string, got: string): void =>
    report({ t: 'check', name, ok: want === got, msg: want === got ? '' : diffDumps(want, got, 10) });
  check('at the start the mount shows what the shadow model shows', await dumpSysfs(fs), walkMount(root));

  /** Bring back what earlier targets took away, through writes on both sides. */
  const repair = async (): Promise<void> => {
    for (const d of [...host.bus.cards.values()].flatMap((c) => [c, ...c.queues.values()])) {
      if (!d.driver) await both('/bus/ap/drivers_probe', Buffer.from(d.name));
    }
    for (const m of FUZZ_TOPOLOGY_FILE.mdevs) {
      if (host.matrixDev.findMdev(m.uuid)) continue;
      await both('/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create', Buffer.from(m.uuid));
    }
    if (host.zcrypt.nodes.size === 0) for (const name of FUZZ_ZCDN_NODES) await both('/class/zcrypt/create', Buffer.from(`${name}\n`));
  };
  const both = async (path: string, data: Buffer): Promise<void> => {
    const { answer } = await shadowWrite(sh, writeErrnosKey(path) ?? path, path, data, 'fresh', new Map());
    const m = mountWrite(root, path, data, 'fresh', new Map());
    if (!agree(answer, m)) report({ t: 'check', name: `repair ${path} <- ${showInput(data)}`, ok: false, msg: disagreement(answer, m) });
  };

  /** Take away what a target added beyond the fixture (mdevs, zcrypt nodes): every later write pays for them. */
  const tidy = async (): Promise<void> => {
    const keep = new Set<string>(FUZZ_TOPOLOGY_FILE.mdevs.map((m) => m.uuid));
    for (const m of [...host.matrixDev.mdevList]) if (!keep.has(m.uuid)) await both(`/devices/vfio_ap/matrix/${m.uuid}/remove`, Buffer.from('1'));
    const nodes = [...host.zcrypt.nodes.keys()];
    for (const n of nodes.slice(FUZZ_ZCDN_NODES.length)) await both('/class/zcrypt/destroy', Buffer.from(n, 'latin1'));
  };

  await repair(); // the fixture's zcrypt nodes, made through the class's create file on both sides
  for (const target of ordered(targets)) {
    const rng = new Rng((opts.seed ^ hash32(`mount ${target.name}`)) >>> 0);
    const tally = new TargetTally(target.name, report, opts.maxReports ?? 5);
    const keptShadow = new Map<string, OpenFile>();
    const keptMount = new Map<string, number>();
    sh.state = dumpHost(host);
    let paths = target.paths(host, fs);
    let last = paths[0];
    let i = 0;
    for (; i < opts.iterations; i++) {
      if (paths.length === 0) {
        await repair();
        sh.state = dumpHost(host);
        paths = target.paths(host, fs);
        if (paths.length === 0) {
          tally.fail(i, `no instance of ${target.key} is left, even after repairs`);
          break;
        }
      }
      const path = rng.pick(paths);
      last = path;
      const data = genInput(rng, target.kinds, target.ctx(host));
      // Mostly writes on a descriptor kept open: a fresh open of a deep path is a FUSE lookup per
      // component (nothing is cached, entry_timeout=0) and would dominate the run.
      const mode: Mode = rng.chance(0.8) ? 'kept' : rng.chance(0.5) ? 'trunc' : 'fresh';
      const { answer, problems } = await shadowWrite(sh, target.key, path, data, mode, keptShadow);
      const m = mountWrite(root, path, data, mode, keptMount);
      if (!agree(answer, m)) problems.push(`the mount and the model disagree: ${disagreement(answer, m)}`);
      tally.count(`${m.stage === 'write' ? '' : `${m.stage} `}${m.errno ? errnoName(m.errno) : 'OK'}`);
      if (problems.length) tally.fail(i, `${mode} ${path} <- ${showInput(data)}: ${problems.join('; ')}`);
      if (answer.kind !== 'answer' || answer.outcome === 0 || problems.length) {
        sh.state = dumpHost(host);
        paths = target.paths(host, fs);
      }
    }
    for (const fd of keptMount.values()) closeSync(fd);
    for (const f of keptShadow.values()) f.release();
    // The target's directory, read through the mount, against the shadow's.
    const dir = (last ?? target.name).slice(0, (last ?? target.name).lastIndexOf('/')) || '/';
    const want = await dumpSysfs(fs, dir, 1);
    const got = walkMount(root, dir, 1);
    if (want !== got) tally.fail(i, `after the writes ${dir} reads differently through the mount:\n${diffDumps(want, got, 10)}`);
    tally.done(i, `${dir} read back equal`);
    await tidy();
  }
  check('at the end the mount shows what the shadow model shows', await dumpSysfs(fs), walkMount(root));
}

function agree(s: WriteResult, m: MountAnswer): boolean {
  if (s.kind !== 'answer') return false;
  return s.stage === m.stage && s.outcome === m.errno && (s.outcome !== 0 || s.n === m.n);
}

function disagreement(s: WriteResult, m: MountAnswer): string {
  const model = s.kind === 'answer' ? `${s.stage} ${s.outcome ? errnoName(s.outcome) : `OK ${s.n}`}` : s.kind;
  return `model ${model}, mount ${m.stage} ${m.errno ? errnoName(m.errno) : `OK ${m.n}`}`;
}
