import { LowbitError } from '@lowbit/core';
import { analyze, type Network, type NodeSpec } from '@lowbit/nn';
import { toFloat16Bits } from './float16.js';

/** Weight grids of a quantized lowbit model (the `quantization.layers` metadata of `lowbit ptq`'s output). */
export type LayerGrids = Record<string, { bits: number; axis: number | null; scale: number[] }>;

export interface ExportOptions {
  /** Grids of the kernels; kernels without one are stored in float32. */
  grids?: LayerGrids;
  /** How per-channel kernels (which the stock manifest cannot represent) are stored. Default float32 (exact). */
  perChannel?: 'float32' | 'float16';
}

/** How one weight was stored, for the user to see. */
export interface StoredWeight {
  name: string;
  storedAs: 'uint8' | 'float16' | 'float32' | 'packed';
  bytes: number;
  note?: string;
}

export interface TfjsExport {
  modelJson: Record<string, unknown>;
  weightData: Uint8Array;
  weights: StoredWeight[];
}

const kerasName = (n: string) => (n === 'input' ? 'input_1' : n.replace(/[^A-Za-z0-9_.-]/g, '_'));

function layerConfig(n: NodeSpec, name: string): { className: string; config: Record<string, unknown> } {
  // Only what differs from tfjs-layers' defaults (trainable, channels_last, dilation 1, linear
  // activation are implied): the topology is a visible share of a 4-bit model's bytes.
  const base = { name };
  switch (n.op) {
    case 'conv2d':
      if (Array.isArray(n.padding)) throw new LowbitError('E_EXPORT', `cannot export '${n.name}': explicit padding`);
      return { className: 'Conv2D', config: { ...base, filters: n.filters, kernel_size: n.kernelSize, strides: n.strides, padding: n.padding, use_bias: n.useBias } };
    case 'depthwiseConv2d':
      if (Array.isArray(n.padding)) throw new LowbitError('E_EXPORT', `cannot export '${n.name}': explicit padding`);
      return { className: 'DepthwiseConv2D', config: { ...base, kernel_size: n.kernelSize, strides: n.strides, padding: n.padding, depth_multiplier: n.depthMultiplier, use_bias: n.useBias } };
    case 'dense':
      return { className: 'Dense', config: { ...base, units: n.units, use_bias: n.useBias } };
    case 'batchNorm':
      return { className: 'BatchNormalization', config: { ...base, axis: -1, momentum: n.momentum, epsilon: n.epsilon, center: true, scale: true } };
    case 'relu':
      return { className: 'ReLU', config: { ...base } };
    case 'relu6':
      return { className: 'ReLU', config: { ...base, max_value: 6 } };
    case 'softmax':
    case 'sigmoid':
    case 'swish':
      return { className: 'Activation', config: { ...base, activation: n.op } };
    case 'identity':
      return { className: 'Activation', config: { ...base, activation: 'linear' } };
    case 'add':
      return { className: 'Add', config: { ...base } };
    case 'concat':
      return { className: 'Concatenate', config: { ...base, axis: n.axis } };
    case 'zeroPad':
      return { className: 'ZeroPadding2D', config: { ...base, padding: n.padding } };
    case 'avgPool':
    case 'maxPool':
      return { className: n.op === 'avgPool' ? 'AveragePooling2D' : 'MaxPooling2D', config: { ...base, pool_size: n.poolSize, strides: n.strides, padding: n.padding } };
    case 'globalAvgPool':
      return { className: 'GlobalAveragePooling2D', config: { ...base } };
    case 'flatten':
      return { className: 'Flatten', config: { ...base } };
    case 'reshape':
      return { className: 'Reshape', config: { ...base, target_shape: n.targetShape } };
    case 'scale':
      if (typeof n.scale !== 'number' || typeof n.offset !== 'number') throw new LowbitError('E_EXPORT', `cannot export '${n.name}': per-channel rescaling`);
      return { className: 'Rescaling', config: { ...base, scale: n.scale, offset: n.offset } };
    case 'hardSwish':
      throw new LowbitError('E_EXPORT', `cannot export '${n.name}': stock TF.js has no hard-swish activation`);
  }
}

/** Keras weight names of a node's parameters, in the order tfjs layers hold them. */
function weightNames(n: NodeSpec): Array<[param: string, keras: string]> {
  switch (n.op) {
    case 'conv2d':
    case 'dense':
      return n.useBias ? [['kernel', 'kernel'], ['bias', 'bias']] : [['kernel', 'kernel']];
    case 'depthwiseConv2d':
      return n.useBias ? [['kernel', 'depthwise_kernel'], ['bias', 'bias']] : [['kernel', 'depthwise_kernel']];
    case 'batchNorm':
      return [['gamma', 'gamma'], ['beta', 'beta'], ['movingMean', 'moving_mean'], ['movingVariance', 'moving_variance']];
    default:
      return [];
  }
}

/**
 * A TF.js LayersModel (functional topology + one weight shard) that unmodified `@tensorflow/tfjs`
 * loads. Kernels on a per-tensor grid of ≤ 8 bits go into the stock manifest as uint8 with
 * `scale` and `min` (dequantized exactly: `q·scale + min = s·code`); per-channel kernels cannot be
 * expressed there and are stored as float32 (exact) or float16, and say so in `weights`.
 * Activation quantization has no stock TF.js form: the export is weight-quantized.
 */
export function exportLayersModel(net: Network, o: ExportOptions = {}): TfjsExport {
  const info = analyze(net);
  const layers: Record<string, unknown>[] = [
    { name: 'input_1', class_name: 'InputLayer', config: { name: 'input_1', batch_input_shape: [null, ...net.inputShape] }, inbound_nodes: [] },
  ];
  const specs: Array<Record<string, unknown>> = [];
  const chunks: Uint8Array[] = [];
  const stored: StoredWeight[] = [];
  for (const n of info.order.map((x) => x.spec)) {
    const name = kerasName(n.name);
    const { className, config } = layerConfig(n, name);
    layers.push({ name, class_name: className, config, inbound_nodes: [n.inputs.map((i) => [kerasName(i), 0, 0])] });
    for (const [param, keras] of weightNames(n)) {
      const t = net.params[n.name]![param]!;
      const values = t.dataSync() as Float32Array;
      const wname = `${name}/${keras}`;
      const grid = param === 'kernel' ? o.grids?.[n.name] : undefined;
      if (grid && grid.axis === null && grid.bits <= 8) {
        const s = grid.scale[0]!;
        const cmin = -(2 ** (grid.bits - 1));
        const q = new Uint8Array(values.length);
        for (let i = 0; i < values.length; i++) {
          const code = Math.round(values[i]! / s);
          q[i] = code - cmin;
        }
        specs.push({ name: wname, shape: t.shape, dtype: 'float32', quantization: { dtype: 'uint8', scale: s, min: s * cmin, original_dtype: 'float32' } });
        chunks.push(q);
        stored.push({ name: wname, storedAs: 'uint8', bytes: q.length, note: `${grid.bits}-bit per-tensor grid, exact` });
      } else if (grid && o.perChannel === 'float16') {
        const h = toFloat16Bits(values);
        specs.push({ name: wname, shape: t.shape, dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } });
        chunks.push(new Uint8Array(h.buffer));
        stored.push({ name: wname, storedAs: 'float16', bytes: h.byteLength, note: `${grid.bits}-bit per-channel grid: not representable in the stock manifest, stored as float16 (rounded)` });
      } else {
        specs.push({ name: wname, shape: t.shape, dtype: 'float32' });
        chunks.push(new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));
        stored.push({ name: wname, storedAs: 'float32', bytes: values.byteLength, ...(grid ? { note: `${grid.bits}-bit per-channel grid: not representable in the stock manifest, stored as float32 (exact); use --granularity tensor for uint8` } : {}) });
      }
    }
  }
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    weightData.set(c, off);
    off += c.length;
  }
  const out = kerasName(info.output);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'lowbit',
    convertedBy: null,
    modelTopology: {
      class_name: 'Model',
      config: { name: net.name, layers, input_layers: [['input_1', 0, 0]], output_layers: [[out, 0, 0]] },
    },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }],
  };
  return { modelJson, weightData, weights: stored };
}
