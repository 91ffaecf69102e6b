import * as tf from '@tensorflow/tfjs-core';
import { bundledCalibrationSet, makeBatch } from '@lowbit/data';
import { loadReference } from '@lowbit/models/node';
import { cloneNetwork, disposeNetwork, type Network } from '@lowbit/nn';
import { dequantizeHardened, quantizeNetwork } from '@lowbit/quantizers';
import type { LayerGrids } from '../src/index.node.js';

/**
 * A weight-quantized (RTN) copy of a BN-folded reference network and its grids — what `lowbit ptq`
 * saves: kernels hold the dequantized hard weights.
 */
export function quantizedReference(name: 'resnet-fm' | 'mbv2-fm', bits: number, granularity: 'tensor' | 'channel', weightGrid: 'symmetric' | 'asymmetric' = 'symmetric'): { net: Network; grids: LayerGrids } {
  const ref = loadReference(name);
  const calib = makeBatch(bundledCalibrationSet(), Int32Array.from({ length: 128 }, (_, i) => i));
  const out = quantizedCopy(ref, calib.x, bits, granularity, weightGrid);
  disposeNetwork(ref);
  tf.dispose([calib.x, calib.y]);
  return out;
}

/** A weight-quantized (RTN) copy of `ref` (calibrated on `calib`) and its grids; `ref` is untouched. */
export function quantizedCopy(ref: Network, calib: tf.Tensor, bits: number, granularity: 'tensor' | 'channel', weightGrid: 'symmetric' | 'asymmetric' = 'symmetric'): { net: Network; grids: LayerGrids } {
  const q = quantizeNetwork(ref, [calib], { wBits: bits, aBits: 8, granularity, weightGrid });
  const net = cloneNetwork(q.net);
  const grids: LayerGrids = {};
  for (const [name, h] of q.harden()) {
    net.params[name]!['kernel']!.assign(tf.tensor(dequantizeHardened(h), h.shape));
    grids[name] = { bits: h.bits, axis: h.axis, scale: Array.from(h.scale), ...(h.signed ? {} : { zeroPoint: Array.from(h.zeroPoint) }) };
  }
  q.dispose();
  return { net, grids };
}
