import { initBackend } from '@lowbit/core';
import { FASHION_MNIST_CLASSES, subset } from '@lowbit/data';
import { disposeNetwork } from '@lowbit/nn';
import { existsSync } from 'node:fs';
import { evalPolicy } from './mpq.js';
import { fashionMnistTest, evaluateNetwork, quantizedHooks, readQuantization, loadAnyModel, modelFormat } from '@lowbit/pipelines/node';

export interface EvalCommandOptions {
  model: string;
  data: string;
  batch: number;
  /** First N test images only (0 = all). */
  testLimit: number;
  json: boolean;
  policy?: string;
}

export async function runEval(o: EvalCommandOptions): Promise<void> {
  if (o.policy) {
    const r = await evalPolicy({ policy: o.policy, model: o.model, data: o.data, ...(o.testLimit ? { testLimit: o.testLimit } : {}) });
    if (o.json) {
      console.log(JSON.stringify({ policy: o.policy, oneShot: r.oneShot, accuracy: r.accuracy, loss: r.loss, samples: r.samples, bitOps: r.bitOps, sizeKB: r.sizeKB, imagesPerSecond: r.imagesPerSecond }));
      return;
    }
    console.log(
      [
        `one-shot network ${r.oneShot} under ${o.policy} (BN re-estimated on calibration images)`,
        `top-1        ${(100 * r.accuracy).toFixed(2)}%  (${r.samples} test images)`,
        `loss         ${r.loss.toFixed(4)}`,
        `BitOps       ${(r.bitOps / 1e6).toFixed(2)} M per image`,
        `weights      ${r.sizeKB.toFixed(2)} KB`,
      ].join('\n'),
    );
    return;
  }
  await initBackend();
  const net = await loadAnyModel(o.model);
  const full = fashionMnistTest(o.data);
  const test = o.testLimit ? subset(full, Math.min(o.testLimit, full.size)) : full;
  // a quantized checkpoint (from lowbit ptq) runs with its activation quantizers
  const quant = existsSync(o.model) && modelFormat(o.model) === 'lowbit-network' ? readQuantization(o.model) : null;
  const r = evaluateNetwork(net, test, { batchSize: o.batch, ...(quant ? { forwardOptions: quantizedHooks(quant) } : {}) });
  disposeNetwork(net);
  if (o.json) {
    console.log(JSON.stringify({ model: o.model, quantized: quant !== null, data: test.name, accuracy: r.accuracy, loss: r.loss, samples: r.samples, imagesPerSecond: r.imagesPerSecond, confusion: r.confusion }));
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
