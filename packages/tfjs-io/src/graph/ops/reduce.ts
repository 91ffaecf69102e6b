import type { GNode } from '../graph-node.js';
import type { GraphImport } from '../import-context.js';
import type { OpImporter } from '../op-importer.js';

/** The input's per-example shape when `n` reduces an NHWC tensor over its spatial axes [1, 2]; else a refusal naming `what`. */
function spatialReduce(n: GNode, ins: string[], g: GraphImport, what: string): number[] {
  const s = g.shapeOf(ins[0]!);
  const rank = s.length + 1;
  const axes = Array.from(g.constOf(ins[1]!)?.dataSync() ?? [NaN]).map((a) => (a < 0 ? rank + a : a)).sort();
  if (rank !== 4 || axes.join() !== '1,2') throw g.unsupported(n, `only ${n.op} over the spatial axes [1, 2] of an NHWC tensor (${what}) is supported, got axes [${axes.join(', ')}] of a rank-${rank} tensor`);
  return s;
}

/** Max over the spatial axes (global max pooling): a max pool over the whole image. */
export const maxImporter: OpImporter = {
  ops: ['Max'],
  run(n, ins, g) {
    const s = spatialReduce(n, ins, g, 'global max pooling');
    const pooled = g.push({ op: 'maxPool', name: n.name, inputs: [g.v(ins[0]!)], poolSize: [s[0]!, s[1]!], strides: [s[0]!, s[1]!], padding: 'valid' });
    g.alias(n, n.attr['keep_dims']?.b ? pooled : g.push({ op: 'reshape', name: `${n.name}/squeeze`, inputs: [pooled], targetShape: [-1] }));
  },
};

export const meanImporter: OpImporter = {
  ops: ['Mean'],
  run(n, ins, g) {
    spatialReduce(n, ins, g, 'global average pooling');
    const pooled = g.push({ op: 'globalAvgPool', name: n.name, inputs: [g.v(ins[0]!)] });
    // keep_dims: [N, C] back to [N, 1, 1, C]
    g.alias(n, n.attr['keep_dims']?.b ? g.push({ op: 'reshape', name: `${n.name}/keep_dims`, inputs: [pooled], targetShape: [1, 1, -1] }) : pooled);
  },
};

/** Sum over per-example axes (never the batch axis). */
export const sumImporter: OpImporter = {
  ops: ['Sum'],
  run(n, ins, g) {
    const rank = g.shapeOf(ins[0]!).length + 1;
    const c = g.constOf(ins[1]!);
    if (!c) throw g.unsupported(n, 'the axes must be a constant');
    const axes = Array.from(c.dataSync()).map((a) => (a < 0 ? rank + a : a));
    if (axes.includes(0)) throw g.unsupported(n, 'a sum over the batch axis');
    g.emit(n, { op: 'sum', name: n.name, inputs: [g.v(ins[0]!)], axes: axes.map((a) => a - 1), keepDims: n.attr['keep_dims']?.b ?? false });
  },
};
