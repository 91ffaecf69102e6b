import * as tf from '@tensorflow/tfjs-core';
import { Rng, sgd } from '@lowbit/core';
import { referenceSpec } from '@lowbit/models';
import { createNetwork, disposeNetwork, forward } from '@lowbit/nn';
import { median, timeIt } from '../util/timing.js';
import { startTrainReplicas, trainStepParallel, trainStep } from '@lowbit/pipelines/node';

export interface StepTimes {
  model: string;
  batch: number;
  forwardMs: number;
  forwardTrainBnMs: number;
  forwardBackwardMs: number;
  trainStepMs: number;
  imagesPerSecond: number;
  samples: Record<string, number[]>;
}

/**
 * Median times (after warm-up) of one batch through a freshly initialised reference network:
 * inference forward, training-mode forward, forward+backward (gradients of every parameter and
 * the input), and a full SGD step (Nesterov momentum, weight decay).
 */
export function benchTrainStep(model: string, batch: number, repeats: number, warmup = 2): StepTimes {
  const net = createNetwork(referenceSpec(model), { seed: 0 });
  const rng = new Rng(0);
  const x = rng.uniform([batch, ...net.inputShape]);
  const y = tf.tensor1d(Array.from({ length: batch }, () => rng.int(10)), 'int32');
  const opt = sgd({ lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const vars = Object.values(net.params).flatMap((p) => Object.values(p).filter((v) => v.trainable));
  const fwd = timeIt(() => tf.tidy(() => forward(net, x).output.dataSync()), repeats, warmup);
  const fwdTrain = timeIt(() => tf.tidy(() => forward(net, x, { training: true }).output.dataSync()), repeats, warmup);
  const fb = timeIt(
    () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.sum(forward(net, x, { training: true }).output) as tf.Scalar, vars);
        for (const g of Object.values(grads)) g.dataSync();
      }),
    repeats,
    warmup,
  );
  const step = timeIt(() => trainStep(net, opt, x, y), repeats, warmup);
  opt.dispose();
  disposeNetwork(net);
  tf.dispose([x, y]);
  const trainStepMs = median(step);
  return {
    model,
    batch,
    forwardMs: median(fwd),
    forwardTrainBnMs: median(fwdTrain),
    forwardBackwardMs: median(fb),
    trainStepMs,
    imagesPerSecond: (1000 * batch) / trainStepMs,
    samples: { forward: fwd, forwardTrainBn: fwdTrain, forwardBackward: fb, trainStep: step },
  };
}

/**
 * Median time (after warm-up) of the data-parallel SGD step over `threads` threads (this one and
 * `threads − 1` workers, batch norm synchronised), on the same network, data and optimiser as
 * {@link benchTrainStep}.
 */
export async function benchTrainStepParallel(model: string, batch: number, repeats: number, threads: number, warmup = 2): Promise<{ model: string; batch: number; threads: number; trainStepMs: number; imagesPerSecond: number }> {
  const net = createNetwork(referenceSpec(model), { seed: 0 });
  const rng = new Rng(0);
  const x = rng.uniform([batch, ...net.inputShape]);
  const y = tf.tensor1d(Array.from({ length: batch }, () => rng.int(10)), 'int32');
  const opt = sgd({ lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const reps = await startTrainReplicas(net, threads);
  try {
    const trainStepMs = median(timeIt(() => trainStepParallel(net, opt, x, y, reps), repeats, warmup));
    return { model, batch, threads, trainStepMs, imagesPerSecond: (1000 * batch) / trainStepMs };
  } finally {
    await reps.close();
    opt.dispose();
    disposeNetwork(net);
    tf.dispose([x, y]);
  }
}

export interface OpProfileRow {
  kernel: string;
  calls: number;
  ms: number;
  share: number;
}

/** Per-kernel time of one training step (tf.profile; wall time per kernel, so it includes dispatch). */
export async function profileTrainStep(model: string, batch: number): Promise<{ totalMs: number; rows: OpProfileRow[] }> {
  const net = createNetwork(referenceSpec(model), { seed: 0 });
  const rng = new Rng(0);
  const x = rng.uniform([batch, ...net.inputShape]);
  const y = tf.tensor1d(Array.from({ length: batch }, () => rng.int(10)), 'int32');
  const opt = sgd({ lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  trainStep(net, opt, x, y);
  const prof = await tf.profile(() => {
    trainStep(net, opt, x, y);
  });
  const agg = new Map<string, { ms: number; calls: number }>();
  for (const k of prof.kernels) {
    // tf.profile records a customGrad call as 'forward' and its inner kernels separately
    if (k.name === 'forward') continue;
    const a = agg.get(k.name) ?? { ms: 0, calls: 0 };
    a.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    a.calls++;
    agg.set(k.name, a);
  }
  const totalMs = [...agg.values()].reduce((s, a) => s + a.ms, 0);
  const rows = [...agg.entries()]
    .map(([kernel, a]) => ({ kernel, calls: a.calls, ms: a.ms, share: a.ms / totalMs }))
    .sort((p, q) => q.ms - p.ms);
  opt.dispose();
  disposeNetwork(net);
  tf.dispose([x, y]);
  return { totalMs, rows };
}
