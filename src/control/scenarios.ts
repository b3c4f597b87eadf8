/**
 * The control channel's side of the deadlock scenarios (docs/deadlocks.md): `ctl scenario list`,
 * `ctl scenario run` (on a scratch host inside the daemon, never the mounted one) and the two
 * KVM-side verbs the scenarios drive from outside, `ctl guest pqap` and `ctl guest pv`.
 */
import { constants } from 'node:fs';
import { Errno, KernelError } from '../model/errno.js';
import type { Host } from '../model/host.js';
import type { Kvm } from '../model/kvm/guest.js';
import type { LockProfile } from '../model/kernel.js';
import {
  chainClasses,
  describeOp,
  formatScenarioList,
  getScenario,
  kvmPvCommand,
  listScenarios,
  runScenario,
  vcpuPqap,
  type ScenarioFrontend,
} from '../model/scenarios/index.js';
import { flawProfile } from '../model/scenarios/flaw.js';
import type { LockdepReport } from '../model/lock/lockdep.js';
import { createSysfs } from '../sysfs/tree.js';
import type { Kernfs } from '../sysfs/kernfs-api.js';
import type { PqapResult, ScenarioListResult, ScenarioReport, ScenarioRunResult } from './protocol.js';

const views = new WeakMap<Host, Kernfs>();

/** A scenario's writes go through the attribute tables, as `echo VALUE > FILE` through a mount. */
export const sysfsFrontend: ScenarioFrontend = {
  async write(host, path, value) {
    let fs = views.get(host);
    if (!fs) views.set(host, (fs = createSysfs(host)));
    try {
      const f = fs.open(`/${path.replace(/^\/+/, '')}`, constants.O_WRONLY);
      try {
        await f.write(Buffer.from(value, 'latin1'), 0);
        return 0;
      } finally {
        f.release();
      }
    } catch (e) {
      if (e instanceof KernelError) return e.errno;
      throw e;
    }
  },
};

export function scenarioList(): ScenarioListResult {
  return {
    text: formatScenarioList(),
    scenarios: listScenarios().map((s) => ({
      name: s.name,
      title: s.title,
      profile: flawProfile(s.name) ?? null,
      expected: { taking: s.expected.taking, held: s.expected.held, chain: [...s.expected.chain], victim: s.expected.victim },
      setup: s.setup.map(describeOp),
      clients: s.clients.map((c) => ({ name: c.name, ops: c.ops.map(describeOp) })),
    })),
  };
}

/** The report as data: for 'deadlock' the chain is the classes each task of the cycle waits for. */
export function reportData(r: LockdepReport): ScenarioReport {
  return {
    kind: r.kind,
    task: r.task,
    taking: r.taking,
    held: r.held,
    chain: r.kind === 'deadlock' ? r.chain.map((l) => l.to) : chainClasses(r),
    text: r.text,
  };
}

/** Throws KernelError(EINVAL) for an unknown scenario or a profile its flaw cannot sit on. */
export async function scenarioRun(name: string, design: 'flawed' | 'fixed', kernel: LockProfile | undefined): Promise<ScenarioRunResult> {
  if (!getScenario(name)) throw new KernelError(Errno.EINVAL, `no scenario '${name}' (known: ${listScenarios().map((s) => s.name).join(', ')})`);
  const run = await runScenario(name, { design, frontend: sysfsFrontend, ...(kernel && { profile: kernel }) });
  return {
    scenario: run.scenario.name,
    design: run.design,
    profile: run.profile,
    clients: run.clients.map((c) => ({
      name: c.name,
      results: c.results.map((r) => ({ op: r.op, answer: r.answer, ...(r.response !== undefined && { response: r.response }) })),
    })),
    inversions: run.inversions.length,
    deadlocks: run.deadlocks.length,
    expectedReported: run.expectedReport !== undefined,
    reports: run.reports.map(reportData),
    text: run.text,
  };
}

function guestOf(host: Host, name: string): Kvm {
  const kvm = host.kvms.get(name);
  if (!kvm) throw new KernelError(Errno.ENODEV, `no guest ${name} (a guest exists once it was attached)`);
  return kvm;
}

/** `ctl guest pqap GUEST APQN [--vcpu N]`. Throws ENODEV, EINVAL, EDEADLK (a broken wait cycle). */
export async function guestPqap(host: Host, guest: string, apqn: string, vcpu: number | undefined): Promise<PqapResult> {
  const kvm = guestOf(host, guest);
  const response = await vcpuPqap(host.matrixDev, kvm, apqn, vcpu === undefined ? {} : { vcpu });
  return { guest, vcpu: vcpu ?? 0, apqn, response };
}

/** `ctl guest pv GUEST`. Throws ENODEV, EDEADLK (a broken wait cycle). */
export async function guestPv(host: Host, guest: string): Promise<{ guest: string }> {
  await kvmPvCommand(host.k, guestOf(host, guest));
  return { guest };
}
