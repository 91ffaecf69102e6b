import * as tf from '@tensorflow/tfjs-core';
import { LowbitError, type StepContext } from '@lowbit/core';
import {
  activationSites,
  type BitPolicy,
  batchNormProducers,
  cloneNetwork,
  disposeNetwork,
  type ForwardOptions,
  forward,
  type Network,
  quantizableLayers,
  type SwitchableBatchNorm,
  switchableBatchNorm,
} from '@lowbit/nn';
import {
  kernelChannelAxis,
  setBits,
  type UniformActivationState,
  type UniformWeightState,
  uniformActivationQuantizer,
  uniformWeightQuantizer,
} from '@lowbit/quantizers';

/** Candidate bit-widths of the one-shot network (the paper's defaults). */
export interface CandidateConfig {
  /** Searchable bit-widths of weights and activations (default 2..6). */
  bits: number[];
  /** Lowest candidate of depthwise layers and of activations that feed them (default 3). */
  depthwiseMin: number;
  /** Bits of the first and last layer (weights and input activation; default 8). */
  fixedBits: number;
}

export const DEFAULT_CANDIDATES: CandidateConfig = { bits: [2, 3, 4, 5, 6], depthwiseMin: 3, fixedBits: 8 };

type WeightQ = ReturnType<typeof uniformWeightQuantizer>;
type ActQ = ReturnType<typeof uniformActivationQuantizer>;

export interface OneShotLayer {
  name: string;
  op: string;
  quantizer: WeightQ;
  state: UniformWeightState;
  candidates: number[];
  /** The activation site this layer reads (`'input'` for the network input). */
  site: string;
  /** The batch norm after this layer, if any; its output is the layer's IDM feature. */
  bn: string | null;
}

export interface OneShotSite {
  name: string;
  quantizer: ActQ;
  state: UniformActivationState;
  candidates: number[];
  consumers: string[];
}

/** Bits meaning "not quantized" (the network input). */
export const FLOAT_BITS = 32;

const bnKey = (w: number, a: number) => `w${w}a${a}`;

/**
 * A float network made weight-coupled: one LSQ step per candidate bit-width for every layer's
 * weights (per output channel) and every activation site (per tensor), and switchable batch
 * norm with one set per (weight bits, activation bits) pair of the layer before it. Applying a
 * {@link BitPolicy} switches every quantizer and BN set at once; the float weights are shared by
 * all policies.
 */
export interface OneShotNet {
  net: Network;
  layers: Map<string, OneShotLayer>;
  sites: Map<string, OneShotSite>;
  sbn: SwitchableBatchNorm;
  config: CandidateConfig;
  /** The policy currently applied. */
  policy(): BitPolicy;
  /**
   * Checks that a policy fits this network (every layer named, candidate bits, shared activation
   * sites at one bit-width, float network input) without changing anything; `E_POLICY` otherwise.
   */
  checkPolicy(policy: BitPolicy): void;
  /** Sets every layer's and site's bits from a policy, after {@link checkPolicy} (nothing changes when it throws). */
  applyPolicy(policy: BitPolicy): void;
  /** Every layer and site at its highest candidate. */
  maxPolicy(): BitPolicy;
  /** The node whose output is a layer's feature (its BN output, or the layer itself). */
  featureNode(layer: string): string;
  forwardOptions(ctx: StepContext): ForwardOptions;
  /** Trainable variables by stable key: float weights (not the replaced BN affine), steps, switchable BN affine. */
  trainable(): Record<string, tf.Variable>;
  /** The quantization state (steps, switchable BN sets incl. statistics) by stable key, for checkpoints. */
  quantState(): Record<string, tf.Variable>;
  /** Restores {@link quantState} tensors (same keys; missing or extra keys are errors). */
  loadQuantState(t: Record<string, tf.Tensor>): void;
  dispose(): void;
}

/** Activation steps as if `finalize` had run: used when restoring saved steps. */
function presetActivationScales(s: UniformActivationState, candidates: number[]): void {
  if (s.scales) return;
  const scales: Record<number, tf.Variable> = {};
  for (const b of candidates) scales[b] = tf.tidy(() => tf.variable(tf.scalar(1), true));
  s.scales = scales;
  s.hist = null;
}

/**
 * Builds the one-shot network from a float network (cloned; the caller keeps its own). Weight
 * steps start at `max(|μ−3σ|, |μ+3σ|)/2^(b−1)` per channel; activation steps need
 * {@link calibrateOneShot} (`2·mean|x|/sqrt(2^b−1)`) unless restored from a checkpoint.
 */
export function createOneShotNet(float: Network, config: CandidateConfig = DEFAULT_CANDIDATES): OneShotNet {
  const net = cloneNetwork(float);
  const qLayers = quantizableLayers(net);
  if (qLayers.length < 3) throw new LowbitError('E_MODEL', `one-shot mixed precision needs at least 3 quantizable layers (first and last stay at ${config.fixedBits} bits); '${net.name}' has ${qLayers.length}`);
  const bits = [...new Set(config.bits)].sort((a, b) => a - b);
  if (bits.length === 0 || bits.some((b) => !Number.isInteger(b) || b < 2 || b > 8)) throw new LowbitError('E_ARG', `candidate bits must be integers 2..8, got ${config.bits.join(',')}`);
  const fixed = new Set([qLayers[0]!.spec.name, qLayers[qLayers.length - 1]!.spec.name]);
  const producers = batchNormProducers(net);
  const bnOf = new Map<string, string>();
  for (const [bn, layer] of producers) if (layer) bnOf.set(layer, bn);

  const siteInfo = activationSites(net);
  const sites = new Map<string, OneShotSite>();
  const depthwise = new Set(qLayers.filter((l) => l.spec.op === 'depthwiseConv2d').map((l) => l.spec.name));
  for (const s of siteInfo) {
    if (s.isInput) continue;
    const allFixed = s.consumers.every((c) => fixed.has(c));
    const min = s.consumers.some((c) => depthwise.has(c)) ? config.depthwiseMin : 0;
    const candidates = allFixed ? [config.fixedBits] : bits.filter((b) => b >= min);
    if (candidates.length === 0) throw new LowbitError('E_ARG', `activation '${s.name}' has no candidate bits ≥ ${min}`);
    const quantizer = uniformActivationQuantizer({ bits: candidates, signed: !s.nonNegative, estimator: 'meanAbs', learnable: true });
    sites.set(s.name, { name: s.name, quantizer, state: quantizer.init(), candidates, consumers: s.consumers });
  }
  const layers = new Map<string, OneShotLayer>();
  for (const l of qLayers) {
    const name = l.spec.name;
    const min = l.spec.op === 'depthwiseConv2d' ? config.depthwiseMin : 0;
    const candidates = fixed.has(name) ? [config.fixedBits] : bits.filter((b) => b >= min);
    const quantizer = uniformWeightQuantizer({ bits: candidates, granularity: 'channel', axis: kernelChannelAxis(l.spec), estimator: 'meanStd3', learnable: true });
    const state = quantizer.init(net.params[name]!['kernel']!);
    layers.set(name, { name, op: l.spec.op, quantizer, state, candidates, site: l.inputSite, bn: bnOf.get(name) ?? null });
  }
  const actBitsOf = (layer: OneShotLayer) => sites.get(layer.site)?.state.bits ?? FLOAT_BITS;
  const actCandidatesOf = (layer: OneShotLayer) => sites.get(layer.site)?.candidates ?? [FLOAT_BITS];
  const layerOfBn = new Map<string, OneShotLayer>();
  for (const l of layers.values()) if (l.bn) layerOfBn.set(l.bn, l);
  const sbn = switchableBatchNorm(net, (bn) => {
    const l = layerOfBn.get(bn);
    if (!l) return [];
    return l.candidates.flatMap((w) => actCandidatesOf(l).map((a) => bnKey(w, a)));
  });
  const select = (bn: string) => {
    const l = layerOfBn.get(bn);
    return l ? bnKey(l.state.bits, actBitsOf(l)) : undefined;
  };
  const bnParamsHook = sbn.hook(select);

  const policy = (): BitPolicy => {
    const p: BitPolicy = {};
    for (const l of layers.values()) p[l.name] = { w: l.state.bits, a: actBitsOf(l) };
    return p;
  };
  const maxPolicy = (): BitPolicy => {
    const p: BitPolicy = {};
    for (const l of layers.values()) p[l.name] = { w: l.candidates[l.candidates.length - 1]!, a: actCandidatesOf(l)[actCandidatesOf(l).length - 1]! };
    return p;
  };
  const stepKeys = () => {
    const out: Record<string, tf.Variable> = {};
    for (const l of layers.values()) for (const b of l.candidates) out[`q/w/${l.name}/${b}`] = l.state.scales[b]!;
    for (const s of sites.values()) {
      if (!s.state.scales) throw new LowbitError('E_CALIB', `activation steps of '${s.name}' are not initialised (calibrate the one-shot network first)`);
      for (const b of s.candidates) out[`q/a/${s.name}/${b}`] = s.state.scales[b]!;
    }
    return out;
  };
  const bnNodes = new Set(producers.keys());

  return {
    net,
    layers,
    sites,
    sbn,
    config: { ...config, bits },
    policy,
    maxPolicy,
    checkPolicy(p) {
      const unknown = Object.keys(p).filter((k) => !layers.has(k));
      if (unknown.length) throw new LowbitError('E_POLICY', `the policy names ${unknown.length} layer(s) the one-shot network lacks: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`);
      for (const l of layers.values()) {
        const b = p[l.name];
        if (!b) throw new LowbitError('E_POLICY', `policy has no entry for layer '${l.name}'`);
        if (!l.candidates.includes(b.w)) throw new LowbitError('E_POLICY', `layer '${l.name}': weight bits ${b.w} are not a candidate (${l.candidates.join(', ')})`);
        if (!sites.has(l.site) && b.a !== FLOAT_BITS) throw new LowbitError('E_POLICY', `layer '${l.name}' reads the unquantized network input; its activation bits must be ${FLOAT_BITS}, got ${b.a}`);
      }
      for (const s of sites.values()) {
        const want = new Set(s.consumers.map((c) => p[c]!.a));
        if (want.size !== 1) throw new LowbitError('E_POLICY', `layers ${s.consumers.join(', ')} read the same activation '${s.name}' and must share its bits; policy gives ${[...want].join(' and ')}`);
        const a = [...want][0]!;
        if (!s.candidates.includes(a)) throw new LowbitError('E_POLICY', `activation '${s.name}' (input of ${s.consumers.join(', ')}): bits ${a} are not a candidate (${s.candidates.join(', ')})`);
      }
    },
    applyPolicy(p) {
      this.checkPolicy(p);
      for (const l of layers.values()) setBits(l.state, p[l.name]!.w);
      for (const s of sites.values()) setBits(s.state, p[s.consumers[0]!]!.a);
    },
    featureNode: (layer) => layers.get(layer)?.bn ?? layer,
    forwardOptions(ctx) {
      return {
        weight: (layer, w) => {
          const l = layers.get(layer.name);
          return l ? l.quantizer.apply(w, l.state, ctx) : w;
        },
        activation: (site, x) => {
          const s = sites.get(site);
          return s ? s.quantizer.apply(x, s.state, ctx) : x;
        },
        params: bnParamsHook,
      };
    },
    trainable() {
      const out: Record<string, tf.Variable> = {};
      for (const [node, ps] of Object.entries(net.params)) {
        if (bnNodes.has(node)) continue;
        for (const [p, v] of Object.entries(ps)) if (v.trainable) out[`${node}/${p}`] = v;
      }
      Object.assign(out, stepKeys());
      for (const [k, v] of Object.entries(sbn.trainable())) out[`sbn/${k}`] = v;
      return out;
    },
    quantState() {
      const out: Record<string, tf.Variable> = { ...stepKeys() };
      for (const [k, v] of Object.entries(sbn.all())) out[`sbn/${k}`] = v;
      return out;
    },
    loadQuantState(t) {
      for (const s of sites.values()) presetActivationScales(s.state, s.candidates);
      const own = this.quantState();
      const missing = Object.keys(own).filter((k) => !(k in t));
      const extra = Object.keys(t).filter((k) => !(k in own));
      if (missing.length || extra.length) {
        throw new LowbitError('E_CHECKPOINT', `one-shot state does not match this network: missing ${missing.slice(0, 5).join(', ') || 'none'}${missing.length > 5 ? '…' : ''}; unexpected ${extra.slice(0, 5).join(', ') || 'none'}${extra.length > 5 ? '…' : ''}`);
      }
      for (const [k, v] of Object.entries(own)) {
        const src = t[k]!;
        if (src.shape.join(',') !== v.shape.join(',')) throw new LowbitError('E_CHECKPOINT', `one-shot state '${k}': expected shape [${v.shape}], got [${src.shape}]`);
        v.assign(src);
      }
    },
    dispose() {
      for (const l of layers.values()) l.quantizer.dispose(l.state);
      for (const s of sites.values()) s.quantizer.dispose(s.state);
      sbn.dispose();
      disposeNetwork(net);
    },
  };
}

/**
 * Initialises the activation steps from calibration batches run through the float network
 * (`2·mean|x|/sqrt(2^b−1)` per candidate), without keeping the batches.
 */
export function calibrateOneShot(o: OneShotNet, batches: Iterable<tf.Tensor>): void {
  let n = 0;
  for (const x of batches) {
    n++;
    tf.tidy(() => {
      forward(o.net, x, {
        activation: (site, v) => {
          const s = o.sites.get(site);
          if (s) s.quantizer.observe(v, s.state);
          return v;
        },
      });
    });
  }
  if (n === 0) throw new LowbitError('E_CALIB', 'one-shot calibration: no batches');
  for (const s of o.sites.values()) s.quantizer.finalize(s.state);
}
