import { isLayer, type BlockSpec, type NodeSpec } from '@lowbit/nn';

/** Elementwise ops that belong to the block before them (a layer's BN and activation, a residual block's final ReLU). */
const TRAILING_OPS = new Set(['batchNorm', 'relu', 'relu6', 'clip', 'prelu', 'sigmoid', 'tanh', 'swish', 'hardSwish', 'identity', 'softmax', 'scale']);

/**
 * Groups a topologically ordered node list into blocks for block-wise and network-wise
 * reconstruction. A position is a cut when no edge jumps over it; the spans between cuts that
 * contain such jumps are residual / inverted-residual blocks (and stay whole). Plain chains are
 * split so that every block starts at a quantizable layer and keeps the elementwise nodes that
 * follow it (BN, activation); other nodes (pooling, flatten, padding) join the next layer's block.
 */
export function detectBlocks(nodes: NodeSpec[]): BlockSpec[] {
  const index = new Map(nodes.map((n, i) => [n.name, i]));
  // maxReach[i]: the furthest consumer index of any node at or before i
  const reach = new Array<number>(nodes.length).fill(-1);
  nodes.forEach((n, i) => {
    for (const src of n.inputs) {
      const j = src === 'input' ? -1 : index.get(src)!;
      for (let k = j + 1; k < i; k++) reach[k] = Math.max(reach[k]!, i);
    }
  });
  // segments: maximal runs where some edge crosses every interior position are residual spans
  type Seg = { nodes: NodeSpec[]; residual: boolean };
  const segs: Seg[] = [];
  let i = 0;
  while (i < nodes.length) {
    if (reach[i]! > i) {
      // residual span: from i up to the furthest reach, extending while edges keep crossing
      let end = reach[i]!;
      let k = i;
      while (k < end) {
        k++;
        if (reach[k]! > end) end = reach[k]!;
      }
      segs.push({ nodes: nodes.slice(i, end + 1), residual: true });
      i = end + 1;
    } else {
      segs.push({ nodes: [nodes[i]!], residual: false });
      i++;
    }
  }
  const blocks: BlockSpec[] = [];
  let pending: string[] = []; // chain nodes waiting for a layer
  let current: BlockSpec | null = null;
  const newBlock = (first: string, extra: string[]) => {
    current = { name: first, nodes: [...extra, first] };
    blocks.push(current);
  };
  for (const seg of segs) {
    if (seg.residual) {
      const b = { name: seg.nodes[seg.nodes.length - 1]!.name, nodes: [...pending, ...seg.nodes.map((n) => n.name)] };
      blocks.push(b);
      pending = [];
      current = b;
      continue;
    }
    const n = seg.nodes[0]!;
    if (isLayer(n)) {
      newBlock(n.name, pending);
      pending = [];
    } else if (current && pending.length === 0 && TRAILING_OPS.has(n.op)) {
      (current as BlockSpec).nodes.push(n.name);
    } else {
      pending.push(n.name);
    }
  }
  if (pending.length > 0) {
    if (blocks.length > 0) blocks[blocks.length - 1]!.nodes.push(...pending);
    else blocks.push({ name: pending[pending.length - 1]!, nodes: pending });
  }
  // blocks must be in node order: a residual block may have absorbed pending chain nodes before it
  for (const b of blocks) b.nodes.sort((a, c) => index.get(a)! - index.get(c)!);
  return blocks.map((b, k) => ({ name: `b${String(k).padStart(2, '0')}_${b.name.replace(/\//g, '_')}`, nodes: b.nodes }));
}
