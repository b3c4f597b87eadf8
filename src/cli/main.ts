/**
 * The apsysfs command line: a table of commands, each loaded when used. Only cli/ exits.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from '../log.js';
import { CliError, UsageError } from './cli-error.js';

interface Command {
  readonly synopsis: string;
  readonly summary: string;
  /** Full help; a command without one prints its own on --help (run does). */
  readonly usage?: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  mount: {
    synopsis: 'mount [DIR] [OPTIONS]',
    summary: 'serve the sysfs tree on DIR (default ./mount)',
    usage: `usage: apsysfs mount [DIR] [--topology FILE] [--kernel trylock|mainline] [--daemon] [--op-timeout S]
                     [--state FILE] [--no-name-cache] [--scenario NAME [--scenario-window MS]]

Serve the s390 AP bus and vfio_ap part of sysfs on DIR: DIR/bus/ap is what /sys/bus/ap is on an
s390 machine, and so are devices/ap, devices/vfio_ap, bus/mdev, bus/matrix and class/mdev_bus.
DIR defaults to ./mount (a checkout's mount/ folder), which must exist; another DIR is created.
Runs in the foreground until SIGINT, SIGTERM or SIGHUP, then unmounts. A dead mount left on DIR
by a killed daemon ("Transport endpoint is not connected") is cleared first.

options:
  --topology FILE   the machine to simulate, as JSON (default: the built-in z15/z16-like LPAR)
  --state FILE      keep the state across restarts: if FILE exists the tree starts from it
                    (--topology then only serves the first start), and a clean shutdown saves
                    the whole state to it, in the format of 'apsysfs ctl save'
  --kernel K        trylock (default): mask writes only try the vfio_ap locks (EBUSY);
                    mainline: ap_perms_mutex first, blocking in-use check
  --daemon          return once the mount answers; the daemon runs on in the background with
                    its output in a log file (the path is printed). Stop it with 'apsysfs umount DIR'.
  --op-timeout S    answer ETIMEDOUT ("Connection timed out") to an operation still blocked after
                    S seconds (default 120, the kernel's hung-task timeout; 0 = never)
  --no-name-cache   never let the kernel cache names: every path component of every access is
                    looked up again (about 3x the FUSE requests per echo). By default names are
                    cached on Linux 6.16 and later, and dropped the moment any path is removed
                    (FUSE_NOTIFY_INC_EPOCH), so a removed path is never seen
  --scenario NAME   replay one of the driver's historic deadlocks: every operation takes that
                    flawed lock ordering; lockdep reports it and a real wait cycle fails with
                    EDEADLK. NAME: apmask-assign, kvm-vfio-release, pqap-hook, crypto-masks
                    ('apsysfs ctl scenario list' explains them; docs/deadlocks.md)
  --scenario-window MS
                    how long a flawed path sleeps where the old code could, holding its locks,
                    so that concurrent clients meet there (default 300; 0 = no wait)
  -h, --help        show this help`,
    run: async args => {
      const [{ mountCommand }, { buildKernfs }] = await Promise.all([import('./mount.js'), import('./host-factory.js')]);
      return mountCommand(args, { buildKernfs, self: [process.argv[1] ?? 'apsysfs', 'mount'] });
    },
  },
  umount: {
    synopsis: 'umount DIR',
    summary: 'stop the daemon serving DIR and unmount it (clears a dead mount too)',
    usage: `usage: apsysfs umount DIR

Stop the apsysfs daemon serving DIR (SIGTERM, then SIGKILL after 10 s) and make sure nothing
stays mounted on DIR. A dead mount ("Transport endpoint is not connected") is lazily unmounted.

options:
  -h, --help        show this help`,
    run: async args => (await import('./umount.js')).umountCommand(args),
  },
  run: {
    synopsis: 'run [OPTIONS] -- CMD [ARG...]',
    summary: 'run CMD with the tree over /sys, in a private mount namespace',
    run: async args => (await import('./run.js')).runMain(args),
  },
  ctl: {
    synopsis: 'ctl [--mount DIR] COMMAND ...',
    summary: 'talk to a running daemon: guests, host changes, events',
    run: async args => (await import('./ctl.js')).ctlMain(args),
  },
  help: {
    synopsis: 'help [COMMAND]',
    summary: "show this help, or a command's",
    usage: 'usage: apsysfs help [COMMAND]',
    run: async args => help(args),
  },
};

const overview = (): string => `usage: apsysfs <command> [ARG...]

A FUSE daemon serving a behaving copy of the Linux sysfs interface of the s390 AP bus and the
vfio_ap mediated-device driver.

commands:
${Object.values(commands)
  .map(c => `  ${c.synopsis.padEnd(30)} ${c.summary}`)
  .join('\n')}

options:
  -h, --help                     show this help ('apsysfs COMMAND --help' for a command's)
  --version                      print the version

environment:
  DEBUG=apsysfs:*                debug log on stderr; namespaces apsysfs:model, :lock, :sysfs,
                                 :fuse, :ctl, :cli`;

const HINT = "see 'apsysfs --help'";

/** Run the command line `argv` (without node and the script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    process.stderr.write(`${overview()}\n`);
    return 2;
  }
  if (name === '-h' || name === '--help') return help([]);
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) throw new UsageError(name, name.startsWith('-') ? 'unknown option' : 'unknown command');
  if (command.usage && wantsHelp(args)) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  log.cli('%s %o', name, args);
  return command.run(args);
}

/** -h/--help before any `--`. */
const wantsHelp = (args: string[]): boolean => {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some(a => a === '-h' || a === '--help');
};

async function help(args: string[]): Promise<number> {
  const [name, ...extra] = args;
  if (name === undefined) {
    process.stdout.write(`${overview()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command || extra.length > 0) throw new UsageError('help', command ? 'one COMMAND expected' : `unknown command '${name}'`);
  if (!command.usage) return command.run(['--help']);
  process.stdout.write(`${command.usage}\n`);
  return 0;
}

function version(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'apsysfs') return pkg.version ?? 'unknown';
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

/** The entry point bin/apsysfs.js calls: run, report, exit. */
export async function cli(argv: string[]): Promise<never> {
  let code: number;
  try {
    code = await main(argv);
  } catch (e) {
    code = report(e, argv[0] ?? 'apsysfs');
  }
  process.exit(code);
}

/** Print an error the CLI way; returns the exit code. */
export function report(e: unknown, command: string): number {
  if (e instanceof CliError) {
    process.stderr.write(`apsysfs: ${e.what}: ${e.why}\n${HINT}\n`);
    return e.exitCode;
  }
  // Not an anticipated failure: say what it was, with the stack when debugging.
  log.cli('%s', e instanceof Error ? e.stack : e);
  process.stderr.write(`apsysfs: ${command}: ${e instanceof Error ? e.message : String(e)}\n${HINT}\n`);
  return 1;
}
