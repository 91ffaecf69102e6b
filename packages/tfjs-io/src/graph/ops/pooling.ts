import { ints } from '../graph-node.js';
import type { OpImporter } from '../op-importer.js';
import { checkWindowOp, strides2, windowPadding } from './conv.js';

export const poolImporter: OpImporter = {
  ops: ['AvgPool', 'MaxPool'],
  check: checkWindowOp,
  run(n, ins, g) {
    const k = ints(n.attr['ksize']);
    g.emit(n, { op: n.op === 'AvgPool' ? 'avgPool' : 'maxPool', name: n.name, inputs: [g.v(ins[0]!)], poolSize: [k[1]!, k[2]!], strides: strides2(n), padding: windowPadding(n) });
  },
};
