import * as tf from '@tensorflow/tfjs-core';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/** A view of a tensor's data in the wasm backend's heap (no copy), or null on other backends. */
function heapView(t: tf.Tensor): Float32Array | Uint8Array | null {
  const b = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.Tensor) => Float32Array | Uint8Array };
  return tf.getBackend() === 'wasm' && typeof b.typedArrayFromHeap === 'function' ? b.typedArrayFromHeap(t) : null;
}

/**
 * A float32 tensor's values for a kernel call: on the wasm backend a view of its heap (no copy;
 * valid only until the next tfjs allocation, so pass it straight to the kernel), else its data.
 */
export function tensorValues(t: tf.Tensor): Float32Array {
  return (heapView(t) ?? t.dataSync()) as Float32Array;
}

/** A bool tensor's bytes (0/1), with the same view-or-data rule as {@link tensorValues}. */
export function tensorBytes(t: tf.Tensor): Uint8Array {
  return (heapView(t) ?? t.dataSync()) as Uint8Array;
}

/**
 * A tensor from kernel output (a view into the kernel memory): the wasm backend copies the data
 * into its heap when the tensor is created; other backends keep the array, so it is copied first.
 */
export function kernelTensor(data: Float32Array | Uint8Array, shape: number[], dtype: 'float32' | 'bool' = 'float32'): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? data : data.slice(), shape, dtype);
}

/** `n` floats of the kernel memory from byte offset `offset`, as a view. */
function floats(heap: Float32Array, offset: number, n: number): Float32Array {
  return heap.subarray(offset >> 2, (offset >> 2) + n);
}

interface KernelExports {
  memory: WebAssembly.Memory;
  heap_base(): number;
  depthwise_filter_grad(...args: number[]): void;
  depthwise_input_grad(...args: number[]): void;
  bn_forward(...args: number[]): void;
  bn_backward(...args: number[]): void;
  bn_sums(...args: number[]): void;
  bn_sq_dev(...args: number[]): void;
  bn_normalize(...args: number[]): void;
  bn_grad_sums(...args: number[]): void;
  bn_grad_apply(...args: number[]): void;
  fq_forward(...args: number[]): void;
  fq_backward(...args: number[]): number;
  mix_forward(...args: number[]): void;
  mix_backward(...args: number[]): void;
  relu_grad(...args: number[]): void;
}

/** Outputs of a kernel call: views into the kernel module's memory, valid until its next call. */
export interface BatchNormForwardOut {
  y: Float32Array;
  xhat: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  inv: Float32Array;
}
export interface BatchNormBackwardOut {
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

/**
 * lowbit's own WebAssembly SIMD kernels (see `packages/core/kernels/`), in a module instance of
 * their own. Arguments are copied into its memory, the kernel runs, results are copied out.
 */
export class KernelRuntime {
  private readonly base: number;
  constructor(private readonly ex: KernelExports) {
    this.base = (ex.heap_base() + 15) & ~15;
  }

  /**
   * Lays out arrays after the heap base (float arrays and byte arrays with data; numbers are
   * float-sized outputs), 16-byte aligned; returns their byte offsets.
   */
  private layout(arrays: Array<Float32Array | Uint8Array | number>): { offsets: number[]; heap: Float32Array } {
    const offsets: number[] = [];
    let off = this.base;
    for (const a of arrays) {
      offsets.push(off);
      const bytes = typeof a === 'number' ? a * 4 : a.byteLength;
      off += ((bytes + 15) >> 4) << 4;
    }
    const need = off - this.ex.memory.buffer.byteLength;
    if (need > 0) this.ex.memory.grow(Math.ceil(need / 65536));
    const heap = new Float32Array(this.ex.memory.buffer);
    arrays.forEach((a, i) => {
      if (a instanceof Float32Array) heap.set(a, offsets[i]! >> 2);
      else if (a instanceof Uint8Array) new Uint8Array(this.ex.memory.buffer).set(a, offsets[i]!);
    });
    return { offsets, heap };
  }

  /** dW of a depthwise conv (multiplier 1): `[kh, kw, C]` floats. */
  depthwiseFilterGrad(x: Float32Array, dy: Float32Array, dims: DepthwiseDims): Float32Array {
    const { n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl } = dims;
    const k = kh * kw * c;
    const { offsets, heap } = this.layout([x, dy, k, k]);
    this.ex.depthwise_filter_grad(offsets[0]!, offsets[1]!, offsets[2]!, offsets[3]!, n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl);
    return heap.slice(offsets[2]! >> 2, (offsets[2]! >> 2) + k);
  }

  /**
   * Training-mode batch norm of `x` as an `[r, c]` matrix: batch mean, biased variance,
   * `inv = 1/sqrt(var + eps)`, `xhat`, `y = xhat·gamma + beta`. Returns views into the kernel
   * memory (copy them before the next kernel call).
   */
  batchNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, r: number, c: number): BatchNormForwardOut {
    const n = r * c;
    const { offsets: o, heap } = this.layout([x, gamma, beta, n, n, c, c, c, c, 2 * c]);
    this.ex.bn_forward(o[0]!, o[1]!, o[2]!, eps, o[3]!, o[4]!, o[5]!, o[6]!, o[7]!, o[8]!, o[9]!, r, c);
    return { y: floats(heap, o[3]!, n), xhat: floats(heap, o[4]!, n), mean: floats(heap, o[5]!, c), variance: floats(heap, o[6]!, c), inv: floats(heap, o[7]!, c) };
  }

  /** Gradient of {@link batchNormForward}: `dx`, `dgamma = Σ dy·xhat`, `dbeta = Σ dy` (views, as above). */
  batchNormBackward(dy: Float32Array, xhat: Float32Array, gamma: Float32Array, inv: Float32Array, r: number, c: number): BatchNormBackwardOut {
    const n = r * c;
    const { offsets: o, heap } = this.layout([dy, xhat, gamma, inv, n, c, c, 2 * c, 4 * c]);
    this.ex.bn_backward(o[0]!, o[1]!, o[2]!, o[3]!, o[4]!, o[5]!, o[6]!, o[7]!, o[8]!, r, c);
    return { dx: floats(heap, o[4]!, n), dgamma: floats(heap, o[5]!, c), dbeta: floats(heap, o[6]!, c) };
  }

  /**
   * Training-mode batch norm of a batch split over replicas: the same passes as
   * {@link batchNormForward}, with `reduce` summing each phase's per-channel float64 sums over the
   * replicas in between (first `[Σx…, rows]`, then `Σ(x − mean)²`). `x` is copied into the kernel
   * memory once. Returns views (as {@link batchNormForward}) and the total row count.
   */
  batchNormForwardSynced(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, r: number, c: number, reduce: (v: Float64Array) => void): BatchNormForwardOut & { rows: number } {
    const n = r * c;
    const { offsets: o, heap } = this.layout([x, gamma, beta, n, n, c, c, c, c, 2 * c]);
    const [ox, og, ob, oy, oh, om, ov, oi, op, oa] = o as [number, number, number, number, number, number, number, number, number, number];
    const acc = () => new Float64Array(this.ex.memory.buffer, oa, c);
    this.ex.bn_sums(ox, op, oa, r, c);
    const s = new Float64Array(c + 1);
    s.set(acc());
    s[c] = r;
    reduce(s);
    const rows = s[c]!;
    const mean = floats(heap, om, c);
    for (let i = 0; i < c; i++) mean[i] = s[i]! / rows;
    this.ex.bn_sq_dev(ox, om, op, oa, r, c);
    const sq = acc().slice();
    reduce(sq);
    const variance = floats(heap, ov, c);
    const inv = floats(heap, oi, c);
    const e = Math.fround(eps); // the kernels take ε as a float32
    for (let i = 0; i < c; i++) {
      variance[i] = sq[i]! / rows;
      inv[i] = 1 / Math.sqrt(variance[i]! + e);
    }
    this.ex.bn_normalize(ox, om, oi, og, ob, oy, oh, r, c);
    return { y: floats(heap, oy, n), xhat: floats(heap, oh, n), mean, variance, inv, rows };
  }

  /**
   * Gradient of {@link batchNormForwardSynced}: `dx` from the per-channel sums of `dy` and
   * `dy·xhat` summed over the replicas by `reduce` (over `rows` rows in all); `dgamma`/`dbeta`
   * are this replica's own sums (views, as above).
   */
  batchNormBackwardSynced(dy: Float32Array, xhat: Float32Array, gamma: Float32Array, inv: Float32Array, r: number, c: number, rows: number, reduce: (v: Float64Array) => void): BatchNormBackwardOut {
    const n = r * c;
    const { offsets: o, heap } = this.layout([dy, xhat, gamma, inv, n, c, c, c, c, 2 * c, 4 * c]);
    const [od, oh, og, oi, ox, odg, odb, omb, omg, op, oa] = o as [number, number, number, number, number, number, number, number, number, number, number];
    this.ex.bn_grad_sums(od, oh, op, oa, r, c);
    const local = new Float64Array(this.ex.memory.buffer, oa, 2 * c).slice();
    const dbeta = floats(heap, odb, c);
    const dgamma = floats(heap, odg, c);
    for (let i = 0; i < c; i++) {
      dbeta[i] = local[i]!;
      dgamma[i] = local[c + i]!;
    }
    reduce(local);
    const mb = floats(heap, omb, c);
    const mg = floats(heap, omg, c);
    for (let i = 0; i < c; i++) {
      mb[i] = local[i]! / rows;
      mg[i] = local[c + i]! / rows;
    }
    this.ex.bn_grad_apply(od, oh, og, oi, omb, omg, ox, r, c);
    return { dx: floats(heap, ox, n), dgamma, dbeta };
  }

  /**
   * Per-tensor fake quantization `(clamp(⌊x/s + z⌉, qmin, qmax) − z)·s`, bit-identical to the
   * tfjs-op path. Returns a view into the kernel memory (copy it before the next kernel call).
   */
  fakeQuantForward(x: Float32Array, s: number, z: number, qmin: number, qmax: number): Float32Array {
    const n = x.length;
    const { offsets: o, heap } = this.layout([x, n]);
    this.ex.fq_forward(o[0]!, o[1]!, n, s, z, qmin, qmax);
    return floats(heap, o[1]!, n);
  }

  /**
   * Gradients of {@link fakeQuantForward}: `dx` (straight-through inside the clamp range, a view
   * as above) and the LSQ step gradient `Σ dy·((c − z) − inside·x/s)` (summed in float64).
   */
  fakeQuantBackward(x: Float32Array, dy: Float32Array, s: number, z: number, qmin: number, qmax: number): { dx: Float32Array; ds: number } {
    const n = x.length;
    const { offsets: o, heap } = this.layout([x, dy, n]);
    const ds = this.ex.fq_backward(o[0]!, o[1]!, o[2]!, n, s, z, qmin, qmax);
    return { dx: floats(heap, o[2]!, n), ds };
  }

  /**
   * Bernoulli mixing `xq + M·(xf − xq)` with `M[i] = next() < threshold` drawn by xoshiro128**
   * from `state` (updated in place), exactly as `Rng.bernoulli` draws, after skipping
   * `skip.before` draws and before skipping `skip.after` more. Returns views (copy them
   * before the next kernel call): the output and the 0/1 mask as bytes.
   */
  mixForward(xf: Float32Array, xq: Float32Array, threshold: number, state: Uint32Array, skip: { before: number; after: number } = { before: 0, after: 0 }): { out: Float32Array; mask: Uint8Array } {
    const n = xf.length;
    const { offsets: o, heap } = this.layout([xf, xq, n, Math.ceil(n / 4), 4]);
    const st = new Uint32Array(heap.buffer, o[4]!, 4);
    st.set(state);
    this.ex.mix_forward(o[0]!, o[1]!, o[2]!, o[3]!, n, threshold, o[4]!, skip.before, skip.after);
    state.set(new Uint32Array(heap.buffer, o[4]!, 4));
    return { out: floats(heap, o[2]!, n), mask: new Uint8Array(heap.buffer, o[3]!, n) };
  }

  /** Gradients of {@link mixForward}: `dxf = M·dy`, `dxq = dy − M·dy` (views, as above). */
  mixBackward(dy: Float32Array, mask: Uint8Array): { dxf: Float32Array; dxq: Float32Array } {
    const n = dy.length;
    const { offsets: o, heap } = this.layout([dy, mask, n, n]);
    this.ex.mix_backward(o[0]!, o[1]!, o[2]!, o[3]!, n);
    return { dxf: floats(heap, o[2]!, n), dxq: floats(heap, o[3]!, n) };
  }

  /** Gradient of ReLU (`hi` = ∞) or ReLU6 (`hi` = 6): `dy` where `0 < x ≤ hi`, else 0 (a view, as above). */
  reluGrad(x: Float32Array, dy: Float32Array, hi: number): Float32Array {
    const n = x.length;
    const { offsets: o, heap } = this.layout([x, dy, n]);
    this.ex.relu_grad(o[0]!, o[1]!, o[2]!, n, hi);
    return floats(heap, o[2]!, n);
  }

  /** dx of a depthwise conv (multiplier 1): `[N, H, W, C]` floats. */
  depthwiseInputGrad(dy: Float32Array, filter: Float32Array, dims: DepthwiseDims): Float32Array {
    const { n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl } = dims;
    const size = n * h * w * c;
    const { offsets } = this.layout([dy, filter, size]);
    this.ex.depthwise_input_grad(offsets[0]!, offsets[1]!, offsets[2]!, n, h, w, c, ho, wo, kh, kw, sh, sw, pt, pl);
    return new Float32Array(this.ex.memory.buffer).slice(offsets[2]! >> 2, (offsets[2]! >> 2) + size);
  }
}

export interface DepthwiseDims {
  n: number;
  h: number;
  w: number;
  c: number;
  ho: number;
  wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
}

let runtime: KernelRuntime | null = null;
let loading: Promise<KernelRuntime | null> | null = null;
let enabled = true;

function decodeBase64(s: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } }).Buffer;
  if (B) return new Uint8Array(B.from(s, 'base64'));
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Instantiates the kernel module (asynchronously, as browsers require for modules over 4 KB). */
export function loadKernels(): Promise<KernelRuntime | null> {
  loading ??= WebAssembly.compile(decodeBase64(KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>)
    .then((m) => WebAssembly.instantiate(m, {}))
    .then((instance) => {
      runtime = new KernelRuntime(instance.exports as unknown as KernelExports);
      return runtime;
    })
    .catch(() => null);
  return loading;
}

/** The kernel runtime when loaded and enabled, else null (callers then use the tfjs-op path). */
export function kernels(): KernelRuntime | null {
  return enabled ? runtime : null;
}

/** Turns lowbit's own kernels on or off (off: gradients use tfjs ops only). Returns the previous setting. */
export function setKernelsEnabled(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}
