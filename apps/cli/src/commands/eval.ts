import { initBackend, LowbitError } from '@lowbit/core';
import { FASHION_MNIST_CLASSES, subset } from '@lowbit/data';
import { type Evaluable, evaluate, evaluateNetwork, fashionMnistTest, imageFolderData, isFashionMnistDir, loadEvaluable, QuantizedModel, quantizedHooks } from '@lowbit/pipelines/node';
import { evalPolicy } from './mpq.js';

export interface EvalCommandOptions {
  model: string;
  data: string;
  batch?: number;
  testLimit: number;
  /** Compare predictions with this model (an image folder as --data). */
  reference?: string;
  inputRange: string;
  channelOrder: string;
  fit: string;
  json: boolean;
  policy?: string;
}

export async function runEval(o: EvalCommandOptions): Promise<void> {
  if (o.policy) {
    const r = await evalPolicy({ policy: o.policy, model: o.model, data: o.data, ...(o.testLimit ? { testLimit: o.testLimit } : {}) });
    if (o.json) return console.log(JSON.stringify({ policy: o.policy, oneShot: r.oneShot, accuracy: r.accuracy, loss: r.loss, samples: r.samples, bitOps: r.bitOps, sizeKB: r.sizeKB, imagesPerSecond: r.imagesPerSecond }));
    const policyLines = [`one-shot network ${r.oneShot} under ${o.policy} (BN re-estimated on calibration images)`, `top-1        ${(100 * r.accuracy).toFixed(2)}%  (${r.samples} test images)`];
    return console.log([...policyLines, `loss         ${r.loss.toFixed(4)}`, `BitOps       ${(r.bitOps / 1e6).toFixed(2)} M per image`, `weights      ${r.sizeKB.toFixed(2)} KB`].join('\n'));
  }
  await initBackend();
  if (o.data !== 'bundled' && !isFashionMnistDir(o.data, 'test')) return evalFolder(o);
  if (o.reference) throw new LowbitError('E_ARG', '--reference compares predictions on an image folder (--data <folder>); on the Fashion-MNIST test set, eval gives accuracy');
  const m = await loadEvaluable(o.model);
  const full = fashionMnistTest(o.data);
  const test = o.testLimit ? subset(full, Math.min(o.testLimit, full.size)) : full;
  // a quantized checkpoint (from lowbit ptq) runs with its activation quantizers
  const quant = m.model instanceof QuantizedModel ? m.model.quantization : null;
  const net = m.model instanceof QuantizedModel ? m.model.network : m.model;
  const r = evaluateNetwork(net, test, { ...(o.batch ? { batchSize: o.batch } : {}), ...(quant ? { forwardOptions: quantizedHooks(quant) } : {}) });
  m.dispose();
  warnBatch(o.batch, r.batchSize);
  if (o.json) {
    console.log(JSON.stringify({ model: o.model, quantized: quant !== null, activations: m.activations, data: test.name, accuracy: r.accuracy, loss: r.loss, samples: r.samples, imagesPerSecond: r.imagesPerSecond, confusion: r.confusion }));
    return;
  }
  const names = FASHION_MNIST_CLASSES.map((n) => n.slice(0, 7));
  const lines = [
    `model        ${o.model}${quant ? ' (quantized: weights on their grids, activations fake-quantized)' : ''}`,
    `data         ${test.name} (${r.samples} images)`,
    `top-1        ${(100 * r.accuracy).toFixed(2)}%`,
    `loss         ${r.loss.toFixed(4)}`,
    `throughput   ${r.imagesPerSecond.toFixed(0)} images/s`,
    '',
    'confusion matrix (rows: true class, columns: predicted)',
    `${''.padEnd(12)}${names.map((n) => n.padStart(8)).join('')}`,
    ...r.confusion.map((row, i) => `${(names[i] ?? String(i)).padEnd(12)}${row.map((v) => String(v).padStart(8)).join('')}`),
  ];
  console.log(lines.join('\n'));
}

/** `lowbit eval --data <folder>`: accuracy with class sub-folders, agreement with `--reference` (default: a ptq output's float source). */
async function evalFolder(o: EvalCommandOptions): Promise<void> {
  const model = await loadEvaluable(o.model);
  const refPath = o.reference ?? model.source;
  let reference: Evaluable | null = null;
  try {
    // the reference first: a wrong path is found before the images are read
    reference = refPath ? await loadEvaluable(refPath, o.reference ? '--reference' : `the float model of ${o.model} (its report's 'model'; give --reference)`) : null;
    const data = imageFolderData(o.data, model.inputShape, { range: o.inputRange, order: o.channelOrder, fit: o.fit, limit: o.testLimit });
    if (!data.labelled && !refPath) throw new LowbitError('E_ARG', `--data '${o.data}' has no class sub-folders (unlabelled): give --reference <model> to measure agreement with it`);
    const r = await evaluate(model.model, data, { ...(reference ? { reference: reference.model } : {}), ...(o.batch ? { batchSize: o.batch } : {}) });
    warnBatch(o.batch, r.batchSize);
    if (o.json) return console.log(JSON.stringify({ model: o.model, reference: refPath ?? null, data: o.data, labelled: data.labelled, classes: data.labelled ? data.set.classNames : null, activations: model.activations, ...r }));
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    const lines = [`model        ${o.model} (activations ${model.activations})`, `data         ${o.data}: ${r.samples} images${data.labelled ? `, ${data.set.classNames.length} classes` : ', unlabelled'}, resized to ${model.inputShape.join('×')}, input range ${o.inputRange}, ${model.inputShape[2] === 1 ? 'grayscale' : o.channelOrder}${o.fit === 'crop' ? ', centre-cropped' : ''}`];
    if (r.accuracy !== undefined) lines.push(`top-1        ${pct(r.accuracy)}`, `loss         ${r.loss!.toFixed(4)}`);
    if (r.agreement) lines.push(`agreement    top-1 ${pct(r.agreement.top1)}, top-5 ${pct(r.agreement.top5)}, KL ${r.agreement.kl.toExponential(3)} against ${refPath}`);
    console.log(lines.join('\n'));
  } finally {
    reference?.dispose();
    model.dispose();
  }
}

/** A warning on stderr when `--batch` was lowered to what fits one pass's memory. */
function warnBatch(asked: number | undefined, used: number): void {
  if (asked !== undefined && used < asked) console.error(`lowbit: warning: --batch ${asked} does not fit one pass's memory budget (1024 MB) for this model; evaluated ${used} images per pass`);
}
