import * as tf from '@tensorflow/tfjs-core';
import { initBackend, maxRelError as maxRel } from '@lowbit/core';
import { describe, expect, it } from 'vitest';
import { createNetwork, disposeNetwork, forward, NetworkBuilder, trainableVariables } from '../src/index.js';
import { batch, tinyResNet } from './fixtures.js';

/** Runs `f` on wasm and on cpu; returns both flat results. */
async function both(f: () => Float32Array): Promise<[Float32Array, Float32Array]> {
  await initBackend({ backend: 'wasm', fallback: false });
  const a = f();
  await initBackend({ backend: 'cpu', fallback: false });
  const b = f();
  await initBackend({ backend: 'wasm', fallback: false });
  return [a, b];
}

describe('wasm agrees with the cpu reference', () => {
  it('forward in inference and training mode, and all parameter gradients', async () => {
    const run = () => {
      const net = tinyResNet(11);
      const x = batch(12, 5);
      const out = tf.tidy(() => {
        const inf = forward(net, x).output.dataSync();
        const vars = trainableVariables(net);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(forward(net, x, { training: true }).output)) as tf.Scalar, vars);
        return Float32Array.from([...inf, value.dataSync()[0]!, ...vars.flatMap((v) => Array.from(grads[v.name]!.dataSync()))]);
      });
      disposeNetwork(net);
      x.dispose();
      return out;
    };
    const [w, c] = await both(run);
    expect(w.length).toBe(c.length);
    expect(maxRel(w, c)).toBeLessThan(1e-4);
  });

  it('pooling, flatten and identity ops (shapes and values)', async () => {
    const spec = new NetworkBuilder('pools', [6, 6, 2])
      .block('a', (b, x) => {
        const m = b.maxPool('max', x, { pool: 2 });
        const v = b.avgPool('avg', b.identity('id', m), { pool: 3, strides: 1, padding: 'same' });
        return b.dense('fc', b.flatten('flat', v), { units: 3 });
      })
      .build();
    const run = () => {
      const net = createNetwork(spec, { seed: 3 });
      const x = batch(4, 2, [6, 6, 2]);
      const r = tf.tidy(() => {
        const f = forward(net, x, { tapNodes: ['a/max', 'a/avg'] });
        expect(f.nodes.get('a/max')!.shape).toEqual([2, 3, 3, 2]);
        expect(f.nodes.get('a/avg')!.shape).toEqual([2, 3, 3, 2]);
        // max pool equals a hand computation on the first window
        const xv = x.dataSync();
        const m0 = Math.max(xv[0]!, xv[2]!, xv[12]!, xv[14]!);
        expect(f.nodes.get('a/max')!.dataSync()[0]).toBeCloseTo(m0, 6);
        return f.output.dataSync().slice() as Float32Array;
      });
      disposeNetwork(net);
      x.dispose();
      return r;
    };
    const [w, c] = await both(run);
    expect(maxRel(w, c)).toBeLessThan(1e-5);
  });
});
