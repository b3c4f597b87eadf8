// Reads and writes, side by side: apsysfs (bench/topology.json), the hello baseline serving the
// same bytes at the same paths, tmpfs and a real sysfs file, all driven by one client in one run,
// round robin per batch so that noise from the machine hits every target alike.
import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { clientKind, pinningMissing, readTimes, usePlacement, writeTimes } from './client-runner.js';
import { CYCLE, FILES, MDEV, REFUSED, TOPOLOGY } from './baseline.js';
import { livePids, onSignalCleanup } from './daemons.js';
import { apsysfsMissing, startApsysfs } from './targets.js';

const SYSFS_FILES = ['/sys/kernel/mm/transparent_hugepage/enabled', '/sys/devices/system/cpu/online'];
const TMPFS_MAGIC = 0x01021994;
const RATIO_TARGET = { op: '<=', limit: 1.2 };
const CYCLE_TARGET = { op: '>=', limit: 2000 };

/** What the A/A rows mean. */
export const AA_NOTE =
  'A/A check: a second, identical hello mount read in the same batches, over the first. Far from 1 ' +
  '(beyond 0.8..1.25): the machine is too noisy this run for the ratios next to it to mean much';

const us = ns => ns / 1000;
const now = () => Number(process.hrtime.bigint() / 1000n);

/**
 * @param {object} ctx
 * @param {import('./rows.js').Rows} ctx.rows
 * @param {import('./daemons.js').Daemon} ctx.hello the running baseline
 */
export async function sideBySide({ rows, hello, twin, work, sizes, profileDir, notes, windows }) {
  let apsysfs;
  let missing = apsysfsMissing();
  if (!missing) {
    try {
      apsysfs = await startApsysfs({
        dir: path.join(work, 'apsysfs'),
        topologyFile: TOPOLOGY,
        readyPath: FILES.matrix.path,
        work,
        label: 'rw',
        profileDir,
      });
    } catch (e) {
      missing = e.message;
    }
  }
  const tmpfs = tmpfsFile(FILES.apmask.content);
  try {
    if (apsysfs) {
      await checkContents(apsysfs.dir, notes);
      await apsysfs.settle();
    }
    await hello.settle();
    for (const pass of placements(rows, notes)) {
      usePlacement(pass.mode, livePids);
      try {
        await reads({ rows: pass.rows, hello, twin, apsysfs, missing, tmpfs, sizes, windows, label: pass.label });
        await writes({ rows: pass.rows, hello, apsysfs, missing, sizes, windows, label: pass.label });
      } finally {
        usePlacement('spread');
      }
    }
    if (apsysfs) {
      rows.add('rss_mb_rw', apsysfs.rssMb(), 'MiB', {
        baseline: hello.rssMb(),
        baselineOf: 'hello',
        note: 'apsysfs on bench/topology.json after the reads and writes',
      });
    }
  } finally {
    tmpfs.remove();
    await apsysfs?.stop();
  }
  rows.add('hello_ready_ms', hello.readyMs, 'ms', { note: 'spawn of bench/hello.js to the first successful stat in its mount' });
  rows.add('hello_rss_mb', hello.rssMb(), 'MiB', { note: 'VmRSS of the hello baseline after the reads and writes' });
  notes.push(`hello mount: ${helloMountInfo(hello.logFile)}`);
}

/**
 * The reads and writes run twice: with the client and every daemon on one CPU (the figures the
 * targets apply to: what apsysfs adds to a round trip), then where the scheduler puts them (the
 * same figures with _spread appended, no targets). See usePlacement in client-runner.js.
 */
function placements(rows, notes) {
  const why = pinningMissing();
  if (why) {
    notes.push(`reads and writes not pinned to one CPU (${why}): their figures are from the scheduler's placement`);
    return [{ mode: 'spread', rows, label: 'spread' }];
  }
  notes.push(
    'reads and writes: timed with the client and every daemon on one CPU (taskset), then again where the ' +
      "scheduler puts them (the rows ending in _spread, no targets: a wake-up on the other CPU of these VMs " +
      'costs about as much as the round trip, and the placement changes from run to run)',
  );
  return [
    { mode: 'one-cpu', rows, label: 'one CPU' },
    { mode: 'spread', rows: suffixed(rows, '_spread'), label: 'spread' },
  ];
}

/** `rows` with `sfx` appended to every figure (and to the figures used as baselines), targets and notes dropped. */
function suffixed(rows, sfx) {
  const strip = (more = {}) => ({
    ...(more.baseline !== undefined && { baseline: more.baseline, baselineOf: more.baselineOf }),
    ...(more.baseline === undefined && more.baselineOf && { baselineOf: more.baselineOf + sfx }),
  });
  return {
    add: (name, value, unit, more) => rows.add(name + sfx, value, unit, strip(more)),
    missing: (name, unit, why, more) => rows.missing(name + sfx, unit, why, strip(more)),
    value: name => rows.value(name + sfx),
  };
}

async function reads({ rows, hello, twin, apsysfs, missing, tmpfs, sizes, windows, label }) {
  const sysfs = SYSFS_FILES.find(f => existsSync(f));
  const targets = [];
  for (const [key, f] of Object.entries(FILES)) {
    if (apsysfs) targets.push([`apsysfs ${key}`, path.join(apsysfs.dir, f.path)]);
    targets.push([`hello ${key}`, path.join(hello.dir, f.path)]);
  }
  targets.push(['twin apmask', path.join(twin.dir, FILES.apmask.path)]);
  if (tmpfs.file) targets.push(['tmpfs', tmpfs.file]);
  if (sysfs) targets.push(['sysfs', sysfs]);
  const t0 = now();
  const times = await readTimes(sizes.readN, sizes.readBatches, targets.map(t => t[1]));
  windows.push({ label: `cat-style reads (bench/topology.json, ${label})`, daemon: 'rw', fromUs: t0, toUs: now() });
  const read = Object.fromEntries(targets.map(([label], i) => [label, us(times[i].medianNs)]));

  rows.add('hello_read_us', read['hello apmask'], 'us', {
    note:
      `hello baseline at ${FILES.apmask.path}; median of ${sizes.readBatches} batches of ${sizes.readN} ` +
      `open/read/close of each of ${targets.length} files, interleaved`,
  });
  rows.add('hello_aa_ratio', read['twin apmask'] / read['hello apmask'], 'x', { note: AA_NOTE });
  rows.add('hello_queue_read_us', read['hello queue'], 'us', { note: `hello baseline at ${FILES.queue.path}` });
  rows.add('hello_matrix_read_us', read['hello matrix'], 'us', { note: `hello baseline at ${FILES.matrix.path}` });
  if (tmpfs.file) rows.add('tmpfs_read_us', read.tmpfs, 'us', { baselineOf: 'hello_read_us', note: tmpfs.file });
  else rows.missing('tmpfs_read_us', 'us', tmpfs.why);
  if (sysfs) rows.add('sysfs_read_us', read.sysfs, 'us', { baselineOf: 'hello_read_us', note: sysfs });
  else rows.missing('sysfs_read_us', 'us', `none of ${SYSFS_FILES.join(', ')}`);

  for (const [name, key, baselineOf] of [
    ['attr_read', 'apmask', 'hello_read_us'],
    ['queue_attr_read', 'queue', 'hello_queue_read_us'],
    ['matrix_read', 'matrix', 'hello_matrix_read_us'],
  ]) {
    if (!apsysfs) {
      rows.missing(`${name}_us`, 'us', missing);
      rows.missing(`${name}_ratio`, 'x', missing, { target: RATIO_TARGET });
      continue;
    }
    const r = rows.add(`${name}_us`, read[`apsysfs ${key}`], 'us', { baselineOf, note: `apsysfs ${FILES[key].path}` });
    rows.add(`${name}_ratio`, r.ratio, 'x', {
      target: RATIO_TARGET,
      ...(key !== 'apmask' && { note: 'the 1.2 of attr_read_ratio, applied here too' }),
    });
  }
}

async function writes({ rows, hello, apsysfs, missing, sizes, windows, label }) {
  // Interleaved: [apsysfs cycle, hello cycle, apsysfs refused, hello refused].
  const on = (daemon, ops) => ops.map(op => ({ ...op, file: path.join(daemon.dir, op.file) }));
  const targets = [CYCLE, [REFUSED]].flatMap(ops => [...(apsysfs ? [on(apsysfs, ops)] : []), on(hello, ops)]);
  const t0 = now();
  const times = await writeTimes(sizes.writeN, sizes.writeBatches, targets);
  windows.push({ label: `echo-style writes (bench/topology.json, ${label})`, daemon: 'rw', fromUs: t0, toUs: now() });
  const [aCycle, hCycle, aRefused, hRefused] = apsysfs ? times : [undefined, times[0], undefined, times[1]];

  const batches = `median of ${sizes.writeBatches} batches of ${sizes.writeN}`;
  rows.add('hello_cycle_per_s', 1e9 / hCycle.medianNs, '/s', { note: `hello baseline, the same two writes at the same paths; ${batches}` });
  rows.add('hello_refused_write_us', us(hRefused.medianNs), 'us', { note: `hello baseline answering ${REFUSED.errno}` });
  if (!apsysfs) {
    rows.missing('assign_cycle_per_s', '/s', missing, { target: CYCLE_TARGET });
    rows.missing('refused_write_us', 'us', missing);
    return;
  }
  rows.add('assign_cycle_per_s', 1e9 / aCycle.medianNs, '/s', {
    baselineOf: 'hello_cycle_per_s', target: CYCLE_TARGET,
    note: `echo 0x0006 > ${MDEV}/assign_domain, then the same to unassign_domain; ${batches}`,
  });
  rows.add('assign_cycle_us', us(aCycle.medianNs), 'us', { baseline: us(hCycle.medianNs), baselineOf: 'hello cycle' });
  rows.add('refused_write_us', us(aRefused.medianNs), 'us', {
    baselineOf: 'hello_refused_write_us',
    note: `echo 0x04 > assign_adapter: errno ${aRefused.errno}${aRefused.errno === 99 ? ' (EADDRNOTAVAIL)' : ', expected 99'}`,
  });

  // Where a write's time goes: with entry_timeout=0 and attr_timeout=0 every path component costs
  // a GETATTR and a LOOKUP, so an echo at depth 5 is 15 FUSE requests, 7 from inside the mdev
  // directory. The same cycle relative to that directory (openat), apsysfs and hello interleaved.
  if (clientKind().startsWith('C')) {
    const inDir = daemon => CYCLE.map(op => ({ ...op, file: `${path.join(daemon.dir, MDEV)}//${path.basename(op.file)}` }));
    const [a, h] = await writeTimes(sizes.writeN, sizes.writeBatches, [inDir(apsysfs), inDir(hello)]);
    rows.add('assign_cycle_per_s_in_dir', 1e9 / a.medianNs, '/s', {
      baseline: 1e9 / h.medianNs, baselineOf: 'hello, in dir',
      note: 'diagnostic: the cycle relative to the mdev directory (cd there; echo >): 7 FUSE requests per write, not 15',
    });
  }
}

/** The baseline serves FILES' bytes: say so if apsysfs shows something else (another length). */
async function checkContents(dir, notes) {
  for (const f of Object.values(FILES)) {
    const shown = await readFile(path.join(dir, f.path), 'utf8');
    if (shown === f.content) continue;
    notes.push(`warning: apsysfs shows ${JSON.stringify(shown)} in ${f.path}, the baseline ${JSON.stringify(f.content)}`);
  }
}

/** A file with `content` on a tmpfs (/dev/shm), or why there is none. */
function tmpfsFile(content) {
  try {
    if (statfsSync('/dev/shm').type !== TMPFS_MAGIC) return { why: '/dev/shm is no tmpfs', remove: () => {} };
    const dir = mkdtempSync('/dev/shm/apsysfs-bench-');
    const file = path.join(dir, 'apmask');
    writeFileSync(file, content);
    const remove = () => rmSync(dir, { recursive: true, force: true });
    onSignalCleanup(remove);
    return { file, remove };
  } catch (e) {
    return { why: e.message, remove: () => {} };
  }
}

/** The line bench/hello.js printed: the options it mounted with and where they came from. */
function helloMountInfo(logFile) {
  try {
    const info = JSON.parse(readFileSync(logFile, 'utf8').split('\n')[0]);
    return `${info.options} (${info.source})`;
  } catch {
    return 'unknown (no line from bench/hello.js)';
  }
}
