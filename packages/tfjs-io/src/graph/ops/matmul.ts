import { strs } from '../graph-node.js';
import type { OpImporter } from '../op-importer.js';
import { fusedTail } from './conv.js';

export const matMulImporter: OpImporter = {
  ops: ['MatMul', '_FusedMatMul'],
  check: (n) => (n.attr['transpose_a']?.b || n.attr['transpose_b']?.b ? 'transposed MatMul operands' : null),
  run(n, ins, g) {
    const w = g.constOf(ins[1]!);
    if (!w) throw g.unsupported(n, 'the weight matrix must be a constant');
    const hasBias = strs(n.attr['fused_ops']).includes('BiasAdd');
    g.push({ op: 'dense', name: n.name, inputs: [g.v(ins[0]!)], units: w.shape[1]!, useBias: hasBias });
    g.params[n.name] = { kernel: w, ...(hasBias ? { bias: g.constOf(ins[2]!)! } : {}) };
    g.alias(n, fusedTail(n, n.name, ins.slice(2), g));
  },
};
