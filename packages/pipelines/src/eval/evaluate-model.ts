import * as tf from '@tensorflow/tfjs-core';
import { LowbitError, yieldToEventLoop } from '@lowbit/core';
import { batches, type LabeledSet, type Preprocess } from '@lowbit/data';
import { disposeNetwork, forward, microBatchSize, type Network } from '@lowbit/nn';
import { type CalibrationInput, readCalibration } from '../quantize/calibration-data.js';
import { loadModel, type ModelSource } from '../quantize/model-source.js';
import { QuantizedModel } from '../quantize/quantized-model.js';
import { asScores } from './scores.js';

/** Labelled images (`@lowbit/data` set + preprocessing) or unlabelled ones (as for calibration). */
export type EvaluationData = { set: LabeledSet; preprocess?: Preprocess; labelled?: boolean } | CalibrationInput;

export interface EvaluateOptions {
  /** Compare with this model's predictions (top-1/top-5 agreement, KL divergence). Needed for unlabelled data. */
  reference?: QuantizedModel | ModelSource;
  /** A quantized model's activations: quantized as measured (default) or float (what stock TF.js computes on its export). */
  activations?: 'quantized' | 'float';
  /** Images per forward pass (default: as many as fit `memoryMB`, at most 128). */
  batchSize?: number;
  /** Working-set budget of one pass, MB (default 1024): sizes the default batch from the model's activation bytes. */
  memoryMB?: number;
  /** Checked after every batch (the event loop turns there, so that an abort gets through): once aborted, the promise rejects with a `LowbitError` of code `E_ABORTED`. */
  signal?: AbortSignal;
  /** Called after every batch with the images done so far. */
  onProgress?: (samples: number) => void;
}

export interface Evaluation {
  samples: number;
  /** Top-1 accuracy and mean cross-entropy (labelled data). */
  accuracy?: number;
  loss?: number;
  /** Against the reference: same top-1 class, top-1 class among the model's top 5, mean KL(reference ‖ model). */
  agreement?: { top1: number; top5: number; kl: number };
  /** Images per pass: `batchSize` as asked, lowered to what fits one pass's memory budget. */
  batchSize: number;
}

type Runner = { run(x: tf.Tensor): tf.Tensor; dispose(): void; inputShape: number[]; net: Network };

async function runner(m: QuantizedModel | ModelSource, activations: 'quantized' | 'float'): Promise<Runner> {
  if (m instanceof QuantizedModel) return { run: (x) => m.predict(x, { activations }), dispose: () => undefined, inputShape: m.network.inputShape, net: m.network };
  const l = await loadModel(m);
  const net: Network = l.net;
  return { run: (x) => tf.tidy(() => forward(net, x).output), dispose: () => l.owned && disposeNetwork(net), inputShape: net.inputShape, net };
}

/**
 * Evaluates a model (a {@link QuantizedModel} or any float {@link ModelSource}) on images:
 * accuracy and loss with labels, and agreement with a `reference` model (e.g. the float model a
 * quantized one came from), which is what unlabelled images can measure.
 */
export async function evaluate(model: QuantizedModel | ModelSource, data: EvaluationData, o: EvaluateOptions = {}): Promise<Evaluation> {
  if (o.batchSize !== undefined && !(Number.isInteger(o.batchSize) && o.batchSize >= 1)) throw new LowbitError('E_CONFIG', `batchSize must be a positive integer, got ${o.batchSize}`);
  if (o.memoryMB !== undefined && !(o.memoryMB >= 1)) throw new LowbitError('E_CONFIG', `memoryMB must be a number ≥ 1, got ${o.memoryMB}`);
  const m = await runner(model, o.activations ?? 'quantized');
  const ref = o.reference ? await runner(o.reference, 'quantized') : null;
  // the model's and the reference's forwards share one scope per batch
  const budgetBytes = (o.memoryMB ?? 1024) * 2 ** 20;
  // a batchSize larger than what fits is lowered (a wasm heap overrun aborts the process)
  const fits = (cap?: number) => Math.min(...[m, ...(ref ? [ref] : [])].map((r) => microBatchSize(r.net, ref ? 'paired' : 'quantized', { budgetBytes, ...(cap ? { cap } : {}) })));
  const bs = o.batchSize ? Math.min(o.batchSize, fits()) : fits(128);
  try {
    // a set is labelled unless it says otherwise (an image folder without class sub-folders)
    const labelled = typeof data === 'object' && data !== null && 'set' in data && (data as { labelled?: boolean }).labelled !== false;
    if (!labelled && !ref) throw new LowbitError('E_CONFIG', 'evaluate: unlabelled data needs options.reference (the model to compare with)');
    const stream: Iterable<{ x: tf.Tensor; y: tf.Tensor | null }> = labelled
      ? (function* () {
          const d = data as { set: LabeledSet; preprocess?: Preprocess };
          if (d.set.imageShape.join() !== m.inputShape.join()) throw new LowbitError('E_DATA', `evaluate: images of ${d.set.name} are ${d.set.imageShape.join('×')}, the model takes ${m.inputShape.join('×')}`);
          for (const b of batches(d.set, { batchSize: bs, ...(d.preprocess ? { preprocess: d.preprocess } : {}) })) yield { x: b.x, y: b.y };
        })()
      : (function* (rows) {
          for (const x of rows.batches(bs)) yield { x, y: null };
        })(await readCalibration(data as CalibrationInput, m.inputShape));
    let n = 0;
    let correct = 0;
    let lossSum = 0;
    let same1 = 0;
    let same5 = 0;
    let klSum = 0;
    for (const { x, y } of stream) {
      const r = tf.tidy(() => {
        const logits = asScores(m.run(x));
        const classes = logits.shape[1]!;
        const logp = tf.logSoftmax(logits);
        const out: Record<string, number> = {};
        if (y) {
          const labels = y.dataSync();
          for (let i = 0; i < labels.length; i++) {
            if (labels[i]! < classes) continue;
            const set = (data as { set: LabeledSet & { classNames?: readonly string[] } }).set;
            const cls = set.classNames?.[labels[i]!];
            throw new LowbitError('E_DATA', `evaluate: image ${n + i} of ${set.name} has label ${labels[i]}${cls ? ` (class '${cls}')` : ''}, but the model has ${classes} outputs: the labels must be the model's classes (an image folder: one sub-folder per output, in the order of the outputs)`);
          }
          out['correct'] = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(y, 'int32')), 'int32')).dataSync()[0]!;
          out['loss'] = tf.neg(tf.sum(tf.mul(tf.oneHot(tf.cast(y, 'int32'), classes), logp))).dataSync()[0]!;
        }
        if (ref) {
          const rl = asScores(ref.run(x));
          if (rl.shape[1] !== classes) throw new LowbitError('E_DATA', `evaluate: the model has ${classes} outputs, the reference ${rl.shape[1]}`);
          const rTop = tf.argMax(rl, 1);
          out['same1'] = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), rTop), 'int32')).dataSync()[0]!;
          const k = Math.min(5, classes);
          const top5 = tf.topk(logits, k).indices;
          out['same5'] = tf.sum(tf.cast(tf.any(tf.equal(top5, tf.expandDims(tf.cast(rTop, 'int32'), 1)), 1), 'int32')).dataSync()[0]!;
          const rlogp = tf.logSoftmax(rl);
          out['kl'] = tf.sum(tf.mul(tf.exp(rlogp), tf.sub(rlogp, logp))).dataSync()[0]!;
        }
        return out;
      });
      n += x.shape[0]!;
      correct += r['correct'] ?? 0;
      lossSum += r['loss'] ?? 0;
      same1 += r['same1'] ?? 0;
      same5 += r['same5'] ?? 0;
      klSum += r['kl'] ?? 0;
      tf.dispose([x, ...(y ? [y] : [])]);
      o.onProgress?.(n);
      await yieldToEventLoop();
      if (o.signal?.aborted) throw new LowbitError('E_ABORTED', `evaluate: stopped on request after ${n} images`);
    }
    return {
      samples: n,
      ...(labelled ? { accuracy: correct / n, loss: lossSum / n } : {}),
      ...(ref ? { agreement: { top1: same1 / n, top5: same5 / n, kl: klSum / n } } : {}),
      batchSize: bs,
    };
  } finally {
    m.dispose();
    ref?.dispose();
  }
}
