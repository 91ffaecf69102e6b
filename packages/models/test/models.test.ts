import { initBackend } from '@lowbit/core';
import { analyze, countParams, createNetwork, disposeNetwork, totalMacs } from '@lowbit/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import { mbv2FmSpec, referenceSpec, resnetFmSpec } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

describe('reference architectures', () => {
  it('resnet-fm has 77,754 trainable parameters and named blocks', () => {
    const net = createNetwork(resnetFmSpec());
    expect(countParams(net)).toBe(77_754);
    expect(net.blocks.map((b) => b.name)).toEqual(['stem', 'block1', 'block2', 'block3', 'head']);
    expect(analyze(net).outputShape).toEqual([10]);
    expect(net.nodes.filter((n) => n.op === 'conv2d').every((n) => n.op === 'conv2d' && !n.useBias)).toBe(true);
    disposeNetwork(net);
  });

  it('mbv2-fm has 32,234 trainable parameters; the t=1 block has no expansion conv', () => {
    const net = createNetwork(mbv2FmSpec());
    expect(countParams(net)).toBe(32_234);
    expect(net.blocks.map((b) => b.name)).toEqual(['stem', 'ir1', 'ir2', 'ir3', 'ir4', 'ir5', 'last', 'head']);
    expect(net.nodes.some((n) => n.name === 'ir1/expand')).toBe(false);
    expect(net.nodes.filter((n) => n.op === 'add').map((n) => n.name)).toEqual(['ir1/add', 'ir3/add', 'ir5/add']);
    disposeNetwork(net);
  });

  it('MAC counts are the hand-computed totals', () => {
    // resnet-fm: stem 28²·9·16; block1 2·28²·9·16²; block2 14²·9·16·32 + 14²·9·32² + 14²·16·32;
    // block3 7²·9·32·64 + 7²·9·64² + 7²·32·64; fc 640
    const r = 784 * 144 + 2 * 784 * 2304 + 196 * 4608 + 196 * 9216 + 196 * 512 + 49 * 18432 + 49 * 36864 + 49 * 2048 + 640;
    expect(totalMacs(resnetFmSpec())).toBe(r);
    expect(totalMacs(mbv2FmSpec())).toBeGreaterThan(0);
  });

  it('unknown names are a clear error', () => {
    expect(() => referenceSpec('vgg')).toThrow(/unknown reference model 'vgg' \(expected one of: resnet-fm, mbv2-fm\)/);
  });
});
