/**
 * Testing your tool against apsysfs: a tap test that starts a simulated s390 AP bus and vfio_ap
 * with the machine the test needs, runs the tool under test against it, changes the machine the
 * way an administrator would, and runs the tool again.
 *
 * The tool here is list-vfio-queues.sh (next to this file), a small shell script that reads sysfs
 * below $SYSFS_ROOT, as s390-tools do. For a tool with hard-coded /sys paths, run it through
 * `apsysfs run` instead (docs/testing-your-tool.md).
 *
 *   npx tap examples/test-my-tool.ts          (in this repository, after npm run build)
 *
 * Needs root (or a user namespace) and /dev/fuse, as any apsysfs mount does.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { start } from 'apsysfs';

const exec = promisify(execFile);
const TOOL = fileURLToPath(new URL('list-vfio-queues.sh', import.meta.url));
const MDEV = '62177883-f1bb-47f0-914d-32a22e3a8804';

t.test('list-vfio-queues names the mdev of every pass-through queue', async t => {
  // Two adapters with two domains each. Adapters 5 and 6 are out of apmask, so their queues are
  // vfio_ap's, and one mdev already has 05.0004. (docs/topology.md describes every field.)
  const sys = await start({
    topology: {
      adapters: [
        { id: '0x05', type: 'CEX8C' },
        { id: '0x06', type: 'CEX8A' },
      ],
      usageDomains: ['0x0004', '0x0047'],
      apmask: '+0-255,-5,-6',
      mdevs: [{ uuid: MDEV, adapters: ['0x05'], domains: ['0x0004'] }],
    },
  });
  // Always stop: it unmounts and removes the temp dir, also when an assertion failed.
  t.teardown(() => sys.stop());

  // The tool runs in a child process and sees the tree at SYSFS_ROOT.
  const tool = async (): Promise<string> => (await exec(TOOL, { env: { ...process.env, SYSFS_ROOT: sys.root } })).stdout;

  t.equal(await tool(), `05.0004 ${MDEV}\n05.0047 free\n06.0004 free\n06.0047 free\n`);

  // Change the machine through sysfs, as an administrator's shell would.
  const matrix = `${sys.root}/devices/vfio_ap/matrix`;
  await exec('sh', ['-c', `echo 6 > ${matrix}/${MDEV}/assign_adapter`]);
  t.equal(await tool(), `05.0004 ${MDEV}\n05.0047 free\n06.0004 ${MDEV}\n06.0047 free\n`, 'the assigned adapter shows up');

  // The kernel's errors reach the shell as they would on s390: 05.0004 is taken.
  const other = '11111111-2222-4333-8444-555555555555';
  const refused = await exec('bash', [
    '-c',
    `echo ${other} > ${matrix}/mdev_supported_types/vfio_ap-passthrough/create
     echo 5 > ${matrix}/${other}/assign_adapter
     echo 4 > ${matrix}/${other}/assign_domain`,
  ]).catch((e: { code: number; stderr: string }) => e);
  t.match(refused, { code: 1, stderr: /Address already in use/ });
  t.equal(await tool(), `05.0004 ${MDEV}\n05.0047 free\n06.0004 ${MDEV}\n06.0047 free\n`, 'nothing changed for the tool');
});
