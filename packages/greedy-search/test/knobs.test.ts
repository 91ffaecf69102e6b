import { LowbitError } from '@lowbit/core';
import { mbv2FmSpec, resnetFmSpec } from '@lowbit/models';
import { activationSites, bitOps, layerCosts, quantizableLayers, uniformPolicy } from '@lowbit/nn';
import { describe, expect, it } from 'vitest';
import {
  bitOpsCost,
  defaultKnobs,
  highestSetting,
  type Knob,
  knobsFor,
  lowestSetting,
  policyFromKnobs,
  uniformSetting,
  validateKnobs,
} from '../src/index.js';
import { thrownCode, tinySpec } from './fixtures.js';

const byId = (knobs: Knob[]) => new Map(knobs.map((k) => [k.id, k]));
const SEARCH = [2, 3, 4, 5, 6];

describe('defaultKnobs', () => {
  it('resnet-fm: first/last fixed at 8/8, input unquantized, shared sites form one knob', () => {
    const spec = resnetFmSpec();
    const knobs = defaultKnobs(spec);
    validateKnobs(knobs);
    const k = byId(knobs);
    const layers = quantizableLayers(spec).map((l) => l.spec.name);
    expect(knobs.filter((x) => x.kind === 'weight').map((x) => x.layers[0])).toEqual(layers);
    expect(k.get('w:stem/conv')!.candidates).toEqual([8]);
    expect(k.get('w:head/fc')!.candidates).toEqual([8]);
    for (const name of layers.slice(1, -1)) expect(k.get(`w:${name}`)!.candidates).toEqual(SEARCH);
    expect(k.get('a:input')).toMatchObject({ layers: ['stem/conv'], candidates: [32] });
    expect(k.get('a:head/gap')).toMatchObject({ layers: ['head/fc'], candidates: [8] });
    // The output of each residual stage feeds both the next stage's conv1 and its projection: one knob.
    expect(k.get('a:block1/out')).toMatchObject({ layers: ['block2/conv1', 'block2/proj'], candidates: SEARCH });
    expect(k.get('a:block2/out')).toMatchObject({ layers: ['block3/conv1', 'block3/proj'], candidates: SEARCH });
    const acts = knobs.filter((x) => x.kind === 'activation');
    expect(acts.map((x) => x.id.slice(2))).toEqual(activationSites(spec).map((s) => s.name));
    expect(acts.filter((x) => x.candidates.length > 1)).toHaveLength(6);
    // Every layer gets exactly one weight and one activation knob.
    for (const name of layers) {
      expect(knobs.filter((x) => x.kind === 'weight' && x.layers.includes(name))).toHaveLength(1);
      expect(knobs.filter((x) => x.kind === 'activation' && x.layers.includes(name))).toHaveLength(1);
    }
    expect(defaultKnobs(spec, { inputBits: 8 }).find((x) => x.id === 'a:input')!.candidates).toEqual([8]);
  });

  it('mbv2-fm: depthwise weights from 3, first/last fixed, shared policy bits per site', () => {
    const spec = mbv2FmSpec();
    const knobs = defaultKnobs(spec);
    validateKnobs(knobs);
    const k = byId(knobs);
    const layers = quantizableLayers(spec);
    expect(layers[0]!.spec.name).toBe('stem/conv');
    expect(layers[layers.length - 1]!.spec.name).toBe('head/fc');
    for (const l of layers.slice(1, -1)) {
      expect(k.get(`w:${l.spec.name}`)!.candidates).toEqual(l.spec.op === 'depthwiseConv2d' ? [3, 4, 5, 6] : SEARCH);
    }
    expect(layers.filter((l) => l.spec.op === 'depthwiseConv2d')).toHaveLength(5);
    expect(k.get('w:stem/conv')!.candidates).toEqual([8]);
    expect(k.get('w:head/fc')!.candidates).toEqual([8]);
    expect(k.get('a:ir1/dw_relu')!.candidates).toEqual(SEARCH); // depthwise min applies to weights only
    expect(k.get('a:head/gap')!.candidates).toEqual([8]);
    expect(defaultKnobs(spec, { depthwiseMin: 5, bits: [6, 2, 4, 4] }).find((x) => x.id === 'w:ir2/dw')!.candidates).toEqual([6]);
    expect(() => defaultKnobs(spec, { depthwiseMin: 7 })).toThrow(/no candidate .* ≥ depthwiseMin 7/);
  });

  it('the uniform 4-bit setting costs what uniformPolicy costs once the input counts at 8 bits', () => {
    for (const spec of [resnetFmSpec(), mbv2FmSpec()]) {
      const cost = bitOpsCost(spec);
      const at8 = defaultKnobs(spec, { inputBits: 8 });
      expect(cost(policyFromKnobs(at8, uniformSetting(at8, 4)))).toBe(bitOps(spec, uniformPolicy(spec, { w: 4, a: 4 })));
      // By default the first layer reads the float input: 8·32 instead of 8·8 BitOps per MAC.
      const knobs = defaultKnobs(spec);
      const first = layerCosts(spec)[0]!;
      expect(cost(policyFromKnobs(knobs, uniformSetting(knobs, 4))) - bitOps(spec, uniformPolicy(spec, { w: 4, a: 4 }))).toBe((32 - 8) * 8 * first.macs);
    }
  });
});

describe('knobsFor', () => {
  it('builds weight knobs in layer order, then activation knobs in site order, candidates sorted', () => {
    const knobs = knobsFor(tinySpec(), {
      weightCandidates: (l, all) => (l.position === all.length - 1 ? [8] : [6, 4, 4, 2]),
      activationCandidates: (s, consumers) => (s.isInput ? [32] : consumers.map((c) => c.position + 1)),
    });
    expect(knobs.map((k) => k.id)).toEqual(['w:stem/conv', 'w:body/dw', 'w:body/pw', 'w:head/fc', 'a:input', 'a:stem/relu', 'a:body/dw_relu', 'a:head/gap']);
    expect(knobs[0]!.candidates).toEqual([2, 4, 6]);
    expect(knobs[3]!.candidates).toEqual([8]);
    expect(knobs.slice(4).map((k) => k.candidates)).toEqual([[32], [2], [3], [4]]);
    expect(knobs.slice(4).map((k) => k.layers)).toEqual([['stem/conv'], ['body/dw'], ['body/pw'], ['head/fc']]);
  });

  it('rejects empty or out-of-range candidates', () => {
    const spec = tinySpec();
    const ok = () => [4];
    expect(() => knobsFor(spec, { weightCandidates: () => [], activationCandidates: ok })).toThrow(/weight candidates of layer 'stem\/conv': expected at least one/);
    expect(() => knobsFor(spec, { weightCandidates: ok, activationCandidates: () => [4, 33] })).toThrow(/integers in \[1, 32\], got 33/);
    expect(() => knobsFor(spec, { weightCandidates: () => [2.5], activationCandidates: ok })).toThrow(LowbitError);
  });
});

describe('validateKnobs', () => {
  const w = (id: string, layer: string, candidates = [2, 4]): Knob => ({ id, kind: 'weight', layers: [layer], candidates });
  it('rejects duplicate ids, unsorted candidates, two weight knobs on one layer, unknown kinds', () => {
    expect(() => validateKnobs([w('a', 'x'), w('a', 'y')])).toThrow(/knob id 'a' appears twice/);
    expect(() => validateKnobs([w('a', 'x', [4, 2])])).toThrow(/ascending and distinct, got \[4,2\]/);
    expect(() => validateKnobs([w('a', 'x', [2, 2])])).toThrow(/ascending and distinct/);
    expect(() => validateKnobs([w('a', 'x'), w('b', 'x')])).toThrow(/layer 'x' has two weight knobs: 'a' and 'b'/);
    expect(() => validateKnobs([{ id: 'a', kind: 'bias' as 'weight', layers: ['x'], candidates: [2] }])).toThrow(/kind must be/);
    expect(() => validateKnobs([{ id: 'a', kind: 'weight', layers: ['x', 'y'], candidates: [2] }])).toThrow(/exactly one layer, got 2/);
    expect(() => validateKnobs([{ id: 'a', kind: 'activation', layers: [], candidates: [2] }])).toThrow(/sets no layer/);
    // A weight and an activation knob on the same layer are fine.
    expect(() => validateKnobs([w('a', 'x'), { id: 'b', kind: 'activation', layers: ['x', 'y'], candidates: [4] }])).not.toThrow();
  });
});

describe('settings and policies', () => {
  const knobs: Knob[] = [
    { id: 'w:x', kind: 'weight', layers: ['x'], candidates: [2, 4, 6] },
    { id: 'w:y', kind: 'weight', layers: ['y'], candidates: [3, 5] },
    { id: 'a:s', kind: 'activation', layers: ['x', 'y'], candidates: [2, 4] },
    { id: 'a:t', kind: 'activation', layers: ['z'], candidates: [8] },
  ];

  it('policyFromKnobs fills w/a per layer, 32 where no knob, highest candidate where unset', () => {
    expect(policyFromKnobs(knobs, { 'w:x': 2, 'a:s': 2 })).toEqual({ x: { w: 2, a: 2 }, y: { w: 5, a: 2 }, z: { w: 32, a: 8 } });
    expect(policyFromKnobs(knobs)).toEqual(policyFromKnobs(knobs, highestSetting(knobs)));
    expect(policyFromKnobs(knobs, lowestSetting(knobs))).toEqual({ x: { w: 2, a: 2 }, y: { w: 3, a: 2 }, z: { w: 32, a: 8 } });
  });

  it('policyFromKnobs rejects unknown knobs and non-candidate bits', () => {
    expect(() => policyFromKnobs(knobs, { 'w:q': 4 })).toThrow(/knob 'w:q', which is not among the 4 knobs/);
    expect(() => policyFromKnobs(knobs, { 'w:y': 4 })).toThrow(/knob 'w:y' 4 bits; expected one of its candidates \[3,5\]/);
    expect(thrownCode(() => policyFromKnobs(knobs, { 'w:y': 4 }))).toBe('E_SETTING');
    expect(thrownCode(() => validateKnobs([{ id: 'a', kind: 'weight', layers: ['x'], candidates: [0] }]))).toBe('E_KNOB');
  });

  it('uniformSetting takes the largest candidate ≤ bits, else the lowest', () => {
    expect(uniformSetting(knobs, 4)).toEqual({ 'w:x': 4, 'w:y': 3, 'a:s': 4, 'a:t': 8 });
    expect(uniformSetting(knobs, 5)).toEqual({ 'w:x': 4, 'w:y': 5, 'a:s': 4, 'a:t': 8 });
    expect(uniformSetting(knobs, 1)).toEqual(lowestSetting(knobs));
    expect(uniformSetting(knobs, 32)).toEqual(highestSetting(knobs));
  });
});
