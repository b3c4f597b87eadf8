/**
 * `apsysfs mount` over the FakeKernfs: the same command (foreground, --daemon, signals, records),
 * so FUSE tests need no model. Run as `node dist/test/helpers/fake-daemon.js DIR [mount options]`.
 */
import { mountCommand } from '../../src/cli/mount.js';
import { report } from '../../src/cli/main.js';
import { FakeKernfs } from './fake-kernfs.js';

try {
  process.exitCode = await mountCommand(process.argv.slice(2), {
    buildKernfs: async () => ({ kernfs: new FakeKernfs(), host: { shutdown: async () => undefined } }),
    self: [process.argv[1] ?? ''],
  });
} catch (e) {
  process.exitCode = report(e, 'mount');
}
process.exit();
