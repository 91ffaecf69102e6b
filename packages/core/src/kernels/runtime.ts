import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  heap_base(): number;
  depthwise_filter_grad(...args: number[]): void;
  depthwise_input_grad(...args: number[]): void;
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

  /** Lays out float arrays (inputs with data, outputs as sizes) after the heap base; returns their byte offsets. */
  private layout(arrays: Array<Float32Array | number>): { offsets: number[]; heap: Float32Array } {
    const offsets: number[] = [];
    let off = this.base;
    for (const a of arrays) {
      offsets.push(off);
      const n = typeof a === 'number' ? a : a.length;
      off += ((n * 4 + 15) >> 4) << 4;
    }
    const need = off - this.ex.memory.buffer.byteLength;
    if (need > 0) this.ex.memory.grow(Math.ceil(need / 65536));
    const heap = new Float32Array(this.ex.memory.buffer);
    arrays.forEach((a, i) => {
      if (typeof a !== 'number') heap.set(a, offsets[i]! >> 2);
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
