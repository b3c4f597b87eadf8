/**
 * Running one command in a private mount namespace where a mounted tree stands at /sys.
 *
 *   node ─ spawn ─> unshare -m --propagation private      (-Urm when not root)
 *                     exec setpriv --pdeathsig KILL       (CMD dies with `apsysfs run`)
 *                       exec sh -c SCRIPT                 (mount steps, then …)
 *                         exec CMD ARGS                   (the spawned pid is CMD's pid)
 *
 * No process sits between us and CMD, so a signal sent to the child reaches CMD, and CMD's exit
 * status or signal is what we see. The mounts are private to the namespace: they vanish with its
 * last process and never show in the host's /proc/mounts.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmdirSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '../log.js';
import { planMdevctl, type MdevctlState } from './mdevctl.js';
import { toShellScript, type MountStep } from './mount-steps.js';
import { planSysGraft, scanSysLayers } from './sys-graft.js';

export interface NamespaceOptions {
  /** The mounted tree (or a stand-in directory with the same layout). */
  readonly root: string;
  readonly cmd: string;
  readonly args?: readonly string[];
  /** Default 'private'. */
  readonly mdevctl?: MdevctlState;
  /** An empty directory for the staging bind of /sys; by default a temp dir made and removed here. */
  readonly stage?: string;
  /** Default 'inherit'. */
  readonly stdio?: StdioOptions;
  readonly env?: NodeJS.ProcessEnv;
}

export interface ExitOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface NamespaceChild {
  /** CMD itself once the setup script has exec'd it. */
  readonly child: ChildProcess;
  readonly exited: Promise<ExitOutcome>;
}

/** The /sys path the tree is grafted onto; fixed: the point is to serve tools that hard-code /sys. */
const SYS = '/sys';

/** All mount steps, in order: the graft onto /sys, then mdevctl's directories. */
export function planNamespace(opts: { root: string; stage: string; mdevctl: MdevctlState }): MountStep[] {
  const layers = scanSysLayers(opts.root, SYS);
  return [
    ...planSysGraft({ root: opts.root, sys: SYS, stage: opts.stage, layers }),
    ...planMdevctl(opts.mdevctl, existsSync),
  ];
}

/**
 * unshare's arguments. As root a mount namespace suffices; otherwise a user namespace maps us to
 * root in it (unprivileged user namespaces must be enabled), so CMD runs as uid 0 there.
 */
export function unshareArgv(uid: number): string[] {
  const ns = uid === 0 ? ['--mount'] : ['--user', '--map-root-user', '--mount'];
  return [...ns, '--propagation', 'private', '--', 'setpriv', '--pdeathsig', 'KILL', '--'];
}

export function spawnInNamespace(opts: NamespaceOptions): NamespaceChild {
  const ownStage = opts.stage === undefined ? mkdtempSync(join(tmpdir(), 'apsysfs-stage-')) : undefined;
  const stage = opts.stage ?? (ownStage as string);
  const removeOwnStage = (): void => {
    if (ownStage !== undefined) rmdirSync(ownStage);
  };
  let script: string;
  try {
    script = toShellScript(planNamespace({ root: opts.root, stage, mdevctl: opts.mdevctl ?? 'private' }));
  } catch (e) {
    removeOwnStage();
    throw e;
  }
  log.cli('namespace setup for %s:\n%s', opts.cmd, script);
  const sh = ['/bin/sh', '-c', script, 'apsysfs-run', opts.cmd, ...(opts.args ?? [])];
  const argv = [...unshareArgv(process.getuid?.() ?? 0), ...sh];
  const child = spawn('unshare', argv, { stdio: opts.stdio ?? 'inherit', env: opts.env ?? process.env });
  const exited = new Promise<ExitOutcome>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      removeOwnStage();
      reject(e.code === 'ENOENT' ? new Error('unshare not found (apt-get install util-linux)') : e);
    });
    child.once('exit', (code, signal) => {
      removeOwnStage();
      resolve({ code, signal });
    });
  });
  return { child, exited };
}

export function runInNamespace(opts: NamespaceOptions): Promise<ExitOutcome> {
  return spawnInNamespace(opts).exited;
}

/** The shell's convention: the exit code, or 128 + the number of the signal that killed it. */
export function exitStatus(o: ExitOutcome): number {
  if (o.signal !== null) return 128 + (constants.signals[o.signal] ?? 0);
  return o.code ?? 0;
}
