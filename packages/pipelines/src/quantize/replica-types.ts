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
