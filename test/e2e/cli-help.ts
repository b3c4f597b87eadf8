// The apsysfs command line without a mount: help, version, and how errors are worded.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/mount.js';
import { run } from '../helpers/shell.js';

const CLI = path.join(repoRoot, 'bin', 'apsysfs.js');
const apsysfs = (...args: string[]) => run(process.execPath, [CLI, ...args]);
const HINT = "see 'apsysfs --help'\n";

t.test('--help, -h and help list every command', async t => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await apsysfs(...args);
    t.equal(r.code, 0, args.join(' '));
    for (const command of ['mount [DIR]', 'umount DIR', 'run [OPTIONS] -- CMD', 'ctl [--mount DIR]', 'help [COMMAND]']) t.match(r.stdout, command);
  }
});

t.test('every command has --help', async t => {
  for (const [command, usage] of [['mount', 'usage: apsysfs mount [DIR]'], ['umount', 'usage: apsysfs umount DIR'], ['run', 'Usage: apsysfs run'], ['ctl', 'usage: apsysfs ctl'], ['help', 'usage: apsysfs help']]) {
    for (const args of [[command, '--help'], [command, '-h'], ['help', command]]) {
      const r = await apsysfs(...(args as string[]));
      t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      t.match(r.stdout, usage, args.join(' '));
    }
  }
});

t.test('--version prints the package version', async t => {
  const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  t.same(await apsysfs('--version'), { code: 0, signal: null, stdout: `${version}\n`, stderr: '' });
});

t.test('no command: the overview on stderr, exit 2', async t => {
  const r = await apsysfs();
  t.equal(r.code, 2);
  t.match(r.stderr, 'usage: apsysfs <command>');
});

const errors: [string[], number, string][] = [
  [['frobnicate'], 2, 'apsysfs: frobnicate: unknown command\n'],
  [['--frobnicate'], 2, 'apsysfs: --frobnicate: unknown option\n'],
  [['help', 'frobnicate'], 2, "apsysfs: help: unknown command 'frobnicate'\n"],
  [['mount', '--bogus'], 2, "apsysfs: mount: unknown option '--bogus'\n"],
  [['mount', '/tmp/x', '--topology'], 2, "apsysfs: mount: option '--topology' needs a value\n"],
  [['mount', '/tmp/x', '--daemon=yes'], 2, "apsysfs: mount: option '--daemon' takes no value\n"],
  [['mount', '/tmp/x', '/tmp/y'], 2, 'apsysfs: mount: one DIR expected, got 2\n'],
  [['mount', '/tmp/x', '--kernel', 'linus'], 2, "apsysfs: mount: --kernel: expected trylock or mainline, got 'linus'\n"],
  [['mount', '/tmp/x', '--op-timeout', 'soon'], 2, "apsysfs: mount: --op-timeout: expected seconds (0 = no limit), got 'soon'\n"],
  [['mount', '/tmp/x', '--op-timeout=-1'], 2, "apsysfs: mount: --op-timeout: expected seconds (0 = no limit), got '-1'\n"],
  [['mount', '/tmp/x', '--op-timeout', '-1'], 2, "apsysfs: mount: option '--op-timeout': write --op-timeout=VALUE for a value starting with '-'\n"],
  [['umount'], 2, 'apsysfs: umount: exactly one DIR expected\n'],
];
for (const [args, code, message] of errors) {
  t.test(`apsysfs ${args.join(' ')}`, async t => {
    t.same(await apsysfs(...args), { code, signal: null, stdout: '', stderr: `${message}${HINT}` });
  });
}

t.test('mount with no DIR outside a checkout does not create ./mount', async t => {
  const cwd = t.testdir();
  const r = await run(process.execPath, [CLI, 'mount'], { cwd });
  t.equal(r.code, 1);
  t.equal(r.stderr, `apsysfs: mount: no DIR given and no ./mount here (run from a checkout or name a DIR)\n${HINT}`);
});

t.test('bin/apsysfs.js says how to build when dist/ is missing', async t => {
  const dir = t.testdir({ 'package.json': JSON.stringify({ type: 'module' }) });
  mkdirSync(path.join(dir, 'bin'));
  cpSync(CLI, path.join(dir, 'bin', 'apsysfs.js'));
  writeFileSync(path.join(dir, 'bin', '.keep'), '');
  const r = await run(process.execPath, [path.join(dir, 'bin', 'apsysfs.js'), '--help']);
  t.equal(r.code, 1);
  t.equal(r.stderr, 'apsysfs: dist/ is not built: run npm install (it builds) or npm run build\n');
});
