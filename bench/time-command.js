// Time a real tool (ls, find) run against a mount, counting the lines it prints.
import { spawn } from 'node:child_process';

/**
 * Run `cmd args`; resolves with { ms, lines } from spawn to exit. Rejects on a non-zero exit, or
 * when `expect` is given and the line count differs.
 */
export function timeCommand(cmd, args, expect) {
  const what = `${cmd} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let err = '';
    child.stdout.on('data', chunk => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on('data', chunk => (err += chunk));
    child.once('error', reject);
    child.once('close', code => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`${what}: exit ${code}: ${err.trim().split('\n')[0]}`));
      if (expect !== undefined && lines !== expect) return reject(new Error(`${what}: ${lines} lines, expected ${expect}`));
      resolve({ ms, lines });
    });
  });
}
