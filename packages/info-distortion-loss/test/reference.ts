/** Plain-JS float64 references for the losses (rows of a row-major `[rows, classes]` array). */

export function logSoftmax64(z: ArrayLike<number>, rows: number, classes: number, temperature = 1): Float64Array {
  const out = new Float64Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, z[r * classes + c]! / temperature);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(z[r * classes + c]! / temperature - max);
    const lse = max + Math.log(sum);
    for (let c = 0; c < classes; c++) out[r * classes + c] = z[r * classes + c]! / temperature - lse;
  }
  return out;
}

/** `T² · mean_r KL(softmax(t_r/T) ‖ softmax(s_r/T))`. */
export function kl64(s: ArrayLike<number>, t: ArrayLike<number>, rows: number, classes: number, temperature = 1): number {
  const lq = logSoftmax64(s, rows, classes, temperature);
  const lp = logSoftmax64(t, rows, classes, temperature);
  let total = 0;
  for (let i = 0; i < rows * classes; i++) total += Math.exp(lp[i]!) * (lp[i]! - lq[i]!);
  return (temperature * temperature * total) / rows;
}

/** `mean_r −log softmax(z_r)[labels_r]`. */
export function ce64(z: ArrayLike<number>, labels: ArrayLike<number>, rows: number, classes: number): number {
  const l = logSoftmax64(z, rows, classes);
  let total = 0;
  for (let r = 0; r < rows; r++) total -= l[r * classes + labels[r]!]!;
  return total / rows;
}

/** `weight · Σ_l mean((s_l − t_l)²)`. */
export function idm64(pairs: [ArrayLike<number>, ArrayLike<number>][], weight: number): number {
  let total = 0;
  for (const [s, t] of pairs) {
    let sum = 0;
    for (let i = 0; i < s.length; i++) sum += (s[i]! - t[i]!) ** 2;
    total += sum / s.length;
  }
  return weight * total;
}

/** Central differences of a float64 function `f` at `x`. */
export function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-5): Float64Array {
  const at = Float64Array.from(x);
  const g = new Float64Array(at.length);
  for (let i = 0; i < at.length; i++) {
    const v = at[i]!;
    at[i] = v + h;
    const fp = f(at);
    at[i] = v - h;
    const fm = f(at);
    at[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

