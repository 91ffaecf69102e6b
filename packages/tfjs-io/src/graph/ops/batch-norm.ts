import type { OpImporter } from '../op-importer.js';

export const batchNormImporter: OpImporter = {
  ops: ['FusedBatchNorm', 'FusedBatchNormV3'],
  run(n, ins, g) {
    const [sc, of, mn, vr] = ins.slice(1, 5).map((i) => g.constOf(i));
    if (!sc || !of || !mn || !vr) throw g.unsupported(n, 'scale, offset, mean and variance must be constants (inference-mode batch norm)');
    g.emit(n, { op: 'batchNorm', name: n.name, inputs: [g.v(ins[0]!)], epsilon: n.attr['epsilon']?.f ?? 1e-3, momentum: 0.99 });
    g.params[n.name] = { gamma: sc, beta: of, movingMean: mn, movingVariance: vr };
  },
};
