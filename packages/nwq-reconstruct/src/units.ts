import * as tf from '@tensorflow/tfjs-core';
import type { QuantSetup, ReplicaGroup, StepContext } from '@lowbit/core';
import { analyze, forward, type Network, quantizableLayers, runNode } from '@lowbit/nn';
import type { CalibrationSource } from './calibration.js';
import type { ReconstructionConfig } from './config.js';
import { quantHooks } from './hooks.js';
import { arLoss, klLogits, mse } from './losses.js';
import { type CacheArena, DEFAULT_CACHE_BYTES, TargetCache } from './target-cache.js';

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
  /** What the caches did that a user should know (after `prepare`): fell back to per-batch targets, stored float16. */
  cacheNote(): string | null;
}

/** Images per pass while a cache is filled (float forwards): `inferenceBatch`, default 64. */
function inferenceBatch(c: ReconstructionConfig): number {
  return c.inferenceBatch ?? 64;
}

/** Where a unit's caches live: the shared arena and group of a data-parallel run, if any. */
export interface CacheContext {
  arena: CacheArena | null;
  group?: ReplicaGroup;
}

function cacheFor(calib: CalibrationSource, c: ReconstructionConfig, budget: number, cx: CacheContext, compute: (x: tf.Tensor) => tf.Tensor[]): TargetCache {
  return new TargetCache(calib, c.targets, inferenceBatch(c), budget, compute, { precision: c.cachePrecision ?? 'auto', arena: cx.arena, ...(cx.group ? { group: cx.group } : {}) });
}

function layersAndSites(setup: QuantSetup<Network>, layers: string[]): { layers: string[]; sites: string[] } {
  const net = setup.net;
  const inputs = new Set(quantizableLayers(net).filter((l) => layers.includes(l.spec.name)).map((l) => l.inputSite));
  return { layers: layers.filter((l) => setup.layers.has(l)), sites: [...inputs].filter((s) => setup.sites.has(s)) };
}

/** NWQ: every layer and site at once, Activation Regularization over block or layer outputs. */
export function networkUnit(setup: QuantSetup<Network>, calib: CalibrationSource, c: ReconstructionConfig, cx: CacheContext = { arena: null }): Unit {
  const net = setup.net;
  const blockNames = net.blocks.map((b) => b.name);
  const layerNames = quantizableLayers(net).map((l) => l.spec.name);
  // The float targets: regularised points, plus the logits when an output term is on.
  const points = c.regularize === 'blocks' ? blockNames : c.regularize === 'layers' ? layerNames : [];
  const needLogits = c.outputLoss !== 'none' || c.regularize === 'none';
  const targets = cacheFor(calib, c, c.cacheBytes ?? DEFAULT_CACHE_BYTES, cx, (x) => {
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
      if (points.length > 0) terms['ar'] = arLoss(quantTaps, floatTaps, {}, c.reduction ?? 'features', c.arWeighting ?? 'sum');
      if (needLogits) {
        const w = c.regularize === 'none' ? 1 : c.outputWeight;
        terms['output'] = tf.mul(c.outputLoss === 'kl' ? klLogits(r.output, floatLogits) : mse(r.output, floatLogits), w) as tf.Scalar;
      }
      return terms;
    },
    finish: () => targets.finish(),
    cacheNote: () => targets.note,
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
  cx: CacheContext,
): Unit {
  // inputs and targets share the budget
  const budget = (c.cacheBytes ?? DEFAULT_CACHE_BYTES) / 2;
  const inputs = cacheFor(calib, c, budget, cx, (x) => [input(x)]);
  const targets = cacheFor(calib, c, budget, cx, (x) => [target(x)]);
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
    cacheNote: () => inputs.note ?? targets.note,
  };
}

/**
 * BRECQ / QDrop: one block. Its input is the quantized prefix's output (hard rounding, quantized
 * activations) — taken before the block-input site's own quantizer, so that this unit quantizes
 * (and mixes) it; its target is the float network's block output.
 */
export function blockUnit(setup: QuantSetup<Network>, calib: CalibrationSource, c: ReconstructionConfig, block: string, evalCtx: StepContext, cx: CacheContext = { arena: null }): Unit {
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
    cx,
  );
}

/**
 * AdaRound: one layer. Its input is the value of its input site on the quantized prefix (hard
 * rounding, quantized activations); its target the float layer output on the float input.
 */
export function layerUnit(setup: QuantSetup<Network>, calib: CalibrationSource, c: ReconstructionConfig, layer: string, evalCtx: StepContext, cx: CacheContext = { arena: null }): Unit {
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
    cx,
  );
}
