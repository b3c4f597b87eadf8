/**
 * One stress client: a separate process that runs the ops the coordinator sends, one after the
 * other, against the mount, and answers with what each returned and how long it took.
 *
 *   coordinator → client  {type:'init', root, runtimeDir}  {type:'run', ops}  {type:'status'}  {type:'stop'}
 *   client → coordinator  {type:'ready'}  {type:'done', outcomes}  {type:'status', op, elapsedMs}  {type:'error', message}
 */
import { performance } from 'node:perf_hooks';
import type { Op } from './ops.js';
import type { OpOutcome } from './target.js';
import { MountTarget } from './mount-target.js';

export type ToClient =
  | { readonly type: 'init'; readonly root: string; readonly runtimeDir: string }
  | { readonly type: 'run'; readonly ops: readonly Op[] }
  | { readonly type: 'status' }
  | { readonly type: 'stop' };

export type FromClient =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly outcomes: readonly OpOutcome[] }
  /** The op running now (its index in the last `run`), null when idle. */
  | { readonly type: 'status'; readonly op: number | null; readonly elapsedMs: number }
  | { readonly type: 'error'; readonly message: string };

let target: MountTarget | undefined;
let current: { index: number; since: number } | undefined;

const send = (m: FromClient): void => {
  process.send?.(m);
};

async function run(ops: readonly Op[]): Promise<void> {
  if (!target) throw new Error('run before init');
  const outcomes: OpOutcome[] = [];
  for (const [index, op] of ops.entries()) {
    current = { index, since: performance.now() };
    outcomes.push(await target.run(op));
  }
  current = undefined;
  send({ type: 'done', outcomes });
}

process.on('message', (m: ToClient) => {
  const fail = (e: unknown): void => send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  switch (m.type) {
    case 'init':
      MountTarget.connect(m).then((t) => {
        target = t;
        send({ type: 'ready' });
      }, fail);
      break;
    case 'run':
      run(m.ops).catch(fail);
      break;
    case 'status':
      send({ type: 'status', op: current?.index ?? null, elapsedMs: current ? performance.now() - current.since : 0 });
      break;
    case 'stop':
      target?.close();
      process.disconnect();
      break;
  }
});
