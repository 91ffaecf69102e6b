import type * as tf from '@tensorflow/tfjs-core';
import type { ExportOptions, LayerGrids, StoredWeight } from './export-types.js';
import { codesOnGrid } from './grid-check.js';
import { LowbitError, toFloat16Bits } from '@lowbit/core';

/** Concatenates byte chunks into one buffer (a weight shard). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** A manifest entry as the converter writes it (`original_dtype` beside the quantization dtype). */
export type ManifestEntry = tf.io.WeightsManifestEntry & { quantization?: NonNullable<tf.io.WeightsManifestEntry['quantization']> & { original_dtype?: 'float32' } };

const bytesOf = (a: Float32Array | Int32Array | Uint16Array | Uint8Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/** Largest finite float16. */
const HALF_MAX = 65504;

/** An export option that avoids float16 for a weight out of its range (the `alternatives` of an E_RANGE error). */
export interface HalfRangeAlternative {
  option: 'perChannel' | 'codeBias';
  value: 'float32' | 'uint8';
  /** What the option stores differently, for the message. */
  what: 'it' | 'the bias';
}

/**
 * Refuses a weight that float16 would turn into ±Infinity or NaN (a silently broken export).
 * The error's `details` hold `weight`, `index`, `value` and the `alternatives`, so that a caller
 * can name them in its own terms (e.g. as command-line flags).
 */
function checkHalfRange(name: string, values: Float32Array, alternatives: HalfRangeAlternative[]): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Math.abs(v) <= HALF_MAX)) {
      const instead = alternatives.map((a) => `${a.what === 'it' ? 'store it' : `the bias`} as ${a.value} (${a.option}: '${a.value}')`).join(' or ');
      throw new LowbitError('E_RANGE', `weight '${name}' holds ${v} at index ${i}, which float16 cannot represent (largest ${HALF_MAX}); ${instead}`, { weight: name, index: i, value: v, largest: HALF_MAX, alternatives });
    }
  }
}

/**
 * Builds one stock TF.js weight group (manifest entries + the shard's bytes) in the order weights
 * are added, and records how each was stored. Float kernels with a per-tensor grid of ≤ 8 bits
 * are stored as uint8 with `scale`/`min` (tfjs dequantizes `q·scale + min`, which equals
 * `s·code` exactly); kernels on per-channel grids as their codes ({@link ManifestWriter.codes},
 * the exporters apply the scales after the layer), or as float32 (exact) or float16, with a note
 * saying so.
 */
export class ManifestWriter {
  private readonly specs: ManifestEntry[] = [];
  private readonly chunks: Uint8Array[] = [];
  readonly stored: StoredWeight[] = [];
  /** The layer the next weights belong to (recorded in `stored`); set by the exporter per node. */
  layer: string | undefined;

  constructor(
    private readonly perChannel: ExportOptions['perChannel'] = 'uint8',
    private readonly codeBiasAs: ExportOptions['codeBias'] = 'float16',
  ) {}

  /** The bias applied after an integer-coded kernel, stored as `codeBias` says. */
  codeBias(name: string, shape: number[], values: Float32Array, note: string): void {
    if (this.codeBiasAs === 'float16') this.half(name, shape, values, `${note}, float16`);
    else this.affine8(name, shape, values, `${note}, uint8 (256 levels)`);
  }

  /**
   * A kernel on a per-channel grid of ≤ 8 bits as its integer codes: uint8 with scale 1 and
   * min −2^(b−1), so stock TF.js reads back each code exactly; `scalesIn` names where the
   * per-channel scales are applied.
   */
  codes(name: string, shape: number[], values: Float32Array, grid: LayerGrids[string], scalesIn: string): void {
    const codes = codesOnGrid(name, shape, values, grid);
    // symmetric: codes −2^(b−1)..2^(b−1)−1; asymmetric: c = q − z spans up to 2^(b+1) − 1 values over the channels
    let cmin = -(2 ** (grid.bits - 1));
    let cmax = 2 ** (grid.bits - 1) - 1;
    if (grid.zeroPoint) {
      cmin = Infinity;
      cmax = -Infinity;
      for (const c of codes) {
        if (c < cmin) cmin = c;
        if (c > cmax) cmax = c;
      }
    }
    const kind = grid.zeroPoint ? 'asymmetric ' : '';
    if (cmax - cmin > 255) {
      // float16 holds every integer up to 2048 exactly: still the exact codes, 2 bytes a weight
      this.push({ name, shape, dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } }, bytesOf(toFloat16Bits(Float32Array.from(codes))), 'float16', `${grid.bits}-bit ${kind}per-channel grid: integer codes ${cmin}..${cmax} (more than 256 values: float16, exact), the scales applied in '${scalesIn}' (float16)`);
      return;
    }
    const q = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) q[i] = codes[i]! - cmin;
    this.push({ name, shape, dtype: 'float32', quantization: { dtype: 'uint8', scale: 1, min: cmin, original_dtype: 'float32' } }, q, 'uint8', `${grid.bits}-bit ${kind}per-channel grid: integer codes, the scales applied in '${scalesIn}' (float16)`);
  }

  /** A float weight stored as float16 (a per-channel scale or bias of a kernel stored as codes). */
  half(name: string, shape: number[], values: Float32Array, note: string): void {
    checkHalfRange(name, values, [
      { option: 'perChannel', value: 'float32', what: 'it' },
      { option: 'codeBias', value: 'uint8', what: 'the bias' },
    ]);
    this.push({ name, shape, dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } }, bytesOf(toFloat16Bits(values)), 'float16', note);
  }

  /**
   * A float vector in the stock uint8 container with its own `min` and `scale` (255 steps from its
   * smallest to its largest value), as the TF.js converter's `--quantize_uint8` stores every weight:
   * exact when all values are equal, otherwise rounded to the nearest of 256 levels.
   */
  affine8(name: string, shape: number[], values: Float32Array, note: string): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(lo <= hi)) lo = hi = 0;
    const scale = Math.fround((hi - lo) / 255);
    const min = Math.fround(lo);
    const q = new Uint8Array(values.length);
    if (scale > 0) for (let i = 0; i < values.length; i++) q[i] = Math.min(255, Math.max(0, Math.round((values[i]! - min) / scale)));
    this.push({ name, shape, dtype: 'float32', quantization: { dtype: 'uint8', scale, min, original_dtype: 'float32' } }, q, 'uint8', note);
  }

  /** A float32 weight; `grid` is the kernel's quantization grid, if it has one. */
  float(name: string, shape: number[], values: Float32Array, grid?: LayerGrids[string], note?: string): void {
    // a kernel with a grid must lie on it, whatever it is stored as: a stock model then computes what the quantized model does
    const codes = grid ? codesOnGrid(name, shape, values, grid) : null;
    if (grid && codes && grid.axis === null && grid.bits <= 8) {
      const s = grid.scale[0]!;
      // stored q = c − cmin in 0..2^b − 1 (asymmetric: cmin = −z, q the unsigned code)
      const cmin = grid.zeroPoint ? -grid.zeroPoint[0]! : -(2 ** (grid.bits - 1));
      const q = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) q[i] = codes[i]! - cmin;
      this.push({ name, shape, dtype: 'float32', quantization: { dtype: 'uint8', scale: s, min: s * cmin, original_dtype: 'float32' } }, q, 'uint8', `${grid.bits}-bit per-tensor grid, exact`);
    } else if (grid && this.perChannel === 'float16') {
      checkHalfRange(name, values, [{ option: 'perChannel', value: 'float32', what: 'it' }]);
      const h = toFloat16Bits(values);
      this.push({ name, shape, dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } }, bytesOf(h), 'float16', `${grid.bits}-bit per-channel grid: not representable in the stock manifest, stored as float16 (rounded)`);
    } else {
      const why = grid ? `${grid.bits}-bit per-channel grid: stored as float32 (exact)${grid.bits <= 8 ? '' : ' (more than 8 bits)'}` : note;
      this.push({ name, shape, dtype: 'float32' }, bytesOf(values), 'float32', why);
    }
  }

  /** An int32 graph constant (a shape, reduction axes, paddings). */
  int32(name: string, shape: number[], values: readonly number[]): void {
    this.push({ name, shape, dtype: 'int32' }, bytesOf(Int32Array.from(values)), 'int32', 'graph constant');
  }

  /** The manifest entries, the shard and the per-weight report. */
  finish(): { specs: ManifestEntry[]; weightData: Uint8Array; weights: StoredWeight[] } {
    return { specs: this.specs, weightData: concatBytes(this.chunks), weights: this.stored };
  }

  private push(spec: ManifestEntry, bytes: Uint8Array, storedAs: StoredWeight['storedAs'], note: string | undefined): void {
    this.specs.push(spec);
    this.chunks.push(bytes);
    this.stored.push({ name: spec.name, ...(this.layer !== undefined ? { layer: this.layer } : {}), storedAs, bytes: bytes.length, ...(note ? { note } : {}) });
  }
}
