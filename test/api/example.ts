// Issue "Real tools, unmodified": the documented example (examples/test-my-tool.ts) passes as a
// test author would run it. tap does not pick up examples/ by itself, so it runs here, as its own
// process with this process's TypeScript loader, importing the package by its name ('apsysfs').
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { capture, REPO } from '../helpers/ns-tree.js';

t.test('examples/test-my-tool.ts passes', async t => {
  // Only the TypeScript loader: not tap's coverage and process-info hooks of this process.
  const loader = process.execArgv.filter(a => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
  const r = await capture(
    spawn(process.execPath, [...loader, join(REPO, 'examples/test-my-tool.ts')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  t.equal(r.code, 0, 'exit 0');
  if (r.code !== 0) t.comment(`${r.stdout}\n${r.stderr}`);
  t.match(r.stdout, /^ok 1 - list-vfio-queues names the mdev of every pass-through queue/m);
  t.notMatch(r.stdout, /^\s*not ok/m);
});
