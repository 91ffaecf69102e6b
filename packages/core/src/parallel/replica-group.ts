import type { BatchReducer } from '../batch-norm.js';

// Control words at the start of the shared buffer (Int32 indices).
const GEN = 0; // barrier generation
const COUNT = 1; // ranks arrived at the current barrier
const ABORT = 2; // 1 once a rank failed
const ERR_LEN = 3; // bytes of the failure message
const CONTROL_BYTES = 64;
const ERR_BYTES = 4096;
const HEADER = CONTROL_BYTES + ERR_BYTES;

/** The rows `[from, to)` of a batch of `n` that rank `rank` of `size` holds: contiguous, as equal as they can be. */
export function shareRange(n: number, rank: number, size: number): [number, number] {
  return [Math.floor((rank * n) / size), Math.floor(((rank + 1) * n) / size)];
}

/**
 * Marks the group of `shared` failed with `message` and wakes every waiting rank (see
 * {@link ReplicaGroup.abort}). Self-contained (literal layout offsets, no outer references): its
 * source also runs inside the replica supervisor thread, which cannot import this module.
 */
export function abortShared(shared: SharedArrayBuffer, message: string): void {
  const ctl = new Int32Array(shared, 0, 16); // GEN 0, COUNT 1, ABORT 2, ERR_LEN 3
  const bytes = new TextEncoder().encode(message).subarray(0, 4096); // ERR_BYTES
  if (Atomics.compareExchange(ctl, 2, 0, 1) === 0) {
    new Uint8Array(shared, 64, 4096).set(bytes); // after CONTROL_BYTES
    Atomics.store(ctl, 3, bytes.length);
    Atomics.store(ctl, 2, 2);
  }
  Atomics.add(ctl, 0, 1);
  Atomics.notify(ctl, 0);
}

/** Thrown on every rank once one rank of the group has failed ({@link ReplicaGroup.abort}). */
export class ReplicaAbortedError extends Error {
  override name = 'ReplicaAbortedError';
}

/**
 * A fixed group of threads (replicas) that synchronise through one `SharedArrayBuffer`: a
 * barrier, an all-reduce (sum) and a broadcast, all blocking (`Atomics.wait`, which Node allows
 * on the main thread too). Every rank must make the same sequence of calls with the same sizes.
 * Sums are formed in float64 in rank order, so every rank gets bit-identical results.
 *
 * Create the buffer once with {@link ReplicaGroup.allocate} and give it to every thread; each
 * wraps it with its own rank. Implements {@link BatchReducer} for `setBatchNormSync`.
 */
export class ReplicaGroup implements BatchReducer {
  private readonly ctl: Int32Array;
  private readonly slots: Float64Array;
  /** Float64 values per slot (longer vectors go through in chunks). */
  readonly capacity: number;
  private calls = 0;

  /** A buffer for `size` ranks exchanging up to `capacity` values per call (two slot sets). */
  static allocate(size: number, capacity: number): SharedArrayBuffer {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`replica group size must be a positive integer, got ${size}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`replica group capacity must be a positive integer, got ${capacity}`);
    return new SharedArrayBuffer(HEADER + 2 * size * capacity * 8);
  }

  /** A group of one (this thread alone): every collective call is a no-op. */
  static solo(): ReplicaGroup {
    return new ReplicaGroup(ReplicaGroup.allocate(1, 1), 0, 1);
  }

  constructor(
    readonly shared: SharedArrayBuffer,
    readonly rank: number,
    readonly size: number,
  ) {
    if (!(rank >= 0 && rank < size)) throw new RangeError(`rank ${rank} is outside a group of ${size}`);
    this.ctl = new Int32Array(shared, 0, CONTROL_BYTES / 4);
    this.capacity = Math.floor((shared.byteLength - HEADER) / (2 * size * 8));
    if (this.capacity < 1) throw new RangeError(`shared buffer of ${shared.byteLength} bytes is too small for ${size} ranks`);
    this.slots = new Float64Array(shared, HEADER, 2 * size * this.capacity);
  }

  /** Blocks until every rank has called `barrier` (the same number of times). */
  barrier(): void {
    if (this.size === 1) {
      this.checkAbort();
      return;
    }
    // The generation is read before the abort check: `abort` marks the group failed before it
    // bumps the generation, so an abort after this read wakes the wait below, and one before it
    // is seen by the check.
    const gen = Atomics.load(this.ctl, GEN);
    this.checkAbort();
    if (Atomics.add(this.ctl, COUNT, 1) === this.size - 1) {
      Atomics.store(this.ctl, COUNT, 0);
      Atomics.add(this.ctl, GEN, 1);
      Atomics.notify(this.ctl, GEN);
      return;
    }
    while (Atomics.load(this.ctl, GEN) === gen) Atomics.wait(this.ctl, GEN, gen);
    // woken by the last rank or by an abort: only the first completes the barrier
    this.checkAbort();
  }

  /** Replaces `v` by its elementwise sum over all ranks (float64 sums in rank order, then stored in `v`'s type). */
  allReduce(v: Float64Array | Float32Array): void {
    for (let from = 0; from < v.length; from += this.capacity) {
      const n = Math.min(this.capacity, v.length - from);
      const set = this.nextSet();
      const mine = this.slot(set, this.rank);
      for (let i = 0; i < n; i++) mine[i] = v[from + i]!;
      this.barrier();
      const acc = new Float64Array(n);
      for (let r = 0; r < this.size; r++) {
        const s = this.slot(set, r);
        for (let i = 0; i < n; i++) acc[i]! += s[i]!;
      }
      v.set(acc, from);
    }
  }

  /** Copies `v` of rank `root` into `v` of every other rank (the same length everywhere). */
  broadcast(v: Float64Array | Float32Array, root = 0): void {
    for (let from = 0; from < v.length; from += this.capacity) {
      const n = Math.min(this.capacity, v.length - from);
      const set = this.nextSet();
      const s = this.slot(set, root);
      if (this.rank === root) for (let i = 0; i < n; i++) s[i] = v[from + i]!;
      this.barrier();
      if (this.rank !== root) for (let i = 0; i < n; i++) v[from + i] = s[i]!;
    }
  }

  /**
   * Marks the group failed with `message` and wakes every waiting rank, which then throws a
   * {@link ReplicaAbortedError}; later calls on any rank throw too.
   */
  abort(message: string): void {
    abortShared(this.shared, message);
  }

  /** The failure message once the group has been aborted, else null. */
  failure(): string | null {
    const state = Atomics.load(this.ctl, ABORT);
    if (state === 0) return null;
    if (state === 1) return 'a replica failed';
    const len = Atomics.load(this.ctl, ERR_LEN);
    return new TextDecoder().decode(new Uint8Array(this.shared, CONTROL_BYTES, len).slice());
  }

  private checkAbort(): void {
    const f = this.failure();
    if (f !== null) throw new ReplicaAbortedError(`replica group aborted: ${f}`);
  }

  // Two slot sets used alternately: a rank can only rewrite a set after the barrier of the next
  // call, which every rank reaches only once it has finished reading that set.
  private nextSet(): number {
    return this.calls++ & 1;
  }

  private slot(set: number, rank: number): Float64Array {
    const off = (set * this.size + rank) * this.capacity;
    return this.slots.subarray(off, off + this.capacity);
  }
}
