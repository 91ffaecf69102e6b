import * as tf from '@tensorflow/tfjs-core';
import { copyRows, fromFloat16Bits, LowbitError, type ReplicaGroup, shareRange, toFloat16Bits } from '@lowbit/core';
import type { CalibrationSource } from './calibration.js';

/** Default float-target cache budget: 2 GiB of JS memory. */
export const DEFAULT_CACHE_BYTES = 2 ** 31;

export type CachePrecision = 'auto' | 'float32' | 'float16';

/**
 * Shared memory handed out in order: every rank of a group makes the same requests, so a region
 * has the same offset everywhere. `reset` when a unit's caches are freed.
 */
export class CacheArena {
  private offset = 0;
  constructor(readonly buffer: SharedArrayBuffer) {}
  get free(): number {
    return this.buffer.byteLength - this.offset;
  }
  take(bytes: number): number {
    const at = this.offset;
    this.offset += Math.ceil(bytes / 8) * 8;
    return at;
  }
  reset(): void {
    this.offset = 0;
  }
}

interface Stored {
  rows: Float32Array | Uint16Array;
  shape: number[];
  row: number;
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/**
 * Float targets (or inputs) of a unit for every calibration image, or computed per batch. The
 * cache holds one row per image and output in JS memory (outside the backend's heap, which stays
 * free for the passes), in float32 or float16, filled `batch` images at a time; a batch's rows
 * become one tensor again on `get`. Over its budget it computes per batch. Under a group with an
 * arena, every rank fills its share of the images into the shared memory and waits for the others.
 */
export class TargetCache {
  private cache: Stored[] | null = null;
  /** What the cache did that a user should know (fell back to per-batch, stored float16), or null. */
  note: string | null = null;
  constructor(
    private readonly calib: CalibrationSource,
    private readonly mode: 'per-batch' | 'cache',
    private readonly batch: number,
    private readonly budgetBytes: number,
    private readonly compute: (x: tf.Tensor) => tf.Tensor[],
    private readonly o: { precision?: CachePrecision; arena?: CacheArena | null; group?: ReplicaGroup } = {},
  ) {}
  get cached(): boolean {
    return this.cache !== null;
  }
  prepare(): void {
    if (this.mode !== 'cache') return;
    const n = this.calib.size;
    const group = this.o.group && this.o.group.size > 1 ? this.o.group : undefined;
    const arena = group ? (this.o.arena ?? null) : null;
    // with a shared arena each rank fills its share; otherwise every rank fills all rows
    const [from, to] = arena && group ? shareRange(n, group.rank, group.size) : [0, n];
    if (from >= to) throw new LowbitError('E_CONFIG', `float-target cache: ${n} images cannot be shared by ${group!.size} threads`);
    for (let i = from; i < to; i += this.batch) {
      const idx = Int32Array.from({ length: Math.min(this.batch, to - i) }, (_, j) => i + j);
      const out = tf.tidy(() => this.compute(this.calib.batch(idx)));
      try {
        if (!this.cache && !this.allocate(out.map((t) => ({ shape: t.shape.slice(1), row: t.size / idx.length })), arena)) return;
        out.forEach((t, k) => {
          const c = this.cache![k]!;
          const v = t.dataSync() as Float32Array;
          c.rows.set(c.rows instanceof Uint16Array ? toFloat16Bits(v) : v, i * c.row);
        });
      } finally {
        tf.dispose(out);
      }
    }
    // every rank decided the same (the sizes are the same everywhere) and waits for the others' rows
    if (arena && group && this.cache) group.barrier();
  }
  /** Sets up the storage for rows of these sizes, or says why not (false). The same decision on every rank. */
  private allocate(outs: Array<{ shape: number[]; row: number }>, arena: CacheArena | null): boolean {
    const n = this.calib.size;
    const values = n * outs.reduce((a, o) => a + o.row, 0);
    const limit = Math.min(this.budgetBytes, arena ? arena.free : Number.POSITIVE_INFINITY);
    const what = arena ? `the cache budget of ${mb(this.budgetBytes)} MB (shared arena ${mb(arena.free)} MB free)` : `the cache budget of ${mb(this.budgetBytes)} MB`;
    const precision = this.o.precision ?? 'auto';
    const f32 = 4 * values <= limit && precision !== 'float16';
    const f16 = !f32 && 2 * values <= limit && precision !== 'float32';
    if (!f32 && !f16) {
      const need = precision === 'float16' ? 2 * values : 4 * values;
      this.note = `the float targets of ${n} images need ${mb(need)} MB${precision === 'auto' ? ` (${mb(2 * values)} MB in float16)` : ''}, more than ${what}: computed per batch`;
      return false;
    }
    const bytesPer = f32 ? 4 : 2;
    if (f16 && precision === 'auto') this.note = `the float targets of ${n} images are cached in float16 (${mb(2 * values)} MB; float32 would need ${mb(4 * values)} MB, more than ${what})`;
    this.cache = outs.map((o) => {
      const count = n * o.row;
      if (arena) {
        const at = arena.take(count * bytesPer);
        return { ...o, rows: f32 ? new Float32Array(arena.buffer, at, count) : new Uint16Array(arena.buffer, at, count) };
      }
      return { ...o, rows: f32 ? new Float32Array(count) : new Uint16Array(count) };
    });
    return true;
  }
  /** Values for a batch (tensors owned by the caller's tidy scope). */
  get(indices: Int32Array, x?: tf.Tensor): tf.Tensor[] {
    if (!this.cache) return this.compute(x ?? this.calib.batch(indices));
    const outOfRange = (i: number, n: number) => new LowbitError('E_ARG', `float-target cache: index ${i} is outside [0, ${n})`);
    return this.cache.map((c) => {
      if (c.rows instanceof Float32Array) return copyRows(c.rows, c.shape, indices, outOfRange);
      const n = c.rows.length / c.row;
      const out = new Float32Array(indices.length * c.row);
      indices.forEach((i, j) => {
        if (!(i >= 0 && i < n)) throw outOfRange(i, n);
        fromFloat16Bits((c.rows as Uint16Array).subarray(i * c.row, (i + 1) * c.row), out.subarray(j * c.row, (j + 1) * c.row));
      });
      return tf.tensor(out, [indices.length, ...c.shape], 'float32');
    });
  }
  finish(): void {
    this.cache = null;
  }
}
