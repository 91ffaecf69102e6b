import type { BitPolicy, LayerCost, Network } from '@lowbit/nn';
import { bitOps, layerCosts } from '@lowbit/nn';

/** Storage of a network's layer weights: float32, and quantized at the policy's bits. */
export interface SizeReport {
  fp32Bytes: number;
  quantizedBytes: number;
  ratio: number;
}

/**
 * Bytes of the quantizable layers' parameters: float32 kernels + biases, versus kernels at
 * `b_w` bits packed, one float32 scale per output channel, biases in float32.
 */
export function sizeReport(net: Network, policy: BitPolicy): SizeReport {
  let fp = 0;
  let q = 0;
  for (const l of layerCosts(net) as LayerCost[]) {
    const bits = policy[l.name]?.w ?? 32;
    const k = net.params[l.name]!['kernel']!.shape;
    const channels = l.op === 'conv2dTranspose' ? k[2]! : k.at(-1)! * (l.op === 'depthwiseConv2d' ? k[2]! : 1);
    fp += 4 * (l.weights + l.extraParams);
    q += Math.ceil((bits * l.weights) / 8) + 4 * l.extraParams + (bits < 32 ? 4 * channels : 0);
  }
  return { fp32Bytes: fp, quantizedBytes: q, ratio: fp / q };
}

export function bitOpsReport(net: Network, policy: BitPolicy): { fp32: number; quantized: number } {
  return { fp32: bitOps(net, {}), quantized: bitOps(net, policy) };
}
