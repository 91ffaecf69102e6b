import { LowbitError } from '@lowbit/core';

/**
 * The scheduler's plain, JSON-serialisable state (store it in a checkpoint as is; bring it back
 * with {@link restoreScheduler}). Keys are any strings (layer names in the app).
 */
export interface SchedulerState {
  /** Full candidate bit-widths per key, ascending, without duplicates. */
  candidates: Record<string, number[]>;
  /**
   * Bit-widths frozen out for the current period per key, ascending; a proper subset of the key's
   * candidates. Keys with nothing frozen are absent.
   */
  frozen: Record<string, number[]>;
}

/** The fixed key order: ascending UTF-16 code units (independent of locale and insertion order). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Keys of a record in the fixed order of {@link compareKeys}. */
export function sortedKeys(record: Record<string, unknown>): string[] {
  return Object.keys(record).sort(compareKeys);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return Array.isArray(v) ? `[${v.map(String).join(', ')}]` : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** A sorted copy of a key's candidate list; a clear error unless it holds distinct integers 1..32. */
function checkBits(key: string, bits: unknown, what: string, code: string): number[] {
  if (!Array.isArray(bits) || bits.length === 0) {
    throw new LowbitError(code, `${what} of key ${JSON.stringify(key)} must be a non-empty array of bit-widths, got ${show(bits)}`);
  }
  for (const b of bits) {
    if (!(typeof b === 'number' && Number.isInteger(b) && b >= 1 && b <= 32)) {
      throw new LowbitError(code, `${what} of key ${JSON.stringify(key)} must be integers from 1 to 32, got ${show(b)} in ${show(bits)}`);
    }
  }
  const sorted = (bits as number[]).slice().sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new LowbitError(code, `${what} of key ${JSON.stringify(key)} lists bit-width ${sorted[i]} twice: ${show(bits)}`);
  }
  return sorted;
}

function checkCandidates(candidates: unknown, code: string): Record<string, number[]> {
  if (!isRecord(candidates)) throw new LowbitError(code, `candidates must be an object of key → bit-widths, got ${show(candidates)}`);
  const keys = sortedKeys(candidates);
  if (keys.length === 0) throw new LowbitError(code, 'candidates must hold at least one key, got an empty object');
  return Object.fromEntries(keys.map((k) => [k, checkBits(k, candidates[k], 'candidates', code)]));
}

/**
 * A scheduler over `candidates` (key → candidate bit-widths, e.g. `{ conv1: [8], 'block1/conv': [2, 3, 4, 5, 6] }`),
 * with nothing frozen. Validates: at least one key; each list non-empty, distinct integers 1..32.
 * Stores sorted copies, keys in ascending code-unit order. Keys with a single candidate (first and
 * last layers fixed at 8 bits) are carried along and never frozen.
 */
export function createScheduler(candidates: Record<string, readonly number[]>): SchedulerState {
  return { candidates: checkCandidates(candidates, 'E_ARG'), frozen: {} };
}

/**
 * Validates a state read back from JSON (a checkpoint) and returns a normalised copy: candidates
 * as {@link createScheduler} checks them; every frozen key known, its frozen bits among its
 * candidates and at least one candidate left active. Empty frozen lists are dropped.
 */
export function restoreScheduler(json: unknown): SchedulerState {
  if (!isRecord(json)) throw new LowbitError('E_STATE', `scheduler state must be an object { candidates, frozen }, got ${show(json)}`);
  const candidates = checkCandidates(json['candidates'], 'E_STATE');
  const frozenIn = json['frozen'] ?? {};
  if (!isRecord(frozenIn)) throw new LowbitError('E_STATE', `scheduler state: frozen must be an object of key → bit-widths, got ${show(frozenIn)}`);
  const frozen: Array<[string, number[]]> = [];
  for (const key of sortedKeys(frozenIn)) {
    if (!Object.hasOwn(candidates, key)) throw new LowbitError('E_STATE', `scheduler state: frozen key ${JSON.stringify(key)} has no candidates`);
    const bits = frozenIn[key];
    if (Array.isArray(bits) && bits.length === 0) continue;
    const f = checkBits(key, bits, 'frozen bit-widths', 'E_STATE');
    const full = candidates[key]!;
    const foreign = f.filter((b) => !full.includes(b));
    if (foreign.length > 0) {
      throw new LowbitError('E_STATE', `scheduler state: frozen bit-widths ${show(foreign)} of key ${JSON.stringify(key)} are not among its candidates ${show(full)}`);
    }
    if (f.length >= full.length) {
      throw new LowbitError('E_STATE', `scheduler state: key ${JSON.stringify(key)} has all its candidates ${show(full)} frozen; at least one must stay active`);
    }
    frozen.push([key, f]);
  }
  return { candidates, frozen: Object.fromEntries(frozen) };
}

/** Throws a specific error unless `key` is one of the scheduler's keys. */
export function checkKey(state: SchedulerState, key: string): void {
  if (!Object.hasOwn(state.candidates, key)) {
    const known = sortedKeys(state.candidates);
    const list = known.length > 8 ? `${known.slice(0, 8).join(', ')}, … (${known.length} keys)` : known.join(', ');
    throw new LowbitError('E_KEY', `unknown scheduler key ${JSON.stringify(key)}; known keys: ${list}`);
  }
}

/** The active candidates of `key`: its full candidates minus the frozen ones, ascending (a new array). */
export function activeCandidates(state: SchedulerState, key: string): number[] {
  checkKey(state, key);
  const frozen = Object.hasOwn(state.frozen, key) ? state.frozen[key]! : [];
  return state.candidates[key]!.filter((b) => !frozen.includes(b));
}

/** The highest active bit-width of every key (the "max" sub-network, trained every step in the reference code). */
export function maxBits(state: SchedulerState): Record<string, number> {
  return Object.fromEntries(sortedKeys(state.candidates).map((k) => [k, activeCandidates(state, k).at(-1)!]));
}

/** The lowest active bit-width of every key (the "min" sub-network). */
export function minBits(state: SchedulerState): Record<string, number> {
  return Object.fromEntries(sortedKeys(state.candidates).map((k) => [k, activeCandidates(state, k)[0]!]));
}
