import { int, ints, str } from '../graph-node.js';
import type { OpImporter } from '../op-importer.js';

export const padImporter: OpImporter = {
  ops: ['Pad', 'PadV2'],
  run(n, ins, g) {
    const c = g.constOf(ins[1]!);
    if (c?.size !== 8) throw g.unsupported(n, 'the paddings must be a constant [4, 2] (an NHWC tensor)');
    if (n.op === 'PadV2' && g.scalar(ins[2]!) !== 0) throw g.unsupported(n, `only zero padding is supported, got constant_values ${g.scalar(ins[2]!) ?? '(not a constant)'}`);
    const p = Array.from(c.dataSync());
    if (p[0] || p[1]) throw g.unsupported(n, 'padding of the batch axis');
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
