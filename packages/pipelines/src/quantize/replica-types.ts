import type { QuantizedNetwork } from '@lowbit/quantizers';
import type { Replicas } from '@lowbit/core/node';
import type { NetworkJson } from '@lowbit/nn';
import type { ReconstructionSnapshot } from '@lowbit/nwq-reconstruct';
import type { PtqSettings } from './settings.js';

/**
 * What a PTQ replica thread rebuilds the run from: the float network (lowbit JSON + weights), the
 * calibration rows (shared with rank 0 when they live in a SharedArrayBuffer), the settings and
 * the snapshot to resume from.
 */
export interface QuantizeReplicaInit {
  network: { json: NetworkJson; weightData: ArrayBuffer };
  rows: Float32Array;
  imageShape: [number, number, number];
  settings: PtqSettings;
  resume: ReconstructionSnapshot | null;
  /** The float-target cache every rank fills its share of and reads (see `ReconstructionConfig.cacheArena`). */
  cacheArena?: SharedArrayBuffer;
}

export type QuantizeReplicas = Replicas<{ kind: 'run' }>;

/** Values exchanged per reconstruction step at most: every quantizer variable, plus the loss numbers. */
export function exchangeSize(q: QuantizedNetwork): number {
  let n = 0;
  for (const l of q.layers.values()) for (const v of l.quantizer.variables(l.state)) n += v.size;
  for (const s of q.sites.values()) for (const v of s.quantizer.variables(s.state)) n += v.size;
  return n + 16;
}
