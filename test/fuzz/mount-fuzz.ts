// Issue "Prove it holds", fuzzing through the mount: every writable attribute gets
// FUZZ_MOUNT_ITERATIONS (default 500) hostile writes from one child process with real syscalls
// (open, write, close; O_TRUNC as a shell opens; writes on a descriptor kept open), each compared
// with a shadow model fed the same input (test/helpers/fuzz-mount.ts). Then the daemon must still
// be up and serving, and stop cleanly.
// Reproduce a failure with the seed it prints: FUZZ_SEED=<n> npx tap test/fuzz/mount-fuzz.ts
import t from 'tap';
import { probe } from '../../src/fuse/mountpoint.js';
import { FUZZ_TOPOLOGY_FILE, fuzzInChild, fuzzSeed, mountIterations } from '../helpers/fuzz.js';
import { mountTree } from '../helpers/mount.js';

const seed = fuzzSeed();
t.comment(`FUZZ_SEED=${seed}`);

t.test('hostile writes through the mount', async (t) => {
  // The daemon without tap's coverage recording: 28,000 writes would pay for it twice over.
  const m = await mountTree(t, { topology: FUZZ_TOPOLOGY_FILE, env: { _TAPJS_PROCESSINFO_COVERAGE_: '0' } });
  let exited = false;
  void m.exited.then(() => (exited = true));
  await fuzzInChild(t, { mode: 'mount', seed, iterations: mountIterations(), prefixes: [], root: m.root }, { timeoutMs: 240_000 });
  t.notOk(exited, 'the daemon is still running');
  t.equal(await probe(m.root, 10_000), 'ok', 'the mount still answers');
  await m.stop();
  t.same(await m.exited, { code: 0, signal: null }, 'and stops cleanly on SIGTERM');
});
