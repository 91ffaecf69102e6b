import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { cloneNetwork, disposeNetwork, encodeNetwork, forward, type Network } from '@lowbit/nn';
import { dequantizeHardened, type QuantizedNetwork } from '@lowbit/quantizers';
import { exportGraphModel, exportLayersModel, exportPacked, type StoredWeight, type TfjsExport } from '@lowbit/tfjs-io';
import { writeFilesDir } from '#platform';
import { gridMeta, type QuantizationMeta, quantizedHooks } from '../ptq/quantization-meta.js';
import type { SourceFormat } from './model-source.js';

/**
 * Where a quantized model goes: `tfjs` — a stock TF.js model (weights on their grids, stored as
 * uint8 where the stock manifest can hold the grid, float otherwise; activations float);
 * `lowbit-packed` — bit-packed codes + per-channel scales, loaded with `packedHandler` from
 * `@lowbit/tfjs-io/loader`; `lowbit` — lowbit's own model.json with the quantization metadata
 * (what `lowbit eval` / `lowbit export` read; activations quantized again on evaluation).
 */
export type SaveTarget = 'tfjs' | 'lowbit-packed' | 'lowbit';

export interface SaveOptions {
  /** Default `tfjs`. */
  target?: SaveTarget;
  /** For `tfjs`: write a LayersModel or a GraphModel (default: the format the model came in). */
  format?: 'layers' | 'graph';
  /**
   * For `tfjs`: how kernels on per-channel grids are stored. Default `uint8`: their integer codes in
   * the stock uint8 container, the per-channel scales and bias (float16) applied by a following
   * op / layer; `float32` (exact) or `float16`: dequantized kernels.
   */
  perChannel?: 'uint8' | 'float32' | 'float16';
  /** For `tfjs` with `perChannel: 'uint8'`: the bias beside the codes in `float16` (default) or `uint8` (256 levels, smaller, less close). */
  codeBias?: 'uint8' | 'float16';
  /** For `lowbit`: extra metadata stored with the model. */
  metadata?: Record<string, unknown>;
}

export interface SaveResult {
  target: SaveTarget;
  /** What was written: 'layers-model' | 'graph-model' | 'lowbit-packed' | 'lowbit-network'. */
  format: string;
  /** Bytes of all files (model.json included). */
  bytes: number;
  /** How each weight was stored (tfjs and lowbit-packed targets). */
  weights: StoredWeight[];
  /** The model.json written (directory targets). */
  modelJson?: string;
}

/** A file of a saved model: name within its directory, and bytes. */
export interface ModelFile {
  name: string;
  data: Uint8Array;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * A quantized model: the BN-folded network with every quantized kernel replaced by its hardened
 * weights (exactly `code · scale`), the grids and the activation steps. What `predict` computes
 * with `activations: 'float'` is exactly what every export computes in stock TF.js; with
 * `activations: 'quantized'` (default) it is the fake-quantized network the report measured.
 */
export class QuantizedModel {
  private disposed = false;

  constructor(
    /** The network, weights on their grids (the model owns it). */
    readonly network: Network,
    /** Per-layer weight grids and per-site activation steps. */
    readonly quantization: QuantizationMeta,
    /** The TF.js format the float model came in (default format of `save`). */
    readonly sourceFormat: SourceFormat = 'layers-model',
  ) {}

  /** Hardens a quantized network (learned rounding decided, codes · scales) into a model; `q` stays usable. */
  static fromQuantizedNetwork(q: QuantizedNetwork, sourceFormat: SourceFormat = 'layers-model'): QuantizedModel {
    const hard = q.harden();
    const net = cloneNetwork(q.net);
    const meta: QuantizationMeta = { format: 'lowbit-quantized', version: 1, layers: {}, sites: {} };
    for (const [name, h] of hard) {
      tf.tidy(() => net.params[name]!['kernel']!.assign(tf.tensor(dequantizeHardened(h), h.shape, 'float32')));
      meta.layers[name] = gridMeta(h);
    }
    for (const [name, s] of q.sites) {
      const st = s.state as { scales: Record<number, tf.Variable> | null };
      if (!st.scales) throw new LowbitError('E_STATE', `site '${name}' has no calibrated step`);
      meta.sites[name] = { bits: s.bits, signed: s.signed, scale: st.scales[s.bits]!.dataSync()[0]! };
    }
    return new QuantizedModel(net, meta, sourceFormat);
  }

  private live(): void {
    if (this.disposed) throw new LowbitError('E_DISPOSED', 'this quantized model was disposed');
  }

  /**
   * Runs the model on a batch `[N, H, W, C]` (preprocessed as the float model expects) and returns
   * its logits. `activations: 'quantized'` (default) fake-quantizes activations with the
   * calibrated steps; `'float'` runs weight-only, which is what stock TF.js computes on an export.
   */
  predict(x: tf.Tensor, o: { activations?: 'quantized' | 'float' } = {}): tf.Tensor {
    this.live();
    const hooks = (o.activations ?? 'quantized') === 'quantized' ? quantizedHooks(this.quantization) : {};
    return tf.tidy(() => forward(this.network, x, hooks).output);
  }

  /** The export of `target` in memory (model.json as an object, one weight file, how each weight was stored). */
  toExport(o: SaveOptions = {}): TfjsExport {
    this.live();
    const target = o.target ?? 'tfjs';
    const grids = this.quantization.layers;
    if (target === 'lowbit-packed') return exportPacked(this.network, { grids });
    if (target === 'tfjs') {
      const format = o.format ?? (this.sourceFormat === 'graph-model' ? 'graph' : 'layers');
      const opts = { grids, perChannel: o.perChannel ?? 'uint8', codeBias: o.codeBias ?? 'float16' } as const;
      return format === 'graph' ? exportGraphModel(this.network, opts) : exportLayersModel(this.network, opts);
    }
    throw new LowbitError('E_ARG', `toExport: target must be tfjs or lowbit-packed, got '${String(target)}' (the lowbit target is written by save/files)`);
  }

  /** The files of a saved model (model.json first), e.g. for a browser download. */
  async files(o: SaveOptions = {}): Promise<ModelFile[]> {
    return (await this.build(o)).files;
  }

  private async build(o: SaveOptions): Promise<{ files: ModelFile[]; format: string; weights: StoredWeight[] }> {
    this.live();
    const target = o.target ?? 'tfjs';
    if (target !== 'tfjs' && target !== 'lowbit-packed' && target !== 'lowbit') throw new LowbitError('E_ARG', `save: target must be tfjs, lowbit-packed or lowbit, got '${String(target)}'`);
    if (target === 'lowbit') {
      const { json, weightData } = await encodeNetwork(this.network, 'model.weights.bin', { sourceFormat: this.sourceFormat, ...(o.metadata ?? {}), quantization: this.quantization });
      const files = [
        { name: 'model.json', data: utf8(`${JSON.stringify(json, null, 1)}\n`) },
        { name: 'model.weights.bin', data: new Uint8Array(weightData) },
      ];
      return { files, format: 'lowbit-network', weights: [] };
    }
    const e = this.toExport(o);
    const weightsName = (e.modelJson['lowbitPacked'] as { path?: string } | undefined)?.path ?? (e.modelJson['weightsManifest'] as Array<{ paths: string[] }>)[0]!.paths[0]!;
    const files = [
      { name: 'model.json', data: utf8(`${JSON.stringify(e.modelJson)}\n`) },
      { name: weightsName, data: e.weightData },
    ];
    return { files, format: e.modelJson['format'] as string, weights: e.weights };
  }

  /**
   * Saves the model: to a directory (Node; all files or none), or through a TF.js `IOHandler`
   * (`tf.io.browserDownloads()`, `tf.io.withSaveHandler(...)`, …) for the `tfjs` target, whose
   * artifacts stock `tf.loadLayersModel` / `tf.loadGraphModel` read back.
   */
  async save(dest: string | tf.io.IOHandler, o: SaveOptions = {}): Promise<SaveResult> {
    this.live();
    const target = o.target ?? 'tfjs';
    if (typeof dest === 'string') {
      const b = await this.build(o);
      const w = writeFilesDir(dest, b.files);
      return { target, format: b.format, bytes: b.files.reduce((s, f) => s + f.data.length, 0), weights: b.weights, modelJson: w };
    }
    if (!dest || typeof dest.save !== 'function') throw new LowbitError('E_ARG', 'save: expected a directory path or a tf.io.IOHandler with a save() method');
    if (target !== 'tfjs') throw new LowbitError('E_ARG', `save: an IOHandler takes stock TF.js artifacts (target 'tfjs'); for '${target}' use files() or a directory path`);
    const e = this.toExport(o);
    const manifest = (e.modelJson['weightsManifest'] as Array<{ weights: tf.io.WeightsManifestEntry[] }>)[0]!;
    const weightData = e.weightData.slice().buffer as ArrayBuffer;
    await dest.save({
      modelTopology: e.modelJson['modelTopology'] as object,
      format: e.modelJson['format'] as string,
      generatedBy: 'lowbit',
      convertedBy: null,
      weightSpecs: manifest.weights,
      weightData,
    });
    const bytes = e.weightData.length + utf8(JSON.stringify(e.modelJson)).length;
    return { target, format: e.modelJson['format'] as string, bytes, weights: e.weights };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeNetwork(this.network);
  }
}
