/** An AttrValue as the TF.js converter writes it (proto3 JSON): strings base64, integers as decimal strings. */
export interface GAttr {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: string[]; s?: string[]; f?: number[] };
  shape?: { dim?: Array<{ size: string }> };
}

/** One node of a GraphModel's `modelTopology.node`, with `input` and `attr` always present. */
export interface GNode {
  name: string;
  op: string;
  /** Data inputs first; control inputs start with `^`. */
  input: string[];
  attr: Record<string, GAttr>;
}

export const str = (a: GAttr | undefined): string | undefined => (a?.s !== undefined ? atob(a.s) : undefined);
export const int = (a: GAttr | undefined): number | undefined => (a?.i !== undefined ? Number(a.i) : undefined);
export const ints = (a: GAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);
export const strs = (a: GAttr | undefined): string[] => (a?.list?.s ?? []).map((s) => atob(s));
/** A tensor name without the control prefix and the `:0` output index. */
export const clean = (n: string) => n.replace(/^\^/, '').replace(/:0$/, '');
/** The node's data inputs (control inputs dropped). */
export const dataInputs = (n: GNode) => n.input.filter((i) => !i.startsWith('^'));
