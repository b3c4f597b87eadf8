/**
 * The whole observable state of a Host as text, so that "a refused write changed nothing" is one
 * string comparison.
 *
 * - `dumpHost(host)` reads the model objects: fast enough to run after every fuzzed write. It
 *   covers what sysfs shows (masks, bus parameters, bindings, card and queue states, every mdev's
 *   matrix and shadow, available_instances) and the hidden state that decides later answers
 *   (queue links, reset codes, pending *_add bitmaps, the guests' APCBs, the QCI copies), and
 *   the additional zcrypt nodes with their masks.
 * - `dumpSysfs(fs)` walks a Kernfs and reads every readable file, every link and every directory
 *   listing: slower, but it is literally what a tool can observe, so it also catches a view that
 *   drifted from the model.
 *
 * Not part of the state: the event log (refused writes may log, as the kernel's dev_warn does)
 * and lockdep's bookkeeping.
 */
import type { Host } from '../../src/model/host.js';
import type { ApMask } from '../../src/model/ap/ap-mask.js';
import type { ApMatrix } from '../../src/model/vfio_ap/matrix-mdev.js';
import { Errno, KernelError } from '../../src/model/errno.js';
import type { Kernfs } from '../../src/sysfs/kernfs-api.js';

/** The mask's eight 32-bit words; toString() costs three times as much and this runs ~100 times a write. */
const m = (x: ApMask): string => {
  const w = (x as unknown as { w?: Uint32Array }).w;
  return w instanceof Uint32Array ? `${w[0]}.${w[1]}.${w[2]}.${w[3]}.${w[4]}.${w[5]}.${w[6]}.${w[7]}` : x.toString();
};
const mx = (x: ApMatrix): string => `apm=${m(x.apm)} aqm=${m(x.aqm)} adm=${m(x.adm)} max=${x.apmMax}/${x.aqmMax}/${x.admMax}`;

/**
 * One line per fact. Runs once per fuzzed write, so it is written for speed: numbers rather than
 * formatted names (qid, apid), maps in their insertion order (the same state, dumped twice, gives
 * the same text; a refused write that removed and re-added something would show, and should).
 */
export function dumpHost(host: Host): string {
  const bus = host.bus;
  let out =
    `apmask ${m(bus.apPerms.apm)} aqmask ${m(bus.apPerms.aqm)}\n` +
    `ap_domain ${bus.apDomainIndex} config_time ${bus.configTime} poll_thread ${bus.pollThread} poll_timeout ${bus.pollTimeout}\n` +
    `scans ${bus.scanCount} bindings_complete_sent ${bus.bindingsCompleteSent} drivers_autoprobe ${bus.drivers_autoprobe}\n` +
    `qci ${m(bus.qci.apm)} ${m(bus.qci.aqm)} ${m(bus.qci.adm)} old ${m(bus.qciOld.apm)} ${m(bus.qciOld.aqm)} ${m(bus.qciOld.adm)}\n`;
  for (const d of bus.drivers) out += `driver ${d.name} bound ${d.devices.size}\n`;
  for (const [id, hw] of host.hw.adapters) out += `hw ${id} configured=${hw.configured} chkstop=${hw.chkstop}\n`;
  for (const c of bus.cards.values()) {
    out += `card ${c.id} driver=${c.driver?.name ?? '-'} config=${c.config} chkstop=${c.chkstop} online=${c.zcryptOnline} requests=${c.requestCount}\n`;
    for (const q of c.queues.values()) {
      const v = q.vfio ? ` vfio(mdev=${q.vfio.matrixMdev?.uuid ?? '-'} reset=${q.vfio.resetStatus})` : '';
      out += `  queue ${q.qid} driver=${q.driver?.name ?? '-'} dev=${q.devState} sm=${q.smState} irq=${q.interrupt} config=${q.config} chkstop=${q.chkstop} online=${q.zcryptOnline} requests=${q.requestCount}${v}\n`;
    }
  }
  const md = host.matrixDev;
  out += `matrix_dev info ${m(md.info.apm)} ${m(md.info.aqm)} ${m(md.info.adm)} available_instances ${host.mdevCore.availableInstances}\n`;
  for (const x of md.mdevList) {
    out +=
      `mdev ${x.uuid} state=${x.state} kvm=${x.kvm?.name ?? '-'} req=${x.reqTrigger} cfgchg=${x.cfgChgTrigger}/${x.cfgChgSignals}\n` +
      `  matrix ${mx(x.matrix)}\n  shadow ${mx(x.shadowApcb)}\n  add ${m(x.apmAdd)} ${m(x.aqmAdd)} ${m(x.admAdd)}\n  qtable ${[...x.qtable.keys()].join(',')}\n`;
  }
  for (const [name, n] of host.zcrypt.nodes) out += `zcdn ${name} minor=${n.minor} ioctlm=${m(n.perms.ioctlm)} apm=${m(n.perms.apm)} aqm=${m(n.perms.aqm)} adm=${m(n.perms.adm)}\n`;
  for (const [name, kvm] of host.kvms) out += `kvm ${name} apcb ${m(kvm.apcb.apm)} ${m(kvm.apcb.aqm)} ${m(kvm.apcb.adm)} updates=${kvm.apcbUpdates} refs=${kvm.refs} hook=${kvm.pqapHook?.uuid ?? '-'}\n`;
  return out;
}

const O_RDONLY = 0;

/** The whole content of one attribute, read to the end as cat does; throws what open/read throw. */
export async function readWhole(fs: Kernfs, path: string): Promise<string> {
  const f = fs.open(path, O_RDONLY);
  try {
    const chunks: Buffer[] = [];
    for (let pos = 0; ; ) {
      const b = await f.read(pos, 4096);
      if (b.length === 0) break;
      chunks.push(b);
      pos += b.length;
    }
    return Buffer.concat(chunks).toString('latin1');
  } finally {
    f.release();
  }
}

/** The whole content of one attribute, or `!ERRNO` when open or read fails with a KernelError. */
export async function readAttr(fs: Kernfs, path: string): Promise<string> {
  try {
    return await readWhole(fs, path);
  } catch (e) {
    if (e instanceof KernelError) return `!${e.errno}`;
    throw e;
  }
}

/**
 * Every path under `from` with what a tool sees there: `dir/ a b c` (names sorted), `-> target`
 * for a link, mode and content of a file (`(write-only)` for a 0200 one). Sorted by path. `depth`
 * 1 stops at the entries of `from` itself. test/helpers/fuzz-mount.ts walks a mount the same way.
 */
export async function dumpSysfs(fs: Kernfs, from = '/', depth = Infinity): Promise<string> {
  const lines: string[] = [];
  const walk = async (path: string, left: number): Promise<void> => {
    const st = fs.stat(path);
    if (!st) {
      lines.push(`${path} !${Errno.ENOENT}`);
      return;
    }
    if (st.kind === 'link') {
      lines.push(`${path} -> ${fs.readlink(path) ?? '?'}`);
      return;
    }
    if (st.kind === 'file') {
      const content = st.mode & 0o444 ? JSON.stringify(await readAttr(fs, path)) : '(write-only)';
      lines.push(`${path} ${st.mode.toString(8)} ${content}`);
      return;
    }
    // A node named "." or ".." (a zcrypt node can be called that) is listed by getdents but no
    // path reaches it, on sysfs as through FUSE; readdir(3) users and Node drop both names.
    const names = (fs.readdir(path) ?? []).filter((n) => n !== '.' && n !== '..').sort();
    lines.push(`${path === '/' ? '' : path}/ ${names.join(' ')}`);
    if (left > 0) for (const n of names) await walk(path === '/' ? `/${n}` : `${path}/${n}`, left - 1);
  };
  await walk(from, depth);
  return lines.sort().join('\n');
}

/** The first lines where two dumps differ, for a readable failure message. */
export function diffDumps(before: string, after: string, max = 6): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < max * 2; i++) {
    if (a[i] === b[i]) continue;
    out.push(`- ${a[i] ?? '(none)'}`, `+ ${b[i] ?? '(none)'}`);
  }
  return out.join('\n');
}
