import * as tf from '@tensorflow/tfjs-core';
import { conv2dGradConfig } from './conv2d-grad.js';
import { depthwiseConv2dGradConfig } from './depthwise-conv2d-grad.js';
import { relu6GradConfig, reluGradConfig } from './relu-grad.js';

/** The gradient overrides lowbit installs on top of tfjs's own. */
export const lowbitGradConfigs: readonly tf.GradConfig[] = [conv2dGradConfig, depthwiseConv2dGradConfig, reluGradConfig, relu6GradConfig];

let registered: Promise<void> | null = null;

/**
 * Registers every tfjs-core gradient, then lowbit's forward-convolution gradients for Conv2D and
 * DepthwiseConv2dNative and its one-pass ReLU / ReLU6 gradients. tfjs-core's Node bundle registers no gradients and its
 * `register_all_gradients` module cannot load in plain Node ESM; the `@tensorflow/tfjs` package's
 * Node bundle registers them into the same (global) registry, so it is loaded for that effect.
 * Idempotent.
 */
export function registerGradients(): Promise<void> {
  registered ??= (async () => {
    await import('@tensorflow/tfjs');
    for (const config of lowbitGradConfigs) tf.registerGradient(config);
  })();
  return registered;
}
