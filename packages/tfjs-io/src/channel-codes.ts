import type { NodeSpec } from '@lowbit/nn';
import type { ExportOptions, LayerGrids } from './export-types.js';

/**
 * The per-output-channel scales of a layer whose kernel is stored as integer codes in the stock
 * uint8 container (`perChannel: 'uint8'`, the default): the layer then computes with the codes and
 * a following op or layer multiplies each output channel by its scale (and adds the bias). Null
 * when the kernel is stored some other way: no grid, a per-tensor grid (uint8 with its one
 * scale), more than 8 bits, another `perChannel` choice, or a grid whose axis is not the layer's
 * output channels (a depthwise kernel's channel axis is: each input channel's `m` outputs share
 * its scale).
 */
export function outputChannelScales(n: NodeSpec, kernelShape: readonly number[], grid: LayerGrids[string] | undefined, perChannel: ExportOptions['perChannel']): Float32Array | null {
  if (!grid || grid.axis === null || grid.bits > 8 || (perChannel ?? 'uint8') !== 'uint8') return null;
  const axis = n.op === 'conv2d' ? 3 : n.op === 'conv2dTranspose' || n.op === 'depthwiseConv2d' ? 2 : n.op === 'dense' ? 1 : -1;
  if (grid.axis !== axis || grid.scale.length !== kernelShape[axis]) return null;
  if (n.op !== 'depthwiseConv2d') return Float32Array.from(grid.scale);
  const m = kernelShape[3]!;
  return Float32Array.from({ length: grid.scale.length * m }, (_, o) => grid.scale[Math.floor(o / m)]!);
}
