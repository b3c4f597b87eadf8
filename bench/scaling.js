// The figures that depend on the size of the machine, on the 4×4 .. 256×256 topology fixtures:
// ready time, resident memory, one attribute read, `ls bus/ap/devices`, a full `find` walk, and
// the apmask write that moves every queue between the host drivers and vfio_ap.
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FILES } from './baseline.js';
import { pinningMissing, readTimes, usePlacement, writeOnce } from './client-runner.js';
import { livePids } from './daemons.js';
import { apsysfsMissing, startApsysfs } from './targets.js';
import { timeCommand } from './time-command.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/topologies/', import.meta.url));
const ALL_ONES = `0x${'f'.repeat(64)}`;
const ALL_ZEROS = `0x${'0'.repeat(64)}`;

/** The targets, on 256×256. */
const TARGETS_256 = {
  ready_ms: { op: '<=', limit: 2000 },
  rss_mb: { op: '<=', limit: 300 },
  ls_devices_ms: { op: '<=', limit: 1500 },
  mask_rebind_ms: { op: '<=', limit: 2000 },
};

const hex = (n, w) => n.toString(16).padStart(w, '0');
const queuePath = (a, d) => `devices/ap/card${hex(a, 2)}/${hex(a, 2)}.${hex(d, 4)}`;
const now = () => Number(process.hrtime.bigint() / 1000n);
const median = xs => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * @param {object} ctx
 * @param {import('./rows.js').Rows} ctx.rows
 * @param {import('./daemons.js').Daemon} ctx.hello the running baseline
 * @param {number[]} ctx.topologies N of each N×N fixture, ascending
 * @param {(n: number) => string | undefined} ctx.skipFind why the find walk is skipped on N×N
 */
export async function scaling(ctx) {
  const { rows, topologies, notes } = ctx;
  const missing = apsysfsMissing();
  notes.push(
    'topologies: *_per_entry/_per_node/_per_queue rows take the previous topology as baseline: ' +
      'a ratio above 1 is a cost growing faster than what it touches',
  );
  let previous;
  for (const n of topologies) {
    const target = name => (n === 256 && TARGETS_256[name] ? { target: TARGETS_256[name] } : {});
    if (missing) {
      for (const [name, unit] of [['ready_ms', 'ms'], ['rss_mb', 'MiB'], ['ls_devices_ms', 'ms'], ['mask_rebind_ms', 'ms']]) {
        rows.missing(`${name}_${n}`, unit, missing, target(name));
      }
      continue;
    }
    try {
      await topology(n, { ...ctx, previous, target });
      previous = n;
    } catch (e) {
      rows.missing(`topology_${n}`, '', e.message);
    }
  }
  // "A single attribute read costs the same on 4×4 and 256×256": the baseline-relative read cost
  // on the biggest machine over that on the smallest.
  const relative = n => rows.list.find(r => r.name === `attr_read_us_${n}`)?.ratio;
  const [small, big] = [topologies[0], topologies.at(-1)];
  if (small !== big && relative(small) && relative(big)) {
    rows.add(`attr_read_growth_${big}_vs_${small}`, relative(big) / relative(small), 'x', {
      note: `(attr_read_us_${big} / hello) / (attr_read_us_${small} / hello): 1 = the same cost on both machines`,
    });
  }
}

async function topology(n, ctx) {
  const { rows, work, sizes, profileDir, windows, previous, target } = ctx;
  const label = `${n}x${n}`;
  const lastQueue = queuePath(n - 1, n - 1);
  // Each start is a fresh daemon, ready once the machine's last queue answers; the last one
  // serves the other figures.
  const ready = [];
  let daemon;
  for (let i = 0; i < sizes.starts; i++) {
    await daemon?.stop();
    daemon = await startApsysfs({
      dir: path.join(work, `mnt-${label}`),
      topologyFile: path.join(FIXTURES, `${label}.json`),
      readyPath: `${lastQueue}/online`,
      work,
      label,
      profileDir,
    });
    ready.push(daemon.readyMs);
  }
  /** Run `fn`, recording its time window (for --profile). */
  const phase = async (what, fn) => {
    const fromUs = now();
    try {
      return await fn();
    } finally {
      windows.push({ label: `${what} (${label})`, daemon: label, fromUs, toUs: now() });
    }
  };
  try {
    windows.push({ label: `start to ready (${label})`, daemon: label, fromUs: 0, toUs: daemon.readyAtUs });
    rows.add(`ready_ms_${n}`, median(ready), 'ms', {
      baselineOf: 'hello_ready_ms',
      ...target('ready_ms'),
      note: `spawn to a stat of ${lastQueue}/online; median of ${ready.map(r => r.toFixed(0)).join(', ')} ms`,
    });
    rows.add(`rss_mb_${n}`, daemon.rssMb(), 'MiB', { baselineOf: 'hello_rss_mb', ...target('rss_mb') });
    await daemon.settle();
    await phase('attribute reads', () => attributeReads(n, daemon, ctx));
    await phase('ls bus/ap/devices', () => listDevices(n, daemon, ctx));
    const skip = ctx.skipFind(n);
    if (skip) rows.missing(`find_ms_${n}`, 'ms', skip);
    else await phase('find walk', () => findWalk(n, daemon, ctx));
    await phase('apmask rebinding writes', () => maskRebind(n, daemon, ctx));
  } finally {
    await daemon.stop();
  }
}

/**
 * Timed next to the baseline's reads (same path depth), on one CPU as the side-by-side reads are
 * (client-runner.js, usePlacement): the ratios compare across topologies.
 */
async function attributeReads(n, daemon, { rows, hello, twin, sizes, topologies }) {
  if (!pinningMissing()) usePlacement('one-cpu', livePids);
  let times;
  try {
    times = await readTimes(sizes.scaleReadN, sizes.scaleReadBatches, [
      path.join(daemon.dir, 'bus/ap/apmask'),
      path.join(hello.dir, FILES.apmask.path),
      path.join(daemon.dir, queuePath(0, 0), 'online'),
      path.join(hello.dir, FILES.queue.path),
      path.join(twin.dir, FILES.apmask.path),
    ]);
  } finally {
    usePlacement('spread');
  }
  const [apmask, helloApmask, queue, helloQueue, twinApmask] = times;
  rows.add(`hello_aa_ratio_${n}`, twinApmask.medianNs / helloApmask.medianNs, 'x', { note: 'A/A check, as hello_aa_ratio' });
  const first = n === topologies[0];
  rows.add(`attr_read_us_${n}`, apmask.medianNs / 1000, 'us', {
    baseline: helloApmask.medianNs / 1000,
    baselineOf: 'hello, same batches',
    ...(first && { note: 'bus/ap/apmask, interleaved with the baseline; compare the ratios across topologies' }),
  });
  rows.add(`queue_attr_read_us_${n}`, queue.medianNs / 1000, 'us', {
    baseline: helloQueue.medianNs / 1000,
    baselineOf: 'hello, same batches',
    ...(first && { note: `${queuePath(0, 0)}/online` }),
  });
}

async function listDevices(n, daemon, { rows, sizes, previous, target }) {
  const entries = n + n * n;
  const runs = [];
  for (let i = 0; i < sizes.lsRuns; i++) runs.push(await timeCommand('ls', [path.join(daemon.dir, 'bus/ap/devices')], entries));
  const ms = median(runs.map(r => r.ms));
  rows.add(`ls_devices_ms_${n}`, ms, 'ms', { ...target('ls_devices_ms'), note: `${entries} entries; median of ${runs.length}` });
  rows.add(`ls_devices_us_per_entry_${n}`, (ms * 1000) / entries, 'us', {
    ...(previous && { baselineOf: `ls_devices_us_per_entry_${previous}` }),
  });
}

async function findWalk(n, daemon, { rows, previous }) {
  const find = await timeCommand('find', [daemon.dir]);
  rows.add(`find_ms_${n}`, find.ms, 'ms', { note: `find over the whole mount: ${find.lines} nodes, one run` });
  rows.add(`find_us_per_node_${n}`, (find.ms * 1000) / find.lines, 'us', {
    ...(previous && rows.value(`find_us_per_node_${previous}`) && { baselineOf: `find_us_per_node_${previous}` }),
  });
  rows.add(`rss_walk_mb_${n}`, daemon.rssMb(), 'MiB', { baselineOf: `rss_mb_${n}` });
}

/** apmask 0: every queue leaves its zcrypt driver for vfio_ap; all ones: back again. */
async function maskRebind(n, daemon, { rows, sizes, previous, target }) {
  const queues = n * n;
  const rebind = [];
  const restore = [];
  for (let i = 0; i < sizes.maskCycles; i++) {
    rebind.push(await maskWrite(daemon.dir, ALL_ZEROS, true));
    restore.push(await maskWrite(daemon.dir, ALL_ONES, false));
  }
  const ms = median(rebind);
  rows.add(`mask_rebind_ms_${n}`, ms, 'ms', {
    ...target('mask_rebind_ms'),
    note: `echo 0x00…00 > bus/ap/apmask: ${queues} queues from the zcrypt drivers to vfio_ap; median of ${rebind.length}`,
  });
  rows.add(`mask_restore_ms_${n}`, median(restore), 'ms', { note: `echo 0xff…ff > bus/ap/apmask: ${queues} queues back` });
  rows.add(`mask_rebind_us_per_queue_${n}`, (ms * 1000) / queues, 'us', {
    ...(previous && { baselineOf: `mask_rebind_us_per_queue_${previous}` }),
  });
}

/** Write `mask` to apmask and check that queue 00.0000 moved as expected. */
async function maskWrite(dir, mask, toVfio) {
  const { ns, errno } = await writeOnce(path.join(dir, 'bus/ap/apmask'), mask);
  if (errno) throw new Error(`apmask write refused (errno ${errno})`);
  const driver = path.basename(await readlink(path.join(dir, queuePath(0, 0), 'driver')).catch(() => 'none'));
  if ((driver === 'vfio_ap') !== toVfio) throw new Error(`after apmask ${mask.slice(0, 6)}…, 00.0000 is bound to ${driver}`);
  return ns / 1e6;
}
