import * as tf from '@tensorflow/tfjs-core';
import type { Padding } from '@lowbit/nn';
import { ints, str, strs, type GNode } from '../graph-node.js';
import type { GraphImport } from '../import-context.js';
import type { OpImporter } from '../op-importer.js';

const FUSED_OK = new Set(['BiasAdd', 'Relu', 'Relu6', 'Prelu', 'FusedBatchNorm']);

export const windowPadding = (n: GNode): 'same' | 'valid' => (str(n.attr['padding']) === 'SAME' ? 'same' : 'valid');
export const strides2 = (n: GNode): [number, number] => {
  const s = ints(n.attr['strides']);
  return [s[1] ?? 1, s[2] ?? 1];
};

/** NHWC only; no dilation; EXPLICIT padding only on convolutions and the spatial axes; fused ops that have an IR form. */
export function checkWindowOp(n: GNode): string | null {
  const df = str(n.attr['data_format']);
  if (df !== undefined && df !== 'NHWC') return `data_format ${df} (only NHWC)`;
  const pad = str(n.attr['padding']);
  if (pad !== 'SAME' && pad !== 'VALID' && pad !== 'EXPLICIT') return `padding ${JSON.stringify(pad ?? null)} (only SAME, VALID or EXPLICIT)`;
  if (str(n.attr['padding']) === 'EXPLICIT') {
    if (!/Conv2D|Conv2dNative/.test(n.op)) return 'explicit padding (only on convolutions)';
    const p = ints(n.attr['explicit_paddings']);
    if (p.length !== 8 || p[0] || p[1] || p[6] || p[7]) return `explicit_paddings [${p.join(', ')}] (only spatial)`;
  }
  const dil = ints(n.attr['dilations']);
  if (dil.length > 0 && dil.some((d) => d !== 1)) return `dilations [${dil.join(', ')}] (only 1)`;
  const bad = strs(n.attr['fused_ops']).filter((f) => !FUSED_OK.has(f));
  if (bad.length) return `fused ops ${bad.join(', ')} are not supported`;
  return null;
}

function convPadding(n: GNode): Padding {
  if (str(n.attr['padding']) !== 'EXPLICIT') return windowPadding(n);
  const p = ints(n.attr['explicit_paddings']);
  return [[p[2]!, p[3]!], [p[4]!, p[5]!]];
}

/**
 * The fused tail of a `_Fused*` node after its layer: batch norm (4 args), then the activation
 * (`Prelu` takes one more arg, its slopes). Returns the IR value of the whole node.
 */
export function fusedTail(n: GNode, base: string, args: string[], g: GraphImport): string {
  let out = base;
  let k = 0;
  const fused = strs(n.attr['fused_ops']);
  if (fused.includes('BiasAdd')) k++;
  if (fused.includes('FusedBatchNorm')) {
    const [sc, of, mn, vr] = args.slice(0, 4).map((i) => g.constOf(i)!);
    out = g.push({ op: 'batchNorm', name: `${n.name}/bn`, inputs: [out], epsilon: n.attr['epsilon']?.f ?? 1e-3, momentum: 0.99 });
    g.params[`${n.name}/bn`] = { gamma: sc!, beta: of!, movingMean: mn!, movingVariance: vr! };
    k = 4;
  }
  for (const f of fused) {
    if (f === 'Relu') out = g.push({ op: 'relu', name: `${n.name}/relu`, inputs: [out] });
    if (f === 'Relu6') out = g.push({ op: 'relu6', name: `${n.name}/relu6`, inputs: [out] });
    if (f === 'Prelu') out = preluNode(n, `${n.name}/prelu`, out, args[k]!, g);
  }
  return out;
}

/** A PReLU node reading `x` with the constant slopes `alphaName` (one per channel, or one for all). */
export function preluNode(n: GNode, name: string, x: string, alphaName: string, g: GraphImport): string {
  const alpha = g.constOf(alphaName);
  if (!alpha) throw g.unsupported(n, 'the PReLU slopes must be a constant');
  const shape = g.valueShape(x);
  const c = shape[shape.length - 1]!;
  if (alpha.size !== c && alpha.size !== 1) throw g.unsupported(n, `PReLU slopes of shape [${alpha.shape.join(', ')}] for ${c} channels (only one per channel, shared over the other axes)`);
  const out = g.push({ op: 'prelu', name, inputs: [x] });
  g.params[name] = { alpha: alpha.size === c ? alpha : g.own(tf.fill([c], alpha.dataSync()[0]!)) };
  return out;
}

export const convImporter: OpImporter = {
  ops: ['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative'],
  check: checkWindowOp,
  run(n, ins, g) {
    const w = g.constOf(ins[1]!);
    if (!w) throw g.unsupported(n, 'the filter must be a constant');
    const hasBias = strs(n.attr['fused_ops']).includes('BiasAdd');
    const x = g.v(ins[0]!);
    const base = { name: n.name, inputs: [x], kernelSize: [w.shape[0]!, w.shape[1]!] as [number, number], strides: strides2(n), padding: convPadding(n), useBias: hasBias };
    g.push(n.op.includes('Depthwise') ? { op: 'depthwiseConv2d', ...base, depthMultiplier: w.shape[3]! } : { op: 'conv2d', ...base, filters: w.shape[3]! });
    g.params[n.name] = { kernel: w, ...(hasBias ? { bias: g.constOf(ins[2]!)! } : {}) };
    g.alias(n, fusedTail(n, n.name, ins.slice(2), g));
  },
};

/** TF's transposed convolution: `Conv2DBackpropInput(input_sizes, filter, out_backprop)`. */
export const transposedConvImporter: OpImporter = {
  ops: ['Conv2DBackpropInput'],
  check(n) {
    if (str(n.attr['padding']) === 'EXPLICIT') return 'explicit padding on a transposed convolution';
    return checkWindowOp(n);
  },
  run(n, ins, g) {
    const sizes = g.constOf(ins[0]!);
    const w = g.constOf(ins[1]!);
    if (!sizes) throw g.unsupported(n, 'the output size (input_sizes) must be static');
    if (!w) throw g.unsupported(n, 'the filter must be a constant');
    const s = Array.from(sizes.dataSync());
    if (s.length !== 4 || s[3] !== w.shape[2]) throw g.unsupported(n, `output size [${s.join(', ')}] for a filter of shape [${w.shape.join(', ')}] (expected [batch, H, W, ${w.shape[2]}])`);
    g.push({
      op: 'conv2dTranspose',
      name: n.name,
      inputs: [g.v(ins[2]!)],
      filters: w.shape[2]!,
      kernelSize: [w.shape[0]!, w.shape[1]!],
      strides: strides2(n),
      padding: windowPadding(n),
      outputSize: [s[1]!, s[2]!],
      useBias: false,
    });
    g.params[n.name] = { kernel: w };
    g.alias(n, n.name);
  },
};
