import * as tf from '@tensorflow/tfjs-core';
import { kernels, kernelTensor, tensorBytes, tensorValues } from './kernels/runtime.js';
import type { Rng } from './rng.js';

/**
 * Per-element Bernoulli mixing of a float and a quantized activation:
 * `xq + M ⊙ (xf − xq)`, `M ~ Bernoulli(p)` drawn from `rng` (as `rng.bernoulli(shape, p)` draws it),
 * differentiable in both inputs. With lowbit's kernels loaded, mask and mix are one WebAssembly
 * pass each way — bit-identical output, gradients and generator state to the op path.
 */
export function bernoulliMix(xFloat: tf.Tensor, xQuant: tf.Tensor, p: number, rng: Rng): tf.Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulliMix: p must be in [0, 1], got ${p}`);
  const k = kernels();
  // p of 0 or 1 draws nothing (as rng.bernoulli): the op path
  if (!k || p <= 0 || p >= 1 || xFloat.dtype !== 'float32' || xQuant.dtype !== 'float32' || xFloat.size !== xQuant.size) {
    const mask = rng.bernoulli(xFloat.shape, p);
    return tf.add(xQuant, tf.mul(mask, tf.sub(xFloat, xQuant)));
  }
  const shape = xFloat.shape;
  const f = tf.customGrad(((xf: tf.Tensor, xq: tf.Tensor, save: tf.GradSaveFunc) => {
    const state = Uint32Array.from(rng.state());
    const r = k.mixForward(tensorValues(xf), tensorValues(xq), p * 4294967296, state);
    rng.setState([state[0]!, state[1]!, state[2]!, state[3]!]);
    const out = kernelTensor(r.out, shape);
    const mask = kernelTensor(r.mask, shape, 'bool');
    save([mask]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = k.mixBackward(tensorValues(dy), tensorBytes(saved[0]!));
        const dxf = kernelTensor(g.dxf, shape);
        const dxq = kernelTensor(g.dxq, shape);
        return [dxf, dxq];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(xFloat, xQuant);
}
