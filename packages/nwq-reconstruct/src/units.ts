import * as tf from '@tensorflow/tfjs-core';
import { gatherRows, type QuantSetup, type StepContext } from '@lowbit/core';
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
  /** Loss terms of one batch, under the gradient tape. */
  loss(indices: Int32Array, ctx: StepContext): Record<string, tf.Scalar>;
  /** Frees caches. */
  finish(): void;
}

/** Runs `fn` over the calibration set in batches and stacks the per-example results (kept tensors). */
function precompute(calib: CalibrationSource, batch: number, fn: (x: tf.Tensor) => tf.Tensor[]): tf.Tensor[] {
  const parts: tf.Tensor[][] = [];
  for (let i = 0; i < calib.size; i += batch) {
    const idx = Int32Array.from({ length: Math.min(batch, calib.size - i) }, (_, j) => i + j);
    parts.push(
      tf.tidy(() => {
        const x = calib.batch(idx);
        return fn(x);
      }),
    );
  }
  const out = parts[0]!.map((_, k) => tf.concat(parts.map((p) => p[k]!), 0));
  for (const p of parts) tf.dispose(p);
  return out;
}

/** A float-target or input provider: from a cache (gathered) or computed per batch. */
class Provider {
  private cache: tf.Tensor[] | null = null;
  constructor(
    private readonly calib: CalibrationSource,
    private readonly mode: 'per-batch' | 'cache',
    private readonly compute: (x: tf.Tensor) => tf.Tensor[],
  ) {}
  prepare(): void {
    if (this.mode === 'cache') this.cache = precompute(this.calib, 64, this.compute);
  }
  /** Values for a batch (tensors owned by the caller's tidy scope). */
  get(indices: Int32Array, x?: tf.Tensor): tf.Tensor[] {
    if (this.cache) return this.cache.map((c) => gatherRows(c, indices));
    return this.compute(x ?? this.calib.batch(indices));
  }
  finish(): void {
    if (this.cache) tf.dispose(this.cache);
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
  const targets = new Provider(calib, c.targets, (x) => {
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
    loss(indices, ctx) {
      const x = calib.batch(indices);
      const t = targets.get(indices, x);
      const floatTaps = new Map(points.map((p, i) => [p, t[i]!]));
      const floatLogits = t[t.length - 1]!;
      const r = forward(net, x, {
        ...quantHooks(setup, ctx, c.mixer),
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
  run: (xin: tf.Tensor, ctx: StepContext) => tf.Tensor,
): Unit {
  const inputs = new Provider(calib, c.targets, (x) => [input(x)]);
  const targets = new Provider(calib, c.targets, (x) => [target(x)]);
  return {
    ...part,
    prepare() {
      inputs.prepare();
      targets.prepare();
    },
    loss(indices, ctx) {
      const x = c.targets === 'cache' ? undefined : calib.batch(indices);
      const [xin] = inputs.get(indices, x);
      const [t] = targets.get(indices, x);
      return { recon: mse(run(xin!, ctx), t!, c.reduction ?? 'features') };
    },
    finish() {
      inputs.finish();
      targets.finish();
    },
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
    (xin, ctx) => forward(net, xin, { fromBlock: block, toBlock: block, ...quantHooks(setup, ctx, c.mixer) }).output,
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
    (xin, ctx) => runNode(net, layer, [xin], { weight: quantHooks(setup, ctx).weight! }),
  );
}
