import type { OpImporter } from '../op-importer.js';

export const meanImporter: OpImporter = {
  ops: ['Mean'],
  run(n, ins, g) {
    const rank = g.shapeOf(ins[0]!).length + 1;
    const axes = Array.from(g.constOf(ins[1]!)?.dataSync() ?? [NaN]).map((a) => (a < 0 ? rank + a : a)).sort();
    if (rank !== 4 || axes.join() !== '1,2') throw g.unsupported(n, `only Mean over the spatial axes [1, 2] of an NHWC tensor (global average pooling) is supported, got axes [${axes.join(', ')}] of a rank-${rank} tensor`);
    const pooled = g.push({ op: 'globalAvgPool', name: n.name, inputs: [g.v(ins[0]!)] });
    // keep_dims: [N, C] back to [N, 1, 1, C]
    g.alias(n, n.attr['keep_dims']?.b ? g.push({ op: 'reshape', name: `${n.name}/keep_dims`, inputs: [pooled], targetShape: [1, 1, -1] }) : pooled);
  },
};
