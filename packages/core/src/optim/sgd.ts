import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '../errors.js';
import { type GradMap, type LrOptions, lrAt, type Optimizer, type ParamMap } from './optimizer.js';

export interface SgdOptions extends LrOptions {
  momentum?: number;
  nesterov?: boolean;
  /** Decoupled L2 added to the gradient (`g + wd·w`) for parameters `decay(key, v)` selects. */
  weightDecay?: number;
  decay?: (key: string, v: tf.Variable) => boolean;
}

/** SGD with (Nesterov) momentum, PyTorch convention: `v = μv + g; w -= lr·(g + μv)` (Nesterov) or `lr·v`. */
export function sgd(options: SgdOptions): Optimizer {
  const mu = options.momentum ?? 0;
  if (!(mu >= 0 && mu < 1)) throw new LowbitError('E_CONFIG', `sgd: momentum must be in [0, 1), got ${mu}`);
  const wd = options.weightDecay ?? 0;
  const decay = options.decay ?? ((_k: string, v: tf.Variable) => v.rank > 1);
  let iterations = 0;
  const velocity = new Map<string, tf.Variable>();
  return {
    name: 'sgd',
    get iterations() {
      return iterations;
    },
    learningRate: () => lrAt(options, iterations),
    step(params: ParamMap, grads: GradMap) {
      const lr = lrAt(options, iterations);
      tf.tidy(() => {
        for (const [key, g0] of Object.entries(grads)) {
          const w = params[key];
          if (!w) throw new Error(`sgd: gradient for unknown parameter '${key}'`);
          let g = g0;
          if (wd > 0 && decay(key, w)) g = tf.add(g, tf.mul(w, wd));
          if (mu > 0) {
            let v = velocity.get(key);
            if (!v) {
              v = tf.variable(tf.zerosLike(w), false);
              velocity.set(key, v);
            }
            v.assign(tf.add(tf.mul(v, mu), g));
            g = options.nesterov ? tf.add(g, tf.mul(v, mu)) : v;
          }
          w.assign(tf.sub(w, tf.mul(g, lr)));
        }
      });
      iterations++;
    },
    state() {
      const tensors: Record<string, tf.Tensor> = {};
      for (const [k, v] of velocity) tensors[`${k}/velocity`] = v;
      return { iterations, tensors };
    },
    loadState(s) {
      iterations = s.iterations;
      for (const [name, t] of Object.entries(s.tensors)) {
        const key = name.replace(/\/velocity$/, '');
        velocity.get(key)?.dispose();
        velocity.set(key, tf.variable(t, false));
      }
    },
    dispose() {
      for (const v of velocity.values()) v.dispose();
      velocity.clear();
    },
  };
}
