import type { BlockSpec, NetworkSpec, NodeSpec, Padding } from './spec.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/**
 * Adds nodes to one block; node names are prefixed with the block name (`stem/conv`). Every
 * method takes the input value's name and returns the new node's name, so that graphs read
 * top to bottom.
 */
export class BlockBuilder {
  readonly nodes: NodeSpec[] = [];
  constructor(readonly block: string) {}

  private add<T extends NodeSpec>(node: T): string {
    this.nodes.push(node);
    return node.name;
  }
  private n(name: string): string {
    return `${this.block}/${name}`;
  }

  conv2d(name: string, x: string, o: { filters: number; kernel: Pair; strides?: Pair; padding?: Padding; useBias?: boolean }): string {
    return this.add({
      op: 'conv2d',
      name: this.n(name),
      inputs: [x],
      filters: o.filters,
      kernelSize: pair(o.kernel),
      strides: pair(o.strides ?? 1),
      padding: o.padding ?? 'same',
      useBias: o.useBias ?? false,
    });
  }
  /** A transposed convolution to `outputSize` ([H, W]; e.g. `in·stride` for 'same' padding). */
  conv2dTranspose(name: string, x: string, o: { filters: number; kernel: Pair; strides?: Pair; padding?: 'same' | 'valid'; outputSize: [number, number]; useBias?: boolean }): string {
    return this.add({
      op: 'conv2dTranspose',
      name: this.n(name),
      inputs: [x],
      filters: o.filters,
      kernelSize: pair(o.kernel),
      strides: pair(o.strides ?? 1),
      padding: o.padding ?? 'same',
      outputSize: o.outputSize,
      useBias: o.useBias ?? false,
    });
  }
  depthwiseConv2d(name: string, x: string, o: { kernel: Pair; strides?: Pair; padding?: Padding; depthMultiplier?: number; useBias?: boolean }): string {
    return this.add({
      op: 'depthwiseConv2d',
      name: this.n(name),
      inputs: [x],
      kernelSize: pair(o.kernel),
      strides: pair(o.strides ?? 1),
      padding: o.padding ?? 'same',
      depthMultiplier: o.depthMultiplier ?? 1,
      useBias: o.useBias ?? false,
    });
  }
  dense(name: string, x: string, o: { units: number; useBias?: boolean }): string {
    return this.add({ op: 'dense', name: this.n(name), inputs: [x], units: o.units, useBias: o.useBias ?? true });
  }
  batchNorm(name: string, x: string, o: { epsilon?: number; momentum?: number } = {}): string {
    return this.add({ op: 'batchNorm', name: this.n(name), inputs: [x], epsilon: o.epsilon ?? 1e-3, momentum: o.momentum ?? 0.99 });
  }
  relu(name: string, x: string): string {
    return this.add({ op: 'relu', name: this.n(name), inputs: [x] });
  }
  /** Parametric ReLU with one learned slope per channel. */
  prelu(name: string, x: string): string {
    return this.add({ op: 'prelu', name: this.n(name), inputs: [x] });
  }
  relu6(name: string, x: string): string {
    return this.add({ op: 'relu6', name: this.n(name), inputs: [x] });
  }
  identity(name: string, x: string): string {
    return this.add({ op: 'identity', name: this.n(name), inputs: [x] });
  }
  add2(name: string, a: string, b: string): string {
    return this.add({ op: 'add', name: this.n(name), inputs: [a, b] });
  }
  /** The elementwise product `a · b` (same rank; size-1 axes broadcast). */
  mul(name: string, a: string, b: string): string {
    return this.add({ op: 'mul', name: this.n(name), inputs: [a, b] });
  }
  globalAvgPool(name: string, x: string): string {
    return this.add({ op: 'globalAvgPool', name: this.n(name), inputs: [x] });
  }
  flatten(name: string, x: string): string {
    return this.add({ op: 'flatten', name: this.n(name), inputs: [x] });
  }
  avgPool(name: string, x: string, o: { pool: Pair; strides?: Pair; padding?: 'same' | 'valid' }): string {
    return this.add({ op: 'avgPool', name: this.n(name), inputs: [x], poolSize: pair(o.pool), strides: pair(o.strides ?? o.pool), padding: o.padding ?? 'valid' });
  }
  maxPool(name: string, x: string, o: { pool: Pair; strides?: Pair; padding?: 'same' | 'valid' }): string {
    return this.add({ op: 'maxPool', name: this.n(name), inputs: [x], poolSize: pair(o.pool), strides: pair(o.strides ?? o.pool), padding: o.padding ?? 'valid' });
  }
}

/**
 * Builds a {@link NetworkSpec} block by block.
 *
 * @example
 * const spec = new NetworkBuilder('tiny', [8, 8, 1])
 *   .block('stem', (b, x) => b.relu('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 4, kernel: 3 }))))
 *   .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: 10 }))
 *   .build();
 */
export class NetworkBuilder {
  private nodes: NodeSpec[] = [];
  private blocks: BlockSpec[] = [];
  private last = 'input';
  constructor(
    readonly name: string,
    readonly inputShape: number[],
  ) {}

  block(name: string, fn: (b: BlockBuilder, x: string) => string): this {
    const b = new BlockBuilder(name);
    this.last = fn(b, this.last);
    if (b.nodes.length === 0 || b.nodes[b.nodes.length - 1]!.name !== this.last) {
      throw new Error(`block '${name}': the builder function must return the name of the block's last node`);
    }
    this.nodes.push(...b.nodes);
    this.blocks.push({ name, nodes: b.nodes.map((n) => n.name) });
    return this;
  }

  build(): NetworkSpec {
    return { name: this.name, inputShape: this.inputShape.slice(), nodes: this.nodes.slice(), blocks: this.blocks.slice() };
  }
}
