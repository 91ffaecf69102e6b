import * as tf from '@tensorflow/tfjs-core';

/**
 * Training work a default run may do, in multiply-accumulates: iterations × batch × the network's
 * MACs per image. A preset's iteration count is kept when it stays within this (lowbit's 28×28
 * networks: 4–10 M MACs, 1,000 iterations at batch 32 are 0.1–0.3·10¹²) and scaled down for larger
 * models (a 224×224 MobileNetV2, 300 M MACs: 200 iterations; measured at 10.5 s per iteration on
 * 2 cores, 310 iterations took 56 minutes end to end, so 200 should take about 37).
 */
export const DEFAULT_WORK_MACS = 1.9e12;
/** Scaled iterations never go below this. */
export const MIN_SCALED_ITERATIONS = 100;

/** How a run's iteration count was chosen (reported). */
export interface IterationSchedule {
  /** The method preset's iterations (per unit for block / layer methods). */
  preset: number;
  /** What the run does. */
  iterations: number;
  /** True when `iterations` was scaled down from `preset` for the model's size. */
  scaled: boolean;
  macsPerImage: number;
}

/** The iterations of a default run on a network of `macsPerImage` at `batchSize` (see {@link DEFAULT_WORK_MACS}). */
export function scaledIterations(presetIterations: number, batchSize: number, macsPerImage: number): IterationSchedule {
  const fit = DEFAULT_WORK_MACS / (batchSize * Math.max(1, macsPerImage));
  if (fit >= presetIterations) return { preset: presetIterations, iterations: presetIterations, scaled: false, macsPerImage };
  const iterations = Math.min(presetIterations, Math.max(MIN_SCALED_ITERATIONS, Math.round(fit / 10) * 10));
  return { preset: presetIterations, iterations, scaled: iterations < presetIterations, macsPerImage };
}

/** A reconstruction's time against the arithmetic it needs at the backend's measured convolution speed (reported). */
export interface SpeedReport {
  /** Reconstruction wall time per network-equivalent iteration (block / layer methods: per iteration of every unit). */
  secondsPerIteration: number;
  /** FLOPs of one iteration: forward, input and weight gradients (3 × 2 × MACs) per image of the batch. */
  flopsPerIteration: number;
  /** Measured forward convolution throughput of one thread on this backend, GFLOP/s. */
  convGflops: number;
  threads: number;
  /** `flopsPerIteration / (convGflops · threads)`: the time if every FLOP ran at convolution speed. */
  floorSecondsPerIteration: number;
  /** `secondsPerIteration / floorSecondsPerIteration`. */
  overFloor: number;
}

/**
 * Forward convolution throughput of the current backend in GFLOP/s (one thread): the best of a
 * few runs of a 3×3, 64-channel convolution at 56×56 (MobileNet / ResNet-like, ~0.9 GFLOP each).
 */
export function measureConvGflops(runs = 4): number {
  const x = tf.randomUniform([4, 56, 56, 64], -1, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomUniform([3, 3, 64, 64], -1, 1, 'float32', 2) as tf.Tensor4D;
  const flops = 2 * 4 * 56 * 56 * 64 * 64 * 9;
  let best = Number.POSITIVE_INFINITY;
  // a block body: a tidy that returns the values would walk every element looking for tensors
  const run = () =>
    tf.tidy(() => {
      tf.conv2d(x, w, 1, 'same').dataSync();
    });
  try {
    run();
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      run();
      best = Math.min(best, performance.now() - t0);
    }
  } finally {
    tf.dispose([x, w]);
  }
  return flops / (best / 1000) / 1e9;
}

export function speedReport(reconstructionSeconds: number, iterations: number, batchSize: number, macsPerImage: number, threads: number, convGflops: number): SpeedReport {
  const secondsPerIteration = reconstructionSeconds / Math.max(1, iterations);
  const flopsPerIteration = 6 * macsPerImage * batchSize;
  const floorSecondsPerIteration = flopsPerIteration / (convGflops * 1e9 * threads);
  return { secondsPerIteration, flopsPerIteration, convGflops, threads, floorSecondsPerIteration, overFloor: secondsPerIteration / floorSecondsPerIteration };
}
