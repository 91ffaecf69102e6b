import * as tf from '@tensorflow/tfjs-core';
import { type HardenedTensor, LowbitError, type StepContext } from '@lowbit/core';
import { cloneNetwork, disposeNetwork, type Network } from '@lowbit/nn';
import { readNetworkJson, saveNetwork } from '@lowbit/nn/node';
import { dequantizeHardened } from '@lowbit/quantizers';
import { checkQuantizationMeta, gridMeta, type QuantizationMeta } from './quantization-meta.js';
import type { QuantizedNetwork } from '@lowbit/quantizers';

/**
 * Saves a quantized network: the BN-folded network with its kernels replaced by the hardened
 * (dequantized) weights, and in metadata the per-layer weight grids and per-site activation
 * steps. The integer codes are exactly `round(w / scale)` of the stored weights.
 */
export async function saveQuantized(q: QuantizedNetwork, path: string, extra: Record<string, unknown>): Promise<Map<string, HardenedTensor>> {
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
  await saveNetwork(net, path, { ...extra, quantization: meta });
  disposeNetwork(net);
  return hard;
}

/** The quantization metadata of a saved network, or null for a float one. */
export function readQuantization(path: string): QuantizationMeta | null {
  const m = readNetworkJson(path).metadata?.['quantization'];
  return m === undefined ? null : checkQuantizationMeta(m, path);
}

export type { Network, StepContext };
