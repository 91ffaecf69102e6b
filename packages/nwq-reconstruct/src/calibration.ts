import type * as tf from '@tensorflow/tfjs-core';
import { LowbitError, type Rng } from '@lowbit/core';

/** Unlabelled calibration inputs: `batch(indices)` builds a batch tensor the caller disposes. */
export interface CalibrationSource {
  size: number;
  batch(indices: Int32Array): tf.Tensor;
}

/** Draws batches without replacement through seeded epochs over the calibration set. */
export class BatchSampler {
  private order: Int32Array;
  private pos = 0;
  /** `saved` resumes a sampler exactly (its order and position; the generator must be restored too). */
  constructor(
    private readonly size: number,
    private readonly batchSize: number,
    private readonly rng: Rng,
    saved?: { order: number[]; pos: number },
  ) {
    if (!(batchSize >= 1)) throw new LowbitError('E_ARG', `batch size must be at least 1, got ${batchSize}`);
    if (size < 1) throw new LowbitError('E_CALIB', 'the calibration set is empty');
    if (saved) {
      if (saved.order.length !== size) throw new LowbitError('E_RESUME', `resume: sampler order has ${saved.order.length} entries, the calibration set ${size}`);
      this.order = Int32Array.from(saved.order);
      this.pos = saved.pos;
    } else {
      this.order = rng.permutation(size);
    }
  }

  /** The sampler's position (the current epoch's order and how far into it), for snapshots. */
  state(): { order: number[]; pos: number } {
    return { order: Array.from(this.order), pos: this.pos };
  }

  next(): Int32Array {
    const b = Math.min(this.batchSize, this.size);
    if (this.pos + b > this.size) {
      this.order = this.rng.permutation(this.size);
      this.pos = 0;
    }
    const idx = this.order.slice(this.pos, this.pos + b);
    this.pos += b;
    return idx;
  }
}
