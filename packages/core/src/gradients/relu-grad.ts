import * as tf from '@tensorflow/tfjs-core';
import { kernels, kernelTensor, tensorValues } from '../kernels/runtime.js';

/**
 * Gradients of `Relu` and `Relu6` as one pass of lowbit's WebAssembly kernel when loaded
 * (`dy` where `0 < x ≤ hi`), else tfjs's own formula (`dy · cast(step(x) [· (x ≤ 6)])`): the
 * same values either way.
 */
function reluFamilyGrad(kernelName: string, hi: number): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      const d = dy as tf.Tensor;
      const k = kernels();
      if (k && x.dtype === 'float32' && d.dtype === 'float32') return { x: () => kernelTensor(k.reluGrad(tensorValues(x), tensorValues(d), hi), x.shape) };
      const mask = hi === Number.POSITIVE_INFINITY ? tf.step(x) : tf.mul(tf.lessEqual(x, hi), tf.step(x));
      return { x: () => tf.mul(d, tf.cast(mask, 'float32')) };
    },
  };
}

export const reluGradConfig = reluFamilyGrad(tf.Relu, Number.POSITIVE_INFINITY);
export const relu6GradConfig = reluFamilyGrad(tf.Relu6, 6);
