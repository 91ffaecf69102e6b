import { bundledCalibrationSet } from '@lowbit/data';
import { createNetwork, disposeNetwork, type Network, NetworkBuilder, type NetworkSpec } from '@lowbit/nn';
import { disposeBatches, fixedBatches } from '../src/mpq/evaluate-policy.js';
import { calibrateOneShot, createOneShotNet, DEFAULT_CANDIDATES, type OneShotNet } from '../src/mpq/one-shot-net.js';

// Small one-shot networks for the mixed-precision tests.

/** A small network on 28×28×1 with the shapes that matter: a shared site (conv + projection), depthwise, BN everywhere. */
export function tinySpec(): NetworkSpec {
  return new NetworkBuilder('tiny-mpq', [28, 28, 1])
    .block('stem', (b, x) => b.relu('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 6, kernel: 3, strides: 2 }))))
    .block('b1', (b, x) => {
      const h = b.relu('relu1', b.batchNorm('bn1', b.conv2d('conv1', x, { filters: 8, kernel: 3, strides: 2 })));
      const d = b.relu6('relu2', b.batchNorm('bn2', b.depthwiseConv2d('dw', h, { kernel: 3 })));
      const y = b.batchNorm('bn3', b.conv2d('conv2', d, { filters: 8, kernel: 1 }));
      const s = b.batchNorm('bnp', b.conv2d('proj', x, { filters: 8, kernel: 1, strides: 2 }));
      return b.relu('out', b.add2('add', y, s));
    })
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: 10 }))
    .build();
}

/**
 * MobileNetV2's shape that matters for IDM: a BN output ('b1/pbn', no ReLU) read directly by a
 * quantized layer, so the feature IDM aligns is also an activation site.
 */
export function projectionSpec(): NetworkSpec {
  return new NetworkBuilder('tiny-projection', [28, 28, 1])
    .block('stem', (b, x) => b.relu('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 6, kernel: 3, strides: 2 }))))
    .block('b1', (b, x) => {
      const h = b.relu6('relu1', b.batchNorm('bn1', b.conv2d('conv1', x, { filters: 8, kernel: 3, strides: 2 })));
      return b.batchNorm('pbn', b.conv2d('project', h, { filters: 6, kernel: 1 }));
    })
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', b.relu('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 8, kernel: 1 })))), { units: 10 }))
    .build();
}

export function tinyNet(seed = 1): Network {
  return createNetwork(tinySpec(), { seed });
}

export const calib = bundledCalibrationSet();

export function oneShot(seed = 1, spec: NetworkSpec = tinySpec()): OneShotNet {
  const net = createNetwork(spec, { seed });
  const o = createOneShotNet(net, DEFAULT_CANDIDATES);
  disposeNetwork(net);
  const xs = fixedBatches(calib, 0, 64, 32);
  calibrateOneShot(o, xs);
  disposeBatches(xs);
  return o;
}

