import * as tf from '@tensorflow/tfjs-core';
import { int, ints, type GAttr, type GNode } from './graph-node.js';

const DTYPES: Record<string, tf.DataType> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_INT64: 'int32', DT_BOOL: 'bool' };
const dtype = (a: GAttr | undefined): tf.DataType => DTYPES[a?.type ?? 'DT_FLOAT'] ?? 'float32';
const mask = (n: GNode, k: string) => int(n.attr[k]) ?? 0;
const axes = (t: tf.Tensor) => Array.from(t.dataSync());

/**
 * Ops computed at import when all their data inputs are constants — the static shape arithmetic
 * (Shape → StridedSlice → Pack → Reshape) and constant expressions a converter leaves in a graph.
 * Each runs the tfjs-core op of the same name, so the value is what stock tfjs computes.
 */
export const FOLD: Record<string, (n: GNode, x: tf.Tensor[]) => tf.Tensor> = {
  Cast: (n, [x]) => tf.cast(x!, dtype(n.attr['DstT'])),
  Pack: (n, xs) => tf.stack(xs, int(n.attr['axis']) ?? 0),
  StridedSlice: (n, [x, b, e, s]) =>
    tf.stridedSlice(x!, axes(b!), axes(e!), axes(s!), mask(n, 'begin_mask'), mask(n, 'end_mask'), mask(n, 'ellipsis_mask'), mask(n, 'new_axis_mask'), mask(n, 'shrink_axis_mask')),
  ExpandDims: (_n, [x, a]) => tf.expandDims(x!, axes(a!)[0]),
  Squeeze: (n, [x]) => tf.squeeze(x!, ints(n.attr['squeeze_dims']).length ? ints(n.attr['squeeze_dims']) : undefined),
  Reshape: (_n, [x, s]) => tf.reshape(x!, axes(s!)),
  ConcatV2: (_n, xs) => tf.concat(xs.slice(0, -1), axes(xs[xs.length - 1]!)[0]),
  Range: (n, [a, b, d]) => tf.range(axes(a!)[0]!, axes(b!)[0]!, axes(d!)[0]!, dtype(n.attr['Tidx']) as 'float32' | 'int32'),
  Fill: (_n, [s, v]) => tf.fill(axes(s!), axes(v!)[0]!, v!.dtype),
  Prod: (n, [x, a]) => tf.prod(x!, axes(a!), n.attr['keep_dims']?.b ?? false),
  Floor: (_n, [x]) => tf.floor(x!),
  Neg: (_n, [x]) => tf.neg(x!),
  FloorDiv: (_n, [a, b]) => tf.floorDiv(a!, b!),
  FloorMod: (_n, [a, b]) => tf.mod(a!, b!),
  AddV2: (_n, [a, b]) => tf.add(a!, b!),
  Add: (_n, [a, b]) => tf.add(a!, b!),
  Sub: (_n, [a, b]) => tf.sub(a!, b!),
  Mul: (_n, [a, b]) => tf.mul(a!, b!),
  RealDiv: (_n, [a, b]) => tf.div(a!, b!),
  Maximum: (_n, [a, b]) => tf.maximum(a!, b!),
  SparseToDense: (_n, [i, shape, v, d]) => tf.sparseToDense(tf.cast(i!, 'int32'), v!, axes(shape!), d as tf.Scalar),
  Minimum: (_n, [a, b]) => tf.minimum(a!, b!),
};

/** `Shape` of a computed tensor: its batch (−1 when open) and per-example shape, as int32. */
export const shapeConst = (batch: number, shape: readonly number[]) => tf.tensor1d([batch, ...shape], 'int32');
