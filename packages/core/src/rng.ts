import * as tf from '@tensorflow/tfjs-core';

/** Serialisable state of an {@link Rng}: four 32-bit words. */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Seeded pseudo-random generator (xoshiro128**), the only source of randomness in lowbit.
 * Its state can be saved in a checkpoint and restored, so that a resumed run draws exactly
 * the numbers an uninterrupted run would have drawn.
 *
 * @example
 * const rng = new Rng(42);
 * const mask = rng.bernoulli([32, 16], 0.5); // float32 0/1 tensor
 */
export class Rng {
  private s: Uint32Array;
  private spareNormal: number | null = null;

  constructor(seed: number | RngState = 0) {
    this.s = new Uint32Array(4);
    if (Array.isArray(seed)) {
      this.s.set(seed.map((v) => v >>> 0));
    } else {
      if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}`);
      const sm = splitmix32(Math.floor(seed));
      for (let i = 0; i < 4; i++) this.s[i] = sm();
    }
    if (this.s[0] === 0 && this.s[1] === 0 && this.s[2] === 0 && this.s[3] === 0) this.s[0] = 1;
  }

  /** The generator's state, to store in a checkpoint. */
  state(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  /**
   * Sets the 128-bit state (what {@link state} returns) in place: for kernels that draw the same
   * `nextUint32` sequence outside JavaScript and hand the state back. A cached second normal
   * sample is kept, exactly as if the numbers had been drawn here.
   */
  setState(state: RngState): void {
    for (let i = 0; i < 4; i++) this.s[i] = state[i]! >>> 0;
  }

  /** A generator continuing from a saved state. */
  static fromState(state: RngState): Rng {
    return new Rng(state);
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Advances the generator by `n` draws (as `n` calls of {@link nextUint32}). */
  skip(n: number): void {
    for (let i = 0; i < n; i++) this.nextUint32();
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`Rng.int(n) needs n >= 1, got ${n}`);
    return Math.floor(this.float() * n);
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A new independent generator derived from this one (advances this one). */
  fork(): Rng {
    return new Rng([this.nextUint32(), this.nextUint32(), this.nextUint32(), this.nextUint32()]);
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(arr: T[] | Int32Array | Uint32Array): typeof arr {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = tmp;
    }
    return arr;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }

  /** Float32 values uniform in [lo, hi). */
  uniformArray(size: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(size);
    const w = hi - lo;
    for (let i = 0; i < size; i++) out[i] = lo + w * this.float();
    return out;
  }

  /** Tensor of values uniform in [lo, hi). */
  uniform(shape: number[], lo = 0, hi = 1): tf.Tensor {
    return tf.tensor(this.uniformArray(sizeOf(shape), lo, hi), shape, 'float32');
  }

  /** Tensor of normal samples. */
  normalTensor(shape: number[], mean = 0, std = 1): tf.Tensor {
    const n = sizeOf(shape);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return tf.tensor(out, shape, 'float32');
  }

  /** Float32 0/1 mask, each element 1 with probability p. */
  bernoulli(shape: number[], p: number): tf.Tensor {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Rng.bernoulli: p must be in [0, 1], got ${p}`);
    const n = sizeOf(shape);
    const out = new Float32Array(n);
    if (p >= 1) out.fill(1);
    else if (p > 0) {
      const threshold = p * 4294967296;
      for (let i = 0; i < n; i++) out[i] = this.nextUint32() < threshold ? 1 : 0;
    }
    return tf.tensor(out, shape, 'float32');
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function sizeOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
