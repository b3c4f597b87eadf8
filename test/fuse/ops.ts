// The FUSE adapter (src/fuse/ops.ts) over the FakeKernfs, mounted for real and driven by real
// tools in child processes. What each answer should be was measured on real sysfs (Linux 6.18).
import t from 'tap';
import { mountFake } from '../helpers/mount.js';
import { bash, run, sh } from '../helpers/shell.js';

const m = await mountFake(t);
const at = { cwd: m.root };
const calls = async (): Promise<string[]> => (await sh('cat calls', at)).stdout.split('\n').filter(Boolean);
/** What `fn` stored, one line per store() the Kernfs saw. */
const storesDuring = async (fn: () => Promise<unknown>): Promise<string[]> => {
  const before = (await calls()).length;
  await fn();
  return (await calls()).slice(before);
};
const py = (code: string) => run('python3', ['-c', code], at);

t.test('cat reads an attribute', async t => {
  t.same(await sh('cat hello', at), { code: 0, signal: null, stdout: 'hello\n', stderr: '' });
  t.equal((await sh('cat dir/link', at)).stdout, 'hello\n', 'through a symlink');
});

t.test('echo > attr: open(O_WRONLY), truncate, one write, release', async t => {
  const stores = await storesDuring(async () => t.equal((await bash('echo 5 > store', at)).code, 0));
  t.same(stores, ['/store "5\\n"'], 'store() ran once with the whole line');
  t.equal((await sh('cat store', at)).stdout, '5\n');
});

t.test('echo >> attr writes the same way (the position is ignored)', async t => {
  const stores = await storesDuring(async () => t.equal((await bash('echo 7 >> store', at)).code, 0));
  t.same(stores, ['/store "7\\n"']);
  t.equal((await sh('cat store', at)).stdout, '7\n');
});

t.test('one write(2) of more than a page: the store gets one page, the writer a short count', async t => {
  const stores = await storesDuring(async () => {
    const r = await py('import os; fd = os.open("store", os.O_WRONLY); print(os.write(fd, b"y" * 5000))');
    t.equal(r.stdout, '4096\n', r.stderr);
  });
  t.same(stores, [`/store ${JSON.stringify('y'.repeat(4096))}`]);
});

t.test('the wrong access mode is EACCES, even for root', async t => {
  t.equal(process.getuid?.(), 0, 'these tests run as root');
  const w = await bash('echo 1 > hello', at);
  t.equal(w.code, 1);
  t.match(w.stderr, /hello: Permission denied/);
  const r = await sh('cat wonly', at);
  t.equal(r.code, 1);
  t.match(r.stderr, /wonly: Permission denied/);
  const rw = await py('import os\ntry:\n os.open("hello", os.O_RDWR)\nexcept OSError as e: print(e.strerror)');
  t.equal(rw.stdout, 'Permission denied\n', 'O_RDWR needs both show and store');
});

t.test('a KernelError from store is its errno in the shell', async t => {
  const r = await bash('echo 1 > busy', at);
  t.equal(r.code, 1);
  t.match(r.stderr, /write error: Device or resource busy/);
  // dash words every write error as "I/O error", on real sysfs too.
  t.match((await sh('echo 1 > busy', at)).stderr, /I\/O error/);
});

t.test('an unexpected exception is EIO and the daemon keeps serving', async t => {
  const r = await sh('cat bug', at);
  t.equal(r.code, 1);
  t.match(r.stderr, /bug: Input\/output error/);
  t.match((await bash('echo 1 > bug', at)).stderr, /write error: Input\/output error/);
  t.equal((await sh('cat hello', at)).stdout, 'hello\n');
  t.equal(m.output().includes('Error'), false, 'nothing on stderr without DEBUG');
});

t.test('lookups are not cached: a node is there right after it appears, gone right after it goes', async t => {
  const r = await bash('test -e fresh; echo $?; echo fresh > create; test -e fresh; echo $?; cat fresh; echo fresh > remove; test -e fresh; echo $?', at);
  t.equal(r.stdout, '1\n0\nfresh\n1\n', r.stderr);
});

t.test('symlinks: relative targets as given', async t => {
  t.equal((await sh('readlink dir/link', at)).stdout, '../hello\n');
  t.equal((await sh('readlink dir/sub/up', at)).stdout, '../../dir\n');
  t.equal((await sh('ls dir/sub/up/', at)).stdout, 'link\nsub\n');
  t.equal((await sh('readlink -f dir/sub/up/link', at)).stdout, `${m.root}/hello\n`);
  t.equal((await py('import os\ntry:\n os.readlink("hello")\nexcept OSError as e: print(e.strerror)')).stdout, 'Invalid argument\n');
});

t.test('stat and readdir look like sysfs', async t => {
  t.equal(
    (await sh('stat -c "%A %s %b %B %h" hello wonly store dir dir/link', at)).stdout,
    ['-r--r--r-- 4096 0 512 1', '--w------- 4096 0 512 1', '-rw-r--r-- 4096 0 512 1', 'drwxr-xr-x 0 0 512 1', 'lrwxrwxrwx 0 0 512 1', ''].join('\n'),
  );
  const ino = await sh('stat -c %i hello; stat -c %i hello', at);
  const [a, b] = ino.stdout.split('\n');
  t.equal(a, b, 'inode numbers are stable');
  t.equal((await sh('ls -a', at)).stdout.split('\n').slice(0, 3).join(' '), '. .. bug');
  t.equal((await sh('find . -type l | sort', at)).stdout, './dir/link\n./dir/sub/up\n', 'find walks it');
  t.equal((await sh('stat -f -c "%S %b %f %c %l" .', at)).stdout, '4096 0 0 0 255\n', 'statfs as sysfs');
});

// What real sysfs answers to the operations it has no use for (measured as root).
const refused: [string, string, RegExp][] = [
  ['mkdir', 'mkdir newdir', /Operation not permitted/],
  ['rmdir', 'rmdir dir/sub', /Operation not permitted/],
  ['unlink', 'rm hello', /Operation not permitted/],
  ['rename', 'mv hello moved', /Operation not permitted/],
  ['symlink', 'ln -s hello newlink', /Operation not permitted/],
  ['link', 'ln hello newlink', /Operation not permitted/],
  ['mknod', 'mknod newfifo p', /Operation not permitted/],
  ['create', 'touch newfile', /Permission denied/],
  ['chmod', 'chmod 600 store', /Operation not permitted/],
  ['chown', 'chown 1 store', /Operation not permitted/],
];
for (const [op, cmd, message] of refused) {
  t.test(`${op} is refused: ${cmd}`, async t => {
    const r = await sh(cmd, at);
    t.equal(r.code, 1);
    t.match(r.stderr, message);
  });
}

t.test('touch of an attribute succeeds, as on sysfs (even a read-only one as root)', async t => {
  t.equal((await sh('touch hello store', at)).code, 0);
});

t.test('fsync: fine on an attribute, EINVAL on a directory', async t => {
  const r = await py(
    'import os\nos.fsync(os.open("store", os.O_RDONLY)); print("file ok")\ntry:\n os.fsync(os.open("dir", os.O_RDONLY))\nexcept OSError as e: print(e.strerror)',
  );
  t.equal(r.stdout, 'file ok\nInvalid argument\n', r.stderr);
});

t.test('a store that blocks does not hold up other operations', async t => {
  // /hold returns only once /unhold is written, so cat answers while that store is pending.
  const r = await bash(
    'echo 1 > hold & until grep -q /hold calls; do sleep 0.05; done; cat hello; kill -0 $! && echo still-storing; echo 1 > unhold; wait $!',
    at,
  );
  t.equal(r.stdout, 'hello\nstill-storing\n', r.stderr);
  t.equal(r.code, 0);
});

t.test('other users see the tree with sysfs permissions (allow_other, default_permissions)', async t => {
  const asNobody = (cmd: string) => run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', cmd], at);
  t.equal((await asNobody('cat hello')).stdout, 'hello\n');
  t.match((await asNobody('echo 1 > store')).stderr, /Permission denied/, 'a 0644 attribute is root\'s to write');
  t.match((await asNobody('cat wonly')).stderr, /Permission denied/);
});
