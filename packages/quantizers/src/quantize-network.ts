import * as tf from '@tensorflow/tfjs-core';
import { type ActivationQuantizer, type HardenedTensor, LowbitError, type StepContext, type WeightQuantizer } from '@lowbit/core';
import {
  activationSites,
  type BitPolicy,
  disposeNetwork,
  type ForwardOptions,
  foldBatchNorm,
  forward,
  type LayerSpec,
  type Network,
  quantizableLayers,
  uniformPolicy,
} from '@lowbit/nn';
import { uniformActivationQuantizer } from './activation-quantizer.js';
import type { RangeEstimator } from './range-estimators.js';
import { uniformWeightQuantizer } from './weight-quantizer.js';

export interface QuantizeNetworkOptions {
  wBits: number;
  aBits: number;
  /** Weight grid granularity (default per output channel). */
  granularity?: 'channel' | 'tensor';
  /** Weight step estimator (default `mse`). */
  estimator?: RangeEstimator;
  /**
   * Weight grid of the default quantizer: `symmetric` signed (default), `asymmetric` with a zero
   * point per channel (codes `[0, 2^b − 1]`; the MSE search then fits both ends), or `auto`:
   * asymmetric below 8 bits, symmetric at 8 (see {@link symmetricGridAt}). A `weightQuantizer`
   * factory chooses its own.
   */
  weightGrid?: WeightGrid;
  /** Activation step estimator (default `mse`). */
  activationEstimator?: RangeEstimator;
  /** Layers kept at 8 bits (weights and input activation); default first and last. */
  keep8bit?: Array<'first' | 'last'>;
  /**
   * Explicit per-layer bits; overrides wBits/aBits/keep8bit for the layers it names. `w: 32` keeps
   * a layer's weights float (no quantizer, not hardened); `a: 32` leaves its input float.
   */
  policy?: BitPolicy;
  /** Quantize the network input too (default false, as in NWQ/QDrop). */
  quantizeInput?: boolean;
  /** Weight quantizer per layer (default: uniform, fixed steps). NWQ plugs learned rounding in here. */
  weightQuantizer?: (layer: LayerSpec, bits: number, axis: number) => WeightQuantizer;
  /** Learnable activation steps (LSQ), for reconstruction. Default false. */
  learnableActivations?: boolean;
}

export interface QuantizedLayer {
  quantizer: WeightQuantizer;
  state: unknown;
}
export interface QuantizedSite {
  quantizer: ActivationQuantizer;
  state: unknown;
  bits: number;
  signed: boolean;
}

/**
 * A BN-folded copy of a network with a weight quantizer per quantizable layer and an activation
 * quantizer per activation site. `forwardOptions(ctx)` are the `@lowbit/nn` forward hooks that
 * run it fake-quantized; `harden()` gives the integer weights for export.
 */
export interface QuantizedNetwork {
  net: Network;
  policy: BitPolicy;
  layers: Map<string, QuantizedLayer>;
  sites: Map<string, QuantizedSite>;
  forwardOptions(ctx: StepContext, overrides?: { activation?: (site: string, xFloat: tf.Tensor, xQuant: tf.Tensor) => tf.Tensor }): ForwardOptions;
  /** Calibrates activation steps on input batches (float network, weights unquantized). */
  calibrate(batches: Iterable<tf.Tensor>): void;
  harden(): Map<string, HardenedTensor>;
  /** All trainable quantization variables (learnable steps, rounding logits…). */
  variables(): tf.Variable[];
  dispose(): void;
}

/** The weight grids: symmetric signed, asymmetric (a zero point per channel), or `auto` (asymmetric below 8 bits). */
export type WeightGrid = 'symmetric' | 'asymmetric' | 'auto';
export const WEIGHT_GRIDS: readonly WeightGrid[] = ['symmetric', 'asymmetric', 'auto'];

/**
 * Whether a layer of `bits` gets a symmetric grid under `grid`. `auto` is asymmetric below 8 bits
 * — where a zero point buys a level (at 2 bits a symmetric grid spends one of four on −2·s) — and
 * symmetric at 8 bits, where the two grids quantize alike and only a symmetric one's codes fit the
 * stock uint8 container of every exported channel at once.
 */
export function symmetricGridAt(grid: WeightGrid, bits: number): boolean {
  return grid === 'symmetric' || (grid === 'auto' && bits >= 8);
}

/** The channel axis of a layer's kernel: output channels (axis 2 of a transposed conv's `[kh, kw, out, in]`), or the channel axis of a depthwise kernel. */
export function kernelChannelAxis(layer: LayerSpec): number {
  return layer.op === 'depthwiseConv2d' || layer.op === 'conv2dTranspose' ? 2 : layer.op === 'dense' ? 1 : 3;
}

/**
 * Prepares a network for quantization: folds BN, builds the bit policy and the quantizers.
 * Activation steps still need {@link QuantizedNetwork.calibrate}.
 */
export function prepareQuantized(net: Network, o: QuantizeNetworkOptions): QuantizedNetwork {
  if (o.weightGrid !== undefined && !WEIGHT_GRIDS.includes(o.weightGrid)) throw new LowbitError('E_CONFIG', `weightGrid must be one of ${WEIGHT_GRIDS.join(', ')}, got '${String(o.weightGrid)}'`);
  const folded = foldBatchNorm(net);
  const keep = o.keep8bit ?? ['first', 'last'];
  const policy: BitPolicy = { ...uniformPolicy(folded, { w: o.wBits, a: o.aBits }, { first: keep.includes('first'), last: keep.includes('last') }), ...(o.policy ?? {}) };
  const layers = new Map<string, QuantizedLayer>();
  for (const l of quantizableLayers(folded)) {
    const bits = policy[l.spec.name]!.w;
    if (bits >= 32) continue; // kept float
    const axis = kernelChannelAxis(l.spec);
    const quantizer =
      o.weightQuantizer?.(l.spec, bits, axis) ??
      uniformWeightQuantizer({ bits, granularity: o.granularity ?? 'channel', axis, estimator: o.estimator ?? 'mse', symmetric: symmetricGridAt(o.weightGrid ?? 'symmetric', bits) });
    const state = quantizer.init(folded.params[l.spec.name]!['kernel']!);
    layers.set(l.spec.name, { quantizer: quantizer as WeightQuantizer, state });
  }
  const sites = new Map<string, QuantizedSite>();
  for (const s of activationSites(folded)) {
    if (s.isInput && !o.quantizeInput) continue;
    const bits = Math.max(...s.consumers.map((c) => policy[c]?.a ?? 32));
    if (bits >= 32) continue;
    const quantizer = uniformActivationQuantizer({ bits, signed: !s.nonNegative, estimator: o.activationEstimator ?? 'mse', learnable: o.learnableActivations ?? false });
    sites.set(s.name, { quantizer: quantizer as ActivationQuantizer, state: quantizer.init(), bits, signed: !s.nonNegative });
  }
  const q: QuantizedNetwork = {
    net: folded,
    policy,
    layers,
    sites,
    forwardOptions(ctx, overrides) {
      return {
        weight: (layer, w) => {
          const ql = layers.get(layer.name);
          return ql ? ql.quantizer.apply(w, ql.state, ctx) : w;
        },
        activation: (site, x) => {
          const qs = sites.get(site);
          if (!qs) return x;
          const xq = qs.quantizer.apply(x, qs.state, ctx);
          return overrides?.activation ? overrides.activation(site, x, xq) : xq;
        },
      };
    },
    calibrate(batches) {
      let n = 0;
      for (const x of batches) {
        n++;
        tf.tidy(() => {
          forward(folded, x, {
            activation: (site, v) => {
              const qs = sites.get(site);
              if (qs) qs.quantizer.observe(v, qs.state);
              return v;
            },
          });
        });
      }
      if (n === 0) throw new LowbitError('E_CALIB', 'the calibration set is empty: activation steps need at least one batch');
      for (const qs of sites.values()) qs.quantizer.finalize(qs.state);
    },
    harden() {
      const out = new Map<string, HardenedTensor>();
      for (const [name, ql] of layers) out.set(name, ql.quantizer.harden(folded.params[name]!['kernel']!, ql.state));
      return out;
    },
    variables() {
      return [...[...layers.values()].flatMap((l) => l.quantizer.variables(l.state)), ...[...sites.values()].flatMap((s) => s.quantizer.variables(s.state))];
    },
    dispose() {
      for (const l of layers.values()) l.quantizer.dispose(l.state);
      for (const s of sites.values()) s.quantizer.dispose(s.state);
      disposeNetwork(folded);
    },
  };
  return q;
}

/**
 * Round-to-nearest post-training quantization of a whole network: BN folded, per-channel weight
 * steps (MSE search by default), activation steps calibrated on `calibration` input batches
 * (caller-owned tensors), first and last layer at 8 bits. The simplest lowbit method and the
 * floor the learned ones must beat.
 *
 * @example
 * const q = quantizeNetwork(net, calibBatches, { wBits: 4, aBits: 4 });
 * const logits = forward(q.net, x, q.forwardOptions(evalContext(rng))).output;
 */
export function quantizeNetwork(net: Network, calibration: Iterable<tf.Tensor>, o: QuantizeNetworkOptions): QuantizedNetwork {
  const q = prepareQuantized(net, o);
  try {
    q.calibrate(calibration);
  } catch (e) {
    q.dispose();
    throw e;
  }
  return q;
}
