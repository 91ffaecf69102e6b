import type * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { type NodeSpec, opFor, type Shape } from '@lowbit/nn';
import type { TfjsArtifacts } from '../read-artifacts.js';
import { clean, dataInputs, type GNode } from './graph-node.js';

/**
 * The state of one GraphModel import: graph nodes by name, the IR nodes built so far with their
 * per-example shapes, the IR value of each graph tensor, layer parameters, and the constants
 * computed at import (static shape arithmetic folded away).
 */
export class GraphImport {
  readonly nodes: NodeSpec[] = [];
  readonly params: Record<string, Record<string, tf.Tensor>> = {};
  readonly byName: Map<string, GNode>;
  /** Readers of each graph tensor (Identity chains resolved), for merging a node into its only reader's producer. */
  readonly consumers = new Map<string, number>();
  private readonly value = new Map<string, string>();
  private readonly shapes = new Map<string, Shape>();
  private readonly folded = new Map<string, tf.Tensor>();
  private readonly owned: tf.Tensor[] = [];

  /**
   * @param input the Placeholder's name and its shape without the batch
   * @param batch the Placeholder's batch size, −1 when open (what a folded `Shape` reports for it)
   */
  constructor(
    readonly a: TfjsArtifacts,
    gnodes: GNode[],
    input: { name: string; shape: Shape },
    readonly batch: number,
  ) {
    this.byName = new Map(gnodes.map((n) => [n.name, n]));
    this.value.set(input.name, 'input');
    this.shapes.set('input', input.shape);
    for (const n of gnodes) for (const i of dataInputs(n)) this.consumers.set(this.resolve(i), (this.consumers.get(this.resolve(i)) ?? 0) + 1);
  }

  /** A specific error about one graph node (for `throw`). */
  unsupported(n: GNode, why: string): LowbitError {
    return new LowbitError('E_UNSUPPORTED', `${this.a.path}: '${n.name}' (${n.op}): ${why}`, { nodes: [n.name] });
  }

  /** The graph node a tensor name refers to, through Identity chains. */
  resolve(name: string): string {
    let cur = clean(name);
    while (this.byName.get(cur)?.op === 'Identity') cur = clean(this.byName.get(cur)!.input[0]!);
    return cur;
  }

  /** The value of a constant tensor (a Const node's weight, or a constant folded at import), or null for a computed tensor. */
  constOf(name: string): tf.Tensor | null {
    const r = this.resolve(name);
    const f = this.folded.get(r);
    if (f) return f;
    if (this.byName.get(r)?.op !== 'Const') return null;
    const t = this.a.weights[r];
    if (!t) throw new LowbitError('E_WEIGHTS', `${this.a.path}: constant '${r}' has no weights in the manifest`);
    return t;
  }

  /** A constant's single value, or null when the tensor is not a one-element constant. */
  scalar(name: string): number | null {
    const c = this.constOf(name);
    return c && c.size === 1 ? c.dataSync()[0]! : null;
  }

  /** The IR value of a computed graph tensor. */
  v(name: string): string {
    const r = this.resolve(name);
    const out = this.value.get(r);
    if (!out) throw new LowbitError('E_FORMAT', `${this.a.path}: '${r}' is used before it is defined (or is a constant where a tensor is expected)`);
    return out;
  }

  /** The per-example shape of a computed graph tensor. */
  shapeOf(name: string): Shape {
    return this.shapes.get(this.v(name))!;
  }

  /** The per-example shape of an IR value. */
  valueShape(value: string): Shape {
    return this.shapes.get(value)!;
  }

  /** Keeps a tensor made during import until {@link dispose}; returns it. */
  own<T extends tf.Tensor>(t: T): T {
    this.owned.push(t);
    return t;
  }

  /** The IR node that produces an IR value (undefined for the input). */
  producer(value: string): NodeSpec | undefined {
    return this.nodes.find((s) => s.name === value);
  }

  /** Appends an IR node (its output shape inferred, so that a mismatch fails here, naming it) and returns its value name. */
  push(spec: NodeSpec): string {
    const inShapes = spec.inputs.map((i) => this.shapes.get(i)!);
    this.shapes.set(spec.name, opFor(spec).outputShape(spec, inShapes));
    this.nodes.push(spec);
    return spec.name;
  }

  /** Makes graph node `n`'s output the IR value `value`. */
  alias(n: GNode, value: string, output = 0): void {
    // graph tensors past a node's first output are named `node:k`
    this.value.set(output === 0 ? n.name : `${n.name}:${output}`, value);
  }

  /** Appends `spec` as the IR form of graph node `n`. */
  emit(n: GNode, spec: NodeSpec): string {
    const out = this.push(spec);
    this.value.set(n.name, out);
    return out;
  }

  /** Records graph node `n` as the constant `t` (computed at import; disposed by {@link dispose}). */
  fold(n: GNode, t: tf.Tensor): void {
    this.folded.set(n.name, t);
  }

  /** Removes the IR node of a graph node when no other IR node reads it. */
  drop(graphName: string): void {
    const name = this.value.get(graphName);
    const i = this.nodes.findIndex((s) => s.name === name);
    if (i >= 0 && !this.nodes.some((s) => s.inputs.includes(name!))) this.nodes.splice(i, 1);
  }

  dispose(): void {
    for (const t of [...this.folded.values(), ...this.owned]) t.dispose();
    this.folded.clear();
    this.owned.length = 0;
  }
}
