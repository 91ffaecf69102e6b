import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@lowbit/core';
import { createNetwork, type Network, type NodeSpec } from '@lowbit/nn';

/**
 * A lowbit network with every op of the IR in its exportable variants: rescaling (per-channel,
 * scalar, offset-only), zero padding, explicit conv padding, conv + bias + ReLU (fusable),
 * depthwise ×2 without bias, unfolded BN, ReLU6, a conv read three times (not fusable), swish,
 * hard-swish (over inputs well beyond ±3), a three-way add, identity, concat (on channels, axis −1, and on axis 1 of a reshaped value: row-interleaving, so a wrong
 * reshape or axis shows), max/avg
 * pooling (same/valid), transposed convolutions (SAME with bias, VALID without) multiplied, sigmoid, global pooling, reshape with −1, flatten, dense with and
 * without bias, dense + bias + ReLU6 (fusable), softmax, and a node the output does not read.
 */
export function allOpsNetwork(): Network {
  const nodes: NodeSpec[] = [
    { op: 'scale', name: 'pre', inputs: ['input'], scale: [0.5, 1, 2], offset: [0.1, -0.2, 0] },
    { op: 'zeroPad', name: 'pad', inputs: ['pre'], padding: [[1, 0], [0, 2]] },
    { op: 'conv2d', name: 'c1', inputs: ['pad'], filters: 8, kernelSize: [3, 3], strides: [2, 2], padding: [[2, 0], [0, 1]], useBias: true },
    { op: 'relu', name: 'c1/relu', inputs: ['c1'] },
    { op: 'depthwiseConv2d', name: 'dw', inputs: ['c1/relu'], kernelSize: [3, 3], strides: [1, 1], padding: 'same', depthMultiplier: 2, useBias: false },
    { op: 'batchNorm', name: 'dw/bn', inputs: ['dw'], epsilon: 1e-3, momentum: 0.99 },
    { op: 'relu6', name: 'dw/relu6', inputs: ['dw/bn'] },
    { op: 'conv2d', name: 'c2', inputs: ['dw/relu6'], filters: 8, kernelSize: [1, 1], strides: [1, 1], padding: 'valid', useBias: true },
    { op: 'swish', name: 'swish', inputs: ['c2'] },
    { op: 'scale', name: 'wide', inputs: ['c2'], scale: 8, offset: 0 },
    { op: 'hardSwish', name: 'hswish', inputs: ['wide'] },
    { op: 'add', name: 'sum3', inputs: ['c2', 'swish', 'hswish'] },
    { op: 'identity', name: 'id', inputs: ['sum3'] },
    { op: 'concat', name: 'cat', inputs: ['id', 'c1/relu'], axis: -1 },
    { op: 'maxPool', name: 'maxpool', inputs: ['cat'], poolSize: [3, 3], strides: [1, 1], padding: 'same' },
    { op: 'avgPool', name: 'avgpool', inputs: ['maxpool'], poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
    { op: 'conv2dTranspose', name: 'up', inputs: ['avgpool'], filters: 4, kernelSize: [3, 3], strides: [2, 2], padding: 'same', outputSize: [6, 6], useBias: true },
    { op: 'conv2dTranspose', name: 'up2', inputs: ['avgpool'], filters: 4, kernelSize: [2, 2], strides: [2, 2], padding: 'valid', outputSize: [6, 6], useBias: false },
    { op: 'mul', name: 'gated', inputs: ['up', 'up2'] },
    { op: 'globalAvgPool', name: 'gapu', inputs: ['gated'] },
    { op: 'dense', name: 'fcu', inputs: ['gapu'], units: 5, useBias: true },
    { op: 'sigmoid', name: 'sig', inputs: ['avgpool'] },
    { op: 'scale', name: 'twice', inputs: ['sig'], scale: 2, offset: 0 },
    { op: 'scale', name: 'shift', inputs: ['twice'], scale: 1, offset: 0.25 },
    { op: 'reshape', name: 'rows', inputs: ['shift'], targetShape: [9, -1] },
    { op: 'concat', name: 'rows2', inputs: ['rows', 'rows'], axis: 1 },
    { op: 'flatten', name: 'flat', inputs: ['rows2'] },
    { op: 'dense', name: 'fc1', inputs: ['flat'], units: 12, useBias: false },
    { op: 'relu', name: 'fc1/relu', inputs: ['fc1'] },
    { op: 'sigmoid', name: 'unused', inputs: ['fc1/relu'] },
    { op: 'dense', name: 'fc2', inputs: ['fc1/relu'], units: 5, useBias: true },
    { op: 'globalAvgPool', name: 'gap', inputs: ['cat'] },
    { op: 'dense', name: 'fcg', inputs: ['gap'], units: 5, useBias: true },
    { op: 'relu6', name: 'fcg/relu6', inputs: ['fcg'] },
    { op: 'add', name: 'logits', inputs: ['fc2', 'fcg/relu6', 'fcu'] },
    { op: 'softmax', name: 'probs', inputs: ['logits'] },
  ];
  const net = createNetwork({ name: 'all-ops', inputShape: [10, 10, 3], nodes, blocks: [{ name: 'all', nodes: nodes.map((n) => n.name) }] }, { seed: 5 });
  // non-trivial biases and BN statistics, so that every parameter matters
  const rng = new Rng(9);
  for (const ps of Object.values(net.params)) {
    for (const [p, v] of Object.entries(ps)) {
      if (p === 'kernel') continue;
      const base = p === 'movingVariance' || p === 'gamma' ? 0.5 : -0.5;
      v.assign(tf.tidy(() => tf.add(rng.uniform(v.shape), base)));
    }
  }
  return net;
}
