import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { checkFloat, checkWeight, sameShape, shapeStr } from './checks.js';
import { detach } from './detach.js';

/** Default IDM weight (the paper's 0.01). */
export const DEFAULT_IDM_WEIGHT = 0.01;

/** Options of {@link idmLoss}. */
export interface IdmLossOptions {
  /** Weight of the IDM term, a finite number ≥ 0 (default {@link DEFAULT_IDM_WEIGHT}, 0.01). */
  weight?: number;
}

/**
 * Information distortion mitigation (IDM) term of one-shot weight-coupling mixed-precision
 * training: `weight · Σ_{l ∈ layers} mean((F_l − detach(F_l^max))²)`.
 *
 * `F_l` is layer `l`'s output feature (after batch norm) in a random-bit pass, `F_l^max` the same
 * feature in the max-bits ("teacher") pass of the same step on the same batch. The mean is over
 * every element of the feature (batch included), so each layer's gradient is
 * `2·weight·(F_l − F_l^max) / N_l`. The teacher features are detached: no gradient reaches the
 * max-bits pass even when it runs inside the same tape. Apply it to the layers sampled at their
 * lowest active candidate bit-width (see {@link lowestBitLayers}).
 *
 * @param student Features of the random-bit pass, by layer name.
 * @param teacher Features of the max-bits pass, by layer name.
 * @param layers The layers the term applies to (no duplicates). Empty → scalar 0.
 * @throws LowbitError `E_NOT_FOUND` when a listed layer has no student or no teacher feature,
 *   `E_SHAPE` when the two features of a layer differ in shape, `E_ARG` for a duplicate layer,
 *   a non-float32 feature or a bad weight.
 */
export function idmLoss(
  student: ReadonlyMap<string, tf.Tensor>,
  teacher: ReadonlyMap<string, tf.Tensor>,
  layers: readonly string[],
  o: IdmLossOptions = {},
): tf.Scalar {
  const weight = o.weight ?? DEFAULT_IDM_WEIGHT;
  checkWeight(weight, 'IDM weight');
  const seen = new Set<string>();
  const pairs: [tf.Tensor, tf.Tensor][] = [];
  for (const layer of layers) {
    if (seen.has(layer)) throw new LowbitError('E_ARG', `IDM: layer '${layer}' is listed twice`);
    seen.add(layer);
    const s = student.get(layer);
    const t = teacher.get(layer);
    if (s === undefined) throw new LowbitError('E_NOT_FOUND', `IDM: no student (random-bit pass) feature for layer '${layer}'`, { layer });
    if (t === undefined) throw new LowbitError('E_NOT_FOUND', `IDM: no teacher (max-bits pass) feature for layer '${layer}'`, { layer });
    if (!sameShape(s.shape, t.shape)) {
      throw new LowbitError(
        'E_SHAPE',
        `IDM: layer '${layer}' student feature has shape ${shapeStr(s.shape)} but its teacher feature has shape ${shapeStr(t.shape)}`,
        { layer, student: s.shape, teacher: t.shape },
      );
    }
    checkFloat(s, `IDM: layer '${layer}' student feature`);
    checkFloat(t, `IDM: layer '${layer}' teacher feature`);
    pairs.push([s, t]);
  }
  if (pairs.length === 0) return tf.scalar(0);
  return tf.tidy(() => {
    const terms = pairs.map(([s, t]) => tf.mean(tf.squaredDifference(s, detach(t))));
    const sum = terms.length === 1 ? terms[0]! : tf.addN(terms);
    return tf.mul(sum, weight) as tf.Scalar;
  });
}
