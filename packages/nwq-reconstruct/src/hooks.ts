import type * as tf from '@tensorflow/tfjs-core';
import type { ActivationMixer, QuantSetup, StepContext } from '@lowbit/core';
import type { ForwardOptions, Network } from '@lowbit/nn';

/**
 * The forward hooks of a quantized setup: weights through their quantizers, activations through
 * theirs and then the mixer (float and quantized versions of the same value). With a context
 * whose `training` is false the quantizers round hard and the mixers return the quantized value.
 * `weights` gives already quantized kernels by layer name (a step computes them once for all its
 * passes); the other layers go through their quantizers here.
 */
export function quantHooks(
  setup: QuantSetup<Network>,
  ctx: StepContext,
  mixer?: ActivationMixer,
  weights?: ReadonlyMap<string, tf.Tensor>,
): Pick<ForwardOptions, 'weight' | 'activation'> {
  return {
    weight: (layer, w) => {
      const given = weights?.get(layer.name);
      if (given) return given;
      const q = setup.layers.get(layer.name);
      return q ? q.quantizer.apply(w, q.state, ctx) : w;
    },
    activation: (site, x: tf.Tensor) => {
      const q = setup.sites.get(site);
      if (!q) return x;
      const xq = q.quantizer.apply(x, q.state, ctx);
      return mixer ? mixer(x, xq, ctx) : xq;
    },
  };
}
