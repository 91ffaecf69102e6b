import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, LowbitError } from '@lowbit/core';
import { prepareOutputDir, removeIfUnused } from '@lowbit/core/node';
import { disposeNetwork } from '@lowbit/nn';
import { readNetworkJson } from '@lowbit/nn/node';
import { exportGraphModel, exportLayersModel, fileBytes, type HalfRangeAlternative, type TfjsExport, tfjsExportFiles, writeTfjsExport } from '@lowbit/tfjs-io';
import { accuracyFromPolicy, checkQuantizationFits, exportReport, formatExportReport, layerFacts, loadModelArg, policyFileModel, QuantizedModel, readQuantization, tfjsOrigin } from '@lowbit/pipelines/node';

export interface ExportCommandOptions {
  /** The model to export; with --policy, the one-shot network (default: the policy's own). */
  model?: string;
  /** A policy.json of `lowbit mpq search`: export the one-shot network under it. */
  policy?: string;
  target: string;
  /** layers | graph; default: the source's format. */
  format?: string;
  out: string;
  /** Allow --out to be the folder of the input model (its files may be replaced). */
  force?: boolean;
  /** uint8 (default) | float32 | float16; only for per-channel grids in the stock target. */
  perChannel?: string;
  /** float16 (default) | uint8; only beside uint8 codes. */
  codeBias?: string;
  json: boolean;
}

export async function runExport(o: ExportCommandOptions): Promise<void> {
  if (o.target !== 'tfjs' && o.target !== 'lowbit-packed') throw new LowbitError('E_ARG', `--target must be tfjs or lowbit-packed, got '${o.target}'`);
  if (o.perChannel !== undefined && o.perChannel !== 'uint8' && o.perChannel !== 'float32' && o.perChannel !== 'float16') throw new LowbitError('E_ARG', `--per-channel must be uint8, float32 or float16, got '${o.perChannel}'`);
  if (o.codeBias !== undefined && o.codeBias !== 'uint8' && o.codeBias !== 'float16') throw new LowbitError('E_ARG', `--code-bias must be uint8 or float16, got '${o.codeBias}'`);
  // storage flags that would do nothing for this export are named, not ignored
  if (o.target === 'lowbit-packed' && o.perChannel !== undefined) throw new LowbitError('E_ARG', `--per-channel is for --target tfjs; lowbit-packed stores the codes of every grid bit-packed`);
  if (o.target === 'lowbit-packed' && o.codeBias !== undefined) throw new LowbitError('E_ARG', `--code-bias is for --target tfjs with --per-channel uint8; lowbit-packed stores biases as float32`);
  if (o.codeBias !== undefined && (o.perChannel ?? 'uint8') !== 'uint8') throw new LowbitError('E_ARG', `--code-bias applies beside integer codes (--per-channel uint8); with --per-channel ${o.perChannel} the kernels are stored dequantized and the bias as float32`);
  if (o.format !== undefined && o.format !== 'layers' && o.format !== 'graph') throw new LowbitError('E_ARG', `--format must be layers or graph, got '${o.format}'`);
  if (o.target === 'lowbit-packed' && o.format === 'graph') throw new LowbitError('E_ARG', '--format graph is for --target tfjs; the lowbit-packed format has a LayersModel topology');
  if (o.model === undefined && o.policy === undefined) throw new LowbitError('E_ARG', 'give --model (a model to export) or --policy (a policy.json of lowbit mpq search)');
  // before any work: a bad --out (a file, /proc, not writable, the input's own folder) fails here
  const outDir = prepareOutputDir(o.out, { inputs: [o.model ?? '', o.policy ?? ''], force: o.force });
  try {
    await runExportInto(o);
  } catch (e) {
    removeIfUnused(outDir);
    throw e;
  }
}

async function runExportInto(o: ExportCommandOptions): Promise<void> {
  await initBackend();
  const source = o.policy ? policyFileModel(o.policy, o.model) : null;
  const model = source ? source.oneShot : o.model!;
  const net = source ? source.model.network : loadModelArg(model);
  const quant = source ? source.model.quantization : existsSync(model) ? readQuantization(model) : null;
  if (o.target === 'lowbit-packed' && !quant) {
    disposeNetwork(net);
    throw new LowbitError('E_ARG', `--target lowbit-packed needs a quantized model (the model.json written by lowbit ptq, or --policy); '${model}' has no quantization metadata`);
  }
  const format = (o.format ?? (!source && tfjsOrigin(model) === 'graph-model' ? 'graph' : 'layers')) as 'layers' | 'graph';
  // a quantized model exports through QuantizedModel (its exporters check every code against its grid); a float one as is
  if (quant && !source) {
    try {
      checkQuantizationFits(quant, net, model);
    } catch (e) {
      disposeNetwork(net);
      throw e;
    }
  }
  const q = source ? source.model : quant ? new QuantizedModel(net, quant) : null;
  const perChannel = (o.perChannel ?? 'uint8') as 'uint8' | 'float32' | 'float16';
  const codeBias = (o.codeBias ?? 'float16') as 'uint8' | 'float16';
  if (!quant && (o.perChannel !== undefined || o.codeBias !== undefined)) {
    disposeNetwork(net);
    throw new LowbitError('E_ARG', `${o.perChannel !== undefined ? '--per-channel' : '--code-bias'} applies to kernels on per-channel grids; '${model}' is a float model (its weights are exported as float32)`);
  }
  let e: TfjsExport;
  let facts: ReturnType<typeof layerFacts>;
  try {
    facts = layerFacts(net);
    e = q ? q.toExport({ target: o.target as 'tfjs', format, perChannel, codeBias }) : format === 'graph' ? exportGraphModel(net, { perChannel, codeBias }) : exportLayersModel(net, { perChannel, codeBias });
  } catch (err) {
    // the library names its options; here they are flags, and the model is named
    if (err instanceof LowbitError && err.code === 'E_RANGE' && Array.isArray(err.details['alternatives'])) {
      const d = err.details as { weight: string; index: number; value: number; largest: number; alternatives: HalfRangeAlternative[] };
      const flag = { perChannel: '--per-channel', codeBias: '--code-bias' } as const;
      const instead = d.alternatives.map((a) => `${a.what === 'it' ? 'store it' : 'the bias'} as ${a.value} (${flag[a.option]} ${a.value})`).join(' or ');
      throw new LowbitError('E_RANGE', `${model}: weight '${d.weight}' holds ${d.value} at index ${d.index}, which float16 cannot represent (largest ${d.largest}); ${instead}`, d);
    }
    throw err;
  } finally {
    if (q) q.dispose();
    else disposeNetwork(net);
  }
  const files = Object.fromEntries(tfjsExportFiles(e).map((f) => [f.name, fileBytes(f)]));
  const ptq = quant && !source ? (readNetworkJson(model).metadata?.['report'] as Record<string, unknown> | undefined) : undefined;
  const full = exportReport({ model, target: o.target, written: e.modelJson['format'] as string, files, ...facts, grids: quant?.layers, weights: e.weights, ptq, ...(source ? { accuracy: accuracyFromPolicy(source.file) } : {}) });
  const reportPath = join(o.out, 'report.json');
  // model.json, the weight file and report.json: all three or none
  const written = writeTfjsExport(o.out, e, [{ name: 'report.json', data: formatExportReport(full) }]);
  const acc = full.accuracy;
  const byKind = (k: string) => e.weights.filter((w) => w.storedAs === k).length;
  const notRepresented = e.weights.filter((w) => w.note && (w.storedAs === 'float32' || w.storedAs === 'float16') && w.note.includes('per-channel'));
  const report = {
    model,
    ...(o.policy ? { policy: o.policy } : {}),
    target: o.target,
    /** What was written: 'layers-model' | 'graph-model' (stock TF.js) | 'lowbit-packed'. */
    format: e.modelJson['format'] as string,
    output: written.modelJson,
    bytes: written.bytes,
    weightBytes: e.weightData.length,
    quantized: quant !== null,
    /** Top-1 the export computes (weights quantized, activations float), as the ptq or search run measured it; null if not measured. */
    exportAccuracy: acc?.exported ?? null,
    weights: e.weights,
    /** Per-layer bits, scales, storage and bytes, and the ptq accuracy: report.json in --out. */
    report: reportPath,
  };
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const shard = join(o.out, 'group1-shard1of1.bin');
  console.log(
    [
      o.target === 'lowbit-packed'
        ? `wrote          ${written.modelJson} (+ ${join(o.out, 'weights.lbp')}); load with tf.loadLayersModel(packedHandler(url)) from @lowbit/tfjs-io/loader`
        : format === 'graph'
          ? `wrote          a TF.js GraphModel: ${written.modelJson} (+ ${shard}); load with stock tf.loadGraphModel(url)`
          : `wrote          a TF.js LayersModel: ${written.modelJson} (+ ${shard}); load with stock tf.loadLayersModel(url)`,
      `weights        ${(e.weightData.length / 1024).toFixed(1)} KB: ${byKind('packed')} packed, ${byKind('uint8')} uint8, ${byKind('float16')} float16, ${byKind('float32')} float32${byKind('int32') ? `, ${byKind('int32')} int32 graph constants` : ''}; ${written.bytes} bytes on disk with model.json`,
      `report         ${reportPath}: per-layer bits, scales, storage and bytes`,
      ...(acc?.quantized != null
        ? [
            `accuracy       ${acc.measuredBy} top-1 ${(100 * acc.quantized).toFixed(2)}% at ${acc.wBits === 'mixed' ? 'the searched policy' : `W${acc.wBits}A${acc.aBits}`}${acc.fp32 != null ? ` (fp32 ${(100 * acc.fp32).toFixed(2)}%)` : ''}${acc.exported != null ? `; this export (activations float): ${(100 * acc.exported).toFixed(2)}%` : ''}`,
          ]
        : []),
      quant ? 'activations    not quantized in the export (stock TF.js has no activation quantization): it is weight-quantized' : 'model          float (no quantization metadata): exported as is',
      ...(notRepresented.length
        ? [`note           ${notRepresented.length} kernel(s) on per-channel grids stored as ${(o.perChannel ?? 'uint8') === 'uint8' ? 'float32 (more than 8 bits, or a grid not on the output channels)' : o.perChannel ?? 'uint8'}; --per-channel uint8 (the default) stores integer codes, 1 byte a weight`]
        : []),
    ].join('\n'),
  );
}
