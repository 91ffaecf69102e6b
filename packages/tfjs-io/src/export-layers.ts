import { LowbitError } from '@lowbit/core';
import { analyze, type Network, type NodeSpec } from '@lowbit/nn';
import { outputChannelScales } from './channel-codes.js';
import { checkGridNames } from './grid-check.js';
import { kerasTransposeSize } from './keras-shapes.js';
import type { ExportOptions, TfjsExport } from './export-types.js';
import { ManifestWriter } from './weights-manifest.js';

/**
 * A Keras layer name for every node: the characters stock TF.js accepts in a weight name
 * (`[A-Za-z0-9_.-]`, starting with a letter or digit), and unique — also against the `_scale` layer
 * an integer-coded kernel adds and the input layer — so that two nodes whose names differ only in
 * other characters (`α`, `β`; `a/b` beside `a_b`) do not become one layer that TF.js cannot load.
 */
export function kerasNames(nodes: readonly string[]): Map<string, string> {
  const used = new Set(['input_1']);
  const names = new Map<string, string>([['input', 'input_1']]);
  for (const n of nodes) {
    let base = n.replace(/[^A-Za-z0-9_.-]/g, '_');
    if (!/^[A-Za-z0-9]/.test(base)) base = `l${base}`;
    let name = base;
    for (let i = 2; used.has(name) || used.has(`${name}_scale`); i++) name = `${base}_${i}`;
    used.add(name);
    used.add(`${name}_scale`);
    names.set(n, name);
  }
  return names;
}

function layerConfig(n: NodeSpec, name: string, shape: readonly number[], inShape: readonly number[]): { className: string; config: Record<string, unknown> } {
  // Only what differs from tfjs-layers' defaults (trainable, channels_last, dilation 1, linear
  // activation are implied): the topology is a visible share of a 4-bit model's bytes.
  const base = { name };
  switch (n.op) {
    case 'conv2d':
      if (Array.isArray(n.padding)) throw new LowbitError('E_EXPORT', `cannot export '${n.name}': explicit padding`);
      return { className: 'Conv2D', config: { ...base, filters: n.filters, kernel_size: n.kernelSize, strides: n.strides, padding: n.padding, use_bias: n.useBias } };
    case 'conv2dTranspose': {
      // tfjs-layers' Conv2DTranspose has no output_padding: only the output size it derives
      const derived = n.kernelSize.map((k, a) => kerasTransposeSize(inShape[a]!, k, n.strides[a]!, n.padding));
      if (derived[0] !== n.outputSize[0] || derived[1] !== n.outputSize[1]) {
        throw new LowbitError('E_EXPORT', `cannot export '${n.name}': a transposed convolution to [${n.outputSize.join(', ')}] (Conv2DTranspose derives [${derived.join(', ')}] and has no output_padding in tfjs-layers)`);
      }
      return { className: 'Conv2DTranspose', config: { ...base, filters: n.filters, kernel_size: n.kernelSize, strides: n.strides, padding: n.padding, use_bias: n.useBias } };
    }
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
    case 'clip':
      // Keras ReLU is max(x, threshold) capped at max_value only for a threshold of 0
      if (n.min !== 0) throw new LowbitError('E_EXPORT', `cannot export '${n.name}': clipping to [${n.min ?? '-∞'}, ${n.max ?? '∞'}] (only [0, max])`);
      return { className: 'ReLU', config: { ...base, ...(n.max === null ? {} : { max_value: n.max }) } };
    case 'prelu':
      return { className: 'PReLU', config: { ...base, shared_axes: Array.from({ length: shape.length - 1 }, (_, i) => i + 1) } };
    case 'softmax':
    case 'sigmoid':
    case 'tanh':
    case 'swish':
      return { className: 'Activation', config: { ...base, activation: n.op } };
    case 'identity':
      return { className: 'Activation', config: { ...base, activation: 'linear' } };
    case 'add':
      return { className: 'Add', config: { ...base } };
    case 'mul':
      // tfjs-layers' merge layers broadcast size-1 axes
      return { className: 'Multiply', config: { ...base } };
    case 'concat':
      // Keras counts the batch axis
      return { className: 'Concatenate', config: { ...base, axis: n.axis < 0 ? n.axis : n.axis + 1 } };
    case 'zeroPad':
      if (n.channels && (n.channels[0] || n.channels[1])) throw new LowbitError('E_EXPORT', `cannot export '${n.name}': zero padding of the channels`);
      return { className: 'ZeroPadding2D', config: { ...base, padding: n.padding } };
    case 'resize': {
      // UpSampling2D: an integer factor, TF's default flags (what tfjs-layers resizes with)
      const [h, w] = inShape;
      const f = [n.size[0] / h!, n.size[1] / w!];
      if (n.alignCorners || n.halfPixelCenters || !f.every((x) => Number.isInteger(x) && x >= 1)) {
        throw new LowbitError('E_EXPORT', `cannot export '${n.name}': resizing [${h}, ${w}] to [${n.size.join(', ')}]${n.alignCorners || n.halfPixelCenters ? ' with align_corners / half_pixel_centers' : ''} (only UpSampling2D: an integer factor)`);
      }
      return { className: 'UpSampling2D', config: { ...base, size: f, interpolation: n.method } };
    }
    case 'depthToSpace':
      throw new LowbitError('E_EXPORT', `cannot export '${n.name}': stock TF.js has no DepthToSpace layer`);
    case 'sub':
      return { className: 'Subtract', config: { ...base } };
    case 'transpose':
      // Keras counts the batch axis
      return { className: 'Permute', config: { ...base, dims: n.perm.map((a) => a + 1) } };
    case 'leakyRelu':
      return { className: 'LeakyReLU', config: { ...base, alpha: n.alpha } };
    case 'pad':
    case 'div':
    case 'abs':
    case 'sqrt':
    case 'rsqrt':
    case 'sum':
    case 'slice':
      throw new LowbitError('E_EXPORT', `cannot export '${n.name}': stock TF.js has no layer for op '${n.op}' (the GraphModel export writes it)`);
    case 'avgPool':
    case 'maxPool':
      return { className: n.op === 'avgPool' ? 'AveragePooling2D' : 'MaxPooling2D', config: { ...base, pool_size: n.poolSize, strides: n.strides, padding: n.padding } };
    case 'globalAvgPool':
      return { className: 'GlobalAveragePooling2D', config: { ...base } };
    case 'flatten':
      return { className: 'Flatten', config: { ...base } };
    case 'reshape':
      // stock TF.js cannot load a Reshape to [-1]: the same as Flatten (an imported Squeeze)
      if (n.targetShape.length === 1 && n.targetShape[0] === -1) return { className: 'Flatten', config: { ...base } };
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
    case 'conv2dTranspose':
    case 'dense':
      return n.useBias ? [['kernel', 'kernel'], ['bias', 'bias']] : [['kernel', 'kernel']];
    case 'depthwiseConv2d':
      return n.useBias ? [['kernel', 'depthwise_kernel'], ['bias', 'bias']] : [['kernel', 'depthwise_kernel']];
    case 'batchNorm':
      return [['gamma', 'gamma'], ['beta', 'beta'], ['movingMean', 'moving_mean'], ['movingVariance', 'moving_variance']];
    case 'prelu':
      return [['alpha', 'alpha']];
    default:
      return [];
  }
}

/**
 * A TF.js LayersModel (functional topology + one weight shard) that unmodified `@tensorflow/tfjs`
 * loads. Kernels on a per-tensor grid of ≤ 8 bits go into the stock manifest as uint8 with
 * `scale` and `min` (dequantized exactly: `q·scale + min = s·code`); kernels on per-channel grids
 * as their integer codes in uint8, followed by a layer that applies the scales and the bias
 * (`perChannel: 'uint8'`, the default), or as float32 (exact) or float16; `weights` says which.
 * Activation quantization has no stock TF.js form: the export is weight-quantized.
 */
export function exportLayersModel(net: Network, o: ExportOptions = {}): TfjsExport {
  checkGridNames(net.params, o.grids);
  const info = analyze(net);
  const layers: Record<string, unknown>[] = [
    { name: 'input_1', class_name: 'InputLayer', config: { name: 'input_1', batch_input_shape: [null, ...net.inputShape] }, inbound_nodes: [] },
  ];
  // every layer the format cannot express, in one error (not only the first)
  const problems: string[] = [];
  const configs = new Map<string, ReturnType<typeof layerConfig>>();
  const names = kerasNames(info.order.map((x) => x.spec.name));
  const kerasName = (n: string) => names.get(n)!;
  for (const n of info.order.map((x) => x.spec)) {
    try {
      configs.set(n.name, layerConfig(n, kerasName(n.name), info.nodes.get(n.name)!.outShape, info.nodes.get(n.name)!.inShapes[0]!));
    } catch (e) {
      if (!(e instanceof LowbitError)) throw e;
      problems.push(e.message.replace(/^cannot export /, ''));
    }
  }
  if (problems.length) {
    throw new LowbitError('E_EXPORT', `cannot export ${problems.length} layer${problems.length > 1 ? 's' : ''} as a TF.js LayersModel: ${problems.join('; ')} (the GraphModel export, exportGraphModel, expresses more)`);
  }
  const w = new ManifestWriter(o.perChannel, o.codeBias);
  // the Keras layer whose output is each IR value (a kernel stored as codes: its scale layer)
  const out = new Map<string, string>([['input', 'input_1']]);
  const ref = (v: string) => [out.get(v) ?? kerasName(v), 0, 0];
  for (const n of info.order.map((x) => x.spec)) {
    const name = kerasName(n.name);
    const { className, config } = configs.get(n.name)!;
    const kernel = net.params[n.name]?.['kernel'];
    const grid = o.grids?.[n.name];
    const scales = kernel ? outputChannelScales(n, kernel.shape, grid, o.perChannel) : null;
    w.layer = n.name;
    if (scales && 'useBias' in n) {
      // the layer computes with the integer codes; a 1×1 DepthwiseConv2D (a BatchNormalization
      // after a Dense) multiplies each output channel by its scale and adds the bias
      layers.push({ name, class_name: className, config: { ...config, use_bias: false }, inbound_nodes: [n.inputs.map(ref)] });
      const kname = weightNames({ ...n, useBias: false } as NodeSpec)[0]![1];
      const scaleLayer = `${name}_scale`;
      w.codes(`${name}/${kname}`, kernel!.shape, kernel!.dataSync() as Float32Array, grid!, scaleLayer);
      const bias = n.useBias ? (net.params[n.name]!['bias']!.dataSync() as Float32Array) : new Float32Array(scales.length);
      const image = info.nodes.get(n.name)!.outShape.length === 3;
      if (image) {
        layers.push({ name: scaleLayer, class_name: 'DepthwiseConv2D', config: { name: scaleLayer, kernel_size: [1, 1], use_bias: true }, inbound_nodes: [[[name, 0, 0]]] });
        w.half(`${scaleLayer}/depthwise_kernel`, [1, 1, scales.length, 1], scales, `per-channel scales of '${name}' (integer-coded kernel)`);
        w.codeBias(`${scaleLayer}/bias`, [scales.length], bias, `bias of '${name}' (integer-coded kernel)`);
      } else {
        // (x − 0)·γ/√(v + ε) + β with v + ε = 1 exactly: x·scale + bias
        const eps = 2 ** -10;
        layers.push({ name: scaleLayer, class_name: 'BatchNormalization', config: { name: scaleLayer, axis: -1, epsilon: eps, center: true, scale: true }, inbound_nodes: [[[name, 0, 0]]] });
        w.half(`${scaleLayer}/gamma`, [scales.length], scales, `per-channel scales of '${name}' (integer-coded kernel)`);
        w.codeBias(`${scaleLayer}/beta`, [scales.length], bias, `bias of '${name}' (integer-coded kernel)`);
        w.affine8(`${scaleLayer}/moving_mean`, [scales.length], new Float32Array(scales.length), 'zeros (a BatchNormalization used as a per-channel scale), exact in uint8');
        w.affine8(`${scaleLayer}/moving_variance`, [scales.length], new Float32Array(scales.length).fill(1 - eps), '1 − ε (a BatchNormalization used as a per-channel scale), exact in uint8');
      }
      out.set(n.name, scaleLayer);
      continue;
    }
    layers.push({ name, class_name: className, config, inbound_nodes: [n.inputs.map(ref)] });
    out.set(n.name, name);
    for (const [param, keras] of weightNames(n)) {
      const t = net.params[n.name]![param]!;
      // PReLU shares its slopes over the spatial axes: Keras holds them as [1, 1, C]
      const shape = n.op === 'prelu' ? [...info.nodes.get(n.name)!.outShape.slice(0, -1).map(() => 1), t.size] : t.shape;
      w.float(`${name}/${keras}`, shape, t.dataSync() as Float32Array, param === 'kernel' ? grid : undefined);
    }
  }
  const { specs, weightData, weights } = w.finish();
  const outs = info.outputs.map(ref);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'lowbit',
    convertedBy: null,
    modelTopology: {
      class_name: 'Model',
      config: { name: net.name, layers, input_layers: [['input_1', 0, 0]], output_layers: outs },
    },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }],
  };
  return { modelJson, weightData, weights };
}
