import * as tf from '@tensorflow/tfjs-core';
import { isLayer, type ClipSpec, type LayerSpec, type NodeSpec } from '@lowbit/nn';
import { dataInputs, type GNode } from '../graph-node.js';
import type { GraphImport } from '../import-context.js';
import type { OpImporter } from '../op-importer.js';

/** A constant operand: scalar, or one value per channel (a rank-1 tensor, or [1, …, 1, C]). */
function affineConst(n: GNode, c: tf.Tensor, g: GraphImport): number | number[] {
  if (Array.from(c.dataSync()).some((v) => !Number.isFinite(v))) throw g.unsupported(n, 'a non-finite constant operand');
  if (c.size === 1) return c.dataSync()[0]!;
  if (c.shape.slice(0, -1).some((d) => d !== 1)) throw g.unsupported(n, `a constant operand of shape [${c.shape.join(', ')}] (only a scalar or one value per channel)`);
  return Array.from(c.dataSync());
}

/** The tensor operand and the constant one of a binary op, or null when both or neither are constants. */
function split(ins: string[], g: GraphImport): { x: string; c: tf.Tensor; constFirst: boolean } | null {
  const c0 = g.constOf(ins[0]!);
  const c1 = g.constOf(ins[1]!);
  if (!c0 === !c1) return null;
  return c1 ? { x: ins[0]!, c: c1, constFirst: false } : { x: ins[1]!, c: c0!, constFirst: true };
}

const negate = (v: number | number[]) => (typeof v === 'number' ? -v : v.map((x) => -x));
const layer = (s: NodeSpec | undefined): s is LayerSpec => s !== undefined && isLayer(s);

export const addImporter: OpImporter = {
  ops: ['BiasAdd', 'AddV2', 'Add'],
  run(n, ins, g) {
    const s = split(ins, g);
    if (!s) {
      if (g.constOf(ins[0]!)) throw g.unsupported(n, 'an addition of two constants that was not folded');
      const p = splitPrelu(ins[0]!, ins[1]!, g) ?? splitPrelu(ins[1]!, ins[0]!, g);
      if (p) {
        for (const dead of p.chain) if (g.consumers.get(dead) === 1) g.drop(dead);
        const out = g.push({ op: 'prelu', name: n.name, inputs: [g.v(p.x)] });
        g.params[n.name] = { alpha: p.alpha };
        g.alias(n, out);
        return;
      }
      g.emit(n, { op: 'add', name: n.name, inputs: [g.v(ins[0]!), g.v(ins[1]!)] });
      return;
    }
    const src = g.producer(g.v(s.x));
    // a bias after a bias-free layer that nothing else reads becomes the layer's bias
    if (layer(src) && !src.useBias && g.consumers.get(g.resolve(s.x)) === 1 && s.c.rank === 1) {
      src.useBias = true;
      // stock TF.js adds it after the product, as its own op: so does lowbit (to the bit)
      if (src.op !== 'conv2dTranspose') src.separateBias = true;
      g.params[src.name]!['bias'] = s.c;
      g.alias(n, src.name);
      return;
    }
    g.emit(n, { op: 'scale', name: n.name, inputs: [g.v(s.x)], scale: 1, offset: affineConst(n, s.c, g) });
  },
};

/**
 * PReLU as models converted from other frameworks write it: relu(x) + c·(x − |x|), one constant
 * per channel (or one for all) — PReLU with slopes 2c, to the bit (x − |x| = 2x, doubling is
 * exact) — or x + c·(x − |x|), slopes 1 + 2c (exact where x ≥ 0: the TF.js converter writes this
 * form when it fuses the ReLU into the layer before). Returns x, the slopes and the graph nodes
 * of the chain (last first).
 */
function splitPrelu(r: string, m: string, g: GraphImport): { x: string; alpha: tf.Tensor; chain: string[] } | null {
  const node = (name: string) => g.byName.get(g.resolve(name));
  const relu = node(r);
  const mul = node(m);
  if (mul?.op !== 'Mul') return null;
  const viaRelu = relu?.op === 'Relu';
  const x = viaRelu ? g.resolve(dataInputs(relu!)[0] ?? '') : g.resolve(r);
  const [m0, m1] = dataInputs(mul);
  const c = g.constOf(m1 ?? '') ?? g.constOf(m0 ?? '');
  const sub = node(g.constOf(m1 ?? '') ? m0! : m1 ?? '');
  if (!c || sub?.op !== 'Sub') return null;
  const [s0, s1] = dataInputs(sub).map((i) => g.resolve(i));
  const abs = node(s1 ?? '');
  if (s0 !== x || abs?.op !== 'Abs' || g.resolve(dataInputs(abs)[0] ?? '') !== x) return null;
  const shape = g.shapeOf(x);
  const ch = shape[shape.length - 1]!;
  if (c.size !== 1 && (c.size !== ch || c.shape.slice(0, -1).some((d) => d !== 1))) return null;
  const alpha = g.own(
    tf.tidy(() => {
      const twice = tf.mul(c.size === 1 ? tf.fill([ch], c.dataSync()[0]!) : tf.reshape(c, [ch]), 2);
      return viaRelu ? twice : tf.add(twice, 1);
    }),
  );
  return { x, alpha, chain: viaRelu ? [mul.name, sub.name, abs.name, relu!.name] : [mul.name, sub.name, abs.name] };
}

export const addNImporter: OpImporter = {
  ops: ['AddN'],
  run: (n, ins, g) => void g.emit(n, ins.length === 1 ? { op: 'identity', name: n.name, inputs: [g.v(ins[0]!)] } : { op: 'add', name: n.name, inputs: ins.map((i) => g.v(i)) }),
};

export const subImporter: OpImporter = {
  ops: ['Sub'],
  run(n, ins, g) {
    // x − c (an input offset such as the x·2 − 1 at the top of TF-Hub MobileNets) or c − x
    const s = split(ins, g);
    if (!s) {
      if (g.constOf(ins[0]!)) throw g.unsupported(n, 'a difference of two constants that was not folded');
      g.emit(n, { op: 'sub', name: n.name, inputs: [g.v(ins[0]!), g.v(ins[1]!)] });
      return;
    }
    const c = affineConst(n, s.c, g);
    g.emit(n, s.constFirst ? { op: 'scale', name: n.name, inputs: [g.v(s.x)], scale: -1, offset: c } : { op: 'scale', name: n.name, inputs: [g.v(s.x)], scale: 1, offset: negate(c) });
  },
};

export const realDivImporter: OpImporter = {
  ops: ['RealDiv'],
  run(n, ins, g) {
    const c = g.constOf(ins[1]!);
    if (!c && !g.constOf(ins[0]!)) {
      g.emit(n, { op: 'div', name: n.name, inputs: [g.v(ins[0]!), g.v(ins[1]!)] });
      return;
    }
    if (c?.size !== 1) throw g.unsupported(n, 'RealDiv is only supported of two tensors or by a scalar constant');
    g.emit(n, { op: 'scale', name: n.name, inputs: [g.v(ins[0]!)], scale: 1 / c.dataSync()[0]!, offset: 0 });
  },
};

/** If `y` is sigmoid(x) or relu6(x + 3)/6 of the same `x`: the activation and the graph nodes of `y`'s chain (last first). */
function activationProduct(x: string, y: string, g: GraphImport): { op: 'swish' | 'hardSwish'; x: string; chain: string[] } | null {
  const rx = g.resolve(x);
  const node = g.byName.get(g.resolve(y));
  if (!node) return null;
  const arg = (k: GNode, i: number) => g.resolve(dataInputs(k)[i] ?? '');
  if (node.op === 'Sigmoid' && arg(node, 0) === rx) return { op: 'swish', x, chain: [node.name] };
  if (node.op !== 'RealDiv' || g.scalar(node.input[1] ?? '') !== 6) return null;
  const r6 = g.byName.get(arg(node, 0));
  if (r6?.op !== 'Relu6') return null;
  const add = g.byName.get(arg(r6, 0));
  if (!add || (add.op !== 'AddV2' && add.op !== 'Add')) return null;
  const [a0, a1] = [arg(add, 0), arg(add, 1)];
  const ok = (a0 === rx && g.scalar(add.input[1] ?? '') === 3) || (a1 === rx && g.scalar(add.input[0] ?? '') === 3);
  return ok ? { op: 'hardSwish', x, chain: [node.name, r6.name, add.name] } : null;
}

export const mulImporter: OpImporter = {
  ops: ['Mul'],
  run(n, ins, g) {
    const s = split(ins, g);
    if (s) {
      g.emit(n, { op: 'scale', name: n.name, inputs: [g.v(s.x)], scale: affineConst(n, s.c, g), offset: 0 });
      return;
    }
    // x·sigmoid(x) is swish, x·relu6(x + 3)/6 is hard-swish (the forms TF and lowbit's GraphModel export write)
    const act = activationProduct(ins[0]!, ins[1]!, g) ?? activationProduct(ins[1]!, ins[0]!, g);
    if (!act) {
      // any other product of two tensors (a squeeze-and-excitation gate, hard-swish written as x/6 · relu6(x + 3))
      g.emit(n, { op: 'mul', name: n.name, inputs: [g.v(ins[0]!), g.v(ins[1]!)] });
      return;
    }
    // the sigmoid / add-relu6-div chain was imported node by node; drop it where only this product reads it
    for (const dead of act.chain) if (g.consumers.get(dead) === 1) g.drop(dead);
    g.emit(n, { op: act.op, name: n.name, inputs: [g.v(act.x)] });
  },
};

/**
 * Maximum / Minimum with a scalar constant: clipping. A Minimum of a Maximum that only it reads
 * (clip_by_value, an unfused ReLU6) becomes one node, and [0, ∞) / [0, 6] become relu / relu6.
 */
export const clipImporter: OpImporter = {
  ops: ['Maximum', 'Minimum'],
  run(n, ins, g) {
    const s = split(ins, g);
    if (s?.c.size !== 1) throw g.unsupported(n, `${n.op} is only supported with a scalar constant operand (clipping)`);
    const bound = s.c.dataSync()[0]!;
    const isMax = n.op === 'Maximum';
    const x = g.v(s.x);
    const src = g.producer(x);
    const only = g.consumers.get(g.resolve(s.x)) === 1;
    let spec: ClipSpec;
    if (only && src?.op === 'clip' && (isMax ? src.min === null : src.max === null)) {
      spec = { ...src, name: n.name, ...(isMax ? { min: bound } : { max: bound }) };
      g.drop(g.resolve(s.x));
    } else if (only && (src?.op === 'relu' || src?.op === 'relu6') && !isMax && bound >= 0 && bound <= (src.op === 'relu6' ? 6 : Number.POSITIVE_INFINITY)) {
      spec = { op: 'clip', name: n.name, inputs: src.inputs, min: 0, max: bound };
      g.drop(g.resolve(s.x));
    } else spec = { op: 'clip', name: n.name, inputs: [x], min: isMax ? bound : null, max: isMax ? null : bound };
    if (spec.min === 0 && spec.max === null) g.emit(n, { op: 'relu', name: n.name, inputs: spec.inputs });
    else if (spec.min === 0 && spec.max === 6) g.emit(n, { op: 'relu6', name: n.name, inputs: spec.inputs });
    else g.emit(n, spec);
  },
};
