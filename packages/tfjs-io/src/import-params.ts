import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { badParamValue, disposeNetwork, type Network, type NetworkSpec, type NodeParams, paramDefs } from '@lowbit/nn';

/**
 * The network of an imported spec: each parameter its node needs, from `get`, checked against
 * the shape the node needs and copied into a variable. `reshapeable(p)` says when the same number
 * of values in another shape is accepted (a graph's constants, a Keras PReLU's [1, 1, C] slopes).
 * On any error the variables made so far are disposed.
 */
export function importedNetwork(spec: NetworkSpec, get: (node: string, p: string) => tf.Tensor | undefined, path: string, reshapeable: (p: string) => boolean): Network {
  const net: Network = { ...spec, params: {} };
  try {
    for (const [node, pdefs] of Object.entries(paramDefs(spec))) {
      const ps: NodeParams = {};
      net.params[node] = ps;
      for (const [p, def] of Object.entries(pdefs)) {
        const t = get(node, p);
        if (!t) throw new LowbitError('E_WEIGHTS', `${path}: no weight for '${node}/${p}'`);
        const same = reshapeable(p) ? t.size === def.shape.reduce((x, y) => x * y, 1) : t.shape.length === def.shape.length && t.shape.every((d, i) => d === def.shape[i]);
        if (!same) throw new LowbitError('E_WEIGHTS', `${path}: weight for '${node}/${p}' has shape [${t.shape.join(', ')}], the layer needs [${def.shape.join(', ')}]`);
        // an int32 or bool weight would be its bytes read as integers: a layer's weights are floats
        if (t.dtype !== 'float32') throw new LowbitError('E_WEIGHTS', `${path}: weight for '${node}/${p}' is ${t.dtype} in the weights manifest; a layer's weights must be float32 (or float32 quantized to uint8/uint16/float16)`);
        const bad = badParamValue(p, t.dataSync() as Float32Array);
        if (bad) throw new LowbitError('E_WEIGHTS', `${path}: weight for '${node}/${p}' ${bad.why} (${bad.value} at flat index ${bad.index})`);
        ps[p] = tf.tidy(() => tf.variable(tf.reshape(t, def.shape), def.trainable));
      }
    }
  } catch (e) {
    // nothing of a model that fails to import stays in memory
    disposeNetwork(net);
    throw e;
  }
  return net;
}
