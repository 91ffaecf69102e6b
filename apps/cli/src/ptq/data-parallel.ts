import type { Replicas } from '@lowbit/core/node';
import { type ReplicaStartOptions, startLoopReplicas } from '../util/replicas.js';
import type { ReconstructionSnapshot } from '@lowbit/nwq-reconstruct';
import type { QuantizedNetwork } from '@lowbit/quantizers';
import type { PtqReplicaInit } from './replica.js';
import type { PtqSetupOptions } from './setup.js';

export type PtqReplicas = Replicas<{ kind: 'run' }>;

/** Values exchanged per reconstruction step at most: every quantizer variable, plus the loss numbers. */
function exchangeSize(q: QuantizedNetwork): number {
  let n = 0;
  for (const l of q.layers.values()) for (const v of l.quantizer.variables(l.state)) n += v.size;
  for (const s of q.sites.values()) for (const v of s.quantizer.variables(s.state)) n += v.size;
  return n + 16;
}

/**
 * Starts `threads − 1` PTQ replicas (worker threads running `replica.js` next to this module,
 * built) that rebuild the run from its options; `post(r, { kind: 'run' })` then makes each run its
 * share of `reconstruct` with rank 0.
 */
export function startPtqReplicas(options: PtqSetupOptions, q: QuantizedNetwork, threads: number, resume: ReconstructionSnapshot | null, o: ReplicaStartOptions = {}): Promise<PtqReplicas> {
  return startLoopReplicas<PtqReplicaInit, { kind: 'run' }>(new URL('./replica.js', import.meta.url), threads, exchangeSize(q), { options, resume }, o);
}
