import type * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { ReconstructionSnapshot } from './reconstruct.js';

/**
 * Checks that a snapshot can belong to this reconstruction: its unit and step inside the plan,
 * the finished units the plan's first ones, the sampler a permutation of the calibration set, the
 * generators 128-bit states, and one variable of the right shape for every trained variable.
 * A snapshot from another setup (or edited) is `E_RESUME` naming the field, not a different result.
 */
export function checkSnapshot(s: ReconstructionSnapshot, plan: { units: string[]; iterations: number; calibrationSize: number; variables: Record<string, tf.Variable> }): void {
  const bad = (field: string, why: string): never => {
    throw new LowbitError('E_RESUME', `resume: snapshot field '${field}' ${why}`);
  };
  const n = plan.units.length;
  if (!Number.isInteger(s.unitIndex) || s.unitIndex < 0 || s.unitIndex > n) bad('unitIndex', `must be an integer from 0 to ${n} (the units of this reconstruction), got ${s.unitIndex}`);
  if (s.unitIndex < n && (!Number.isInteger(s.step) || s.step < 0 || s.step >= plan.iterations)) bad('step', `must be an integer from 0 to ${plan.iterations - 1} (iterations per unit), got ${s.step}`);
  if (s.unitIndex === n && s.step !== 0) bad('step', `must be 0 after the last unit, got ${s.step}`);
  if (s.units.length !== s.unitIndex) bad('units', `lists ${s.units.length} finished unit(s); unitIndex ${s.unitIndex} needs ${s.unitIndex}`);
  for (const [i, u] of s.units.entries()) if (u.name !== plan.units[i]) bad(`units[${i}].name`, `is '${u.name}', this reconstruction's unit ${i + 1} is '${plan.units[i]}'`);
  for (const k of ['samplerRng', 'mixRng'] as const) {
    const r = s[k] as unknown;
    if (!Array.isArray(r) || r.length !== 4 || !r.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)) bad(k, 'must be a generator state (4 unsigned 32-bit integers)');
  }
  const { order, pos } = s.sampler;
  if (order.length !== plan.calibrationSize) bad('sampler.order', `has ${order.length} entries, the calibration set ${plan.calibrationSize} images`);
  const seen = new Uint8Array(plan.calibrationSize);
  for (const v of order) {
    if (!(Number.isInteger(v) && v >= 0 && v < plan.calibrationSize) || seen[v]) bad('sampler.order', `must be a permutation of 0..${plan.calibrationSize - 1}`);
    seen[v] = 1;
  }
  if (!Number.isInteger(pos) || pos < 0 || pos > order.length) bad('sampler.pos', `must be an integer from 0 to ${order.length}, got ${pos}`);
  for (const [name, v] of Object.entries(plan.variables)) {
    const saved = s.variables[name];
    if (!saved) bad('variables', `has no '${name}' (a variable of this setup)`);
    else if (saved.shape.join() !== v.shape.join()) bad(`variables.${name}`, `has shape [${saved.shape.join(', ')}], this setup's variable [${v.shape.join(', ')}]`);
    else if (saved.values.length !== v.size) bad(`variables.${name}`, `has ${saved.values.length} values for shape [${saved.shape.join(', ')}]`);
  }
  for (const name of Object.keys(s.variables)) if (!plan.variables[name]) bad('variables', `has '${name}', which is not a variable of this setup`);
}
