import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@lowbit/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { analyze, createNetwork, decodeNetwork, disposeNetwork, encodeNetwork, forward, NetworkBuilder, type NetworkSpec } from '../src/index.js';
import { wasm } from './fixtures.js';

beforeAll(wasm);
const nets: Array<ReturnType<typeof createNetwork>> = [];
afterEach(() => nets.splice(0).forEach(disposeNetwork));

/** A trunk and two heads: a 2-channel map and 3 class scores. */
function twoHeads(): NetworkSpec {
  const spec = new NetworkBuilder('two-heads', [4, 4, 1])
    .block('trunk', (b, x) => b.relu('r', b.conv2d('c', x, { filters: 3, kernel: [3, 3], padding: 'same' })))
    .block('heads', (b, x) => {
      b.conv2d('map', x, { filters: 2, kernel: [1, 1] });
      return b.dense('cls', b.globalAvgPool('gap', x), { units: 3 });
    })
    .build();
  return { ...spec, outputs: ['heads/map', 'heads/cls'] };
}

describe('networks with several outputs', () => {
  it('forward returns each output, and their flattened concatenation as the output', async () => {
    const net = createNetwork(twoHeads(), { seed: 1 });
    nets.push(net);
    expect(analyze(net).outputs).toEqual(['heads/map', 'heads/cls']);
    expect(analyze(net).outputShape).toEqual([4 * 4 * 2 + 3]);
    const x = new Rng(2).uniform([2, 4, 4, 1]);
    const r = forward(net, x, { tapNodes: ['heads/map', 'heads/cls'] });
    expect(r.outputs.map((o) => o.shape)).toEqual([[2, 4, 4, 2], [2, 3]]);
    const want = tf.concat([tf.reshape(r.nodes.get('heads/map')!, [2, -1]), r.nodes.get('heads/cls')!], 1);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(r.output, want))).dataSync()[0])).toBe(0);
    // the same from the last block alone (what block-wise reconstruction runs)
    const trunk = forward(net, x, { toBlock: 'trunk' }).output;
    const tail = forward(net, trunk, { fromBlock: 'heads' }).output;
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(tail, want))).dataSync()[0])).toBe(0);
    // the outputs survive serialisation
    const { json, weightData } = await encodeNetwork(net, 'w.bin');
    const back = decodeNetwork(json, weightData);
    nets.push(back);
    expect(back.outputs).toEqual(['heads/map', 'heads/cls']);
    tf.dispose([x, r.output, ...r.outputs, want, trunk, tail]);
  });

  it('outputs that are not nodes, miss the last node or lie before the last block are refused by name', () => {
    expect(() => analyze({ ...twoHeads(), outputs: ['heads/map', 'nope', 'heads/cls'] })).toThrow(/output 'nope' is not a node/);
    expect(() => analyze({ ...twoHeads(), outputs: ['heads/map'] })).toThrow(/must include the last node 'heads\/cls'/);
    expect(() => analyze({ ...twoHeads(), outputs: ['trunk/r', 'heads/cls'] })).toThrow(/output 'trunk\/r' is in block 'trunk', not in the last block 'heads'/);
    expect(() => analyze({ ...twoHeads(), outputs: ['heads/cls', 'heads/cls'] })).toThrow(/name a node twice/);
  });
});
