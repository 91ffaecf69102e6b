import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { ConcatSpec, DepthToSpaceSpec, PadSpec, ReshapeSpec, ResizeSpec, ScaleSpec, SliceSpec, TransposeSpec, ZeroPadSpec } from '../spec.js';
import { expectImage } from './conv-shapes.js';
import type { OpDef } from './op-def.js';

export const concatOp: OpDef<ConcatSpec> = {
  op: 'concat',
  arity: 'many',
  params: () => ({}),
  outputShape(spec, shapes) {
    const rank = shapes[0]!.length;
    const axis = spec.axis < 0 ? rank + spec.axis : spec.axis;
    const out = shapes[0]!.slice();
    out[axis] = 0;
    for (const s of shapes) {
      if (s.length !== rank || s.some((d, i) => i !== axis && d !== shapes[0]![i])) {
        throw new LowbitError('E_SHAPE', `concat '${spec.name}': inputs must agree on all axes but ${spec.axis}, got ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')}`);
      }
      out[axis]! += s[axis]!;
    }
    return out;
  },
  forward: (spec, xs) => tf.concat(xs, spec.axis < 0 ? xs[0]!.rank + spec.axis : spec.axis + 1),
  macs: () => 0,
};

export const zeroPadOp: OpDef<ZeroPadSpec> = {
  op: 'zeroPad',
  arity: 1,
  params: () => ({}),
  outputShape(spec, [s]) {
    expectImage('zeroPad', spec.name, s!);
    const [[t, b], [l, r]] = spec.padding;
    const [c0, c1] = spec.channels ?? [0, 0];
    return [s![0]! + t + b, s![1]! + l + r, s![2]! + c0 + c1];
  },
  forward: (spec, [x]) => tf.pad(x!, [[0, 0], spec.padding[0], spec.padding[1], spec.channels ?? [0, 0]]),
  macs: () => 0,
};

export const transposeOp: OpDef<TransposeSpec> = {
  op: 'transpose',
  arity: 1,
  params: () => ({}),
  outputShape(spec, [s]) {
    const sorted = [...spec.perm].sort((a, b) => a - b);
    if (spec.perm.length !== s!.length || sorted.some((a, i) => a !== i)) throw new LowbitError('E_SHAPE', `transpose '${spec.name}': perm [${spec.perm.join(', ')}] is not a permutation of the axes of [${s!.join(', ')}]`);
    return spec.perm.map((a) => s![a]!);
  },
  forward: (spec, [x]) => tf.transpose(x!, [0, ...spec.perm.map((a) => a + 1)]),
  macs: () => 0,
};

export const padOp: OpDef<PadSpec> = {
  op: 'pad',
  arity: 1,
  params: () => ({}),
  outputShape(spec, [s]) {
    if (spec.paddings.length !== s!.length || spec.paddings.flat().some((v) => !Number.isInteger(v) || v < 0)) {
      throw new LowbitError('E_SHAPE', `pad '${spec.name}': paddings ${JSON.stringify(spec.paddings)} do not fit [${s!.join(', ')}] (one [before, after] ≥ 0 per axis)`);
    }
    return s!.map((d, i) => d + spec.paddings[i]![0] + spec.paddings[i]![1]);
  },
  forward: (spec, [x]) => tf.pad(x!, [[0, 0], ...spec.paddings], spec.value),
  macs: () => 0,
};

export const reshapeOp: OpDef<ReshapeSpec> = {
  op: 'reshape',
  arity: 1,
  params: () => ({}),
  outputShape(spec, [s]) {
    const size = s!.reduce((a, b) => a * b, 1);
    const known = spec.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = spec.targetShape.map((d) => (d === -1 ? size / known : d));
    if (out.reduce((a, b) => a * b, 1) !== size || out.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new LowbitError('E_SHAPE', `reshape '${spec.name}': cannot reshape [${s!.join(', ')}] to [${spec.targetShape.join(', ')}]`);
    }
    return out;
  },
  forward: (spec, [x]) => tf.reshape(x!, [x!.shape[0]!, ...spec.targetShape]),
  macs: () => 0,
};

export const sliceOp: OpDef<SliceSpec> = {
  op: 'slice',
  arity: 1,
  params: () => ({}),
  outputShape(spec, [s]) {
    const ok =
      spec.begin.length === s!.length &&
      spec.size.length === s!.length &&
      spec.begin.every((b, i) => Number.isInteger(b) && b >= 0 && Number.isInteger(spec.size[i]) && spec.size[i]! >= 1 && b + spec.size[i]! <= s![i]!) &&
      spec.squeeze.every((a) => spec.size[a] === 1);
    if (!ok) throw new LowbitError('E_SHAPE', `slice '${spec.name}': begin [${spec.begin.join(', ')}], size [${spec.size.join(', ')}], squeeze [${spec.squeeze.join(', ')}] do not fit [${s!.join(', ')}]`);
    return spec.size.filter((_, i) => !spec.squeeze.includes(i));
  },
  forward(spec, [x]) {
    const y = tf.slice(x!, [0, ...spec.begin], [x!.shape[0]!, ...spec.size]);
    return spec.squeeze.length ? tf.reshape(y, [x!.shape[0]!, ...spec.size.filter((_, i) => !spec.squeeze.includes(i))]) : y;
  },
  macs: () => 0,
};

export const scaleOp: OpDef<ScaleSpec> = {
  op: 'scale',
  arity: 1,
  params: () => ({}),
  outputShape: (_s, [s]) => s!.slice(),
  forward(spec, [x]) {
    const a = typeof spec.scale === 'number' ? spec.scale : tf.tensor1d(spec.scale);
    const b = typeof spec.offset === 'number' ? spec.offset : tf.tensor1d(spec.offset);
    return tf.add(tf.mul(x!, a), b);
  },
  macs: () => 0,
};

export const resizeOp: OpDef<ResizeSpec> = {
  op: 'resize',
  arity: 1,
  params: () => ({}),
  outputShape(spec, [s]) {
    expectImage('resize', spec.name, s!);
    if (!spec.size.every((d) => Number.isInteger(d) && d > 0)) throw new LowbitError('E_SPEC', `resize '${spec.name}': size must be positive integers, got [${spec.size.join(', ')}]`);
    return [spec.size[0], spec.size[1], s![2]!];
  },
  forward: (spec, [x]) =>
    spec.method === 'bilinear'
      ? tf.image.resizeBilinear(x as tf.Tensor4D, spec.size, spec.alignCorners, spec.halfPixelCenters)
      : tf.image.resizeNearestNeighbor(x as tf.Tensor4D, spec.size, spec.alignCorners, spec.halfPixelCenters),
  macs: () => 0,
};

export const depthToSpaceOp: OpDef<DepthToSpaceSpec> = {
  op: 'depthToSpace',
  arity: 1,
  params: () => ({}),
  outputShape(spec, [s]) {
    expectImage('depthToSpace', spec.name, s!);
    const b = spec.blockSize;
    if (!(Number.isInteger(b) && b >= 2) || s![2]! % (b * b) !== 0) throw new LowbitError('E_SHAPE', `depthToSpace '${spec.name}': ${s![2]} channels do not split into blocks of ${b}×${b}`);
    return [s![0]! * b, s![1]! * b, s![2]! / (b * b)];
  },
  // as reshapes and a transpose (differentiable; tfjs has no DepthToSpace gradient):
  // out[h·b + i, w·b + j, c] = in[h, w, (i·b + j)·C' + c]
  forward(spec, [x]) {
    const [n, h, w, c] = x!.shape as number[];
    const b = spec.blockSize;
    const t = tf.transpose(tf.reshape(x!, [n!, h!, w!, b, b, c! / (b * b)]), [0, 1, 3, 2, 4, 5]);
    return tf.reshape(t, [n!, h! * b, w! * b, c! / (b * b)]);
  },
  macs: () => 0,
};
