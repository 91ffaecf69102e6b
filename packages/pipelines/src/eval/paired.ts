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

/** `2·P(X ≤ m)` for X ~ Binomial(n, ½), m = min(onlyA, onlyB), capped at 1 (O(m), any n). */
export function mcnemarPValue(onlyA: number, onlyB: number): number {
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  const m = Math.min(onlyA, onlyB);
  // log of each term C(n, k)/2^n, built incrementally: log C(n, k+1) = log C(n, k) + log((n−k)/(k+1));
  // the terms grow with k up to m ≤ n/2, so the last is the largest
  const logs = new Float64Array(m + 1);
  logs[0] = -n * Math.LN2;
  for (let k = 0; k < m; k++) logs[k + 1] = logs[k]! + Math.log((n - k) / (k + 1));
  const top = logs[m]!;
  let sum = 0;
  for (let k = 0; k <= m; k++) sum += Math.exp(logs[k]! - top);
  return Math.min(1, 2 * Math.exp(top) * sum);
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
