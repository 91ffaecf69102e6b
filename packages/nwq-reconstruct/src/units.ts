import * as tf from '@tensorflow/tfjs-core';
import { copyRows, LowbitError, type QuantSetup, type StepContext } from '@lowbit/core';
import { analyze, forward, type Network, quantizableLayers, runNode } from '@lowbit/nn';
import type { CalibrationSource } from './calibration.js';
import type { ReconstructionConfig } from './config.js';
import { quantHooks } from './hooks.js';
import { arLoss, klLogits, mse } from './losses.js';

/**
 * One optimisation problem of a reconstruction run: the quantizers it trains, and the loss of a
 * batch. `network` granularity has one unit; `block` one per block; `layer` one per layer.
 */
export interface Unit {
  name: string;
  layers: string[];
  sites: string[];
  /** Builds any cached inputs/targets (runs once, when the unit starts). */
  prepare(): void;
  /**
   * Loss terms of one batch, under the gradient tape. `weights`: the unit's quantized kernels by
   * layer name, when the caller computed them (once per step); otherwise the quantizers run here.
   */
  loss(indices: Int32Array, ctx: StepContext, weights?: ReadonlyMap<string, tf.Tensor>): Record<string, tf.Scalar>;
  /** Frees caches. */
  finish(): void;
  /** Why a float-target cache fell back to per-batch targets (after `prepare`), if it did. */
  cacheNote(): string | null;
}

/** Images per pass while a cache is filled (float forwards): `inferenceBatch`, default 64. */
function inferenceBatch(c: ReconstructionConfig): number {
  return c.inferenceBatch ?? 64;
}

/** Default float-target cache budget: 2 GiB of JS memory. */
export const DEFAULT_CACHE_BYTES = 2 ** 31;

/**
 * A float-target or input provider: from a cache or computed per batch. The cache holds one
 * float32 row per calibration image and output, in JS memory (outside the backend's heap, which
 * stays free for the passes), filled `batch` images at a time; a batch's rows become one tensor
 * again on `get`. When the whole set's rows would exceed `budgetBytes`, it computes per batch.
 */
class Provider {
  private cache: Array<{ rows: Float32Array; shape: number[]; row: number }> | null = null;
  /** Why the cache was not built (null when it was, or when `per-batch` was asked for). */
  fellBack: string | null = null;
  constructor(
    private readonly calib: CalibrationSource,
    private readonly mode: 'per-batch' | 'cache',
    private readonly batch: number,
    private readonly budgetBytes: number,
    private readonly compute: (x: tf.Tensor) => tf.Tensor[],
  ) {}
  get cached(): boolean {
    return this.cache !== null;
  }
  prepare(): void {
    if (this.mode !== 'cache') return;
    const n = this.calib.size;
    for (let i = 0; i < n; i += this.batch) {
      const idx = Int32Array.from({ length: Math.min(this.batch, n - i) }, (_, j) => i + j);
      const out = tf.tidy(() => this.compute(this.calib.batch(idx)));
      try {
        if (!this.cache) {
          const rowSizes = out.map((t) => t.size / idx.length);
          const bytes = 4 * n * rowSizes.reduce((a, b) => a + b, 0);
          if (bytes > this.budgetBytes) {
            this.fellBack = `the float targets of ${n} images need ${(bytes / 2 ** 20).toFixed(0)} MB, more than the cache budget of ${(this.budgetBytes / 2 ** 20).toFixed(0)} MB: computed per batch`;
            return;
          }
          this.cache = out.map((t, k) => ({ rows: new Float32Array(n * rowSizes[k]!), shape: t.shape.slice(1), row: rowSizes[k]! }));
        }
        out.forEach((t, k) => {
          this.cache![k]!.rows.set(t.dataSync() as Float32Array, i * this.cache![k]!.row);
        });
      } finally {
        tf.dispose(out);
      }
    }
  }
  /** Values for a batch (tensors owned by the caller's tidy scope). */
  get(indices: Int32Array, x?: tf.Tensor): tf.Tensor[] {
    if (!this.cache) return this.compute(x ?? this.calib.batch(indices));
    return this.cache.map((c) => copyRows(c.rows, c.shape, indices, (i, n) => new LowbitError('E_ARG', `float-target cache: index ${i} is outside [0, ${n})`)));
  }
  finish(): void {
    this.cache = null;
  }
}

function layersAndSites(setup: QuantSetup<Network>, layers: string[]): { layers: string[]; sites: string[] } {
  const net = setup.net;
  const inputs = new Set(quantizableLayers(net).filter((l) => layers.includes(l.spec.name)).map((l) => l.inputSite));
  return { layers: layers.filter((l) => setup.layers.has(l)), sites: [...inputs].filter((s) => setup.sites.has(s)) };
}

/** NWQ: every layer and site at once, Activation Regularization over block or layer outputs. */
export function networkUnit(setup: QuantSetup<Network>, calib: CalibrationSource, c: ReconstructionConfig): Unit {
  const net = setup.net;
  const blockNames = net.blocks.map((b) => b.name);
  const layerNames = quantizableLayers(net).map((l) => l.spec.name);
  // The float targets: regularised points, plus the logits when an output term is on.
  const points = c.regularize === 'blocks' ? blockNames : c.regularize === 'layers' ? layerNames : [];
  const needLogits = c.outputLoss !== 'none' || c.regularize === 'none';
  const targets = new Provider(calib, c.targets, inferenceBatch(c), c.cacheBytes ?? DEFAULT_CACHE_BYTES, (x) => {
    const r = forward(net, x, c.regularize === 'blocks' ? { tapBlocks: true } : { tapNodes: points });
    const taps = c.regularize === 'blocks' ? r.blocks : r.nodes;
    return [...points.map((p) => taps.get(p)!), r.output];
  });
  const { layers, sites } = layersAndSites(setup, layerNames);
  return {
    name: 'network',
    layers,
    sites,
    prepare: () => targets.prepare(),
    loss(indices, ctx, weights) {
      const x = calib.batch(indices);
      const t = targets.get(indices, x);
      const floatTaps = new Map(points.map((p, i) => [p, t[i]!]));
      const floatLogits = t[t.length - 1]!;
      const r = forward(net, x, {
        ...quantHooks(setup, ctx, c.mixer, weights),
        ...(c.regularize === 'blocks' ? { tapBlocks: true } : { tapNodes: points }),
      });
      const quantTaps = c.regularize === 'blocks' ? r.blocks : r.nodes;
      const terms: Record<string, tf.Scalar> = {};
      if (points.length > 0) terms['ar'] = arLoss(quantTaps, floatTaps, {}, c.reduction ?? 'features');
      if (needLogits) {
        const w = c.regularize === 'none' ? 1 : c.outputWeight;
        terms['output'] = tf.mul(c.outputLoss === 'kl' ? klLogits(r.output, floatLogits) : mse(r.output, floatLogits), w) as tf.Scalar;
      }
      return terms;
    },
    finish: () => targets.finish(),
    cacheNote: () => targets.fellBack,
  };
}

/**
 * A unit that reconstructs one part of the network on its own: `input(x)` gives the part's input
 * (from the quantized prefix), `target(x)` the float network's output of that part, and
 * `run(xin, ctx)` the quantized part itself. Inputs and targets are cached or computed per batch.
 */
function partUnit(
  calib: CalibrationSource,
  c: ReconstructionConfig,
  part: { name: string; layers: string[]; sites: string[] },
  input: (x: tf.Tensor) => tf.Tensor,
  target: (x: tf.Tensor) => tf.Tensor,
  run: (xin: tf.Tensor, ctx: StepContext, weights?: ReadonlyMap<string, tf.Tensor>) => tf.Tensor,
): Unit {
  // inputs and targets share the budget
  const budget = (c.cacheBytes ?? DEFAULT_CACHE_BYTES) / 2;
  const inputs = new Provider(calib, c.targets, inferenceBatch(c), budget, (x) => [input(x)]);
  const targets = new Provider(calib, c.targets, inferenceBatch(c), budget, (x) => [target(x)]);
  return {
    ...part,
    prepare() {
      inputs.prepare();
      targets.prepare();
    },
    loss(indices, ctx, weights) {
      const x = inputs.cached && targets.cached ? undefined : calib.batch(indices);
      const [xin] = inputs.get(indices, x);
      const [t] = targets.get(indices, x);
      return { recon: mse(run(xin!, ctx, weights), t!, c.reduction ?? 'features') };
    },
    finish() {
      inputs.finish();
      targets.finish();
    },
    cacheNote: () => inputs.fellBack ?? targets.fellBack,
  };
}

/**
 * BRECQ / QDrop: one block. Its input is the quantized prefix's output (hard rounding, quantized
 * activations) — taken before the block-input site's own quantizer, so that this unit quantizes
 * (and mixes) it; its target is the float network's block output.
 */
export function blockUnit(setup: QuantSetup<Network>, calib: CalibrationSource, c: ReconstructionConfig, block: string, evalCtx: StepContext): Unit {
  const net = setup.net;
  const io = analyze(net).blockIO.get(block)!;
  const index = net.blocks.findIndex((b) => b.name === block);
  const prev = index > 0 ? net.blocks[index - 1]!.name : null;
  const hard = quantHooks(setup, evalCtx);
  const blockLayers = net.blocks[index]!.nodes.filter((n) => setup.layers.has(n));
  return partUnit(
    calib,
    c,
    { name: block, ...layersAndSites(setup, blockLayers) },
    (x) => (prev ? forward(net, x, { toBlock: prev, weight: hard.weight, activation: (s, v) => (s === io.input ? v : hard.activation!(s, v)) }).output : x),
    (x) => forward(net, x, { toBlock: block }).output,
    (xin, ctx, weights) => forward(net, xin, { fromBlock: block, toBlock: block, ...quantHooks(setup, ctx, c.mixer, weights) }).output,
  );
}

/**
 * AdaRound: one layer. Its input is the value of its input site on the quantized prefix (hard
 * rounding, quantized activations); its target the float layer output on the float input.
 */
export function layerUnit(setup: QuantSetup<Network>, calib: CalibrationSource, c: ReconstructionConfig, layer: string, evalCtx: StepContext): Unit {
  const net = setup.net;
  const node = analyze(net).nodes.get(layer)!;
  const site = node.spec.inputs[0]!;
  const hard = quantHooks(setup, evalCtx);
  return partUnit(
    calib,
    c,
    { name: layer, layers: [layer], sites: setup.sites.has(site) ? [site] : [] },
    (x) =>
      site === 'input'
        ? setup.sites.has('input')
          ? hard.activation!('input', x)
          : x
        : forward(net, x, { toBlock: node.block, ...hard, tapNodes: [site] }).nodes.get(site)!,
    (x) => forward(net, x, { toBlock: node.block, tapNodes: [layer] }).nodes.get(layer)!,
    (xin, ctx, weights) => runNode(net, layer, [xin], { weight: quantHooks(setup, ctx, undefined, weights).weight! }),
  );
}
