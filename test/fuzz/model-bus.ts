// Issue "Prove it holds", fuzzing at the model level (part 1 of 2): every writable file under
// /sys/bus gets FUZZ_ITERATIONS (default 10,000) malformed or hostile writes. What each write must
// satisfy is in test/helpers/fuzz.ts; the errno sets are src/sysfs/errno-sets.ts (docs/errno.md).
// The writes run in a plain child `node` (no tap instrumentation): see fuzzInChild.
// Reproduce a failure with the seed it prints: FUZZ_SEED=<n> npx tap test/fuzz/model-bus.ts
import t from 'tap';
import { fuzzInChild, fuzzSeed, modelIterations } from '../helpers/fuzz.js';

const seed = fuzzSeed();
t.comment(`FUZZ_SEED=${seed}`);
await fuzzInChild(t, { mode: 'model', seed, iterations: modelIterations(), prefixes: ['/bus/'] }, { timeoutMs: 280_000 });
