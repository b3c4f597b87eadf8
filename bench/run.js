#!/usr/bin/env node
// npm run bench [-- OPTIONS]: how fast and how big apsysfs is, against a baseline measured in the
// same run. See docs/bench.md.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clientKind, selectClient, useRealtime } from './client-runner.js';
import { startBaseline } from './baseline.js';
import { livePids, mountPoints, onSignalCleanup, stopAll } from './daemons.js';
import { formatSummary, summarize } from './profile.js';
import { Rows } from './rows.js';
import { scaling } from './scaling.js';
import { sideBySide } from './side-by-side.js';

const USAGE = `usage: npm run bench -- [--quick] [--json[=FILE]] [--profile] [--rt] [--node-client]
                       [--only=rw|scale] [--topologies=4,16,64,256]

  --quick          fewer samples, one start per topology, no find walk on 256x256 (~15 s)
  --json           JSON rows on stdout, one object per line (the table goes to stderr);
  --json=FILE      JSON rows to FILE, the table on stdout
  --profile        run the apsysfs daemons under node --cpu-prof and print the top frames of
                   each measured phase (profiles kept in dist/bench/profiles/); figures from a
                   profiled run are slower than the real ones
  --rt             on a busy machine: the read and write timings run the client and the daemons
                   under SCHED_FIFO 1 (root, chrt), so that other work cannot delay them; ratios
                   become stable, absolute times are not comparable with a normal run
  --node-client    drive the mounts from bench/client.js instead of the compiled bench/client.c
  --only=rw|scale  only the side-by-side reads and writes, or only the topologies
  --topologies=..  which NxN fixtures of test/fixtures/topologies to use`;

const SIZES = {
  full: {
    readN: 200, readBatches: 21, writeN: 100, writeBatches: 21,
    starts: 3, scaleReadN: 200, scaleReadBatches: 9, lsRuns: 3, maskCycles: 3,
  },
  quick: {
    readN: 50, readBatches: 7, writeN: 25, writeBatches: 7,
    starts: 1, scaleReadN: 50, scaleReadBatches: 5, lsRuns: 1, maskCycles: 1,
  },
};
const PROFILES = fileURLToPath(new URL('../dist/bench/profiles/', import.meta.url));

async function main() {
  let args;
  try {
    args = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        profile: { type: 'boolean', default: false },
        'node-client': { type: 'boolean', default: false },
        rt: { type: 'boolean', default: false },
        only: { type: 'string' },
        topologies: { type: 'string', default: '4,16,64,256' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      args: normaliseJsonFlag(process.argv.slice(2)),
    }).values;
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const topologies = args.topologies.split(',').map(s => Number.parseInt(s, 10)).sort((a, b) => a - b);
  const badTopology = topologies.some(n => ![4, 16, 64, 256].includes(n));
  if (badTopology || (args.only && !['rw', 'scale'].includes(args.only))) {
    process.stderr.write(`bench: bad --topologies or --only\n${USAGE}\n`);
    return 2;
  }
  const sizes = { ...SIZES[args.quick ? 'quick' : 'full'], ...(args.profile && { starts: 1 }) };
  const skipFind = n => (n === 256 && args.quick ? 'skipped with --quick (about a minute on 256x256)' : undefined);
  const jsonToStdout = args.json === '';
  const report = jsonToStdout ? process.stderr : process.stdout;

  selectClient({ node: args['node-client'] });
  if (args.rt) useRealtime(livePids);
  const profileDir = args.profile ? PROFILES : undefined;
  if (profileDir) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'apsysfs-bench-'));
  onSignalCleanup(() => cleanWork(work, []));
  const rows = new Rows();
  const notes = [];
  const windows = [];
  const t0 = Date.now();
  report.write(`${header(args)}\n`);
  try {
    // The baseline runs through the whole bench: every apsysfs read is timed next to it. A second,
    // identical one gives the A/A check: how far apart two equal file systems measure this run.
    const hello = await startBaseline(work);
    const twin = await startBaseline(work, 'hello-twin');
    const ctx = { rows, hello, twin, work, sizes, profileDir, notes, windows };
    if (args.only !== 'scale') await sideBySide(ctx);
    if (args.only !== 'rw') await scaling({ ...ctx, topologies, skipFind });
  } catch (e) {
    notes.push(`bench failed: ${e.stack ?? e}`);
    process.exitCode = 1;
  } finally {
    await stopAll();
    cleanWork(work, notes);
  }
  notes.push(`run took ${((Date.now() - t0) / 1000).toFixed(0)} s; load average at the end ${loadavg()}`);

  report.write(`\n${rows.table()}${notes.map(n => `  ${n}`).join('\n')}\n`);
  if (profileDir) report.write(`\n${profiles(windows, profileDir)}\n`);
  if (jsonToStdout) process.stdout.write(rows.json());
  else if (args.json) writeFileSync(args.json, rows.json());
  return process.exitCode ?? 0;
}

const loadavg = () => os.loadavg().map(l => l.toFixed(2)).join(' ');

/** `--json` alone means stdout; parseArgs wants a value for a string option. */
function normaliseJsonFlag(argv) {
  return argv.map(a => (a === '--json' ? '--json=' : a));
}

function header(args) {
  const cpus = os.cpus();
  const load = os.loadavg()[0];
  const mode = [
    args.quick && ' (--quick)',
    args.profile && ' (--profile: daemons under --cpu-prof)',
    args.rt && ' (--rt: reads and writes timed under SCHED_FIFO)',
  ].filter(Boolean).join('');
  return [
    `apsysfs bench ${new Date().toISOString()}${mode}`,
    `node ${process.version}, Linux ${os.release()}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, load average ${loadavg()}`,
    `client: ${clientKind()}; medians over batches; ratio = value / baseline`,
    ...(load > 0.5 ? [`warning: the machine is busy (load ${load.toFixed(2)}): see the hello_aa_ratio rows; --rt helps`] : []),
  ].join('\n');
}

/** Remove the work directory, unless something is still mounted in it (never delete through a mount). */
function cleanWork(work, notes) {
  const mounted = mountPoints().filter(m => m.startsWith(`${work}/`));
  if (mounted.length) return notes.push(`left ${work}: still mounted: ${mounted.join(', ')}`);
  rmSync(work, { recursive: true, force: true });
}

function profiles(windows, dir) {
  const out = ['CPU profiles of the apsysfs daemon (main thread), by phase:'];
  for (const w of windows) {
    const file = path.join(dir, `${w.daemon}.cpuprofile`);
    if (!existsSync(file)) {
      out.push(`${w.label}: no profile (${file})`);
      continue;
    }
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    out.push(formatSummary(w.label, summarize(profile, { fromUs: w.fromUs, toUs: w.toUs })), '');
  }
  out.push(`profiles: ${dir} (open in Chrome DevTools, or: node bench/profile.js FILE [FROM_US TO_US])`);
  return out.join('\n');
}

process.exitCode = await main();
