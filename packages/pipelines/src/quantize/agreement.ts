import * as tf from '@tensorflow/tfjs-core';
import { type ForwardOptions, forward, type Network } from '@lowbit/nn';
import { asScores } from '../eval/scores.js';
import type { CalibrationRows } from './calibration-data.js';

/** The top-1 class of every image of `rows` (of the output flattened per image) under `net` with `opts`' hooks. */
export function topOneClasses(net: Network, rows: CalibrationRows, opts: ForwardOptions = {}, batchSize = 128): Int32Array {
  const out = new Int32Array(rows.size);
  let at = 0;
  for (const x of rows.batches(batchSize)) {
    const c = tf.tidy(() => tf.argMax(asScores(forward(net, x, opts).output), 1).dataSync() as Int32Array);
    out.set(c, at);
    at += c.length;
    x.dispose();
  }
  return out;
}

/**
 * Share of images whose top-1 class (of the output flattened per image) is the same for the float
 * network and for `net` under the quantized hooks. `float` is the network to compare with
 * (default: `net` without the hooks) — pass the original model once `net`'s own parameters have
 * changed (bias correction moves its biases, and a diverged run can move them far) — or its
 * {@link topOneClasses} on `rows`, when the agreement is measured more than once.
 */
export function topOneAgreement(net: Network, rows: CalibrationRows, qOpts: ForwardOptions, batchSize = 128, float: Network | Int32Array = net): number {
  const reference = float instanceof Int32Array ? float : topOneClasses(float, rows, {}, batchSize);
  const mine = topOneClasses(net, rows, qOpts, batchSize);
  let same = 0;
  for (let i = 0; i < mine.length; i++) if (mine[i] === reference[i]) same++;
  return same / rows.size;
}
