#!/usr/bin/env node
// Top frames of a V8 CPU profile (node --cpu-prof), optionally restricted to a time window.
//
//   node bench/profile.js FILE.cpuprofile [FROM_US TO_US]
//
// The window is in µs of CLOCK_MONOTONIC, the clock of both the profile and process.hrtime, so the
// bench can cut one daemon's profile into its phases (start, reads, ls, find, apmask writes).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Samples of a waiting thread; (program) is native work outside JS and counts as busy. */
const IDLE = new Set(['(idle)', '(root)']);

/**
 * @returns {{ windowMs: number, busyMs: number, self: Frame[], inclusive: Frame[] }}
 * where Frame = { frame: string, ms: number, pct: number } (pct of the busy time).
 */
export function summarize(profile, { fromUs = 0, toUs = Infinity, top = 12 } = {}) {
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const inclusive = new Map();
  let busy = 0;
  let windowUs = 0;
  let t = profile.startTime;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i];
    if (t < fromUs || t > toUs) continue;
    // A sample stands for the time until the next one.
    const dt = (timeDeltas[i + 1] ?? 0) / 1000;
    windowUs += dt * 1000;
    const leaf = byId.get(samples[i]);
    const leafName = frameName(leaf.callFrame);
    if (IDLE.has(leafName)) continue;
    busy += dt;
    add(self, leafName, dt);
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const name = frameName(byId.get(id).callFrame);
      if (!seen.has(name) && !IDLE.has(name)) seen.add(name), add(inclusive, name, dt);
    }
  }
  const rank = m => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([frame, ms]) => ({ frame, ms, pct: (100 * ms) / (busy || 1) }));
  return { windowMs: windowUs / 1000, busyMs: busy, self: rank(self), inclusive: rank(inclusive) };
}

function add(map, key, v) {
  map.set(key, (map.get(key) ?? 0) + v);
}

function frameName({ functionName, url, lineNumber }) {
  if (!url) return functionName || '(anonymous)';
  const file = url.replace(/^file:\/\//, '').replace(ROOT, '');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

/** The summary as text, for the bench's report. */
export function formatSummary(title, s) {
  const share = ((100 * s.busyMs) / (s.windowMs || 1)).toFixed(0);
  const lines = [`${title}: ${s.windowMs.toFixed(0)} ms window, ${s.busyMs.toFixed(0)} ms on the main thread (${share}%)`];
  lines.push('  self time:');
  for (const f of s.self) lines.push(`    ${f.ms.toFixed(1).padStart(9)} ms ${f.pct.toFixed(1).padStart(5)}%  ${f.frame}`);
  lines.push('  inclusive (with callees):');
  for (const f of s.inclusive) lines.push(`    ${f.ms.toFixed(1).padStart(9)} ms ${f.pct.toFixed(1).padStart(5)}%  ${f.frame}`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, from, to] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/profile.js FILE.cpuprofile [FROM_US TO_US]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const s = summarize(profile, { fromUs: from ? Number(from) : 0, toUs: to ? Number(to) : Infinity, top: 20 });
  process.stdout.write(`${formatSummary(file, s)}\n`);
}
