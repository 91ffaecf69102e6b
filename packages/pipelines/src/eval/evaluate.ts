import * as tf from '@tensorflow/tfjs-core';
import { batches, type LabeledSet, type Preprocess } from '@lowbit/data';
import { forward, type ForwardOptions, microBatchSize, type Network } from '@lowbit/nn';

export interface EvalResult {
  accuracy: number;
  loss: number;
  samples: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  imagesPerSecond: number;
  seconds: number;
}

/**
 * Top-1 accuracy, mean cross-entropy and confusion matrix of a network on a labelled set,
 * in inference mode, batch by batch. `forwardOptions` lets quantized evaluation pass its hooks.
 */
export function evaluateNetwork(
  net: Network,
  set: LabeledSet,
  o: { batchSize?: number; preprocess?: Preprocess; forwardOptions?: ForwardOptions; limit?: number } = {},
): EvalResult {
  const k = set.numClasses;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  const t0 = performance.now();
  // default: as many images as fit one pass's budget (1 GiB) for this network, at most 250
  const bs = o.batchSize ?? microBatchSize(net, o.forwardOptions ? 'quantized' : 'inference', { cap: 250 });
  for (const b of batches(set, { batchSize: bs, ...(o.preprocess ? { preprocess: o.preprocess } : {}) })) {
    const [pred, losses] = tf.tidy(() => {
      const logits = forward(net, b.x, o.forwardOptions).output;
      const logp = tf.logSoftmax(logits);
      const l = tf.neg(tf.sum(tf.mul(tf.oneHot(b.y, k), logp), 1));
      return [tf.argMax(logits, 1).dataSync(), l.dataSync()];
    });
    const labels = b.y.dataSync();
    for (let i = 0; i < labels.length; i++) {
      const t = labels[i]!;
      const p = pred[i]!;
      confusion[t]![p]!++;
      if (t === p) correct++;
      lossSum += losses[i]!;
    }
    n += labels.length;
    b.x.dispose();
    b.y.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { accuracy: correct / n, loss: lossSum / n, samples: n, confusion, imagesPerSecond: n / seconds, seconds };
}
