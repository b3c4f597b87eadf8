/**
 * The deadlock scenarios (docs/deadlocks.md): what the CLI and the control channel use.
 *
 * - `listScenarios()`, `getScenario(name)`, `formatScenarioList()`: `apsysfs ctl scenario list`.
 * - `runScenario(name, { design, profile?, frontend })`: `apsysfs ctl scenario run NAME` on a
 *   scratch host; returns the answers, lockdep's reports and a readable account (`text`).
 * - `Host.fromTopology(t, { scenario: NAME, scenarioWindow })`: `apsysfs mount --scenario NAME`,
 *   every operation through the mount takes the flawed ordering.
 * - `vcpuPqap`, `kvmPvCommand`: the KVM-side paths the scenarios need, for `ctl guest pqap|pv`.
 */
export { SCENARIO_NAMES, isScenarioName, type ScenarioName } from './flaw.js';
export { describeOp, type ClientOp, type Scenario, type ScenarioClient } from './scenario.js';
export { formatScenario, formatScenarioList, getScenario, listScenarios } from './registry.js';
export { chainClasses, runScenario, type ClientResult, type Design, type OpResult, type RunOptions, type ScenarioFrontend, type ScenarioRun } from './run.js';
export { AP_RESPONSE_NORMAL, AP_RESPONSE_Q_NOT_AVAIL, VCPUS, kvmPvCommand, vcpuPqap } from './kvm-paths.js';
