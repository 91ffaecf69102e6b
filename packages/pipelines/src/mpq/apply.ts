import * as tf from '@tensorflow/tfjs-core';
import { evalContext, type HardenedTensor, LowbitError, Rng } from '@lowbit/core';
import { analyze, type BitPolicy, cloneNetwork, disposeNetwork, foldBatchNorm, type NodeSpec } from '@lowbit/nn';
import { dequantizeHardened } from '@lowbit/quantizers';
import type { QuantizationMeta } from '../ptq/quantization-meta.js';
import type { SourceFormat } from '../quantize/model-source.js';
import { QuantizedModel } from '../quantize/quantized-model.js';
import { preparePolicy } from './evaluate-policy.js';
import type { OneShotNet } from './one-shot-net.js';

/**
 * The one-shot network under a policy as a shippable {@link QuantizedModel}: the policy is
 * applied, batch norm re-estimated on `bnBatches` (as the search and `eval --policy` do), every
 * kernel hardened to its candidate's grid, and each BN folded into its layer by scaling that
 * layer's per-channel grid (the integer codes stay what the one-shot network computes). The
 * model's fake-quantized `predict` equals the one-shot network's forward under the policy; its
 * exports compute the same weights with float activations.
 */
export function applyPolicy(o: OneShotNet, policy: BitPolicy, bnBatches: readonly tf.Tensor[], sourceFormat: SourceFormat = 'layers-model'): QuantizedModel {
  const known = new Set(o.layers.keys());
  const unknown = Object.keys(policy).filter((k) => !known.has(k));
  if (unknown.length) throw new LowbitError('E_POLICY', `the policy names ${unknown.length} layer(s) the one-shot network lacks: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`);
  preparePolicy(o, policy, bnBatches);
  const hooks = o.forwardOptions(evalContext(new Rng(0)));
  const copy = cloneNetwork(o.net);
  const hard = new Map<string, HardenedTensor>();
  try {
    for (const l of o.layers.values()) {
      const h = l.quantizer.harden(o.net.params[l.name]!['kernel']!, l.state);
      if (h.zeroPoint.some((z) => z !== 0)) throw new LowbitError('E_EXPORT', `layer '${l.name}': asymmetric weight grids are not exportable yet`);
      hard.set(l.name, h);
      tf.tidy(() => copy.params[l.name]!['kernel']!.assign(tf.tensor(dequantizeHardened(h), h.shape, 'float32')));
    }
    // the batch-norm sets the policy selected become the network's own
    for (const n of copy.nodes) {
      if (n.op !== 'batchNorm') continue;
      const set = hooks.params?.(n, copy.params[n.name]!);
      if (!set) continue;
      for (const [k, v] of Object.entries(set)) copy.params[n.name]![k]!.assign(v);
    }
    const info = analyze(copy);
    const folded = foldBatchNorm(copy);
    const kept = new Set(folded.nodes.map((n) => n.name));
    const meta: QuantizationMeta = { format: 'lowbit-quantized', version: 1, layers: {}, sites: {} };
    // a folded BN's output is its layer's output: sites (and nothing else) are renamed
    const rename = new Map<string, string>();
    for (const l of o.layers.values()) if (l.bn && !kept.has(l.bn)) rename.set(l.bn, l.name);
    for (const [name, h] of hard) {
      const bnName = o.layers.get(name)!.bn;
      const bn = bnName && !kept.has(bnName) ? (info.nodes.get(bnName)!.spec as Extract<NodeSpec, { op: 'batchNorm' }>) : null;
      const a = bn ? foldFactors(copy.params[bnName!]!, bn.epsilon) : null;
      const scale = scaledGrid(name, h, a);
      const codes = h.codes;
      const inner = h.axis === null ? codes.length : h.shape.slice(h.axis + 1).reduce((x, y) => x * y, 1);
      const values = new Float32Array(codes.length);
      for (let i = 0; i < codes.length; i++) values[i] = codes[i]! * scale[h.axis === null ? 0 : Math.floor(i / inner) % scale.length]!;
      tf.tidy(() => folded.params[name]!['kernel']!.assign(tf.tensor(values, h.shape, 'float32')));
      meta.layers[name] = { bits: h.bits, axis: h.axis, scale: Array.from(scale) };
    }
    for (const s of o.sites.values()) {
      const g = s.state.grids[s.state.bits]!;
      meta.sites[rename.get(s.name) ?? s.name] = { bits: s.state.bits, signed: g.signed, scale: s.state.scales![s.state.bits]!.dataSync()[0]! };
    }
    return new QuantizedModel(folded, meta, sourceFormat);
  } finally {
    disposeNetwork(copy);
  }
}

/** BN's per-channel factor γ/√(σ²+ε) (what folding multiplies the kernel by). */
function foldFactors(p: Record<string, tf.Tensor>, eps: number): Float32Array {
  return tf.tidy(() => tf.div(p['gamma']!, tf.sqrt(tf.add(p['movingVariance']!, eps))).dataSync() as Float32Array);
}

/** The layer's grid scales after folding: s_c · a_c per output channel (exact in float32, as the kernel is rebuilt from them). */
function scaledGrid(layer: string, h: HardenedTensor, a: Float32Array | null): Float32Array {
  if (!a) return Float32Array.from(h.scale);
  if (h.axis === null) throw new LowbitError('E_EXPORT', `layer '${layer}': a per-tensor grid cannot absorb a per-channel batch norm`);
  const channels = h.shape[h.axis]!;
  if (a.length !== channels) throw new LowbitError('E_EXPORT', `layer '${layer}': its batch norm has ${a.length} channels, its grid ${channels} (depthwise multipliers > 1 are not exportable)`);
  const out = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    out[c] = h.scale[c]! * a[c]!;
    if (!(Number.isFinite(out[c]!) && out[c] !== 0)) throw new LowbitError('E_EXPORT', `layer '${layer}': channel ${c} has a folded grid scale of ${out[c]} (batch norm γ = 0?)`);
  }
  return out;
}
