import { type ReplicaStartOptions, startLoopReplicas } from '../util/replicas.js';
import type { QuantizeReplicaInit, QuantizeReplicas } from './replica-types.js';

/**
 * Starts `threads − 1` PTQ replicas (worker threads running `replica.js` beside this module,
 * built) that rebuild the run from `init`; `post(r, { kind: 'run' })` then makes each run its share
 * of `reconstruct` with rank 0.
 */
export function startQuantizeReplicas(init: QuantizeReplicaInit, threads: number, capacity: number, o: ReplicaStartOptions = {}): Promise<QuantizeReplicas> {
  return startLoopReplicas<QuantizeReplicaInit, { kind: 'run' }>(new URL('./replica.js', import.meta.url), threads, capacity, init, o);
}
