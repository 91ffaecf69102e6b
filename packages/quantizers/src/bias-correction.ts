import * as tf from '@tensorflow/tfjs-core';
import { evalContext, LowbitError, Rng, yieldToEventLoop } from '@lowbit/core';
import { type ForwardOptions, forward, type Network, quantizableLayers } from '@lowbit/nn';
import type { StepContext } from '@lowbit/core';

/**
 * What bias correction needs of a quantized network: the network whose biases move, which of its
 * layers are quantized, and the forward hooks that run it quantized. A {@link QuantizedNetwork}
 * is one; so is a hardened model (weights already on their grids, an identity weight hook).
 */
export interface BiasCorrectable {
  net: Network;
  layers: { has(name: string): boolean };
  forwardOptions(ctx: StepContext): Pick<ForwardOptions, 'weight' | 'activation'>;
}

export interface BiasCorrectionOptions {
  /**
   * The float network to match, with the same node names (BN folded as `q.net` is). Default:
   * `q.net` itself without its weight quantizers and with the biases it had before the call —
   * right for a {@link QuantizedNetwork}, whose kernels stay float; a hardened model needs it.
   */
  reference?: Network;
  /**
   * Which network the corrected layers should match on average: `quantized` (default) runs the
   * activation quantizers too, as the quantized network is evaluated; `float` corrects for the
   * weights alone (what a stock TF.js export computes).
   */
  activations?: 'quantized' | 'float';
  /**
   * Keep the correction only where it helps (default `true`): the relative squared error of the
   * network's output against the float network's, on `validation` images (default: the same
   * images), is measured before and after, and the original biases come back when it did not drop.
   * Mean matching is not always a gain: with large quantization noise the channel means it fixes
   * can be what a later ReLU relied on.
   */
  onlyIfBetter?: boolean;
  /** Images for that check (given afresh on each call, caller-owned); default the correction's own. */
  validation?: () => Iterable<tf.Tensor>;
  /**
   * What the check compares: `mse` (default) — the relative squared error of the outputs; `kl` —
   * the mean KL divergence of the quantized network's class distribution from the float one's
   * (softmax of logits, or the outputs themselves when they are already probabilities);
   * `agreement` — the fraction of images whose top-1 class differs from the float network's;
   * the correction is then kept unless it is significantly worse: the images it makes disagree
   * (w) outnumber those it makes agree (b) by more than two standard deviations of a paired
   * (McNemar) comparison, `w − b > 2·√(w + b)` — mean matching usually helps, and a few images
   * either way on a small check set are noise.
   */
  criterion?: 'mse' | 'kl' | 'agreement';
  /**
   * {@link correctBiasAsync} only: checked between layers; once aborted, the original biases come
   * back and the promise rejects with a `LowbitError` of code `E_ABORTED`.
   */
  signal?: AbortSignal;
}

export interface BiasCorrectionReport {
  /** Layers whose bias was corrected, in network order. */
  layers: string[];
  /** Quantized layers left alone because they have no bias. */
  skipped: string[];
  /** Largest |shift| of a channel mean, relative to the RMS of that layer's float output. */
  maxRelativeShift: number;
  images: number;
  /** The check's measure (`criterion`) of the output against the float network's, before and after (null when not checked). */
  outputError: { before: number; after: number } | null;
  /** With `criterion: 'agreement'`: check images whose top-1 agreement the correction lost (`worse`) and gained (`better`). */
  changedImages?: { worse: number; better: number };
  /** Whether the corrected biases were kept (false: the check found no gain and restored them). */
  kept: boolean;
  seconds: number;
}

/** Log class probabilities of a network output `[N, K]`: the output itself when its rows are already distributions, else its log-softmax. */
function logProbs(y: tf.Tensor): tf.Tensor2D {
  const y2 = (y.rank === 2 ? y : tf.reshape(y, [y.shape[0]!, -1])) as tf.Tensor2D;
  const isDistribution = tf.min(y2).dataSync()[0]! >= 0 && tf.max(tf.abs(tf.sub(tf.sum(y2, 1), 1))).dataSync()[0]! < 1e-3;
  return (isDistribution ? tf.log(tf.maximum(y2, 1e-12)) : tf.logSoftmax(y2)) as tf.Tensor2D;
}

/** Per-channel sums of a layer output over the batch and spatial positions. */
function channelSums(y: tf.Tensor): tf.Tensor1D {
  return tf.sum(y, Array.from({ length: y.rank - 1 }, (_, i) => i)) as tf.Tensor1D;
}

/**
 * Empirical bias correction (Nagel et al. 2019; AIMET's "bias correction"): quantizing weights
 * shifts the mean of every output channel of a layer, and through a deep network these shifts
 * add up. Layer by layer in network order, this runs the calibration images through the float
 * network and through the quantized one (its earlier layers already corrected), and subtracts
 * from each quantized layer's bias the difference of the two channel means. The weights and
 * their grids are unchanged; only the float biases of `q.net` move.
 *
 * `batches` gives the calibration images afresh on every call (the run makes one float pass and
 * one quantized pass per layer, each only up to that layer's block); the caller owns them.
 *
 * @example
 * const q = quantizeNetwork(net, calib, { wBits: 2, aBits: 4, weightGrid: 'asymmetric' });
 * correctBias(q, () => calib);
 */
export function correctBias(q: BiasCorrectable, batches: () => Iterable<tf.Tensor>, o: BiasCorrectionOptions = {}): BiasCorrectionReport {
  const work = biasCorrectionWork(q, batches, o);
  for (;;) {
    const r = work.next();
    if (r.done) return r.value;
  }
}

/**
 * {@link correctBias} that lets the event loop run between layers (a Ctrl-C handler, a page, a
 * worker's messages) and stops on `o.signal`: a long correction of a large model stays
 * interruptible. An aborted or failed call leaves every bias as it was.
 */
export async function correctBiasAsync(q: BiasCorrectable, batches: () => Iterable<tf.Tensor>, o: BiasCorrectionOptions = {}): Promise<BiasCorrectionReport> {
  const work = biasCorrectionWork(q, batches, o);
  for (;;) {
    await yieldToEventLoop();
    if (o.signal?.aborted) {
      // runs the work's cleanup, which restores the biases
      work.return(undefined as never);
      throw new LowbitError('E_ABORTED', 'bias correction: stopped on request (the biases are as they were)');
    }
    const r = work.next();
    if (r.done) return r.value;
  }
}

/** The correction, one piece at a time: yields after the float pass and after each layer; returns the report. */
function* biasCorrectionWork(q: BiasCorrectable, batches: () => Iterable<tf.Tensor>, o: BiasCorrectionOptions): Generator<void, BiasCorrectionReport> {
  const t0 = performance.now();
  const mode = o.activations ?? 'quantized';
  if (mode !== 'quantized' && mode !== 'float') throw new LowbitError('E_CONFIG', `bias correction: activations must be quantized or float, got '${String(mode)}'`);
  const net = q.net;
  const layers = quantizableLayers(net).filter((l) => q.layers.has(l.spec.name));
  const corrected = layers.filter((l) => net.params[l.spec.name]?.['bias']);
  const skipped = layers.filter((l) => !net.params[l.spec.name]?.['bias']).map((l) => l.spec.name);
  const names = corrected.map((l) => l.spec.name);
  const reference = o.reference;
  if (reference) {
    const missing = names.filter((n) => !reference.params[n]?.['bias']);
    if (missing.length) throw new LowbitError('E_CONFIG', `bias correction: the reference network lacks the biased layer(s) ${missing.slice(0, 5).join(', ')}`);
  }
  // the float network: the same kernels without their quantizers, the biases as they were
  const original = new Map(names.map((n) => [n, tf.clone(net.params[n]!['bias']!)]));
  const floatParams = (spec: { name: string }, p: Record<string, tf.Tensor>) => {
    const b = original.get(spec.name);
    return b ? { ...p, bias: b } : p;
  };
  const report: BiasCorrectionReport = { layers: names, skipped, maxRelativeShift: 0, images: 0, outputError: null, kept: true, seconds: 0 };
  const check = o.onlyIfBetter ?? true;
  const criterion = o.criterion ?? 'mse';
  if (criterion !== 'mse' && criterion !== 'kl' && criterion !== 'agreement') throw new LowbitError('E_CONFIG', `bias correction: criterion must be mse, kl or agreement, got '${String(criterion)}'`);
  const ctx = evalContext(new Rng(0));
  // the quantized output against the float output, with the biases as they are now: relative squared error, mean KL per image, or top-1 disagreement rate
  // (with, for agreement, which images disagree)
  const outputError = (): { value: number; disagree: Uint8Array } => {
    const hooks = q.forwardOptions(ctx);
    let num = 0;
    let den = 0;
    const flags: number[] = [];
    for (const x of (o.validation ?? batches)()) {
      const [a, b] = tf.tidy(() => {
        const f = reference ? forward(reference, x).output : forward(net, x, { params: floatParams }).output;
        const y = forward(net, x, {
          ...(hooks.weight ? { weight: hooks.weight } : {}),
          ...(hooks.activation && mode === 'quantized' ? { activation: hooks.activation } : {}),
        }).output;
        if (criterion === 'kl') {
          const lf = logProbs(f);
          return [tf.sum(tf.mul(tf.exp(lf), tf.sub(lf, logProbs(y)))).dataSync()[0]!, f.shape[0]!];
        }
        if (criterion === 'agreement') {
          const flat = (t: tf.Tensor) => (t.rank === 2 ? t : tf.reshape(t, [t.shape[0]!, -1]));
          const d = Array.from(tf.cast(tf.notEqual(tf.argMax(flat(f), 1), tf.argMax(flat(y), 1)), 'int32').dataSync());
          flags.push(...d);
          return [d.reduce((s, v) => s + v, 0), f.shape[0]!];
        }
        return [tf.sum(tf.squaredDifference(y, f)).dataSync()[0]!, tf.sum(tf.square(f)).dataSync()[0]!];
      });
      num += a!;
      den += b!;
    }
    return { value: den > 0 ? num / den : num, disagree: Uint8Array.from(flags) };
  };
  let finished = false;
  // float channel sums of every corrected layer
  const floatSum = new Map<string, tf.Tensor1D>();
  try {
    // float channel means and mean squares of every corrected layer, in one pass
    const floatSq = new Map<string, number>();
    const positions = new Map<string, number>();
    let images = 0;
    for (const x of batches()) {
      images += x.shape[0]!;
      tf.tidy(() => {
        const r = reference ? forward(reference, x, { tapNodes: names }) : forward(net, x, { params: floatParams, tapNodes: names });
        for (const n of names) {
          const y = r.nodes.get(n)!;
          positions.set(n, (positions.get(n) ?? 0) + y.size / y.shape[y.rank - 1]!);
          floatSq.set(n, (floatSq.get(n) ?? 0) + tf.sum(tf.square(y)).dataSync()[0]!);
          const s = channelSums(y);
          const prev = floatSum.get(n);
          floatSum.set(n, tf.keep(prev ? tf.add(prev, s) : s) as tf.Tensor1D);
          prev?.dispose();
        }
      });
    }
    if (images === 0) throw new LowbitError('E_CALIB', 'bias correction needs at least one calibration batch');
    report.images = images;
    yield;
    // measured before any bias moves
    const before = check ? outputError() : null;
    for (const l of corrected) {
      yield;
      const n = l.spec.name;
      const hooks = q.forwardOptions(ctx);
      const quantAct = hooks.activation ?? ((_: string, v: tf.Tensor) => v);
      let sum: tf.Tensor1D | null = null;
      for (const x of batches()) {
        const s = tf.tidy(() => {
          // the layer's own output before any activation quantizer that may sit on it
          let raw: tf.Tensor | null = null;
          const r = forward(net, x, {
            ...(hooks.weight ? { weight: hooks.weight } : {}),
            activation: (site, v) => {
              if (site === n) raw = v;
              return mode === 'quantized' ? quantAct(site, v) : v;
            },
            tapNodes: [n],
            toBlock: l.block,
          });
          return channelSums(raw ?? r.nodes.get(n)!);
        });
        const prev: tf.Tensor1D | null = sum;
        sum = prev ? (tf.tidy(() => tf.add(prev, s)) as tf.Tensor1D) : s;
        if (prev) {
          prev.dispose();
          s.dispose();
        }
      }
      const count = positions.get(n)!;
      const shift = tf.tidy(() => tf.div(tf.sub(sum!, floatSum.get(n)!), count));
      sum!.dispose();
      const rms = Math.sqrt(floatSq.get(n)! / (count * floatSum.get(n)!.size));
      const maxShift = tf.tidy(() => tf.max(tf.abs(shift)).dataSync()[0]!);
      if (rms > 0) report.maxRelativeShift = Math.max(report.maxRelativeShift, maxShift / rms);
      const bias = net.params[n]!['bias']! as tf.Variable;
      tf.tidy(() => bias.assign(tf.sub(bias, shift)));
      shift.dispose();
    }
    if (check) {
      const after = outputError();
      report.outputError = { before: before!.value, after: after.value };
      let keep = after.value < before!.value;
      if (criterion === 'agreement') {
        let worse = 0;
        let better = 0;
        for (let i = 0; i < after.disagree.length; i++) {
          if (after.disagree[i]! > before!.disagree[i]!) worse++;
          else if (after.disagree[i]! < before!.disagree[i]!) better++;
        }
        report.changedImages = { worse, better };
        keep = !(worse - better > 2 * Math.sqrt(worse + better));
      }
      if (!keep) {
        report.kept = false;
        for (const n of names) (net.params[n]!['bias'] as tf.Variable).assign(original.get(n)!);
      }
    }
    finished = true;
  } finally {
    // stopped or failed part-way: every bias as it was
    if (!finished) for (const n of names) (net.params[n]!['bias'] as tf.Variable).assign(original.get(n)!);
    for (const b of original.values()) b.dispose();
    for (const s of floatSum.values()) s.dispose();
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
