import * as tf from '@tensorflow/tfjs-core';
import { type GradMap, type LrOptions, lrAt, type Optimizer, type ParamMap } from './optimizer.js';

export interface AdamOptions extends LrOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Adam (Kingma & Ba) with bias correction. */
export function adam(options: AdamOptions): Optimizer {
  const b1 = options.beta1 ?? 0.9;
  const b2 = options.beta2 ?? 0.999;
  const eps = options.epsilon ?? 1e-8;
  let iterations = 0;
  const m = new Map<string, tf.Variable>();
  const v = new Map<string, tf.Variable>();
  const slot = (map: Map<string, tf.Variable>, key: string, like: tf.Tensor) => {
    let s = map.get(key);
    if (!s) {
      s = tf.variable(tf.zerosLike(like), false);
      map.set(key, s);
    }
    return s;
  };
  return {
    name: 'adam',
    get iterations() {
      return iterations;
    },
    learningRate: () => lrAt(options, iterations),
    step(params: ParamMap, grads: GradMap) {
      const lr = lrAt(options, iterations);
      const t = iterations + 1;
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      tf.tidy(() => {
        for (const [key, g] of Object.entries(grads)) {
          const w = params[key];
          if (!w) throw new Error(`adam: gradient for unknown parameter '${key}'`);
          const mk = slot(m, key, w);
          const vk = slot(v, key, w);
          mk.assign(tf.add(tf.mul(mk, b1), tf.mul(g, 1 - b1)));
          vk.assign(tf.add(tf.mul(vk, b2), tf.mul(tf.square(g), 1 - b2)));
          const upd = tf.div(tf.div(mk, c1), tf.add(tf.sqrt(tf.div(vk, c2)), eps));
          w.assign(tf.sub(w, tf.mul(upd, lr)));
        }
      });
      iterations = t;
    },
    state() {
      const tensors: Record<string, tf.Tensor> = {};
      for (const [k, s] of m) tensors[`${k}/m`] = s;
      for (const [k, s] of v) tensors[`${k}/v`] = s;
      return { iterations, tensors };
    },
    loadState(s) {
      iterations = s.iterations;
      for (const [name, t] of Object.entries(s.tensors)) {
        const map = name.endsWith('/m') ? m : v;
        const key = name.replace(/\/[mv]$/, '');
        map.get(key)?.dispose();
        map.set(key, tf.variable(t, false));
      }
    },
    dispose() {
      for (const s of [...m.values(), ...v.values()]) s.dispose();
      m.clear();
      v.clear();
    },
  };
}
