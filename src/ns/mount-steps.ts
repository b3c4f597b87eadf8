/**
 * The mount operations `apsysfs run` performs inside its private mount namespace, as data, and
 * their rendering into the /bin/sh script that performs them and then execs the command.
 *
 * Plans are built by pure functions (sys-graft.ts, mdevctl.ts) so that tests can read them; the
 * shell only executes a flat list of commands, which `DEBUG=apsysfs:cli` prints.
 */

export type MountStep =
  /** A fresh tmpfs; the source name `apsysfs` makes it recognisable in /proc/mounts. */
  | { readonly op: 'tmpfs'; readonly at: string }
  /** Mount points; one command for many, since each step costs a process. */
  | { readonly op: 'mkdir'; readonly paths: readonly string[] }
  /** Empty regular files to bind files onto. */
  | { readonly op: 'touch'; readonly paths: readonly string[] }
  | { readonly op: 'symlink'; readonly target: string; readonly path: string }
  /** `mount --rbind`: submounts come along, so nothing below `from` is hidden. */
  | { readonly op: 'rbind'; readonly from: string; readonly to: string }
  /**
   * Make this one mount read-only (`remount,bind,ro`; the mounts on top of it stay as they are).
   * The superblock form (`remount,ro`) is refused inside a user namespace.
   */
  | { readonly op: 'readonly'; readonly at: string }
  /** `umount -l`: detach a mount and everything below it. */
  | { readonly op: 'detach'; readonly at: string };

/** The exit status of the setup script when a step fails (as env(1) and chroot(1) use 125). */
export const SETUP_FAILED = 125;

/** Quote one word for /bin/sh. */
export function shQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function stepArgv(step: MountStep): readonly string[] {
  switch (step.op) {
    case 'tmpfs':
      return ['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'apsysfs', step.at];
    case 'mkdir':
      return ['mkdir', '-p', ...step.paths];
    case 'touch':
      return ['touch', ...step.paths];
    case 'symlink':
      return ['ln', '-s', step.target, step.path];
    case 'rbind':
      return ['mount', '--rbind', step.from, step.to];
    case 'readonly':
      return ['mount', '-o', 'remount,bind,ro', step.at];
    case 'detach':
      return ['umount', '-l', step.at];
  }
}

/**
 * A script for `sh -c SCRIPT apsysfs-run CMD ARGS…`: run the steps in a subshell (with a sane
 * PATH that does not leak into CMD's environment), stop at the first failure with status 125,
 * then exec CMD: 127 for a missing and 126 for a non-executable CMD, as env(1) does.
 */
export function toShellScript(steps: readonly MountStep[]): string {
  const lines = steps.map(s => `  step ${stepArgv(s).map(shQuote).join(' ')}`);
  return [
    '(',
    '  PATH=/usr/sbin:/usr/bin:/sbin:/bin',
    `  step() { "$@" || { echo "apsysfs: run: namespace setup failed: $*" >&2; exit ${SETUP_FAILED}; }; }`,
    ...lines,
    `) || exit ${SETUP_FAILED}`,
    'case $1 in */*) ;; *) command -v "$1" >/dev/null ||',
    '  { echo "apsysfs: run: $1: command not found" >&2; exit 127; } ;; esac',
    'exec "$@"',
    '',
  ].join('\n');
}
