import { LowbitError } from '@lowbit/core';
import { type ActivationSite, activationSites, type LayerInfo, type NetworkSpec, quantizableLayers } from '@lowbit/nn';

/** What a knob sets: the weight bits (`w`) of its layers, or the activation bits (`a`) they read. */
export type KnobKind = 'weight' | 'activation';

/**
 * One searchable (or fixed) bit-width decision.
 *
 * A weight knob sets `w` of one quantizable layer. An activation knob sets `a` of every layer
 * that reads one activation site: the quantizer sits once per value, so all consumers of a site
 * share its bits and move together. A knob with a single candidate is fixed — never moved by the
 * search, but part of every policy and of its cost.
 */
export interface Knob {
  /** Unique id: `w:<layer>` for weight knobs, `a:<site>` for activation knobs (from {@link knobsFor}). */
  id: string;
  kind: KnobKind;
  /** The layers whose `w` (weight knob) or `a` (activation knob) this knob sets. */
  layers: string[];
  /** Allowed bit-widths, ascending and distinct; the search starts at the last (highest) one. */
  candidates: number[];
}

/** Candidate bit-widths per layer and per activation site, for {@link knobsFor}. */
export interface KnobCandidates {
  /** Weight bit candidates of a quantizable layer; `layers` are all quantizable layers in node order. */
  weightCandidates(layer: LayerInfo, layers: readonly LayerInfo[]): number[];
  /** Activation bit candidates of a site; `consumers` are the quantizable layers that read it. */
  activationCandidates(site: ActivationSite, consumers: readonly LayerInfo[], layers: readonly LayerInfo[]): number[];
}

/** Checks a candidate list (integers in [1, 32], non-empty) and returns it sorted ascending without duplicates. */
export function normalizeCandidates(candidates: readonly number[], what: string): number[] {
  if (!Array.isArray(candidates) || candidates.length === 0) {
    throw new LowbitError('E_KNOB', `${what}: expected at least one candidate bit-width, got ${JSON.stringify(candidates)}`);
  }
  for (const b of candidates) {
    if (!Number.isInteger(b) || b < 1 || b > 32) {
      throw new LowbitError('E_KNOB', `${what}: candidate bit-widths must be integers in [1, 32], got ${JSON.stringify(b)}`);
    }
  }
  return [...new Set(candidates)].sort((x, y) => x - y);
}

/**
 * The knobs of a network: one weight knob per quantizable layer (node order), then one
 * activation knob per activation site (node order), with the candidates the callbacks give.
 * Return a single candidate to fix a knob (e.g. `[8]`, or `[32]` to keep a value in float).
 */
export function knobsFor(spec: NetworkSpec, o: KnobCandidates): Knob[] {
  const layers = quantizableLayers(spec);
  const byName = new Map(layers.map((l) => [l.spec.name, l]));
  const knobs: Knob[] = layers.map((l) => ({
    id: `w:${l.spec.name}`,
    kind: 'weight',
    layers: [l.spec.name],
    candidates: normalizeCandidates(o.weightCandidates(l, layers), `weight candidates of layer '${l.spec.name}'`),
  }));
  for (const s of activationSites(spec)) {
    const consumers = s.consumers.map((c) => byName.get(c)!);
    knobs.push({
      id: `a:${s.name}`,
      kind: 'activation',
      layers: s.consumers.slice(),
      candidates: normalizeCandidates(o.activationCandidates(s, consumers, layers), `activation candidates of site '${s.name}'`),
    });
  }
  return knobs;
}

/** Options of {@link defaultKnobs}. */
export interface DefaultKnobOptions {
  /** Candidate bit-widths of searchable knobs (default `[2, 3, 4, 5, 6]`, the paper's). */
  bits?: number[];
  /** Lowest weight bit-width of depthwise convolutions (default 3). */
  depthwiseMin?: number;
  /** Bits of the first and last quantizable layer, weights and input activation (default 8). */
  fixedBits?: number;
  /**
   * Bits counted for the network input when it feeds only the first layer (default 32: the input
   * is not quantized, as in `prepareQuantized` without `quantizeInput`). Pass 8 to count the first
   * layer at 8/8, as `@lowbit/nn`'s `uniformPolicy` does.
   */
  inputBits?: number;
}

/**
 * The paper's search space: the first and the last quantizable layer fixed at `fixedBits` (8)
 * for weights and input activation; depthwise weights from `depthwiseMin` (3); every other
 * weight and activation knob over `bits` ({2, …, 6}). The network input is not quantized (its
 * site is fixed at `inputBits`, 32) when only the first layer reads it. A site read by a fixed
 * layer is fixed at `fixedBits`, since all of a site's consumers share its bits.
 */
export function defaultKnobs(spec: NetworkSpec, o: DefaultKnobOptions = {}): Knob[] {
  const bits = normalizeCandidates(o.bits ?? [2, 3, 4, 5, 6], 'defaultKnobs bits');
  const depthwiseMin = o.depthwiseMin ?? 3;
  const fixed = normalizeCandidates([o.fixedBits ?? 8], 'defaultKnobs fixedBits');
  const input = normalizeCandidates([o.inputBits ?? 32], 'defaultKnobs inputBits');
  const depthwise = bits.filter((b) => b >= depthwiseMin);
  if (depthwise.length === 0) {
    throw new LowbitError('E_KNOB', `defaultKnobs: no candidate in bits ${JSON.stringify(bits)} is ≥ depthwiseMin ${depthwiseMin}`);
  }
  const isFixed = (l: LayerInfo, all: readonly LayerInfo[]) => l.position === 0 || l.position === all.length - 1;
  return knobsFor(spec, {
    weightCandidates: (l, all) => (isFixed(l, all) ? fixed : l.spec.op === 'depthwiseConv2d' ? depthwise : bits),
    activationCandidates: (s, consumers, all) => {
      if (s.isInput && consumers.every((c) => c.position === 0)) return input;
      return consumers.some((c) => isFixed(c, all)) ? fixed : bits;
    },
  });
}

/**
 * Checks a knob list: ids unique and non-empty, kinds known, layers listed, candidates ascending
 * distinct integers in [1, 32], and no layer set by two weight knobs or by two activation knobs.
 */
export function validateKnobs(knobs: readonly Knob[]): void {
  if (!Array.isArray(knobs as unknown)) throw new LowbitError('E_KNOB', `expected an array of knobs, got ${typeof knobs}`);
  const ids = new Set<string>();
  const owner = { weight: new Map<string, string>(), activation: new Map<string, string>() };
  for (const k of knobs) {
    if (typeof k.id !== 'string' || k.id === '') throw new LowbitError('E_KNOB', `knob ids must be non-empty strings, got ${JSON.stringify(k.id)}`);
    if (ids.has(k.id)) throw new LowbitError('E_KNOB', `knob id '${k.id}' appears twice`);
    ids.add(k.id);
    if (k.kind !== 'weight' && k.kind !== 'activation') {
      throw new LowbitError('E_KNOB', `knob '${k.id}': kind must be 'weight' or 'activation', got ${JSON.stringify(k.kind)}`);
    }
    if (!Array.isArray(k.layers) || k.layers.length === 0) throw new LowbitError('E_KNOB', `knob '${k.id}' sets no layer`);
    if (k.kind === 'weight' && k.layers.length !== 1) {
      throw new LowbitError('E_KNOB', `weight knob '${k.id}' must set exactly one layer, got ${k.layers.length}`);
    }
    const sorted = normalizeCandidates(k.candidates, `knob '${k.id}'`);
    if (sorted.length !== k.candidates.length || sorted.some((b, i) => b !== k.candidates[i])) {
      throw new LowbitError('E_KNOB', `knob '${k.id}': candidates must be ascending and distinct, got ${JSON.stringify(k.candidates)}`);
    }
    for (const layer of k.layers) {
      const prev = owner[k.kind].get(layer);
      if (prev !== undefined) throw new LowbitError('E_KNOB', `layer '${layer}' has two ${k.kind} knobs: '${prev}' and '${k.id}'`);
      owner[k.kind].set(layer, k.id);
    }
  }
}
