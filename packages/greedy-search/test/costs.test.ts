import { LowbitError } from '@lowbit/core';
import { resnetFmSpec } from '@lowbit/models';
import { bitOps, layerCosts, uniformPolicy, weightBits } from '@lowbit/nn';
import { describe, expect, it } from 'vitest';
import { bitOpsCost, bitsToKB, kbToBits, sizeCost } from '../src/index.js';
import { TINY, tinySpec } from './fixtures.js';

/** resnet-fm's quantizable layers counted from the architecture: [outH, outW, kernel, cin, cout]. */
const RESNET_FM: Record<string, [number, number, number, number, number]> = {
  'stem/conv': [28, 28, 3, 1, 16],
  'block1/conv1': [28, 28, 3, 16, 16],
  'block1/conv2': [28, 28, 3, 16, 16],
  'block2/conv1': [14, 14, 3, 16, 32],
  'block2/conv2': [14, 14, 3, 32, 32],
  'block2/proj': [14, 14, 1, 16, 32],
  'block3/conv1': [7, 7, 3, 32, 64],
  'block3/conv2': [7, 7, 3, 64, 64],
  'block3/proj': [7, 7, 1, 32, 64],
  'head/fc': [1, 1, 1, 64, 10],
};
const handMacs = ([h, w, k, cin, cout]: [number, number, number, number, number]) => h * w * k * k * cin * cout;
const handWeights = ([, , k, cin, cout]: [number, number, number, number, number]) => k * k * cin * cout;

describe('bitOpsCost', () => {
  it('equals a hand count on a tiny conv/depthwise/dense network', () => {
    const spec = tinySpec();
    const cost = bitOpsCost(spec);
    expect(cost.kind).toBe('bitops');
    const policy = { 'stem/conv': { w: 8, a: 8 }, 'body/dw': { w: 3, a: 4 }, 'body/pw': { w: 2, a: 5 }, 'head/fc': { w: 8, a: 8 } };
    const hand = 64 * 4608 + 12 * 576 + 10 * 512 + 64 * 24;
    expect(TINY['stem/conv'].macs + TINY['body/dw'].macs + TINY['body/pw'].macs + TINY['head/fc'].macs).toBe(4608 + 576 + 512 + 24);
    expect(cost(policy)).toBe(hand);
    expect(cost(policy)).toBe(bitOps(spec, policy));
    // Layers the policy does not name count at 32/32.
    expect(cost({ 'body/dw': { w: 3, a: 4 } })).toBe(1024 * (4608 + 512 + 24) + 12 * 576);
    expect(cost(uniformPolicy(spec, { w: 4, a: 4 }))).toBe(64 * 4608 + 16 * (576 + 512) + 64 * 24);
  });

  it('on resnet-fm equals Σ b_w·b_a·MACs counted from the architecture', () => {
    const spec = resnetFmSpec();
    expect(layerCosts(spec).map((l) => l.name)).toEqual(Object.keys(RESNET_FM));
    const policy = uniformPolicy(spec, { w: 4, a: 3 });
    const names = Object.keys(RESNET_FM);
    const hand = names.reduce((s, n, i) => s + (i === 0 || i === names.length - 1 ? 64 : 12) * handMacs(RESNET_FM[n]!), 0);
    expect(hand).toBe(64 * (112896 + 640) + 12 * (2 * 1806336 + 903168 + 1806336 + 100352 + 903168 + 1806336 + 100352));
    expect(bitOpsCost(spec)(policy)).toBe(hand);
    expect(bitOpsCost(spec)(policy)).toBe(bitOps(spec, policy));
    const independent = layerCosts(spec).reduce((s, l) => s + policy[l.name]!.w * policy[l.name]!.a * l.macs, 0);
    expect(bitOpsCost(spec)(policy)).toBe(independent);
  });

  it('rejects a policy naming a layer the network does not have', () => {
    const cost = bitOpsCost(tinySpec());
    expect(() => cost({ 'block9/conv': { w: 4, a: 4 } })).toThrow(LowbitError);
    expect(() => cost({ 'block9/conv': { w: 4, a: 4 } })).toThrow(/'block9\/conv'.*not a quantizable layer of 'tiny'/);
  });
});

describe('sizeCost', () => {
  it('equals a hand count of weight bits, with biases at 32 bits on request', () => {
    const spec = tinySpec();
    const policy = { 'stem/conv': { w: 8, a: 8 }, 'body/dw': { w: 3, a: 4 }, 'body/pw': { w: 2, a: 5 }, 'head/fc': { w: 8, a: 2 } };
    const hand = 8 * 72 + 3 * 36 + 2 * 32 + 8 * 24;
    expect(TINY['stem/conv'].weights + TINY['body/dw'].weights + TINY['body/pw'].weights + TINY['head/fc'].weights).toBe(72 + 36 + 32 + 24);
    expect(sizeCost(spec)(policy)).toBe(hand);
    expect(sizeCost(spec).kind).toBe('size');
    expect(sizeCost(spec, { withExtras: true })(policy)).toBe(hand + 32 * 3); // the dense bias
    expect(sizeCost(spec)(policy)).toBe(weightBits(spec, policy));
    // Activation bits do not matter.
    expect(sizeCost(spec)({ ...policy, 'body/pw': { w: 2, a: 8 } })).toBe(hand);
  });

  it('on resnet-fm equals Σ b_w·weights counted from the architecture', () => {
    const spec = resnetFmSpec();
    const policy = uniformPolicy(spec, { w: 3, a: 4 });
    const names = Object.keys(RESNET_FM);
    const hand = names.reduce((s, n, i) => s + (i === 0 || i === names.length - 1 ? 8 : 3) * handWeights(RESNET_FM[n]!), 0);
    expect(sizeCost(spec)(policy)).toBe(hand);
    expect(sizeCost(spec, { withExtras: true })(policy)).toBe(hand + 32 * 10);
    expect(sizeCost(spec)({})).toBe(32 * names.reduce((s, n) => s + handWeights(RESNET_FM[n]!), 0));
  });

  it('converts bits to KB (1,024 bytes) and back', () => {
    expect(bitsToKB(8192)).toBe(1);
    expect(bitsToKB(32 * 77_000)).toBeCloseTo(300.78125, 10);
    expect(kbToBits(bitsToKB(123_456))).toBeCloseTo(123_456, 9);
  });
});
