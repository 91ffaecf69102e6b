import * as tf from '@tensorflow/tfjs-core';

/**
 * A network output as per-image score vectors `[batch, values]`: what top-1 / top-5 agreement,
 * accuracy and KL compare. An output with spatial axes (a map, a `[1, 1, C]` head) is flattened;
 * a `[batch, values]` output is returned as is.
 */
export function asScores(output: tf.Tensor): tf.Tensor2D {
  return (output.rank === 2 ? output : tf.reshape(output, [output.shape[0]!, -1])) as tf.Tensor2D;
}
