// What a stored parameter's values must satisfy to give a meaningful network: finite, and a
// BatchNorm moving variance not negative (sqrt(variance + ε) of a negative variance is NaN or a
// sign flip, and the model still runs).

/** The first value of parameter `param` that no network should hold, with why; null when all are fine. */
export function badParamValue(param: string, vals: ArrayLike<number>): { index: number; value: number; why: string } | null {
  const variance = param === 'movingVariance';
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i]!;
    if (!Number.isFinite(v)) return { index: i, value: v, why: 'is not finite' };
    if (variance && v < 0) return { index: i, value: v, why: 'is a negative variance' };
  }
  return null;
}
