import type { OpImporter } from '../op-importer.js';
import { preluNode } from './conv.js';

const SIMPLE = { Relu: 'relu', Relu6: 'relu6', Softmax: 'softmax', Sigmoid: 'sigmoid', Tanh: 'tanh', Abs: 'abs', Sqrt: 'sqrt', Rsqrt: 'rsqrt' } as const;

export const activationImporter: OpImporter = {
  ops: Object.keys(SIMPLE),
  run: (n, ins, g) => void g.emit(n, { op: SIMPLE[n.op as keyof typeof SIMPLE], name: n.name, inputs: [g.v(ins[0]!)] }),
};

/** Square(x): x·x (the same float32 products). */
export const squareImporter: OpImporter = {
  ops: ['Square'],
  run: (n, ins, g) => void g.emit(n, { op: 'mul', name: n.name, inputs: [g.v(ins[0]!), g.v(ins[0]!)] }),
};

export const leakyReluImporter: OpImporter = {
  ops: ['LeakyRelu'],
  run: (n, ins, g) => void g.emit(n, { op: 'leakyRelu', name: n.name, inputs: [g.v(ins[0]!)], alpha: n.attr['alpha']?.f ?? 0.2 }),
};

export const preluImporter: OpImporter = {
  ops: ['Prelu'],
  run: (n, ins, g) => g.alias(n, preluNode(n, n.name, g.v(ins[0]!), ins[1]!, g)),
};
