import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { createNetwork, type Network, NetworkBuilder, type NetworkSpec } from '../src/index.js';

/** A small residual network: stem, one identity block, one projection block (stride 2), head. */
export function tinyResNetSpec(): NetworkSpec {
  return new NetworkBuilder('tiny-resnet', [9, 9, 2])
    .block('stem', (b, x) => b.relu('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 4, kernel: 3 }))))
    .block('b1', (b, x) => {
      const h = b.relu('relu1', b.batchNorm('bn1', b.conv2d('conv1', x, { filters: 4, kernel: 3 })));
      const y = b.batchNorm('bn2', b.conv2d('conv2', h, { filters: 4, kernel: 3 }));
      return b.relu('out', b.add2('add', y, x));
    })
    .block('b2', (b, x) => {
      const h = b.relu6('relu1', b.batchNorm('bn1', b.conv2d('conv1', x, { filters: 6, kernel: 3, strides: 2 })));
      const d = b.relu6('relu2', b.batchNorm('bn2', b.depthwiseConv2d('dw', h, { kernel: 3 })));
      const y = b.batchNorm('bn3', b.conv2d('conv2', d, { filters: 6, kernel: 1 }));
      const s = b.batchNorm('bnp', b.conv2d('proj', x, { filters: 6, kernel: 1, strides: 2 }));
      return b.relu('out', b.add2('add', y, s));
    })
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: 3 }))
    .build();
}

/** The tiny network with non-trivial BN statistics (so folding and inference mode are exercised). */
export function tinyResNet(seed = 1): Network {
  const net = createNetwork(tinyResNetSpec(), { seed });
  const rng = new Rng(seed + 100);
  for (const ps of Object.values(net.params)) {
    if (ps['movingMean']) {
      const c = ps['movingMean'].size;
      tf.tidy(() => {
        ps['movingMean']!.assign(tf.tensor1d(rng.uniformArray(c, -0.5, 0.5)));
        ps['movingVariance']!.assign(tf.tensor1d(rng.uniformArray(c, 0.5, 2)));
        ps['gamma']!.assign(tf.tensor1d(rng.uniformArray(c, 0.5, 1.5)));
        ps['beta']!.assign(tf.tensor1d(rng.uniformArray(c, -0.3, 0.3)));
      });
    }
  }
  return net;
}

export function batch(seed: number, n = 4, shape = [9, 9, 2]): tf.Tensor {
  return new Rng(seed).normalTensor([n, ...shape]);
}

export async function wasm(): Promise<void> {
  await initBackend({ backend: 'wasm', fallback: false });
}
