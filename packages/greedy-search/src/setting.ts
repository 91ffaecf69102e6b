import { LowbitError } from '@lowbit/core';
import type { BitPolicy } from '@lowbit/nn';
import type { Knob } from './knobs.js';

/** A point of the search space: knob id → chosen bit-width (one of the knob's candidates). */
export type Setting = Record<string, number>;

/** Every knob at its highest candidate: where the search starts. */
export function highestSetting(knobs: readonly Knob[]): Setting {
  return Object.fromEntries(knobs.map((k) => [k.id, k.candidates[k.candidates.length - 1]!]));
}

/** Every knob at its lowest candidate. */
export function lowestSetting(knobs: readonly Knob[]): Setting {
  return Object.fromEntries(knobs.map((k) => [k.id, k.candidates[0]!]));
}

/**
 * A uniform setting: each knob at its largest candidate ≤ `bits`, or at its lowest candidate
 * when none is (so fixed knobs keep their bits and depthwise knobs stop at their minimum).
 * Handy for budgets such as "the BitOps of uniform 4-bit".
 */
export function uniformSetting(knobs: readonly Knob[], bits: number): Setting {
  return Object.fromEntries(
    knobs.map((k) => {
      const fit = k.candidates.filter((b) => b <= bits);
      return [k.id, fit.length > 0 ? fit[fit.length - 1]! : k.candidates[0]!];
    }),
  );
}

/**
 * The per-layer bit policy of a setting: every layer any knob names gets `w` from its weight knob
 * and `a` from its activation knob (32 = float when it has none). Knobs missing from `setting`
 * take their highest candidate; an unknown knob id or a value that is not one of the knob's
 * candidates is an error.
 */
export function policyFromKnobs(knobs: readonly Knob[], setting: Readonly<Setting> = {}): BitPolicy {
  const byId = new Map(knobs.map((k) => [k.id, k]));
  for (const [id, v] of Object.entries(setting)) {
    const k = byId.get(id);
    if (!k) throw new LowbitError('E_SETTING', `setting names knob '${id}', which is not among the ${knobs.length} knobs`);
    if (!k.candidates.includes(v)) {
      throw new LowbitError('E_SETTING', `setting gives knob '${id}' ${v} bits; expected one of its candidates ${JSON.stringify(k.candidates)}`);
    }
  }
  const policy: BitPolicy = {};
  for (const k of knobs) {
    const bits = setting[k.id] ?? k.candidates[k.candidates.length - 1]!;
    for (const layer of k.layers) {
      const entry = (policy[layer] ??= { w: 32, a: 32 });
      if (k.kind === 'weight') entry.w = bits;
      else entry.a = bits;
    }
  }
  return policy;
}
