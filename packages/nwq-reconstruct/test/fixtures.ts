import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng, type WeightQuantizer } from '@lowbit/core';
import { adaRound, asoftmaxRounding } from '@lowbit/asoftmax-rounding';
import { createNetwork, type Network, NetworkBuilder } from '@lowbit/nn';
import { prepareQuantized, type QuantizedNetwork, stepSizeInit } from '@lowbit/quantizers';
import type { CalibrationSource } from '../src/index.js';

export async function wasm(): Promise<void> {
  await initBackend({ backend: 'wasm', fallback: false });
}

/** A small residual network with non-trivial BN statistics. */
export function smallNet(seed = 1): Network {
  const spec = new NetworkBuilder('small', [8, 8, 2])
    .block('stem', (b, x) => b.relu('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 8, kernel: 3 }))))
    .block('b1', (b, x) => {
      const h = b.relu('r1', b.batchNorm('bn1', b.conv2d('c1', x, { filters: 8, kernel: 3 })));
      return b.relu('out', b.add2('add', b.batchNorm('bn2', b.conv2d('c2', h, { filters: 8, kernel: 3 })), x));
    })
    .block('b2', (b, x) => b.relu6('r', b.batchNorm('bn', b.conv2d('c', x, { filters: 12, kernel: 3, strides: 2 }))))
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: 6 }))
    .build();
  const net = createNetwork(spec, { seed });
  const rng = new Rng(seed + 1);
  for (const ps of Object.values(net.params)) {
    if (ps['movingMean']) {
      const c = ps['movingMean'].size;
      tf.tidy(() => {
        ps['movingMean']!.assign(tf.tensor1d(rng.uniformArray(c, -0.2, 0.2)));
        ps['movingVariance']!.assign(tf.tensor1d(rng.uniformArray(c, 0.5, 1.5)));
      });
    }
  }
  return net;
}

/** Calibration inputs held as one tensor; batches are gathers. */
export function calibration(n: number, seed = 3): CalibrationSource & { data: tf.Tensor } {
  const data = new Rng(seed).normalTensor([n, 8, 8, 2]);
  return { size: n, data, batch: (idx) => tf.tidy(() => tf.gather(data, tf.tensor1d(idx, 'int32'))) };
}

export function setup(net: Network, rounding: 'nearest' | 'asoftmax' | 'adaround', wBits: number, aBits: number): QuantizedNetwork {
  const initStep = stepSizeInit('mse');
  const weightQuantizer =
    rounding === 'nearest' ? undefined : (_l: unknown, bits: number, axis: number): WeightQuantizer => (rounding === 'asoftmax' ? asoftmaxRounding({ bits, axis, initStep }) : adaRound({ bits, axis, initStep })) as WeightQuantizer;
  return prepareQuantized(net, { wBits, aBits, learnableActivations: true, ...(weightQuantizer ? { weightQuantizer } : {}) });
}

export function calibrate(q: QuantizedNetwork, calib: CalibrationSource): void {
  const batches = function* () {
    for (let i = 0; i < calib.size; i += 32) {
      const x = calib.batch(Int32Array.from({ length: Math.min(32, calib.size - i) }, (_, j) => i + j));
      yield x;
      x.dispose();
    }
  };
  q.calibrate(batches());
}
