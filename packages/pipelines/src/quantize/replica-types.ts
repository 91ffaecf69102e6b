import type { QuantizedNetwork } from '@lowbit/quantizers';
import type { InitBackendOptions, ReplicaGroup } from '@lowbit/core';
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
  /** How a replica starts its backend (in a page: the `wasmPaths` the run's own worker used). */
  backend?: InitBackendOptions;
}

/**
 * Rank 0's handle on the replicas of a data-parallel PTQ run: Node worker threads
 * (`@lowbit/core/node`'s `Replicas`) or, in a page, Web Workers started through the page
 * (see `quantizeInWorker`'s `replicaWorker`).
 */
export interface QuantizeReplicas {
  /** Rank 0's view of the group (the calling thread is rank 0). */
  readonly group: ReplicaGroup;
  readonly size: number;
  /** Tells the replica of `rank` (1 … size−1) to run its share of the reconstruction. */
  post(rank: number, message: { kind: 'run' }): void;
  /** Stops the replicas. */
  close(): Promise<void>;
}

/** Values exchanged per reconstruction step at most: every quantizer variable, plus the loss numbers. */
export function exchangeSize(q: QuantizedNetwork): number {
  let n = 0;
  for (const l of q.layers.values()) for (const v of l.quantizer.variables(l.state)) n += v.size;
  for (const s of q.sites.values()) for (const v of s.quantizer.variables(s.state)) n += v.size;
  return n + 16;
}
