/**
 * The scenarios `apsysfs ctl scenario list` names, and their text.
 */
import { apmaskAssign } from './apmask-assign.js';
import { cryptoMasks } from './crypto-masks.js';
import { SCENARIO_NAMES, flawProfile } from './flaw.js';
import { kvmVfioRelease } from './kvm-vfio-release.js';
import { pqapHook } from './pqap-hook.js';
import { describeOp, type Scenario } from './scenario.js';

const ALL: readonly Scenario[] = [apmaskAssign, kvmVfioRelease, pqapHook, cryptoMasks];

/** Every scenario, in SCENARIO_NAMES order. */
export function listScenarios(): readonly Scenario[] {
  return SCENARIO_NAMES.map((n) => ALL.find((s) => s.name === n)!);
}

export function getScenario(name: string): Scenario | undefined {
  return ALL.find((s) => s.name === name);
}

const wrap = (text: string, indent: string, width = 96): string[] => {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
};

/** One scenario as `apsysfs ctl scenario list` prints it (plain text, ends with a newline). */
export function formatScenario(s: Scenario): string {
  const profile = flawProfile(s.name);
  const out = [
    `${s.name}: ${s.title}`,
    ...wrap(s.explanation, '  '),
    '  flawed (selected with --scenario):',
    ...wrap(s.flawed, '    '),
    '  shipped:',
    ...wrap(s.fixed, '    '),
  ];
  if (profile) out.push(`  the flawed ordering sits on the ${profile} profile`);
  out.push('  history:');
  for (const h of s.history) out.push(...wrap(h, '      ').map((l, i) => (i === 0 ? `    - ${l.trimStart()}` : l)));
  out.push(`  lockdep: taking ${s.expected.taking} while holding ${s.expected.held}; chain ${s.expected.chain.join(' -> ')}`);
  out.push('  workload (topology: test/fixtures/topologies/mdevs.json' + (s.topology.mdevs && (s.topology.mdevs as unknown[]).length === 1 ? ' without the second mdev' : '') + '):');
  for (const op of s.setup) out.push(`    setup: ${describeOp(op)}`);
  for (const c of s.clients) out.push(`    ${c.name}: ${c.ops.map(describeOp).join('; ')}`);
  out.push(`  in the flawed design "${s.expected.victim}" fails with EDEADLK and the others complete`);
  return out.join('\n') + '\n';
}

/** All scenarios, separated by blank lines. */
export const formatScenarioList = (): string => listScenarios().map(formatScenario).join('\n');
