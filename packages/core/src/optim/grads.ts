import * as tf from '@tensorflow/tfjs-core';
import type { GradMap, ParamMap } from './optimizer.js';

/**
 * `tf.variableGrads` keyed by parameter key instead of tfjs variable name. `f` runs under the
 * gradient tape; anything it needs to return besides the loss must be `tf.keep`-ed by it.
 */
export function paramGrads(f: () => tf.Scalar, params: ParamMap): { value: tf.Scalar; grads: GradMap } {
  const keys = Object.keys(params);
  const vars = keys.map((k) => params[k]!);
  const { value, grads } = tf.variableGrads(f, vars);
  const out: GradMap = {};
  keys.forEach((k, i) => {
    const g = grads[vars[i]!.name];
    if (g) out[k] = g;
  });
  return { value, grads: out };
}
