import { LowbitError } from '@lowbit/core';
import * as tf from '@tensorflow/tfjs-core';
import { batches, type LabeledSet, type Preprocess, subset } from '@lowbit/data';
import { forward, type ForwardOptions, microBatchSize, type Network } from '@lowbit/nn';

export interface EvalResult {
  accuracy: number;
  loss: number;
  samples: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  imagesPerSecond: number;
  seconds: number;
  /** Images per pass: the `batchSize` asked for, lowered to what fits one pass's memory budget. */
  batchSize: number;
  /** The predicted class of every image, in the set's order (for paired comparisons, `comparePredictions`). */
  predictions: Int32Array;
}

/**
 * Top-1 accuracy, mean cross-entropy and confusion matrix of a network on a labelled set,
 * in inference mode, batch by batch. `forwardOptions` lets quantized evaluation pass its hooks.
 */
export function evaluateNetwork(
  net: Network,
  fullSet: LabeledSet,
  o: { batchSize?: number; preprocess?: Preprocess; forwardOptions?: ForwardOptions; limit?: number } = {},
): EvalResult {
  // `limit`: the first images only
  const set = o.limit && o.limit < fullSet.size ? subset(fullSet, o.limit) : fullSet;
  // a network declaring another input size may still run (global pooling) and give a meaningless figure
  if (set.imageShape.join() !== net.inputShape.join()) {
    throw new LowbitError('E_DATA', `${set.name} holds ${set.imageShape.join('×')} images, the model '${net.name}' takes ${net.inputShape.join('×')}: evaluate it on images of its own size (an image folder as --data is resized to the model's input)`);
  }
  const k = set.numClasses;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  const predictions = new Int32Array(set.size);
  const t0 = performance.now();
  // default: as many images as fit one pass's budget (1 GiB) for this network, at most 250; a
  // larger batchSize is lowered to what fits (a wasm heap overrun aborts the process)
  const kind = o.forwardOptions ? 'quantized' : 'inference';
  const bs = o.batchSize ? Math.min(o.batchSize, microBatchSize(net, kind)) : microBatchSize(net, kind, { cap: 250 });
  for (const b of batches(set, { batchSize: bs, ...(o.preprocess ? { preprocess: o.preprocess } : {}) })) {
    const [pred, losses] = tf.tidy(() => {
      const logits = forward(net, b.x, o.forwardOptions).output;
      const outputs = logits.shape[logits.rank - 1];
      if (logits.rank !== 2 || outputs !== k) {
        throw new LowbitError('E_DATA', `${set.name} has ${k} classes, the model '${net.name}' has ${logits.rank === 2 ? `${outputs} outputs` : `an output of shape [${logits.shape.slice(1).join(', ')}]`}: the labels must be the model's classes (an image folder: one sub-folder per output, in the order of the outputs)`);
      }
      const logp = tf.logSoftmax(logits);
      const l = tf.neg(tf.sum(tf.mul(tf.oneHot(b.y, k), logp), 1));
      return [tf.argMax(logits, 1).dataSync(), l.dataSync()];
    });
    const labels = b.y.dataSync();
    for (let i = 0; i < labels.length; i++) {
      const t = labels[i]!;
      const p = pred[i]!;
      confusion[t]![p]!++;
      predictions[n + i] = p;
      if (t === p) correct++;
      lossSum += losses[i]!;
    }
    n += labels.length;
    b.x.dispose();
    b.y.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { accuracy: correct / n, loss: lossSum / n, samples: n, confusion, imagesPerSecond: n / seconds, seconds, batchSize: bs, predictions: n === predictions.length ? predictions : predictions.slice(0, n) };
}
