import * as tf from '@tensorflow/tfjs-core';

const zeroGradIdentity = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * Stops gradients: the forward value is `x` (a clone sharing its data), the gradient is zero.
 *
 * tfjs has no `stopGradient`; this is its stand-in, for targets computed inside the same
 * `tf.variableGrads` / `tf.grads` tape as the loss that uses them (the max-bits "teacher" pass of
 * one-shot mixed-precision training), so that a distillation or alignment term pulls only the
 * student towards the teacher, never the teacher towards the student.
 *
 * The gradient is a zero tensor rather than no gradient at all: tfjs still back-propagates those
 * zeros through whatever produced `x` (they add nothing), and `tf.grads` w.r.t. an input reached
 * only through `detach` returns zeros instead of throwing.
 *
 * @param x Any tensor (the gradient is only meaningful for float32).
 * @returns A new tensor equal to `x`; dispose it like any other op output.
 */
export function detach<T extends tf.Tensor>(x: T): T {
  return zeroGradIdentity(x) as T;
}
