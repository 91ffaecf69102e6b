import { LowbitError } from '@lowbit/core';

/** A paired comparison of two classifiers on the same labelled images (McNemar's test). */
export interface PairedComparison {
  images: number;
  /** Images only `a` classifies correctly, and only `b`. */
  onlyA: number;
  onlyB: number;
  /** Accuracy difference a − b (fraction). */
  difference: number;
  /** Its standard error, `sqrt(onlyA + onlyB − (onlyA − onlyB)²/n) / n`. */
  standardError: number;
  /** Two-sided exact McNemar p-value: `2·P(X ≤ min(onlyA, onlyB))`, X ~ Binomial(onlyA + onlyB, ½), at most 1. */
  pValue: number;
}

/** log C(n, k) by summing logs (exact enough for n up to millions). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** `2·P(X ≤ m)` for X ~ Binomial(n, ½), capped at 1. */
export function mcnemarPValue(onlyA: number, onlyB: number): number {
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  const m = Math.min(onlyA, onlyB);
  const ln2n = n * Math.LN2;
  // Σ_{k ≤ m} C(n, k) / 2^n, summed in log space relative to the largest term (k = m)
  const terms: number[] = [];
  for (let k = 0; k <= m; k++) terms.push(logChoose(n, k) - ln2n);
  const top = Math.max(...terms);
  const tail = Math.exp(top) * terms.reduce((s, t) => s + Math.exp(t - top), 0);
  return Math.min(1, 2 * tail);
}

/**
 * Compares the per-image predictions of two classifiers against the labels: which images only
 * one of them gets right, the accuracy difference with its standard error, and McNemar's exact
 * p-value — the test for "is policy a really better than policy b on these images".
 */
export function comparePredictions(a: ArrayLike<number>, b: ArrayLike<number>, labels: ArrayLike<number>): PairedComparison {
  const n = labels.length;
  if (a.length !== n || b.length !== n) throw new LowbitError('E_ARG', `comparePredictions: ${a.length} and ${b.length} predictions for ${n} labels`);
  if (n === 0) throw new LowbitError('E_ARG', 'comparePredictions: no images');
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < n; i++) {
    const ra = a[i] === labels[i];
    const rb = b[i] === labels[i];
    if (ra && !rb) onlyA++;
    else if (rb && !ra) onlyB++;
  }
  const d = onlyA - onlyB;
  return { images: n, onlyA, onlyB, difference: d / n, standardError: Math.sqrt(Math.max(0, onlyA + onlyB - (d * d) / n)) / n, pValue: mcnemarPValue(onlyA, onlyB) };
}
