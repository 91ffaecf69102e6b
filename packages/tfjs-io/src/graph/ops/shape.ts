import { int, ints, str } from '../graph-node.js';
import type { OpImporter } from '../op-importer.js';

export const padImporter: OpImporter = {
  ops: ['Pad', 'PadV2'],
  run(n, ins, g) {
    const c = g.constOf(ins[1]!);
    const rank = g.shapeOf(ins[0]!).length + 1;
    if (c?.size !== 2 * rank) throw g.unsupported(n, `the paddings must be a constant [${rank}, 2]`);
    const value = n.op === 'PadV2' ? g.scalar(ins[2]!) : 0;
    if (value === null) throw g.unsupported(n, 'constant_values must be a constant');
    const p = Array.from(c.dataSync());
    if (p[0] || p[1]) throw g.unsupported(n, 'padding of the batch axis');
    if (value !== 0 || rank !== 4) {
      // any other constant (a max pool's −∞ padding: as the largest float32, JSON has no infinity)
      const big = 3.4028234663852886e38;
      const v = value === Number.POSITIVE_INFINITY ? big : value === Number.NEGATIVE_INFINITY ? -big : value;
      g.emit(n, { op: 'pad', name: n.name, inputs: [g.v(ins[0]!)], paddings: Array.from({ length: rank - 1 }, (_, i) => [p[2 * i + 2]!, p[2 * i + 3]!] as [number, number]), value: v });
      return;
    }
    const channels: [number, number] | undefined = p[6] || p[7] ? [p[6]!, p[7]!] : undefined;
    g.emit(n, { op: 'zeroPad', name: n.name, inputs: [g.v(ins[0]!)], padding: [[p[2]!, p[3]!], [p[4]!, p[5]!]], ...(channels ? { channels } : {}) });
  },
};

export const reshapeImporter: OpImporter = {
  ops: ['Reshape'],
  run(n, ins, g) {
    const c = g.constOf(ins[1]!);
    if (!c) throw g.unsupported(n, 'the target shape must be a constant or static shape arithmetic');
    const shape = Array.from(c.dataSync());
    if (shape[0] !== -1 && shape[0] !== g.batch) throw g.unsupported(n, `the first target axis must be the batch (−1 or ${g.batch}), got [${shape.join(', ')}]`);
    g.emit(n, { op: 'reshape', name: n.name, inputs: [g.v(ins[0]!)], targetShape: shape.slice(1) });
  },
};

/** Squeeze and ExpandDims of a computed tensor: reshapes of each example (never of the batch axis). */
export const squeezeImporter: OpImporter = {
  ops: ['Squeeze', 'ExpandDims'],
  run(n, ins, g) {
    const s = g.shapeOf(ins[0]!);
    const rank = s.length + 1;
    let out: number[];
    if (n.op === 'Squeeze') {
      const dims = ints(n.attr['squeeze_dims']).map((d) => (d < 0 ? rank + d : d));
      const drop = dims.length ? dims : s.flatMap((d, i) => (d === 1 ? [i + 1] : []));
      if (drop.some((d) => d === 0 || s[d - 1] !== 1)) throw g.unsupported(n, `cannot squeeze axes [${dims.join(', ')}] of [batch, ${s.join(', ')}]`);
      out = s.filter((_, i) => !drop.includes(i + 1));
    } else {
      const a = g.scalar(ins[1]!);
      if (a === null) throw g.unsupported(n, 'the axis must be a constant');
      const axis = a < 0 ? rank + 1 + a : a;
      if (axis < 1 || axis > rank) throw g.unsupported(n, `axis ${a} of [batch, ${s.join(', ')}] (the batch axis stays first)`);
      out = [...s.slice(0, axis - 1), 1, ...s.slice(axis - 1)];
    }
    // a vector per example is written [-1] (a Flatten when exported as a LayersModel)
    g.emit(n, { op: 'reshape', name: n.name, inputs: [g.v(ins[0]!)], targetShape: out.length === 1 ? [-1] : out });
  },
};

export const concatImporter: OpImporter = {
  ops: ['ConcatV2'],
  run(n, ins, g) {
    const axis = g.scalar(ins[ins.length - 1]!);
    if (axis === null) throw g.unsupported(n, 'the axis must be a constant');
    if (axis === 0) throw g.unsupported(n, 'concatenation along the batch axis');
    // graph axes count the batch, IR axes are per example
    g.emit(n, { op: 'concat', name: n.name, inputs: ins.slice(0, -1).map((i) => g.v(i)), axis: axis < 0 ? axis : axis - 1 });
  },
};

export const resizeImporter: OpImporter = {
  ops: ['ResizeBilinear', 'ResizeNearestNeighbor'],
  run(n, ins, g) {
    const size = g.constOf(ins[1]!);
    if (size?.size !== 2) throw g.unsupported(n, 'the size must be a constant [height, width] (or static shape arithmetic)');
    const [h, w] = Array.from(size.dataSync());
    g.emit(n, {
      op: 'resize',
      name: n.name,
      inputs: [g.v(ins[0]!)],
      size: [h!, w!],
      method: n.op === 'ResizeBilinear' ? 'bilinear' : 'nearest',
      alignCorners: n.attr['align_corners']?.b ?? false,
      halfPixelCenters: n.attr['half_pixel_centers']?.b ?? false,
    });
  },
};

export const depthToSpaceImporter: OpImporter = {
  ops: ['DepthToSpace'],
  check: (n) => (str(n.attr['data_format']) !== undefined && str(n.attr['data_format']) !== 'NHWC' ? `data_format ${str(n.attr['data_format'])} (only NHWC)` : null),
  run: (n, ins, g) => void g.emit(n, { op: 'depthToSpace', name: n.name, inputs: [g.v(ins[0]!)], blockSize: int(n.attr['block_size']) ?? 0 }),
};

/**
 * StridedSlice (strides 1) and Slice of a computed tensor: a box of each example, the whole batch
 * kept; shrink_axis_mask axes are dropped. TF's clamping of out-of-range and negative bounds.
 */
export const sliceImporter: OpImporter = {
  ops: ['StridedSlice', 'Slice'],
  run(n, ins, g) {
    const s = g.shapeOf(ins[0]!);
    const arg = (i: number) => {
      const c = g.constOf(ins[i]!);
      if (!c) throw g.unsupported(n, 'begin, end, size and strides must be constants');
      return Array.from(c.dataSync());
    };
    const m = (k: string) => int(n.attr[k]) ?? 0;
    const bit = (mask: number, i: number) => (mask & (1 << i)) !== 0;
    // per-example bounds [lo, hi) on axes 1…; whether axis 0 keeps the whole batch
    let lo: (i: number) => number;
    let hi: (i: number) => number;
    let wholeBatch: boolean;
    let shrink = 0;
    if (n.op === 'Slice') {
      const [b, size] = [arg(1), arg(2)];
      wholeBatch = b[0] === 0 && (size[0] === -1 || (g.batch > 0 && size[0] === g.batch));
      lo = (i) => b[i] ?? 0;
      hi = (i) => (size[i] === undefined || size[i] === -1 ? s[i - 1]! : b[i]! + size[i]!);
    } else {
      const [b, e, st] = [arg(1), arg(2), arg(3)];
      if (st.some((v) => v !== 1)) throw g.unsupported(n, `strides [${st.join(', ')}] (only 1)`);
      if (m('ellipsis_mask') || m('new_axis_mask')) throw g.unsupported(n, 'ellipsis_mask / new_axis_mask');
      shrink = m('shrink_axis_mask');
      const [bm, em] = [m('begin_mask'), m('end_mask')];
      wholeBatch = !bit(shrink, 0) && (bit(bm, 0) || b[0] === 0) && (bit(em, 0) || (g.batch > 0 && e[0]! >= g.batch));
      // TF: negative bounds count from the end, then clamp to [0, d]
      const norm = (v: number, d: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      lo = (i) => (i >= b.length || bit(bm, i) ? 0 : norm(b[i]!, s[i - 1]!));
      hi = (i) => (i >= e.length || (bit(em, i) && !bit(shrink, i)) ? s[i - 1]! : bit(shrink, i) ? lo(i) + 1 : norm(e[i]!, s[i - 1]!));
    }
    if (!wholeBatch) throw g.unsupported(n, 'slicing the batch axis');
    const begin = s.map((_, i) => lo(i + 1));
    const size = s.map((_, i) => hi(i + 1) - begin[i]!);
    if (size.some((v) => v < 1)) throw g.unsupported(n, `an empty slice of [batch, ${s.join(', ')}]`);
    const squeeze = s.flatMap((_, i) => (bit(shrink, i + 1) ? [i] : []));
    g.emit(n, { op: 'slice', name: n.name, inputs: [g.v(ins[0]!)], begin, size, squeeze });
  },
};

/** Transpose with the batch axis kept first: a permutation of each example's axes. */
export const transposeImporter: OpImporter = {
  ops: ['Transpose'],
  run(n, ins, g) {
    const c = g.constOf(ins[1]!);
    if (!c) throw g.unsupported(n, 'the permutation must be a constant');
    const perm = Array.from(c.dataSync());
    if (perm[0] !== 0) throw g.unsupported(n, `perm [${perm.join(', ')}] moves the batch axis`);
    g.emit(n, { op: 'transpose', name: n.name, inputs: [g.v(ins[0]!)], perm: perm.slice(1).map((a) => a - 1) });
  },
};

/** Split / SplitV of a computed tensor along an example axis: one slice per output (`name`, `name:1`, …). */
export const splitImporter: OpImporter = {
  ops: ['Split', 'SplitV'],
  run(n, ins, g) {
    // Split(axis, x) with num_split; SplitV(x, size_splits, axis)
    const [xName, axisName] = n.op === 'Split' ? [ins[1]!, ins[0]!] : [ins[0]!, ins[2]!];
    const s = g.shapeOf(xName);
    const a = g.scalar(axisName);
    if (a === null) throw g.unsupported(n, 'the axis must be a constant');
    const axis = a < 0 ? s.length + 1 + a : a;
    if (axis < 1 || axis > s.length) throw g.unsupported(n, `axis ${a} of [batch, ${s.join(', ')}] (the batch axis cannot be split)`);
    const d = s[axis - 1]!;
    let sizes: number[];
    if (n.op === 'Split') {
      const k = int(n.attr['num_split']) ?? 1;
      if (d % k) throw g.unsupported(n, `${d} values do not split into ${k} equal parts`);
      sizes = new Array<number>(k).fill(d / k);
    } else {
      const c = g.constOf(ins[1]!);
      if (!c) throw g.unsupported(n, 'size_splits must be a constant');
      sizes = Array.from(c.dataSync());
      const rest = d - sizes.filter((v) => v !== -1).reduce((x, y) => x + y, 0);
      sizes = sizes.map((v) => (v === -1 ? rest : v));
      if (sizes.reduce((x, y) => x + y, 0) !== d || sizes.some((v) => v < 1)) throw g.unsupported(n, `size_splits [${sizes.join(', ')}] for ${d} values`);
    }
    const x = g.v(xName);
    let at = 0;
    sizes.forEach((size, k) => {
      const begin = s.map((_, i) => (i === axis - 1 ? at : 0));
      const sz = s.map((v, i) => (i === axis - 1 ? size : v));
      g.alias(n, g.push({ op: 'slice', name: k === 0 ? n.name : `${n.name}:${k}`, inputs: [x], begin, size: sz, squeeze: [] }), k);
      at += size;
    });
  },
};
