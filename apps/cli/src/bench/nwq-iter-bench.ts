import { gatherRows, Rng } from '@lowbit/core';
import { amixup } from '@lowbit/amixup';
import { asoftmaxRounding } from '@lowbit/asoftmax-rounding';
import { referenceSpec } from '@lowbit/models';
import { hasReference, loadReference } from '@lowbit/models/node';
import { createNetwork, disposeNetwork } from '@lowbit/nn';
import { PRESETS, reconstruct } from '@lowbit/nwq-reconstruct';
import { prepareQuantized, stepSizeInit } from '@lowbit/quantizers';

/**
 * Wall time of one NWQ W4A4 reconstruction iteration (network-wise, ASoftmax rounding, AMixup,
 * batch 32, cached float targets) of a reference model: median over `repeats` runs of
 * `iterations` steps each, after a warm-up run (which also builds the target cache).
 */
export async function benchNwqIter(model: 'resnet-fm' | 'mbv2-fm', repeats = 3, iterations = 10): Promise<{ model: string; nwqIterMs: number; samples: number[] }> {
  const net = hasReference(model) ? loadReference(model) : createNetwork(referenceSpec(model), { seed: 0 });
  const initStep = stepSizeInit('mse');
  const q = prepareQuantized(net, { wBits: 4, aBits: 4, learnableActivations: true, weightQuantizer: (_l, bits, axis) => asoftmaxRounding({ bits, axis, initStep }) });
  const data = new Rng(0).uniform([256, 28, 28, 1]);
  q.calibrate([data]);
  const calibration = { size: 256, batch: (idx: Int32Array) => gatherRows(data, idx) };
  const config = { ...PRESETS.nwq.config!, seed: 0, mixer: amixup() };
  await reconstruct({ setup: q, calibration, config: { ...config, iterations: 3 } });
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await reconstruct({ setup: q, calibration, config: { ...config, iterations } });
    samples.push((performance.now() - t0) / iterations);
  }
  q.dispose();
  data.dispose();
  disposeNetwork(net);
  const sorted = samples.slice().sort((a, b) => a - b);
  return { model, nwqIterMs: sorted[Math.floor(sorted.length / 2)]!, samples };
}
