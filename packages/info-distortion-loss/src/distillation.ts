import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { checkFloat, checkTemperature, checkWeight, sameShape, shapeStr } from './checks.js';
import { checkLabels, crossEntropyUnchecked } from './cross-entropy.js';
import { detach } from './detach.js';

/** Options of {@link klDistillation}. */
export interface KlDistillationOptions {
  /** Softmax temperature T, a finite number > 0 (default 1). The loss is scaled by T². */
  temperature?: number;
}

/** Options of {@link distillationLoss}. */
export interface DistillationLossOptions extends KlDistillationOptions {
  /** Weight of the cross-entropy to the labels (default 0.5). */
  ceWeight?: number;
  /** Weight of the KL divergence to the teacher (default 0.5). */
  klWeight?: number;
}

function checkLogitPair(student: tf.Tensor, teacher: tf.Tensor, what: string): void {
  if (!sameShape(student.shape, teacher.shape)) {
    throw new LowbitError(
      'E_SHAPE',
      `${what}: student logits have shape ${shapeStr(student.shape)} but teacher logits have shape ${shapeStr(teacher.shape)}`,
      { student: student.shape, teacher: teacher.shape },
    );
  }
  if (student.rank < 1) throw new LowbitError('E_SHAPE', `${what}: logits must have a class axis (rank ≥ 1), got a scalar`);
  checkFloat(student, `${what} student logits`);
  checkFloat(teacher, `${what} teacher logits`);
}

function klUnchecked(student: tf.Tensor, teacher: tf.Tensor, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const t = detach(teacher);
    const logq = tf.logSoftmax(temperature === 1 ? student : tf.div(student, temperature));
    const logp = tf.logSoftmax(temperature === 1 ? t : tf.div(t, temperature));
    const kl = tf.mean(tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, logq)), -1));
    return (temperature === 1 ? kl : tf.mul(kl, temperature * temperature)) as tf.Scalar;
  });
}

/**
 * Knowledge distillation to the max-bits pass:
 * `T² · mean_i KL(softmax(teacher_i / T) ‖ softmax(student_i / T))`, with numerically stable
 * log-softmaxes over the last axis, averaged over all rows (the batch). The teacher logits are
 * detached (no gradient reaches the teacher pass, even inside the same tape). The T² factor keeps
 * the gradient scale independent of T; at T = 1 it is 1.
 *
 * The gradient w.r.t. the student logits is `T · (softmax(student/T) − softmax(teacher/T)) / rows`.
 *
 * @param studentLogits `[batch, classes]` (or `[..., classes]`) logits of the random-bit pass.
 * @param teacherLogits Logits of the max-bits pass, same shape.
 * @throws LowbitError `E_SHAPE` when the shapes differ or the logits are scalars, `E_ARG` for
 *   non-float32 logits or a bad temperature.
 */
export function klDistillation(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, o: KlDistillationOptions = {}): tf.Scalar {
  const temperature = o.temperature ?? 1;
  checkTemperature(temperature, 'KL distillation');
  checkLogitPair(studentLogits, teacherLogits, 'KL distillation');
  return klUnchecked(studentLogits, teacherLogits, temperature);
}

/**
 * Loss of a random-bit pass in one-shot mixed-precision training:
 * `ceWeight · CE(student, labels) + klWeight · KL(teacher ‖ student)` (defaults 0.5 / 0.5), the
 * KL as in {@link klDistillation} (teacher detached, temperature applied to the KL only; the
 * cross-entropy always uses T = 1). A term whose weight is 0 is not computed.
 *
 * @param studentLogits `[batch, classes]` (or `[..., classes]`) logits of the random-bit pass.
 * @param teacherLogits Logits of the max-bits pass, same shape.
 * @param labels Class indices, shape `studentLogits.shape` without the class axis, int32 or
 *   integer-valued float32.
 * @throws LowbitError `E_SHAPE` for mismatched logits or labels, `E_ARG` for bad weights, a bad
 *   temperature, non-float32 logits or invalid labels.
 */
export function distillationLoss(
  studentLogits: tf.Tensor,
  teacherLogits: tf.Tensor,
  labels: tf.Tensor,
  o: DistillationLossOptions = {},
): tf.Scalar {
  const ceWeight = o.ceWeight ?? 0.5;
  const klWeight = o.klWeight ?? 0.5;
  const temperature = o.temperature ?? 1;
  checkWeight(ceWeight, 'distillation ceWeight');
  checkWeight(klWeight, 'distillation klWeight');
  checkTemperature(temperature, 'distillation');
  checkLogitPair(studentLogits, teacherLogits, 'distillation');
  checkLabels(studentLogits, labels, 'distillation');
  return tf.tidy(() => {
    const terms: tf.Scalar[] = [];
    if (ceWeight !== 0) terms.push(tf.mul(crossEntropyUnchecked(studentLogits, labels), ceWeight));
    if (klWeight !== 0) terms.push(tf.mul(klUnchecked(studentLogits, teacherLogits, temperature), klWeight));
    if (terms.length === 0) return tf.scalar(0);
    return (terms.length === 1 ? terms[0]! : tf.add(terms[0]!, terms[1]!)) as tf.Scalar;
  });
}
