import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '../errors.js';

/**
 * An exponential moving average of a set of variables by stable key: after each optimiser step,
 * `update()` sets `avg ← decay·avg + (1 − decay)·value` (the averages start at the values).
 * `swap()` exchanges the variables' values with their averages — call it to evaluate or save
 * the averaged weights, and again to continue training. `state()`/`loadState()` for checkpoints.
 */
export class ExponentialMovingAverage {
  readonly decay: number;
  private readonly vars: Record<string, tf.Variable>;
  private readonly avg = new Map<string, tf.Variable>();
  private swapped = false;

  constructor(vars: Record<string, tf.Variable>, decay: number) {
    if (!(Number.isFinite(decay) && decay >= 0 && decay < 1)) throw new LowbitError('E_ARG', `EMA decay must be in [0, 1), got ${decay}`);
    this.decay = decay;
    this.vars = { ...vars };
    // tidy: the clone a variable starts from would otherwise outlive its first assign
    for (const [k, v] of Object.entries(this.vars)) this.avg.set(k, tf.tidy(() => tf.variable(v.clone(), false)));
  }

  /** Whether the variables currently hold the averages (between two `swap()` calls). */
  get isSwapped(): boolean {
    return this.swapped;
  }

  update(): void {
    if (this.swapped) throw new LowbitError('E_STATE', 'EMA update while the averages are swapped in; swap() back first');
    tf.tidy(() => {
      for (const [k, v] of Object.entries(this.vars)) {
        const a = this.avg.get(k)!;
        a.assign(tf.add(tf.mul(a, this.decay), tf.mul(v, 1 - this.decay)));
      }
    });
  }

  swap(): void {
    tf.tidy(() => {
      for (const [k, v] of Object.entries(this.vars)) {
        const a = this.avg.get(k)!;
        const value = v.clone();
        v.assign(a);
        a.assign(value);
      }
    });
    this.swapped = !this.swapped;
  }

  /** The averages by key (the live variables, not copies). */
  state(): Record<string, tf.Tensor> {
    if (this.swapped) throw new LowbitError('E_STATE', 'EMA state while the averages are swapped in; swap() back first');
    return Object.fromEntries(this.avg);
  }

  loadState(tensors: Record<string, tf.Tensor>): void {
    const missing = [...this.avg.keys()].filter((k) => !(k in tensors));
    const extra = Object.keys(tensors).filter((k) => !this.avg.has(k));
    if (missing.length || extra.length) {
      throw new LowbitError('E_CHECKPOINT', `EMA state does not match: missing ${missing.slice(0, 5).join(', ') || 'none'}; unexpected ${extra.slice(0, 5).join(', ') || 'none'}`);
    }
    for (const [k, a] of this.avg) {
      const t = tensors[k]!;
      if (t.shape.join(',') !== a.shape.join(',')) throw new LowbitError('E_CHECKPOINT', `EMA state '${k}': expected shape [${a.shape}], got [${t.shape}]`);
      a.assign(t);
    }
  }

  dispose(): void {
    for (const a of this.avg.values()) a.dispose();
    this.avg.clear();
  }
}
