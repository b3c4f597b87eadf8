// The operation timeout (src/fuse/mount.ts DEFAULT_OP_TIMEOUT_S): a store may block as long as
// the kernel's would, but not forever.
import t from 'tap';
import { mountFake } from '../helpers/mount.js';
import { bash, sh } from '../helpers/shell.js';

t.test('past --op-timeout a blocked store answers ETIMEDOUT and the daemon serves on', async t => {
  const m = await mountFake(t, { args: ['--op-timeout', '1'] });
  const at = { cwd: m.root };
  // /hold returns only when /unhold is written: without the bound it would wait for ever.
  const r = await bash('echo 1 > hold', at);
  t.equal(r.code, 1);
  t.match(r.stderr, /write error: Connection timed out/);
  t.equal((await sh('echo 1 > unhold; cat hello', at)).stdout, 'hello\n');
});

t.test('by default a store may block longer than fuse-native\'s own 15 s', async t => {
  const m = await mountFake(t);
  const r = await bash('echo 16000 > slow', { cwd: m.root });
  t.equal(r.code, 0, r.stderr);
});
