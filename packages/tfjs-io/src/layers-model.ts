import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { analyze, checkNetworkSpec, type Network, type NodeSpec, opFor, type Shape } from '@lowbit/nn';
import { detectBlocks } from './blocks.js';
import { importedNetwork } from './import-params.js';
import { kerasTransposeSize } from './keras-shapes.js';
import type { TfjsArtifacts } from './read-artifacts.js';

interface KerasLayer {
  className: string;
  name: string;
  config: Record<string, unknown>;
  inbound: string[];
}

type Cfg = Record<string, unknown>;
const pair = (v: unknown, d: number): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : v == null ? [d, d] : [Number(v), Number(v)]);

/** The Keras topology inside a TF.js model.json: `{class_name, config}` directly or under `model_config`. */
function topologyOf(a: TfjsArtifacts): { className: string; config: Cfg } {
  const t = a.json['modelTopology'] as Cfg;
  const m = (t['model_config'] as Cfg | undefined) ?? t;
  const className = m['class_name'] as string;
  if (typeof className !== 'string') throw new LowbitError('E_FORMAT', `${a.path}: modelTopology has no 'class_name'`);
  return { className, config: m['config'] as Cfg };
}

/** The layers with their (single) inbound connections, the input shape and the output layer. */
function kerasLayers(a: TfjsArtifacts): { layers: KerasLayer[]; inputShape: number[]; inputName: string; output: string; name: string } {
  const { className, config } = topologyOf(a);
  const list = (Array.isArray(config) ? config : (config['layers'] as Cfg[])) ?? [];
  if (!Array.isArray(list) || list.length === 0) throw new LowbitError('E_FORMAT', `${a.path}: the model has no layers`);
  const name = (Array.isArray(config) ? 'model' : (config['name'] as string)) ?? 'model';
  if (className === 'Sequential') {
    const layers: KerasLayer[] = [];
    let prev = 'input';
    let inputShape: number[] | null = null;
    for (const l of list) {
      const c = (l['config'] as Cfg) ?? {};
      const cls = l['class_name'] as string;
      const shape = c['batch_input_shape'] as Array<number | null> | undefined;
      if (shape && !inputShape) inputShape = fixedInputShape(shape, (c['name'] as string) ?? 'the first layer', a.path);
      if (cls === 'InputLayer') continue;
      const lname = (c['name'] as string) ?? `layer${layers.length}`;
      layers.push({ className: cls, name: lname, config: c, inbound: [prev] });
      prev = lname;
    }
    if (!inputShape) throw new LowbitError('E_FORMAT', `${a.path}: the first layer of the Sequential model has no batch_input_shape`);
    uniqueNames(layers, a.path);
    return { layers, inputShape, inputName: 'input', output: prev, name };
  }
  if (className !== 'Model' && className !== 'Functional') throw new LowbitError('E_FORMAT', `${a.path}: unsupported model class '${className}' (expected Sequential, Model or Functional)`);
  const inputs = config['input_layers'] as unknown[][];
  const outputs = config['output_layers'] as unknown[][];
  if (!Array.isArray(inputs) || inputs.length !== 1) throw new LowbitError('E_UNSUPPORTED', `${a.path}: only single-input models are supported, this one has ${inputs?.length ?? 0} inputs`);
  if (!Array.isArray(outputs) || outputs.length !== 1) throw new LowbitError('E_UNSUPPORTED', `${a.path}: only single-output models are supported, this one has ${outputs?.length ?? 0} outputs`);
  const inputName = String(inputs[0]![0]);
  let inputShape: number[] | null = null;
  const layers: KerasLayer[] = [];
  for (const l of list) {
    const c = (l['config'] as Cfg) ?? {};
    const lname = (l['name'] as string) ?? (c['name'] as string);
    const cls = l['class_name'] as string;
    if (cls === 'InputLayer') {
      const shape = c['batch_input_shape'];
      if (lname === inputName && Array.isArray(shape)) inputShape = fixedInputShape(shape, lname, a.path);
      continue;
    }
    const nodes = l['inbound_nodes'] as unknown[][][];
    if (!Array.isArray(nodes) || nodes.length !== 1) {
      throw new LowbitError('E_UNSUPPORTED', `${a.path}: layer '${lname}' is called ${nodes?.length ?? 0} times; shared layers are not supported`);
    }
    const inbound = nodes[0]!.map((e) => (String(e[0]) === inputName ? 'input' : String(e[0])));
    layers.push({ className: cls, name: lname, config: c, inbound });
  }
  if (!inputShape) throw new LowbitError('E_FORMAT', `${a.path}: input layer '${inputName}' has no batch_input_shape`);
  uniqueNames([{ name: inputName }, ...layers], a.path);
  const out = String(outputs[0]![0]);
  return { layers, inputShape, inputName, output: out === inputName ? 'input' : out, name };
}

/** A Keras layer name used twice makes every inbound reference to it ambiguous. */
function uniqueNames(layers: ReadonlyArray<{ name: string }>, path: string): void {
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.name)) throw new LowbitError('E_FORMAT', `${path}: layer name '${l.name}' is used twice; layer names must be unique`);
    seen.add(l.name);
  }
}

/** The input's [height, width, channels] from a batch_input_shape; a dynamic (null) size is refused by name. */
function fixedInputShape(shape: unknown[], layer: string, path: string): number[] {
  const dims = shape.slice(1);
  if (dims.some((d) => d === null)) {
    throw new LowbitError('E_UNSUPPORTED', `${path}: input layer '${layer}' has a dynamic size ${JSON.stringify(shape)} (null beyond the batch axis); lowbit needs a fixed input size: re-export the model with one (e.g. [null, 224, 224, 3])`);
  }
  return dims.map(Number);
}

const ACTIVATIONS: Record<string, NodeSpec['op'] | null> = { linear: null, relu: 'relu', relu6: 'relu6', softmax: 'softmax', sigmoid: 'sigmoid', tanh: 'tanh', swish: 'swish', hard_swish: 'hardSwish', hardSwish: 'hardSwish' };

/** Why a layer cannot be imported, or null when it can. */
function unsupported(l: KerasLayer): string | null {
  const c = l.config;
  const act = c['activation'] as string | undefined;
  if (act !== undefined && !(act in ACTIVATIONS)) return `activation '${act}' is not supported`;
  if (c['data_format'] !== undefined && c['data_format'] !== 'channels_last') return `data_format '${String(c['data_format'])}' (only channels_last)`;
  const pad = c['padding'];
  if (l.className !== 'ZeroPadding2D' && pad !== undefined && pad !== 'same' && pad !== 'valid') return `padding ${JSON.stringify(pad)} (only 'same' or 'valid')`;
  const dil = c['dilation_rate'];
  if (dil !== undefined && pair(dil, 1).some((d) => d !== 1)) return `dilation_rate ${JSON.stringify(dil)} (only 1)`;
  switch (l.className) {
    case 'Conv2D':
      return (c['groups'] ?? 1) !== 1 ? 'grouped convolution' : null;
    case 'DepthwiseConv2D':
    case 'SeparableConv2D':
    case 'Dense':
    case 'Conv2DTranspose':
      return c['output_padding'] != null ? `output_padding ${JSON.stringify(c['output_padding'])} (tfjs-layers has none)` : null;
    case 'Multiply':
      return l.inbound.length !== 2 ? `Multiply of ${l.inbound.length} inputs (only 2)` : null;
    case 'Add':
    case 'ZeroPadding2D':
    case 'AveragePooling2D':
    case 'MaxPooling2D':
    case 'Flatten':
    case 'Reshape':
    case 'Dropout':
    case 'SpatialDropout2D':
    case 'Rescaling':
    case 'Activation':
      return null;
    case 'Concatenate': {
      const axis = Number(c['axis'] ?? -1);
      return Number.isInteger(axis) && axis !== 0 ? null : `axis ${JSON.stringify(c['axis'])} (only image axes: 1..3, or negative)`;
    }
    case 'GlobalAveragePooling2D':
      return c['keepdims'] ? 'keepdims: true' : null;
    case 'BatchNormalization': {
      const ax = c['axis'];
      const axis = Array.isArray(ax) ? ax[0] : ax;
      return axis === -1 || axis === 3 || axis === undefined ? null : `axis ${JSON.stringify(ax)} (only the channel axis -1)`;
    }
    case 'ReLU': {
      const mv = c['max_value'];
      if ((c['negative_slope'] ?? 0) !== 0 || (c['threshold'] ?? 0) !== 0) return 'negative_slope/threshold other than 0';
      return mv == null || Number(mv) >= 0 ? null : `max_value ${String(mv)} (only none or ≥ 0)`;
    }
    case 'LeakyReLU':
      return null;
    case 'Permute': {
      const d = c['dims'];
      return Array.isArray(d) && d.every((v) => Number.isInteger(v) && v >= 1) ? null : `dims ${JSON.stringify(d)} (Keras axes from 1)`;
    }
    case 'PReLU': {
      // one slope per channel: shared over every axis but the channels
      const sh = c['shared_axes'];
      const axes = Array.isArray(sh) ? sh.map(Number).sort() : [];
      return axes.length > 0 && axes.every((x, i) => x === i + 1) ? null : `shared_axes ${JSON.stringify(sh ?? null)} (only all axes but the channels, one slope per channel)`;
    }
    default:
      return `layer type '${l.className}' is not supported`;
  }
}

function padding(c: Cfg): 'same' | 'valid' {
  return c['padding'] === 'same' ? 'same' : 'valid';
}

/**
 * Imports a TF.js LayersModel into the lowbit IR: layers become nodes (fused activations become
 * their own nodes, SeparableConv2D a depthwise + pointwise pair), weights are matched by name,
 * and residual / inverted-residual blocks are detected from the graph. Anything unsupported fails
 * first, with one error listing every offending layer.
 */
export function importLayersModel(a: TfjsArtifacts): Network {
  // tensors made during import (BN defaults); the network's variables are copies
  const made: tf.Tensor[] = [];
  try {
    return importInto(a, (t) => {
      made.push(t);
      return t;
    });
  } finally {
    tf.dispose(made);
  }
}

function importInto(a: TfjsArtifacts, keep: (t: tf.Tensor) => tf.Tensor): Network {
  const k = kerasLayers(a);
  const problems = k.layers.map((l) => [l, unsupported(l)] as const).filter(([, why]) => why !== null);
  if (problems.length > 0) {
    throw new LowbitError(
      'E_UNSUPPORTED',
      `${a.path}: cannot import ${problems.length} layer(s):\n${problems.map(([l, why]) => `  - '${l.name}' (${l.className}): ${why}`).join('\n')}`,
      { layers: problems.map(([l]) => l.name) },
    );
  }
  const nodes: NodeSpec[] = [];
  const params: Record<string, Record<string, tf.Tensor>> = {};
  const outName = new Map<string, string>([['input', 'input']]); // keras layer → IR value name
  const weight = (layer: string, p: string): tf.Tensor => {
    const hits = Object.keys(a.weights).filter((n) => n === `${layer}/${p}` || n.endsWith(`/${layer}/${p}`));
    if (hits.length !== 1) throw new LowbitError('E_WEIGHTS', `${a.path}: weight '${layer}/${p}' ${hits.length === 0 ? 'is missing from the manifest' : `is ambiguous (${hits.join(', ')})`}`);
    return a.weights[hits[0]!]!;
  };
  const withActivation = (l: KerasLayer, node: string): string => {
    const act = ACTIVATIONS[(l.config['activation'] as string) ?? 'linear'];
    if (!act) return node;
    const name = `${l.name}/${act}`;
    nodes.push({ op: act, name, inputs: [node] } as NodeSpec);
    return name;
  };
  // per-image shapes of the values so far (a transposed convolution's output size depends on its input's)
  const shapes = new Map<string, Shape>([['input', k.inputShape]]);
  const shapeOf = (v: string): Shape => {
    for (const n of nodes) if (!shapes.has(n.name)) shapes.set(n.name, opFor(n).outputShape(n, n.inputs.map((i) => shapes.get(i)!)));
    return shapes.get(v)!;
  };
  // Keras layer lists are topologically sorted; check as we go
  for (const l of k.layers) {
    const c = l.config;
    const ins = l.inbound.map((i) => {
      const v = outName.get(i);
      if (!v) throw new LowbitError('E_FORMAT', `${a.path}: layer '${l.name}' reads '${i}', which is not an earlier layer`);
      return v;
    });
    let out: string;
    switch (l.className) {
      case 'Conv2D': {
        nodes.push({ op: 'conv2d', name: l.name, inputs: ins, filters: Number(c['filters']), kernelSize: pair(c['kernel_size'], 1), strides: pair(c['strides'], 1), padding: padding(c), useBias: c['use_bias'] !== false });
        params[l.name] = { kernel: weight(l.name, 'kernel'), ...(c['use_bias'] !== false ? { bias: weight(l.name, 'bias') } : {}) };
        out = withActivation(l, l.name);
        break;
      }
      case 'Conv2DTranspose': {
        const kernelSize = pair(c['kernel_size'], 1);
        const strides = pair(c['strides'], 1);
        const pad = padding(c);
        const [h, w] = shapeOf(ins[0]!);
        const outputSize: [number, number] = [kerasTransposeSize(h!, kernelSize[0], strides[0], pad), kerasTransposeSize(w!, kernelSize[1], strides[1], pad)];
        nodes.push({ op: 'conv2dTranspose', name: l.name, inputs: ins, filters: Number(c['filters']), kernelSize, strides, padding: pad, outputSize, useBias: c['use_bias'] !== false });
        params[l.name] = { kernel: weight(l.name, 'kernel'), ...(c['use_bias'] !== false ? { bias: weight(l.name, 'bias') } : {}) };
        out = withActivation(l, l.name);
        break;
      }
      case 'DepthwiseConv2D': {
        nodes.push({ op: 'depthwiseConv2d', name: l.name, inputs: ins, kernelSize: pair(c['kernel_size'], 1), strides: pair(c['strides'], 1), padding: padding(c), depthMultiplier: Number(c['depth_multiplier'] ?? 1), useBias: c['use_bias'] !== false });
        params[l.name] = { kernel: weight(l.name, 'depthwise_kernel'), ...(c['use_bias'] !== false ? { bias: weight(l.name, 'bias') } : {}) };
        out = withActivation(l, l.name);
        break;
      }
      case 'SeparableConv2D': {
        const dw = `${l.name}/depthwise`;
        nodes.push({ op: 'depthwiseConv2d', name: dw, inputs: ins, kernelSize: pair(c['kernel_size'], 1), strides: pair(c['strides'], 1), padding: padding(c), depthMultiplier: Number(c['depth_multiplier'] ?? 1), useBias: false });
        nodes.push({ op: 'conv2d', name: l.name, inputs: [dw], filters: Number(c['filters']), kernelSize: [1, 1], strides: [1, 1], padding: 'valid', useBias: c['use_bias'] !== false });
        params[dw] = { kernel: weight(l.name, 'depthwise_kernel') };
        params[l.name] = { kernel: weight(l.name, 'pointwise_kernel'), ...(c['use_bias'] !== false ? { bias: weight(l.name, 'bias') } : {}) };
        out = withActivation(l, l.name);
        break;
      }
      case 'Dense': {
        nodes.push({ op: 'dense', name: l.name, inputs: ins, units: Number(c['units']), useBias: c['use_bias'] !== false });
        params[l.name] = { kernel: weight(l.name, 'kernel'), ...(c['use_bias'] !== false ? { bias: weight(l.name, 'bias') } : {}) };
        out = withActivation(l, l.name);
        break;
      }
      case 'BatchNormalization': {
        nodes.push({ op: 'batchNorm', name: l.name, inputs: ins, epsilon: Number(c['epsilon'] ?? 1e-3), momentum: Number(c['momentum'] ?? 0.99) });
        const mean = weight(l.name, 'moving_mean');
        params[l.name] = {
          // a BatchNormalization with scale/center (the Keras default) has its gamma/beta: a missing one is an error, not 1/0
          gamma: c['scale'] !== false ? weight(l.name, 'gamma') : keep(tf.onesLike(mean)),
          beta: c['center'] !== false ? weight(l.name, 'beta') : keep(tf.zerosLike(mean)),
          movingMean: mean,
          movingVariance: weight(l.name, 'moving_variance'),
        };
        out = l.name;
        break;
      }
      case 'ReLU': {
        const mv = c['max_value'] == null ? null : Number(c['max_value']);
        nodes.push(mv === null ? { op: 'relu', name: l.name, inputs: ins } : mv === 6 ? { op: 'relu6', name: l.name, inputs: ins } : { op: 'clip', name: l.name, inputs: ins, min: 0, max: mv });
        out = l.name;
        break;
      }
      case 'LeakyReLU':
        nodes.push({ op: 'leakyRelu', name: l.name, inputs: ins, alpha: Number(c['alpha'] ?? 0.3) });
        out = l.name;
        break;
      case 'Permute':
        // Keras counts the batch axis
        nodes.push({ op: 'transpose', name: l.name, inputs: ins, perm: (c['dims'] as number[]).map((d) => Number(d) - 1) });
        out = l.name;
        break;
      case 'PReLU':
        nodes.push({ op: 'prelu', name: l.name, inputs: ins });
        params[l.name] = { alpha: weight(l.name, 'alpha') };
        out = l.name;
        break;
      case 'Activation': {
        const act = ACTIVATIONS[c['activation'] as string];
        nodes.push({ op: act ?? 'identity', name: l.name, inputs: ins } as NodeSpec);
        out = l.name;
        break;
      }
      case 'Add':
        nodes.push({ op: 'add', name: l.name, inputs: ins });
        out = l.name;
        break;
      case 'Multiply':
        nodes.push({ op: 'mul', name: l.name, inputs: ins });
        out = l.name;
        break;
      case 'Concatenate': {
        // Keras counts the batch axis; lowbit's IR axes are per image
        const axis = Number(c['axis'] ?? -1);
        nodes.push({ op: 'concat', name: l.name, inputs: ins, axis: axis < 0 ? axis : axis - 1 });
        out = l.name;
        break;
      }
      case 'ZeroPadding2D': {
        const p = c['padding'];
        const pad: [[number, number], [number, number]] = Array.isArray(p) && Array.isArray(p[0]) ? [pair(p[0], 0), pair(p[1], 0)] : (() => {
          const [h, w] = pair(p, 1);
          return [[h, h], [w, w]] as [[number, number], [number, number]];
        })();
        nodes.push({ op: 'zeroPad', name: l.name, inputs: ins, padding: pad });
        out = l.name;
        break;
      }
      case 'AveragePooling2D':
      case 'MaxPooling2D': {
        const pool = pair(c['pool_size'], 2);
        nodes.push({ op: l.className === 'MaxPooling2D' ? 'maxPool' : 'avgPool', name: l.name, inputs: ins, poolSize: pool, strides: c['strides'] == null ? pool : pair(c['strides'], 1), padding: padding(c) });
        out = l.name;
        break;
      }
      case 'GlobalAveragePooling2D':
        nodes.push({ op: 'globalAvgPool', name: l.name, inputs: ins });
        out = l.name;
        break;
      case 'Flatten':
        nodes.push({ op: 'flatten', name: l.name, inputs: ins });
        out = l.name;
        break;
      case 'Reshape':
        nodes.push({ op: 'reshape', name: l.name, inputs: ins, targetShape: (c['target_shape'] as number[]).map(Number) });
        out = l.name;
        break;
      case 'Rescaling':
        nodes.push({ op: 'scale', name: l.name, inputs: ins, scale: c['scale'] as number, offset: (c['offset'] as number) ?? 0 });
        out = l.name;
        break;
      default: // Dropout, SpatialDropout2D: identity at inference
        nodes.push({ op: 'identity', name: l.name, inputs: ins });
        out = l.name;
    }
    outName.set(l.name, out);
  }
  const finalOut = outName.get(k.output);
  if (!finalOut) throw new LowbitError('E_FORMAT', `${a.path}: output layer '${k.output}' not found`);
  if (nodes[nodes.length - 1]!.name !== finalOut) {
    throw new LowbitError('E_UNSUPPORTED', `${a.path}: the output '${k.output}' must be the last layer (dead branches are not supported)`);
  }
  const spec = { name: k.name, inputShape: k.inputShape, nodes, blocks: detectBlocks(nodes) };
  checkNetworkSpec(spec, `${a.path} (imported)`);
  checkDeclaredWidths(nodes, params, a.path);
  analyze(spec);
  // PReLU slopes are [1, 1, C] in Keras, [C] in the IR
  return importedNetwork(spec, (node, p) => params[node]?.[p], a.path, (p) => p === 'alpha');
}

/**
 * A layer whose config declares another width or kernel size than its stored kernel: named here,
 * before shape inference would blame a later layer (an Add with unequal inputs) for it.
 */
function checkDeclaredWidths(nodes: NodeSpec[], params: Record<string, Record<string, tf.Tensor | undefined>>, path: string): void {
  for (const n of nodes) {
    const kernel = params[n.name]?.['kernel'];
    if (!kernel) continue;
    const declared: Array<[string, number, number]> = [];
    if (n.op === 'conv2d' && kernel.rank === 4) {
      declared.push(['filters', n.filters, kernel.shape[3]!], ['kernel_size[0]', n.kernelSize[0], kernel.shape[0]!], ['kernel_size[1]', n.kernelSize[1], kernel.shape[1]!]);
    } else if (n.op === 'depthwiseConv2d' && kernel.rank === 4) {
      declared.push(['depth_multiplier', n.depthMultiplier, kernel.shape[3]!], ['kernel_size[0]', n.kernelSize[0], kernel.shape[0]!], ['kernel_size[1]', n.kernelSize[1], kernel.shape[1]!]);
    } else if (n.op === 'dense' && kernel.rank === 2) {
      declared.push(['units', n.units, kernel.shape[1]!]);
    }
    for (const [field, want, got] of declared) {
      if (want !== got) throw new LowbitError('E_WEIGHTS', `${path}: layer '${n.name}' declares ${field} ${want}, its stored kernel has ${got} (shape [${kernel.shape.join(', ')}]): the config and the weights disagree`);
    }
  }
}
