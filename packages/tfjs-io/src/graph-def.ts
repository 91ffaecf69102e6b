import type { LayerGrids } from './export-types.js';
import type { ManifestWriter } from './weights-manifest.js';

/** One node of a GraphModel's `modelTopology.node`, as the TF.js converter writes it (proto3 JSON of a NodeDef). */
export interface GraphNodeJson {
  name: string;
  op: string;
  /** Absent on Const and Placeholder nodes, as in the converter's output. */
  input?: string[];
  attr: Record<string, unknown>;
}

/** AttrValue encoders in the JSON form tfjs-converter parses: strings base64, integers as decimal strings. */
export const attr = {
  s: (v: string) => ({ s: btoa(v) }),
  i: (v: number) => ({ i: String(v) }),
  f: (v: number) => ({ f: v }),
  b: (v: boolean) => ({ b: v }),
  type: (t: 'DT_FLOAT' | 'DT_INT32') => ({ type: t }),
  ints: (v: readonly number[]) => ({ list: { i: v.map(String) } }),
  strs: (v: readonly string[]) => ({ list: { s: v.map((x) => btoa(x)) } }),
  shape: (dims: readonly number[]) => ({ shape: tensorShape(dims) }),
};

/** A TensorShapeProto in JSON (`{}` for a scalar). */
export function tensorShape(dims: readonly number[]): { dim?: Array<{ size: string }> } {
  return dims.length ? { dim: dims.map((d) => ({ size: String(d) })) } : {};
}

/** A graph node name tfjs can reference: no `:` or `^`, none of the characters TF rejects. */
const graphName = (n: string) => {
  const s = n.replace(/[^A-Za-z0-9_.\-/]/g, '_');
  return /^[A-Za-z0-9.]/.test(s) ? s : `n${s}`;
};

/**
 * Builds a GraphModel: nodes in order, with each constant added to the weights manifest under its
 * node's name (which is how tfjs-converter finds a Const's value). Names are unique: a taken name
 * gets a `_1`, `_2`… suffix.
 */
export class GraphWriter {
  readonly nodes: GraphNodeJson[] = [];
  private readonly taken = new Set<string>();

  constructor(private readonly weights: ManifestWriter) {}

  /** Reserves a unique node name derived from `base`. */
  claim(base: string): string {
    const b = graphName(base);
    let name = b;
    for (let k = 1; this.taken.has(name); k++) name = `${b}_${k}`;
    this.taken.add(name);
    return name;
  }

  /** The float32 NHWC input (`dims` with −1 for the batch). */
  placeholder(name: string, dims: readonly number[]): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { shape: attr.shape(dims), dtype: attr.type('DT_FLOAT') } });
    return name;
  }

  /** A float32 constant (a weight: `grid` is its quantization grid, if any). */
  constFloat(base: string, shape: readonly number[], values: Float32Array, grid?: LayerGrids[string], note?: string): string {
    const name = this.constNode(base, shape, 'DT_FLOAT');
    this.weights.float(name, [...shape], values, grid, note);
    return name;
  }

  /** A kernel on a per-channel grid as integer codes (its scales are applied in `scalesIn`). */
  constCodes(base: string, shape: readonly number[], values: Float32Array, grid: LayerGrids[string], scalesIn: string): string {
    const name = this.constNode(base, shape, 'DT_FLOAT');
    this.weights.codes(name, [...shape], values, grid, scalesIn);
    return name;
  }

  /** A float32 constant stored as float16. */
  constHalf(base: string, shape: readonly number[], values: Float32Array, note: string): string {
    const name = this.constNode(base, shape, 'DT_FLOAT');
    this.weights.half(name, [...shape], values, note);
    return name;
  }

  /** The bias after an integer-coded kernel, stored as the export's `codeBias` says. */
  constCodeBias(base: string, shape: readonly number[], values: Float32Array, note: string): string {
    const name = this.constNode(base, shape, 'DT_FLOAT');
    this.weights.codeBias(name, [...shape], values, note);
    return name;
  }

  /** An int32 constant (a shape, axes, paddings). */
  constInt(base: string, shape: readonly number[], values: readonly number[]): string {
    const name = this.constNode(base, shape, 'DT_INT32');
    this.weights.int32(name, [...shape], values);
    return name;
  }

  /** An op node; `name` must have been claimed. Float ops get `T: DT_FLOAT`. */
  op(name: string, op: string, input: string[], a: Record<string, unknown> = {}): string {
    this.nodes.push({ name, op, input, attr: { T: attr.type('DT_FLOAT'), ...a } });
    return name;
  }

  private constNode(base: string, shape: readonly number[], dtype: 'DT_FLOAT' | 'DT_INT32'): string {
    const name = this.claim(base);
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype, tensorShape: tensorShape(shape) } }, dtype: attr.type(dtype) } });
    return name;
  }
}
