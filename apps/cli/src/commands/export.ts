import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, LowbitError } from '@lowbit/core';
import { disposeNetwork } from '@lowbit/nn';
import { exportLayersModel, writeTfjsExport } from '@lowbit/tfjs-io';
import { readQuantization } from '../ptq/quantized-checkpoint.js';
import { loadModelArg } from '../util/load-model.js';

export interface ExportCommandOptions {
  model: string;
  target: string;
  out: string;
  perChannel: string;
  json: boolean;
}

export async function runExport(o: ExportCommandOptions): Promise<void> {
  if (o.target !== 'tfjs') {
    throw new LowbitError('E_ARG', o.target === 'lowbit-packed' ? `--target lowbit-packed is not implemented yet (use --target tfjs)` : `--target must be tfjs, got '${o.target}'`);
  }
  if (o.perChannel !== 'float32' && o.perChannel !== 'float16') throw new LowbitError('E_ARG', `--per-channel must be float32 or float16, got '${o.perChannel}'`);
  await initBackend();
  const net = loadModelArg(o.model);
  const quant = existsSync(o.model) ? readQuantization(o.model) : null;
  const e = exportLayersModel(net, { ...(quant ? { grids: quant.layers } : {}), perChannel: o.perChannel });
  const written = writeTfjsExport(o.out, e);
  const fp32 = e.weights.reduce((s, w) => s + (w.storedAs === 'float32' ? w.bytes : w.storedAs === 'float16' ? 2 * w.bytes : 4 * w.bytes), 0);
  const byKind = (k: string) => e.weights.filter((w) => w.storedAs === k).length;
  const notRepresented = e.weights.filter((w) => w.note && w.storedAs !== 'uint8');
  disposeNetwork(net);
  const report = {
    model: o.model,
    target: o.target,
    output: written.modelJson,
    bytes: written.bytes,
    weightBytes: e.weightData.length,
    fp32WeightBytes: fp32,
    quantized: quant !== null,
    weights: e.weights,
  };
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(
    [
      `wrote          ${written.modelJson} (+ ${join(o.out, 'group1-shard1of1.bin')}), loadable by stock @tensorflow/tfjs`,
      `weights        ${(e.weightData.length / 1024).toFixed(1)} KB (float32 would be ${(fp32 / 1024).toFixed(1)} KB): ${byKind('uint8')} uint8, ${byKind('float16')} float16, ${byKind('float32')} float32`,
      quant ? 'activations    not quantized in the export (stock TF.js has no activation quantization): it is weight-quantized' : 'model          float (no quantization metadata): exported as is',
      ...(notRepresented.length
        ? [`note           ${notRepresented.length} kernel(s) use per-channel grids, which the stock manifest cannot hold; stored as ${o.perChannel}. Re-run ptq with --granularity tensor for uint8 everywhere.`]
        : []),
    ].join('\n'),
  );
}
