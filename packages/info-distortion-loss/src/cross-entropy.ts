import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { checkFloat, sameShape, shapeStr } from './checks.js';

/**
 * Checks that `labels` holds one class index in `[0, classes)` for every row of `logits`
 * (`labels.shape` = `logits.shape` without its last axis, int32 or integer-valued float32).
 * Reads the labels back synchronously (a batch of integers; cheap on the cpu and wasm backends).
 */
export function checkLabels(logits: tf.Tensor, labels: tf.Tensor, what: string): void {
  checkFloat(logits, `${what} logits`);
  if (logits.rank < 1) throw new LowbitError('E_SHAPE', `${what}: logits must have a class axis (rank ≥ 1), got a scalar`);
  const classes = logits.shape[logits.rank - 1]!;
  const expected = logits.shape.slice(0, -1);
  if (!sameShape(labels.shape, expected)) {
    throw new LowbitError(
      'E_SHAPE',
      `${what}: labels must have shape ${shapeStr(expected)} (one class index per row of logits ${shapeStr(logits.shape)}), got ${shapeStr(labels.shape)}`,
      { logits: logits.shape, labels: labels.shape },
    );
  }
  if (labels.dtype !== 'int32' && labels.dtype !== 'float32') {
    throw new LowbitError('E_ARG', `${what}: labels must be int32 or float32 class indices, got ${labels.dtype}`);
  }
  const values = labels.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < classes)) {
      throw new LowbitError('E_ARG', `${what}: label ${i} is ${v}, expected an integer class index in [0, ${classes})`, { index: i, label: v, classes });
    }
  }
}

/**
 * Softmax cross-entropy against integer class labels, averaged over the batch:
 * `mean_i −log softmax(logits_i)[labels_i]`, with a numerically stable log-softmax.
 *
 * @param logits `[batch, classes]` (or any `[..., classes]`; the mean is over all rows).
 * @param labels Class indices, shape `logits.shape` without the class axis, int32 or
 *   integer-valued float32.
 * @throws LowbitError `E_SHAPE` when the label shape does not match the logits, `E_ARG` for
 *   non-float32 logits, a label dtype other than int32/float32, or a label that is not an integer
 *   in `[0, classes)`.
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  checkLabels(logits, labels, 'cross-entropy');
  return crossEntropyUnchecked(logits, labels);
}

/** {@link crossEntropy} without the input checks (for callers that made them). */
export function crossEntropyUnchecked(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.rank - 1]!;
    const rows = logits.rank === 2 ? logits : tf.reshape(logits, [-1, classes]);
    const flat = tf.reshape(labels, [-1]) as tf.Tensor1D;
    const idx = flat.dtype === 'int32' ? flat : (tf.cast(flat, 'int32') as tf.Tensor1D);
    const logp = tf.logSoftmax(rows);
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(idx, classes), logp), -1))) as tf.Scalar;
  });
}
