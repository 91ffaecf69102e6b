import * as tf from '@tensorflow/tfjs-core';
import { initBackend, maxRelError, Rng } from '@lowbit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy, distillationLoss, idmLoss, lowestBitLayers } from '../src/index.js';

/*
 * A two-layer network trained the one-shot way: one max-bits ("teacher") pass and one random-bit
 * pass inside the same tf.variableGrads tape. The bit-dependent weight map w·(1 − 2^−b) stands in
 * for a quantizer (differentiable, and different per bit-width).
 */

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

const rng = new Rng(21);
const B = 6;
const D = 5;
const H = 4;
const C = 3;
let w1: tf.Variable;
let w2: tf.Variable;
let x: tf.Tensor2D;
let y: tf.Tensor1D;

beforeAll(() => {
  w1 = tf.variable(tf.tensor2d(rng.uniformArray(D * H, -1, 1), [D, H]), true, 'oneshot_w1');
  w2 = tf.variable(tf.tensor2d(rng.uniformArray(H * C, -1, 1), [H, C]), true, 'oneshot_w2');
  x = tf.tensor2d(rng.uniformArray(B * D, -1, 1), [B, D]);
  y = tf.tensor1d([0, 2, 1, 1, 0, 2], 'int32');
});
afterAll(() => tf.dispose([w1, w2, x, y]));

type Bits = Record<'fc1' | 'fc2', number>;

function forward(bits: Bits): { feats: Map<string, tf.Tensor>; logits: tf.Tensor } {
  const q = (w: tf.Tensor, b: number) => tf.mul(w, 1 - 2 ** -b);
  const fc1 = tf.matMul(x, q(w1, bits.fc1));
  const logits = tf.matMul(tf.relu(fc1), q(w2, bits.fc2));
  return { feats: new Map([['fc1', fc1], ['fc2', logits]]), logits };
}

const maxBits: Bits = { fc1: 8, fc2: 8 };
const sampled: Bits = { fc1: 2, fc2: 4 };
const lowest: Bits = { fc1: 2, fc2: 2 };

function grads(loss: () => tf.Scalar): { value: number; g: Float32Array } {
  return tf.tidy(() => {
    const { value, grads: gm } = tf.variableGrads(loss, [w1, w2]);
    const g = new Float32Array([...gm['oneshot_w1']!.dataSync(), ...gm['oneshot_w2']!.dataSync()]);
    return { value: value.dataSync()[0]!, g };
  });
}

describe('one-shot step: teacher pass and random-bit pass in one tape', () => {
  it('the detached targets make the gradient equal to using constant teacher outputs', () => {
    const layers = lowestBitLayers(sampled, lowest);
    expect(layers).toEqual(['fc1']);

    const inTape = grads(() => {
      const teacher = forward(maxBits);
      const student = forward(sampled);
      return tf.addN([
        crossEntropy(teacher.logits, y),
        distillationLoss(student.logits, teacher.logits, y),
        idmLoss(student.feats, teacher.feats, layers, { weight: 0.5 }),
      ]) as tf.Scalar;
    });

    const kept = tf.tidy(() => {
      const t = forward(maxBits);
      return [t.logits, t.feats.get('fc1')!];
    });
    const frozen = { logits: kept[0]!, feats: new Map([['fc1', kept[1]!], ['fc2', kept[0]!]]) };
    const reference = grads(() => {
      const teacherLive = forward(maxBits);
      const student = forward(sampled);
      return tf.addN([
        crossEntropy(teacherLive.logits, y),
        distillationLoss(student.logits, frozen.logits, y),
        idmLoss(student.feats, frozen.feats, layers, { weight: 0.5 }),
      ]) as tf.Scalar;
    });
    expect(Math.abs(inTape.value - reference.value)).toBeLessThan(1e-6 * Math.abs(reference.value));
    expect(maxRelError(inTape.g, reference.g)).toBeLessThan(1e-5);

    // Without the detach, gradient would flow into the teacher pass: measurably different.
    const leaky = grads(() => {
      const teacher = forward(maxBits);
      const student = forward(sampled);
      const ls = tf.logSoftmax(student.logits);
      const lt = tf.logSoftmax(teacher.logits);
      const kl = tf.mean(tf.sum(tf.mul(tf.exp(lt), tf.sub(lt, ls)), -1));
      const idm = tf.mean(tf.squaredDifference(student.feats.get('fc1')!, teacher.feats.get('fc1')!));
      return tf.addN([crossEntropy(teacher.logits, y), tf.mul(crossEntropy(student.logits, y), 0.5), tf.mul(kl, 0.5), tf.mul(idm, 0.5)]) as tf.Scalar;
    });
    expect(Math.abs(leaky.value - reference.value)).toBeLessThan(1e-6 * Math.abs(reference.value));
    expect(maxRelError(leaky.g, reference.g)).toBeGreaterThan(1e-3);

    tf.dispose(kept);
  });

  it('a training step leaves no tensors behind', () => {
    const step = () =>
      grads(() => {
        const teacher = forward(maxBits);
        const student = forward(sampled);
        return tf.addN([
          crossEntropy(teacher.logits, y),
          distillationLoss(student.logits, teacher.logits, y),
          idmLoss(student.feats, teacher.feats, lowestBitLayers(sampled, lowest)),
        ]) as tf.Scalar;
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
