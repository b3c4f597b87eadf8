/**
 * Several shell steps in one `apsysfs run` (each run costs ~0.7 s, most of it two Node starts),
 * with each step's stdout, stderr and exit status kept apart, so that a test can check a tool's
 * own output and then the sysfs state after it, step by step:
 *
 *   const r = await runSteps({ tmp, topology }, [
 *     ['start', `mdevctl start -u ${uuid}`],
 *     ['after start', 'mdevs'],
 *   ]);
 *   t.equal(r.step('start').code, 0);
 *   t.equal(r.step('after start').stdout, `available_instances 65535\nmdev ${uuid} ...\n`);
 *
 * Steps run in order in one bash inside the namespace, each in its own subshell (a `cd` does not
 * carry over; sysfs and /etc/mdevctl.d state does). The prelude defines `mdevs` and `queues`,
 * which print the state the tests compare (see STATE_FUNCTIONS).
 */
import { apsysfs, capture, type Captured } from './ns-tree.js';

export interface StepResult {
  readonly stdout: string;
  /** Without trailing newlines (bash's command substitution strips them). */
  readonly stderr: string;
  readonly code: number;
}

export interface StepsRun {
  /** The whole `apsysfs run`. */
  readonly run: Captured;
  /** A step's result; throws if the step did not run (the test names it, with the run's output). */
  step(name: string): StepResult;
  readonly names: readonly string[];
}

export interface StepsOptions {
  /** TMPDIR of the run (the test's own dir, so a leftover temp dir shows). */
  readonly tmp: string;
  readonly topology?: string;
  /** More `apsysfs run` options, e.g. ['--keep-state', DIR]. */
  readonly runArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export type Step = readonly [name: string, command: string];

/**
 * `mdevs`: the mdev side of sysfs, one line per fact:
 *   available_instances N
 *   mdev UUID parent=matrix type=vfio_ap-passthrough bus=yes type-link=yes matrix=05.0004,05.00ab guest_matrix=... control_domains=00ab
 *   defined UUID                          (a definition in /etc/mdevctl.d/matrix)
 * plus `bus UUID` for a /sys/bus/mdev/devices entry without a device directory (never expected).
 *
 * `queues`: the AP side: the masks and which driver each queue is bound to, e.g.
 *   apmask 0x...
 *   aqmask 0x...
 *   vfio_ap 05.0004 05.0047 ...
 *   cex4queue 04.0006 ...
 *   unbound ...
 */
export const STATE_FUNCTIONS = String.raw`
TYPE=/sys/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough
QUEUE='[0-9a-f][0-9a-f].[0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
yes_no() { if "$@"; then echo yes; else echo no; fi; }
mdevs() {
  local d u
  echo "available_instances $(cat $TYPE/available_instances)"
  for d in /sys/devices/vfio_ap/matrix/*-*-*-*-*; do
    [ -e "$d" ] || continue
    u=$(basename "$d")
    echo "mdev $u parent=$(basename "$(dirname "$(readlink -f /sys/bus/mdev/devices/$u)")")" \
      "type=$(basename "$(readlink $d/mdev_type)")" \
      "bus=$(yes_no test -L /sys/bus/mdev/devices/$u) type-link=$(yes_no test -L $TYPE/devices/$u)" \
      "matrix=$(paste -sd, $d/matrix) guest_matrix=$(paste -sd, $d/guest_matrix)" \
      "control_domains=$(paste -sd, $d/control_domains)"
  done
  for d in /sys/bus/mdev/devices/*; do
    [ -e "$d" ] || [ -L "$d" ] || continue
    [ -d "/sys/devices/vfio_ap/matrix/$(basename "$d")" ] || echo "bus $(basename "$d")"
  done
  for d in /etc/mdevctl.d/matrix/*; do
    [ -f "$d" ] && echo "defined $(basename "$d")"
  done
  return 0
}
queues() {
  local drv q
  echo "apmask $(cat /sys/bus/ap/apmask)"
  echo "aqmask $(cat /sys/bus/ap/aqmask)"
  for drv in vfio_ap cex4queue; do
    echo "$drv" $(cd /sys/bus/ap/drivers/$drv && ls -d $QUEUE 2>/dev/null)
  done
  echo unbound $(cd /sys/bus/ap/devices && for q in $QUEUE; do [ -e $q ] && [ ! -e $q/driver ] && echo $q; done)
}
`;

const PRELUDE = String.raw`
exec 3>&1
step() {
  local err rc=0
  printf '@@step %s\n' "$1"
  err=$(eval "$2" 2>&1 1>&3) || rc=$?
  printf '\n@@stderr\n%s\n@@rc %d\n' "$err" "$rc"
}
`;

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The bash script that runs `steps` (exported for a test of the parser). */
export function stepsScript(steps: readonly Step[]): string {
  for (const [name] of steps) if (/\n/.test(name)) throw new Error(`step name with a newline: ${name}`);
  return [PRELUDE, STATE_FUNCTIONS, ...steps.map(([name, cmd]) => `step ${quote(name)} ${quote(cmd)}`)].join('\n');
}

/** Splits the output of stepsScript() into steps. */
export function parseSteps(out: string): Map<string, StepResult> {
  const steps = new Map<string, StepResult>();
  const re = /^@@step (.*)\n([\s\S]*?)\n@@stderr\n([\s\S]*?)\n@@rc (\d+)\n/gm;
  for (const m of out.matchAll(re)) {
    const [, name = '', stdout = '', stderr = '', rc = ''] = m;
    if (steps.has(name)) throw new Error(`two steps named ${name}`);
    steps.set(name, { stdout, stderr, code: Number(rc) });
  }
  return steps;
}

/** `apsysfs run [--topology T] RUNARGS -- bash -c SCRIPT` with the steps. */
export async function runSteps(opts: StepsOptions, steps: readonly Step[]): Promise<StepsRun> {
  const args = ['run', ...(opts.topology !== undefined ? ['--topology', opts.topology] : []), ...(opts.runArgs ?? [])];
  const run = await capture(
    apsysfs([...args, '--', 'bash', '-c', stepsScript(steps)], {
      env: { ...process.env, LC_ALL: 'C', ...opts.env, TMPDIR: opts.tmp },
    }),
  );
  const parsed = parseSteps(run.stdout);
  return {
    run,
    names: [...parsed.keys()],
    step(name) {
      const s = parsed.get(name);
      if (!s) throw new Error(`step '${name}' did not run (exit ${run.code ?? run.signal})\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
      return s;
    },
  };
}
