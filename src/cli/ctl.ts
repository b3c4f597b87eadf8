/**
 * `apsysfs ctl [--mount DIR] [--json] COMMAND ...`: talk to the daemon serving DIR over its control
 * socket (control/). Guests attach and detach, the SE/HMC changes the host configuration, and the
 * event log, the lock checker and a picture of the matrix can be looked at.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { EventKind } from '../model/events.js';
import { ControlClient, ControlError, NoDaemonError } from '../control/client.js';
import { EVENT_KINDS, HOST_RESOURCES, type HostAction, type HostResource } from '../control/protocol.js';
import { renderEvent, renderGuest, renderGuestList, renderHostChange, renderLocks, renderShow, renderStatus } from '../control/render.js';
import { renderPqap, renderPv, renderScenarioRun } from '../control/render.js';
import { parsing } from './args.js';
import { CliError, UsageError } from './cli-error.js';

export const CTL_USAGE = `usage: apsysfs ctl [--mount DIR] [--json] COMMAND [ARG...]

Talk to the apsysfs daemon serving DIR (default ./mount) over its control socket.

commands:
  status                               the daemon, its machine, its guests
  show [--grid|--summary] [--adapters IDS] [--domains IDS]
                                       the adapters x domains matrix: each APQN absent, reserved
                                       for the host, free for pass-through, assigned to an mdev,
                                       or in its guest; large matrices are summarised
  guest attach UUID [--guest NAME]     start a guest on the mdev (QEMU opening its VFIO device);
                                       NAME defaults to guest-<first 8 digits of UUID>
  guest detach UUID                    stop it (QEMU closing the device): APCB cleared, queues reset
  guest show UUID                      the guest's APCB (adapters, domains, control domains)
  guest list                           every guest and the mdev it has open
  guest pqap GUEST APQN [--vcpu N]     a vCPU of GUEST (0 or 1, default 0) intercepts PQAP(AQIC)
                                       for APQN (05.0004) and vfio_ap's handler answers
  guest pv GUEST                       KVM_S390_PV_COMMAND: kvm->lock, then every vCPU's mutex
  host adapter add ID [--type TYPE]    the SE/HMC adds an adapter to the host configuration and
                                       the kernel rescans; TYPE is CEX4..CEX8 + C, A or P (default:
                                       the card that was there, else CEX8C)
  host adapter remove ID               ... takes it out
  host domain add|remove ID            ... a usage domain
  host control-domain add|remove ID    ... a control domain
  log [--follow] [--since N] [--kind K,...]
                                       the event log (kernel lines, uevents, operations, lockdep);
                                       K is kernel, uevent, op or lockdep
  locks [--check]                      the lock-order checker's state and reports; --check exits 1
                                       if there is a report
  scenario list                        the driver's historic deadlocks apsysfs replays, explained
                                       (mount with --scenario NAME to switch one on for the tree)
  scenario run NAME [--design flawed|fixed] [--kernel trylock|mainline]
                                       run NAME's clients together on a scratch host (not this
                                       tree): what each got back and lockdep's reports; default
                                       the flawed design
  save FILE                            write the whole state (host configuration, masks, bindings,
                                       mdevs, guests) as a topology file: 'apsysfs mount --topology
                                       FILE' shows the same tree; FILE - writes to stdout

IDs are decimal or 0x hex (0x0b); IDS is a list of IDs and ranges (0x04-0x07,0x0b).

options:
  --mount DIR     the mount point the daemon serves (default ./mount)
  --json          print the daemon's answers as JSON (log: one event per line)
  -h, --help      show this help`;

const options = {
  mount: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  guest: { type: 'string' },
  type: { type: 'string' },
  follow: { type: 'boolean', short: 'f', default: false },
  since: { type: 'string' },
  kind: { type: 'string' },
  check: { type: 'boolean', default: false },
  grid: { type: 'boolean', default: false },
  summary: { type: 'boolean', default: false },
  adapters: { type: 'string' },
  domains: { type: 'string' },
  vcpu: { type: 'string' },
  design: { type: 'string' },
  kernel: { type: 'string' },
} as const;

type Values = ReturnType<typeof parse>['values'];

const parse = (args: string[]) => parsing('ctl', () => parseArgs({ args, options, allowPositionals: true, strict: true }));

/** Which options each command takes, beyond --mount, --json, --help. */
const commandOptions: Record<string, readonly (keyof typeof options)[]> = {
  status: [],
  show: ['grid', 'summary', 'adapters', 'domains'],
  'guest attach': ['guest'],
  'guest detach': [],
  'guest show': [],
  'guest list': [],
  'host add': ['type'],
  'host remove': [],
  log: ['follow', 'since', 'kind'],
  locks: ['check'],
  'guest pqap': ['vcpu'],
  'guest pv': [],
  'scenario list': [],
  'scenario run': ['design', 'kernel'],
  save: [],
};

/** Where the output goes; tests pass their own. */
export interface CtlIo {
  write(text: string): void;
  /** Terminal width for `show`, undefined when not a terminal. */
  readonly columns: number | undefined;
  readonly isTTY: boolean;
}

const stdoutIo: CtlIo = {
  write: (text) => void process.stdout.write(text),
  get columns() {
    return process.stdout.columns;
  },
  get isTTY() {
    return process.stdout.isTTY === true;
  },
};

/** `ctl log --follow | head -3`: the reader went away, which is how such a pipeline ends. */
function exitQuietlyOnClosedPipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
}

/** `apsysfs ctl ...`; returns the exit code. Throws CliError (UsageError for a bad command line). */
export async function ctlMain(args: string[], io: CtlIo = stdoutIo): Promise<number> {
  if (io === stdoutIo) exitQuietlyOnClosedPipe();
  const { values, positionals } = parse(args);
  if (values.help || positionals[0] === 'help') {
    io.write(`${CTL_USAGE}\n`);
    return 0;
  }
  const [cmd, ...rest] = positionals;
  if (cmd === undefined) throw new UsageError('ctl', 'a COMMAND is expected (see apsysfs ctl --help)');
  const command = commandName(cmd, rest);
  checkOptions(command, values);
  const mountDir = values.mount ?? defaultMount();
  let client: ControlClient;
  try {
    client = await ControlClient.connect({ mountDir });
  } catch (e) {
    if (e instanceof NoDaemonError) throw new CliError('ctl', e.message);
    throw e;
  }
  try {
    return await run(io, client, command, cmd, rest, values);
  } catch (e) {
    if (e instanceof ControlError) {
      if (values.json) io.write(`${JSON.stringify({ error: { errno: e.errno, message: e.why } })}\n`);
      throw new CliError(`ctl ${[cmd, ...rest].join(' ')}`, `${e.errno}: ${e.why}`);
    }
    if (e instanceof NoDaemonError) throw new CliError('ctl', e.message);
    throw e;
  } finally {
    client.close();
  }
}

function defaultMount(): string {
  if (!existsSync('mount')) throw new UsageError('ctl', 'no --mount DIR given and no ./mount here');
  return 'mount';
}

/** The command's key in commandOptions, after checking its words. */
function commandName(cmd: string, rest: string[]): string {
  const arity = (n: number, what: string): void => {
    if (rest.length !== n) throw new UsageError(`ctl ${cmd}`, n === 0 ? `no argument expected, got '${rest.join(' ')}'` : `${what} expected`);
  };
  switch (cmd) {
    case 'status':
    case 'show':
    case 'log':
    case 'locks':
      arity(0, '');
      return cmd;
    case 'save':
      arity(1, 'one FILE (- for stdout)');
      return cmd;
    case 'guest': {
      const [verb, ...more] = rest;
      if (verb === 'list') {
        if (more.length) throw new UsageError('ctl guest list', `no argument expected, got '${more.join(' ')}'`);
        return 'guest list';
      }
      if (verb === 'pqap' || verb === 'pv') {
        if (more.length !== (verb === 'pqap' ? 2 : 1)) throw new UsageError(`ctl guest ${verb}`, verb === 'pqap' ? 'GUEST and APQN expected' : 'one GUEST expected');
        return `guest ${verb}`;
      }
      if (verb !== 'attach' && verb !== 'detach' && verb !== 'show') throw new UsageError('ctl guest', `expected attach, detach, show, list, pqap or pv, got '${verb ?? ''}'`);
      if (more.length !== 1) throw new UsageError(`ctl guest ${verb}`, 'one UUID expected');
      return `guest ${verb}`;
    }
    case 'host': {
      const [resource, action, ...more] = rest;
      if (!(HOST_RESOURCES as readonly (string | undefined)[]).includes(resource)) throw new UsageError('ctl host', `expected ${HOST_RESOURCES.join(', ')}, got '${resource ?? ''}'`);
      if (action !== 'add' && action !== 'remove') throw new UsageError(`ctl host ${resource}`, `expected add or remove, got '${action ?? ''}'`);
      if (more.length !== 1) throw new UsageError(`ctl host ${resource} ${action}`, 'one ID expected');
      return `host ${action}`;
    }
    case 'scenario': {
      const [verb, ...more] = rest;
      if (verb !== 'list' && verb !== 'run') throw new UsageError('ctl scenario', `expected list or run, got '${verb ?? ''}'`);
      if (more.length !== (verb === 'run' ? 1 : 0)) throw new UsageError(`ctl scenario ${verb}`, verb === 'run' ? 'one NAME expected (see apsysfs ctl scenario list)' : `no argument expected, got '${more.join(' ')}'`);
      return `scenario ${verb}`;
    }
    default:
      throw new UsageError('ctl', `unknown command '${cmd}' (see apsysfs ctl --help)`);
  }
}

function checkOptions(command: string, values: Values): void {
  const allowed = new Set<string>(['mount', 'json', 'help', ...(commandOptions[command] ?? [])]);
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === false || allowed.has(name)) continue;
    throw new UsageError(`ctl ${command}`, `option '--${name}' does not apply`);
  }
  if (values.grid && values.summary) throw new UsageError('ctl show', '--grid and --summary exclude each other');
}

async function run(io: CtlIo, client: ControlClient, command: string, cmd: string, rest: string[], values: Values): Promise<number> {
  const json = values.json ?? false;
  const out = (text: string, data: unknown): void => {
    io.write(json ? `${JSON.stringify(data, null, 2)}\n` : text);
  };
  switch (command) {
    case 'status': {
      const s = await client.call('status', {});
      out(renderStatus(s), s);
      return 0;
    }
    case 'show': {
      const p = await client.call('show', {
        ...(values.adapters !== undefined && { adapters: idList(values.adapters, '--adapters') }),
        ...(values.domains !== undefined && { domains: idList(values.domains, '--domains') }),
      });
      const mode = values.grid ? 'grid' : values.summary ? 'summary' : 'auto';
      // Not a terminal: lay out for a wide page, without colours.
      out(renderShow(p, { width: io.columns ?? 160, mode, color: io.isTTY && !process.env.NO_COLOR }), p);
      return 0;
    }
    case 'guest attach':
    case 'guest detach':
    case 'guest show': {
      const uuid = rest[1]!;
      const g =
        command === 'guest attach'
          ? await client.call('guest.attach', { uuid, ...(values.guest !== undefined && { guest: values.guest }) })
          : await client.call(command === 'guest detach' ? 'guest.detach' : 'guest.show', { uuid });
      out(renderGuest(g), g);
      return 0;
    }
    case 'guest list': {
      const l = await client.call('guest.list', {});
      out(renderGuestList(l), l);
      return 0;
    }
    case 'host add':
    case 'host remove': {
      const [resource, action, idText] = rest as [HostResource, HostAction, string];
      if (values.type !== undefined && !(resource === 'adapter' && action === 'add')) throw new UsageError(`ctl host ${resource} ${action}`, `option '--type' does not apply`);
      const c = await client.call('host.change', { resource, action, id: id(idText, `ctl ${cmd} ${resource} ${action}`), ...(values.type !== undefined && { type: values.type }) });
      out(renderHostChange(c), c);
      return 0;
    }
    case 'log':
      return log(io, client, values);
    case 'locks': {
      const l = await client.call('locks', {});
      out(renderLocks(l), l);
      return values.check && l.reports > 0 ? 1 : 0;
    }
    case 'guest pqap': {
      const [, guest, apqn] = rest as [string, string, string];
      const vcpu = values.vcpu === undefined ? undefined : count(values.vcpu, '--vcpu', 'ctl guest pqap');
      const r = await client.call('guest.pqap', { guest, apqn, ...(vcpu !== undefined && { vcpu }) });
      out(renderPqap(r), r);
      return 0;
    }
    case 'guest pv': {
      const r = await client.call('guest.pv', { guest: rest[1]! });
      out(renderPv(r), r);
      return 0;
    }
    case 'scenario list': {
      const l = await client.call('scenario.list', {});
      out(l.text, l);
      return 0;
    }
    case 'scenario run': {
      const { design, kernel } = values;
      if (design !== undefined && design !== 'flawed' && design !== 'fixed') throw new UsageError('ctl scenario run', `--design: expected flawed or fixed, got '${design}'`);
      if (kernel !== undefined && kernel !== 'trylock' && kernel !== 'mainline') throw new UsageError('ctl scenario run', `--kernel: expected trylock or mainline, got '${kernel}'`);
      const r = await client.call('scenario.run', { name: rest[1]!, ...(design !== undefined && { design }), ...(kernel !== undefined && { kernel }) });
      out(renderScenarioRun(r), r);
      return 0;
    }
    case 'save':
      return save(io, client, rest[0]!, json);
  }
  throw new UsageError('ctl', `unknown command '${command}'`);
}

/** The daemon captures the state in one pass; the file is written here, by the caller's user. */
async function save(io: CtlIo, client: ControlClient, file: string, json: boolean): Promise<number> {
  const text = `${JSON.stringify(await client.call('save', {}), null, 2)}\n`;
  if (file === '-') {
    io.write(text);
    return 0;
  }
  // Through a temporary file, so that an interrupted save never leaves half a topology behind.
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    throw new CliError('ctl save', `${file}: ${(e as Error).message}`);
  }
  io.write(json ? `${JSON.stringify({ saved: path.resolve(file) })}\n` : `saved to ${file}\n`);
  return 0;
}

async function log(io: CtlIo, client: ControlClient, values: Values): Promise<number> {
  const since = values.since === undefined ? undefined : count(values.since, '--since');
  const kinds = values.kind === undefined ? undefined : kindList(values.kind);
  const params = { ...(since !== undefined && { since }), ...(kinds && { kinds }) };
  const print = (e: Parameters<typeof renderEvent>[0]): void => {
    io.write(values.json ? `${JSON.stringify(e)}\n` : renderEvent(e));
  };
  if (!values.follow) {
    const r = await client.call('log', params);
    for (const e of r.entries) print(e);
    return 0;
  }
  const r = await client.follow(params, print);
  for (const e of r.entries) print(e);
  // Until the daemon stops (or the user interrupts).
  await client.ended();
  return 0;
}

/** Decimal or 0x hex, as the topology format writes ids. */
export function id(text: string, what: string): number {
  if (!/^(?:0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) throw new UsageError(what, `'${text}' is not an ID (decimal or 0x hex)`);
  const n = Number(text);
  if (n > 255) throw new UsageError(what, `'${text}' is not an ID (0..255)`);
  return n;
}

/** `0x04-0x07,0x0b` → [4, 5, 6, 7, 11]. */
export function idList(text: string, what: string): number[] {
  const ids = new Set<number>();
  for (const item of text.split(',')) {
    const [lo, hi, ...more] = item.trim().split('-');
    if (lo === undefined || more.length) throw new UsageError(what, `'${item}' is not an ID or a range`);
    const a = id(lo, what);
    const b = hi === undefined ? a : id(hi, what);
    if (a > b) throw new UsageError(what, `'${item}' is not a range (start > end)`);
    for (let n = a; n <= b; n++) ids.add(n);
  }
  return [...ids].sort((x, y) => x - y);
}

function count(text: string, what: string, command = 'ctl log'): number {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(command, `${what}: '${text}' is not a count`);
  return Number(text);
}

function kindList(text: string): EventKind[] {
  return text.split(',').map((k) => {
    if (!(EVENT_KINDS as readonly string[]).includes(k)) throw new UsageError('ctl log', `--kind: '${k}' is not one of ${EVENT_KINDS.join(', ')}`);
    return k as EventKind;
  });
}
