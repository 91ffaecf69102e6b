import * as tf from '@tensorflow/tfjs-core';
import { type ForwardOptions, forward, type Network } from '@lowbit/nn';
import { asScores } from '../eval/scores.js';
import type { CalibrationRows } from './calibration-data.js';

/**
 * Share of images whose top-1 class (of the output flattened per image) is the same for the float
 * network and for `net` under the quantized hooks. `float` is the network to compare with
 * (default: `net` without the hooks); pass the original model once `net`'s own parameters have
 * changed (bias correction moves its biases, and a diverged run can move them far).
 */
export function topOneAgreement(net: Network, rows: CalibrationRows, qOpts: ForwardOptions, batchSize = 128, float: Network = net): number {
  let same = 0;
  for (const x of rows.batches(batchSize)) {
    same += tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(asScores(forward(float, x).output), 1), tf.argMax(asScores(forward(net, x, qOpts).output), 1)), 'int32')).dataSync()[0]!);
    x.dispose();
  }
  return same / rows.size;
}
