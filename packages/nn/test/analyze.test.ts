import { LowbitError } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { activationSites, analyze, bitOps, countParams, disposeNetwork, layerCosts, NetworkBuilder, quantizableLayers, uniformPolicy, weightBits } from '../src/index.js';
import { tinyResNet, tinyResNetSpec, wasm } from './fixtures.js';

beforeAll(wasm);

describe('analyze: shapes, MACs, parameter counts', () => {
  it('infers shapes through strides and padding', () => {
    const info = analyze(tinyResNetSpec());
    expect(info.nodes.get('stem/conv')!.outShape).toEqual([9, 9, 4]);
    expect(info.nodes.get('b2/conv1')!.outShape).toEqual([5, 5, 6]);
    expect(info.nodes.get('b2/proj')!.outShape).toEqual([5, 5, 6]);
    expect(info.outputShape).toEqual([3]);
    expect(info.blockIO.get('b2')).toMatchObject({ input: 'b1/out', output: 'b2/out' });
  });

  it('counts MACs per layer by hand', () => {
    const costs = Object.fromEntries(layerCosts(tinyResNetSpec()).map((c) => [c.name, c.macs]));
    expect(costs['stem/conv']).toBe(9 * 9 * 3 * 3 * 2 * 4);
    expect(costs['b2/conv1']).toBe(5 * 5 * 3 * 3 * 4 * 6);
    expect(costs['b2/dw']).toBe(5 * 5 * 3 * 3 * 6);
    expect(costs['b2/proj']).toBe(5 * 5 * 4 * 6);
    expect(costs['head/fc']).toBe(6 * 3);
  });

  it('counts trainable parameters (kernels, biases, BN gamma/beta)', () => {
    const net = tinyResNet();
    const kernels = 3 * 3 * 2 * 4 + 2 * (3 * 3 * 4 * 4) + 3 * 3 * 4 * 6 + 3 * 3 * 6 + 6 * 6 + 4 * 6 + 6 * 3;
    const bnChannels = 4 + 4 + 4 + 6 + 6 + 6 + 6;
    expect(countParams(net)).toBe(kernels + 3 + 2 * bnChannels);
    expect(countParams(net, 'all')).toBe(kernels + 3 + 4 * bnChannels);
    disposeNetwork(net);
  });

  it('BitOps and weight bits of a uniform policy equal the hand count', () => {
    const spec = tinyResNetSpec();
    const policy = uniformPolicy(spec, { w: 4, a: 3 });
    const layers = layerCosts(spec);
    expect(policy['stem/conv']).toEqual({ w: 8, a: 8 });
    expect(policy['head/fc']).toEqual({ w: 8, a: 8 });
    const inner = layers.slice(1, -1);
    const expected = 64 * layers[0]!.macs + 64 * layers[layers.length - 1]!.macs + inner.reduce((s, l) => s + 12 * l.macs, 0);
    expect(bitOps(spec, policy)).toBe(expected);
    expect(weightBits(spec, policy)).toBe(8 * (72 + 18) + 4 * inner.reduce((s, l) => s + l.weights, 0));
    expect(bitOps(spec, {})).toBe(32 * 32 * layers.reduce((s, l) => s + l.macs, 0));
  });

  it('finds activation sites once per value, with non-negativity', () => {
    const sites = activationSites(tinyResNetSpec());
    expect(sites.map((s) => s.name)).toEqual(['input', 'stem/relu', 'b1/relu1', 'b1/out', 'b2/relu1', 'b2/relu2', 'head/gap']);
    const byName = Object.fromEntries(sites.map((s) => [s.name, s]));
    expect(byName['input']!.nonNegative).toBe(false);
    expect(byName['b1/out']!.consumers).toEqual(['b2/conv1', 'b2/proj']);
    expect(byName['head/gap']!.nonNegative).toBe(true);
    expect(quantizableLayers(tinyResNetSpec()).map((l) => l.inputSite)).toContain('b2/relu2');
  });

  it('rejects malformed specs with the node named', () => {
    const bad1 = new NetworkBuilder('bad', [4, 4, 1]).block('a', (b, x) => b.relu('r', x)).build();
    bad1.nodes[0]!.inputs = ['nope'];
    expect(() => analyze(bad1)).toThrow(/node 'a\/r': input 'nope'/);
    const bad2 = new NetworkBuilder('bad', [4, 4, 1]).block('a', (b, x) => b.dense('fc', x, { units: 2 })).build();
    expect(() => analyze(bad2)).toThrow(LowbitError);
    expect(() => analyze(bad2)).toThrow(/dense 'a\/fc': expected a flat/);
    const bad3 = new NetworkBuilder('bad', [4, 4, 1])
      .block('a', (b, x) => b.relu('r', x))
      .block('b', (b, x) => b.relu('r', x))
      .block('c', (b) => b.add2('add', 'a/r', 'b/r'))
      .build();
    expect(() => analyze(bad3)).toThrow(/reads 'a\/r', which is neither in the block nor the previous block's output 'b\/r'/);
    const bad4 = tinyResNetSpec();
    bad4.blocks[0]!.nodes.pop();
    expect(() => analyze(bad4)).toThrow(/belongs to no block/);
  });
});
