import { analyze } from './analyze.js';
import { isLayer, type LayerSpec, type NetworkSpec, type Shape } from './spec.js';

/**
 * An activation site: a value (a node's output, or the network input) that feeds at least one
 * quantizable layer. Activation quantizers sit here, once per value, so every consumer of the
 * value sees the same quantized tensor, as it would after deployment.
 */
export interface ActivationSite {
  /** The producing node's name, or `'input'`. */
  name: string;
  shape: Shape;
  /** Quantizable layers that read this value. */
  consumers: string[];
  /** True when the value is provably ≥ 0 (produced by relu/relu6/pooling of such), so an unsigned grid fits. */
  nonNegative: boolean;
  /** The network input. */
  isInput: boolean;
}

/** The activation sites of a network, in node order. */
export function activationSites(spec: NetworkSpec): ActivationSite[] {
  const info = analyze(spec);
  const nonNeg = new Map<string, boolean>([['input', false]]);
  for (const n of info.order) {
    const s = n.spec;
    let v = false;
    if (s.op === 'relu' || s.op === 'relu6' || s.op === 'sigmoid' || s.op === 'softmax' || s.op === 'abs' || s.op === 'sqrt' || s.op === 'rsqrt') v = true;
    else if (['maxPool', 'avgPool', 'globalAvgPool', 'flatten', 'identity', 'zeroPad', 'reshape', 'resize', 'depthToSpace', 'slice', 'sum', 'transpose'].includes(s.op)) v = nonNeg.get(s.inputs[0]!) ?? false;
    else if (s.op === 'add' || s.op === 'mul' || s.op === 'div' || s.op === 'concat') v = s.inputs.every((i) => nonNeg.get(i) ?? false);
    else if (s.op === 'pad') v = (nonNeg.get(s.inputs[0]!) ?? false) && s.value >= 0;
    else if (s.op === 'scale') {
      const a = typeof s.scale === 'number' ? [s.scale] : s.scale;
      const b = typeof s.offset === 'number' ? [s.offset] : s.offset;
      v = (nonNeg.get(s.inputs[0]!) ?? false) && a.every((x) => x >= 0) && b.every((x) => x >= 0);
    } else if (s.op === 'clip') v = (s.min !== null && s.min >= 0) || ((nonNeg.get(s.inputs[0]!) ?? false) && (s.max === null || s.max >= 0));
    nonNeg.set(s.name, v);
  }
  const sites: ActivationSite[] = [];
  const consumersOf = (name: string) => (name === 'input' ? info.inputConsumers : info.nodes.get(name)!.consumers);
  for (const name of ['input', ...info.order.map((n) => n.spec.name)]) {
    const layers = consumersOf(name).filter((c) => isLayer(info.nodes.get(c)!.spec));
    if (layers.length === 0) continue;
    sites.push({
      name,
      shape: name === 'input' ? spec.inputShape : info.nodes.get(name)!.outShape,
      consumers: layers,
      nonNegative: nonNeg.get(name) ?? false,
      isInput: name === 'input',
    });
  }
  return sites;
}

/** A quantizable layer with its static costs. */
export interface LayerInfo {
  spec: LayerSpec;
  /** The activation site the layer reads. */
  inputSite: string;
  macs: number;
  /** Weights in the kernel (bias excluded). */
  weightCount: number;
  /** Position among quantizable layers (0 = first). */
  position: number;
  block: string;
}

/** The quantizable layers (conv2d, transposed conv2d, depthwise conv2d, dense) in node order. */
export function quantizableLayers(spec: NetworkSpec): LayerInfo[] {
  const info = analyze(spec);
  const out: LayerInfo[] = [];
  for (const n of info.order) {
    if (!isLayer(n.spec)) continue;
    const s = n.spec;
    const weightCount =
      s.op === 'conv2d' || s.op === 'conv2dTranspose'
        ? s.kernelSize[0] * s.kernelSize[1] * n.inShapes[0]![2]! * s.filters
        : s.op === 'depthwiseConv2d'
          ? s.kernelSize[0] * s.kernelSize[1] * n.inShapes[0]![2]! * s.depthMultiplier
          : n.inShapes[0]![0]! * s.units;
    out.push({ spec: s, inputSite: s.inputs[0]!, macs: n.macs, weightCount, position: out.length, block: n.block });
  }
  return out;
}
