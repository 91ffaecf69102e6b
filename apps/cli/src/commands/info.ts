import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng, sgd } from '@lowbit/core';
import { referenceSpec } from '@lowbit/models';
import { countParams, createNetwork, disposeNetwork, forward, layerCosts } from '@lowbit/nn';
import { median, timeIt } from '../util/timing.js';
import { trainStep } from '@lowbit/pipelines/node';

export interface InfoOptions {
  model: string;
  batch: number;
  repeats: number;
  json: boolean;
}

export interface InfoReport {
  model: string;
  backend: string;
  simd: boolean;
  params: number;
  macsPerSample: number;
  batch: number;
  forwardMs: number;
  forwardBackwardMs: number;
  trainStepMs: number;
}

/** Builds a reference architecture, runs forward, backward and SGD steps on random data, reports times. */
export async function runInfo(o: InfoOptions): Promise<InfoReport> {
  const be = await initBackend();
  const net = createNetwork(referenceSpec(o.model), { seed: 0 });
  const rng = new Rng(0);
  const x = rng.uniform([o.batch, ...net.inputShape]);
  const y = tf.tensor1d(Array.from({ length: o.batch }, () => rng.int(10)), 'int32');
  const fwd = () => tf.tidy(() => forward(net, x).output.dataSync());
  const fb = () =>
    tf.tidy(() => {
      const g = tf.grads((inp: tf.Tensor) => tf.sum(forward(net, inp, { training: true }).output))([x]);
      return g[0]!.dataSync();
    });
  const opt = sgd({ lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  const step = () => trainStep(net, opt, x, y);
  const forwardMs = median(timeIt(fwd, o.repeats, 2));
  const forwardBackwardMs = median(timeIt(fb, o.repeats, 2));
  const trainStepMs = median(timeIt(step, o.repeats, 2));
  const report: InfoReport = {
    model: o.model,
    backend: be.backend,
    simd: be.simd,
    params: countParams(net),
    macsPerSample: layerCosts(net).reduce((s, l) => s + l.macs, 0),
    batch: o.batch,
    forwardMs,
    forwardBackwardMs,
    trainStepMs,
  };
  opt.dispose();
  disposeNetwork(net);
  x.dispose();
  y.dispose();
  return report;
}

export function formatInfo(r: InfoReport): string {
  return [
    `model            ${r.model}`,
    `backend          ${r.backend}${r.simd ? ' (SIMD)' : ''}`,
    `parameters       ${r.params.toLocaleString('en-US')}`,
    `MACs / sample    ${r.macsPerSample.toLocaleString('en-US')}`,
    `batch            ${r.batch}`,
    `forward          ${r.forwardMs.toFixed(1)} ms`,
    `forward+backward ${r.forwardBackwardMs.toFixed(1)} ms`,
    `SGD step         ${r.trainStepMs.toFixed(1)} ms`,
  ].join('\n');
}
