import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend, maxRelError } from '../src/index.js';

// fused conv2d / depthwiseConv2d with a linear activation: their customGrad calls
// Conv2DBackpropFilter and DepthwiseConv2dNative{BackpropFilter,BackpropInput} directly
function grads(): Float32Array[] {
  const x = tf.tensor4d(Array.from({ length: 2 * 9 * 9 * 3 }, (_, i) => Math.sin(i)), [2, 9, 9, 3]);
  const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
  const d = tf.tensor4d(Array.from({ length: 3 * 3 * 4 * 1 }, (_, i) => Math.sin(2 * i)), [3, 3, 4, 1]);
  const b = tf.tensor1d([0.1, -0.2, 0.3, 0.05]);
  const f = (...[xx, ww, dd]: tf.Tensor[]) => {
    const h = tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ww as tf.Tensor4D, strides: 2, pad: 'same', bias: b });
    return tf.sum(tf.square(tf.fused.depthwiseConv2d({ x: h, filter: dd as tf.Tensor4D, strides: 1, pad: 'valid' })));
  };
  const g = tf.grads(f)([x, w, d]);
  const out = g.map((t) => t.dataSync().slice() as Float32Array);
  tf.dispose([x, w, d, b, ...g]);
  return out;
}

describe('wasm kernels for tfjs fused-conv gradients', () => {
  it("a user's own model.fit works on wasm after initBackend, with the cpu backend's gradients", async () => {
    await initBackend({ backend: 'cpu' });
    const reference = grads();
    await initBackend({ backend: 'wasm', fallback: false });
    expect(tf.getBackend()).toBe('wasm');
    const got = grads();
    for (const [i, g] of got.entries()) expect(maxRelError(g, reference[i]!), `gradient ${i}`).toBeLessThan(1e-4);
    const m = tfjs.sequential({ layers: [tfjs.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3 }), tfjs.layers.depthwiseConv2d({ kernelSize: 3 }), tfjs.layers.flatten(), tfjs.layers.dense({ units: 2 })] });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const xs = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 1);
    const ys = tf.randomUniform([4, 2], 0, 1, 'float32', 2);
    const before = tf.memory().numTensors;
    const h = await m.fit(xs, ys, { epochs: 2, verbose: 0 });
    expect(h.history['loss']!.every((l) => Number.isFinite(l as number))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
    m.dispose();
  }, 60_000);
});
