#!/usr/bin/env node
// bench/client.c in Node, for machines without a C compiler: same arguments, same output.
// It costs a few µs more per operation than the C client, the same for every target.
import { closeSync, constants, openSync, readSync, statSync, writeSync } from 'node:fs';

const now = () => process.hrtime.bigint();

const median = sorted =>
  sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2n;

function report(index, perUnit, units, refusedErrno) {
  const s = [...perUnit].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  process.stdout.write(`${index} ${median(s)} ${s[0]} ${s.at(-1)} ${units} ${refusedErrno}\n`);
}

const buf = Buffer.alloc(4096);

function catOnce(path) {
  const fd = openSync(path, constants.O_RDONLY);
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  closeSync(fd);
}

/** 0, or the errno of the failed open/write/close (as a positive number). */
function echoOnce(path, value) {
  let fd;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o666);
    if (writeSync(fd, value) !== value.length) return constants.errno?.EIO ?? 5;
    return 0;
  } catch (e) {
    return -e.errno;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function timeBatches(n, batches, targets, once) {
  // One untimed batch per target first: fails early, and lets the daemon's JIT warm up.
  for (const target of targets) for (let i = 0; i < n; i++) once(target);
  const t = targets.map(() => []);
  for (let b = 0; b < batches; b++) {
    const sum = targets.map(() => 0n);
    for (let i = 0; i < n; i++)
      targets.forEach((target, p) => {
        const t0 = now();
        once(target);
        sum[p] += now() - t0;
      });
    sum.forEach((ns, p) => t[p].push(ns / BigInt(n)));
  }
  return t;
}

function read(n, batches, paths) {
  timeBatches(n, batches, paths, catOnce).forEach((t, p) => report(p, t, n * batches, 0));
}

function write(n, batches, args) {
  const targets = [];
  for (let i = 0; i < args.length; ) {
    if (args[i] !== '--') throw new Error(`write: expected --, got ${args[i]}`);
    const target = { ops: [], refusedErrno: 0 };
    targets.push(target);
    for (i++; i < args.length && args[i] !== '--'; i += 3) {
      const [kind, path, value] = args.slice(i, i + 3);
      if ((kind !== 'w' && kind !== 'x') || value === undefined) throw new Error(`write: expected w|x FILE VALUE at ${kind}`);
      // Node has no openat(2): DIR//NAME (see client.c) would silently become a full path walk.
      if (path.includes('//')) throw new Error(`write: ${path}: DIR//NAME needs the C client`);
      target.ops.push({ kind, path, value: Buffer.from(`${value}\n`) });
    }
  }
  const once = target => {
    for (const op of target.ops) {
      const err = echoOnce(op.path, op.value);
      if (op.kind === 'w' && err) throw new Error(`write ${op.path}: errno ${err}`);
      if (op.kind === 'x' && !err) throw new Error(`write ${op.path}: accepted, expected a refusal`);
      if (op.kind === 'x') target.refusedErrno = err;
    }
  };
  timeBatches(n, batches, targets, once).forEach((t, p) => report(p, t, n * batches, targets[p].refusedErrno));
}

function once(path, value) {
  const t0 = now();
  const err = echoOnce(path, Buffer.from(`${value}\n`));
  process.stdout.write(`${now() - t0} ${err}\n`);
}

async function wait(path, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  process.stdout.write('polling\n');
  while (Date.now() < deadline) {
    try {
      statSync(path);
      process.stdout.write(`ok ${now()}\n`);
      return 0;
    } catch {
      await new Promise(resolve => setTimeout(resolve, 1));
    }
  }
  process.stdout.write('timeout\n');
  return 1;
}

const [cmd, a, b, ...rest] = process.argv.slice(2);
try {
  if (cmd === 'wait') process.exitCode = await wait(a, Number(b));
  else if (cmd === 'once') once(a, b);
  else if (cmd === 'read') read(Number(a), Number(b), rest);
  else if (cmd === 'write') write(Number(a), Number(b), rest);
  else throw new Error('usage: see bench/client.c');
} catch (e) {
  process.stderr.write(`client: ${e.message}\n`);
  process.exitCode = 2;
}
