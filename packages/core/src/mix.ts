import * as tf from '@tensorflow/tfjs-core';
import { kernels, kernelTensor, tensorBytes, tensorValues } from './kernels/runtime.js';
import type { Rng } from './rng.js';

/**
 * Per-element Bernoulli mixing of a float and a quantized activation:
 * `xq + M ⊙ (xf − xq)`, `M ~ Bernoulli(p)` drawn from `rng` (as `rng.bernoulli(shape, p)` draws it),
 * differentiable in both inputs. With lowbit's kernels loaded, mask and mix are one WebAssembly
 * pass each way — bit-identical output, gradients and generator state to the op path.
 * `shard` (examples of the batch held by other threads before and after `xFloat`'s rows, see
 * `StepContext.shard`) makes the draw skip their share of the stream: the mask is then this
 * tensor's rows of the whole batch's mask, and `rng` ends where the whole batch's draw ends.
 */
export function bernoulliMix(xFloat: tf.Tensor, xQuant: tf.Tensor, p: number, rng: Rng, shard?: { before: number; after: number }): tf.Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulliMix: p must be in [0, 1], got ${p}`);
  const k = kernels();
  // draws skipped before and after this tensor's rows (their share of a batch split over threads)
  const perRow = xFloat.shape.slice(1).reduce((a, b) => a * b, 1);
  const skip = { before: (shard?.before ?? 0) * perRow, after: (shard?.after ?? 0) * perRow };
  // p of 0 or 1 draws nothing (as rng.bernoulli): the op path
  if (!k || p <= 0 || p >= 1 || xFloat.dtype !== 'float32' || xQuant.dtype !== 'float32' || xFloat.size !== xQuant.size) {
    const draws = p > 0 && p < 1;
    if (draws) rng.skip(skip.before);
    const mask = rng.bernoulli(xFloat.shape, p);
    if (draws) rng.skip(skip.after);
    return tf.add(xQuant, tf.mul(mask, tf.sub(xFloat, xQuant)));
  }
  const shape = xFloat.shape;
  const f = tf.customGrad(((xf: tf.Tensor, xq: tf.Tensor, save: tf.GradSaveFunc) => {
    const state = Uint32Array.from(rng.state());
    const r = k.mixForward(tensorValues(xf), tensorValues(xq), p * 4294967296, state, skip);
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
