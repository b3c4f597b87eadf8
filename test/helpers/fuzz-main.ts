/**
 * The fuzzers' child process: `node dist/test/helpers/fuzz-main.js '<ChildFuzzRequest as JSON>'`.
 * Prints one JSON line per FuzzEvent on stdout; test/helpers/fuzz.ts fuzzInChild() turns them into
 * tap assertions. Exits 0 when it ran to the end, whatever it found.
 */
import { allTargets, runModelFuzz, type ChildFuzzRequest, type FuzzEvent } from './fuzz.js';
import { runMountFuzz } from './fuzz-mount.js';

const req = JSON.parse(process.argv[2] ?? '{}') as ChildFuzzRequest;
// Every refused write constructs a KernelError; capturing its stack is a tenth of the run. A bug
// (an exception that is not a KernelError) is reported without its stack: FUZZ_STACKS=1 keeps them.
Error.stackTraceLimit = process.env.FUZZ_STACKS ? 20 : 0;
const report = (e: FuzzEvent): void => {
  process.stdout.write(`${JSON.stringify(e)}\n`);
};
const targets = allTargets().filter((x) => req.prefixes.length === 0 || req.prefixes.some((p) => x.key.startsWith(p)));

if (req.mode === 'model') {
  await runModelFuzz(targets, { seed: req.seed, iterations: req.iterations }, report);
} else {
  if (!req.root) throw new Error('mount mode needs root');
  await runMountFuzz(req.root, targets, { seed: req.seed, iterations: req.iterations }, report);
}
