import { LowbitError } from '@lowbit/core';
import { analyze } from './analyze.js';
import type { NetworkSpec } from './spec.js';

/**
 * What a batched pass keeps alive on the backend, per image:
 * - `inference` — a float forward inside one `tf.tidy` (evaluation, calibration statistics);
 * - `quantized` — a fake-quantized forward (the quantizers' temporaries too);
 * - `paired` — a float and a quantized forward in the same scope (agreement, float targets next to
 *   quantized outputs);
 * - `training` — forward, tape and backward of a reconstruction or training step.
 */
export type PassKind = 'inference' | 'quantized' | 'paired' | 'training';

/**
 * Multiples of {@link activationBytes} each pass needs at its peak. Measured with `tf.profile` on
 * resnet-fm, mbv2-fm and a 224×224 MobileNetV2 (peak ÷ activation bytes: inference 1.43–1.50 with
 * biases added after the product, 1.00 since layers add them inside it; quantized 1.85–2.01,
 * paired 3.30–3.51, an NWQ reconstruction step 7.6–8.2), rounded up with a margin (inference keeps
 * room for imported layers whose bias is a separate op); the pipelines' memory-budget test checks
 * that they stay above the measured peaks.
 */
export const PASS_FACTORS: Readonly<Record<PassKind, number>> = { inference: 1.6, quantized: 2.5, paired: 4, training: 10 };

/** Default working-set budget of one batched pass: 1 GiB (one tfjs-wasm instance has at most 4 GiB). */
export const DEFAULT_PASS_BUDGET_BYTES = 2 ** 30;

/** Bytes (float32) of the input and of every node's output for one image: what a forward inside one `tf.tidy` holds. */
export function activationBytes(spec: NetworkSpec): number {
  const info = analyze(spec);
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  return 4 * info.order.reduce((sum, n) => sum + size(n.outShape), size(spec.inputShape));
}

/** Peak bytes per image of a pass of `kind` (activation bytes × its factor). */
export function passBytesPerImage(spec: NetworkSpec, kind: PassKind): number {
  return Math.ceil(activationBytes(spec) * PASS_FACTORS[kind]);
}

/**
 * Images per micro-batch of a pass of `kind` within `budgetBytes` (default 1 GiB), at most `cap`
 * (a batch size the caller wants anyway) and at least 1. Deterministic: a function of the network's
 * shapes, so that every thread and every resumed run splits work the same way.
 */
export function microBatchSize(spec: NetworkSpec, kind: PassKind, o: { budgetBytes?: number; cap?: number } = {}): number {
  const budget = o.budgetBytes ?? DEFAULT_PASS_BUDGET_BYTES;
  if (!(budget > 0)) throw new LowbitError('E_CONFIG', `memory budget must be a positive number of bytes, got ${budget}`);
  const cap = o.cap ?? Number.POSITIVE_INFINITY;
  if (!(cap >= 1)) throw new LowbitError('E_CONFIG', `micro-batch cap must be ≥ 1, got ${cap}`);
  return Math.max(1, Math.min(Math.floor(cap), Math.floor(budget / passBytesPerImage(spec, kind))));
}

/**
 * Refuses a pass that cannot fit even one image in `budgetBytes`: an `E_MEMORY` error naming the
 * network, the pass and what it needs, instead of a wasm abort later.
 */
export function checkPassFits(spec: NetworkSpec, kind: PassKind, budgetBytes: number = DEFAULT_PASS_BUDGET_BYTES, option = 'the memory budget'): void {
  const need = passBytesPerImage(spec, kind);
  if (need > budgetBytes) {
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
    throw new LowbitError('E_MEMORY', `network '${spec.name}': one image of a ${kind} pass needs about ${mb(need)}, more than ${option} of ${mb(budgetBytes)}; raise it (the wasm heap holds at most 4096 MB) or use a smaller input size`);
  }
}
