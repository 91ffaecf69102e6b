import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '../errors.js';
import type { GradMap } from './optimizer.js';

/**
 * Clips every gradient element to `[-limit, limit]` (PyTorch's `clip_grad_value_`). Returns a new
 * map and disposes the gradients it replaced; the caller owns the result.
 */
export function clipGradsByValue(grads: GradMap, limit: number): GradMap {
  if (!(Number.isFinite(limit) && limit > 0)) throw new LowbitError('E_ARG', `clipGradsByValue: limit must be a positive number, got ${limit}`);
  const out: GradMap = {};
  for (const [k, g] of Object.entries(grads)) {
    out[k] = tf.clipByValue(g, -limit, limit);
    g.dispose();
  }
  return out;
}
