import type { QuantizedNetwork } from '@lowbit/quantizers';
import { type ReplicaStartOptions, startLoopReplicas } from '../util/replicas.js';
import type { QuantizeReplicaInit, QuantizeReplicas } from './replica-types.js';

/** Values exchanged per reconstruction step at most: every quantizer variable, plus the loss numbers. */
export function exchangeSize(q: QuantizedNetwork): number {
  let n = 0;
  for (const l of q.layers.values()) for (const v of l.quantizer.variables(l.state)) n += v.size;
  for (const s of q.sites.values()) for (const v of s.quantizer.variables(s.state)) n += v.size;
  return n + 16;
}

/**
 * Starts `threads − 1` PTQ replicas (worker threads running `replica.js` beside this module,
 * built) that rebuild the run from `init`; `post(r, { kind: 'run' })` then makes each run its share
 * of `reconstruct` with rank 0.
 */
export function startQuantizeReplicas(init: QuantizeReplicaInit, threads: number, capacity: number, o: ReplicaStartOptions = {}): Promise<QuantizeReplicas> {
  return startLoopReplicas<QuantizeReplicaInit, { kind: 'run' }>(new URL('./replica.js', import.meta.url), threads, capacity, init, o);
}
