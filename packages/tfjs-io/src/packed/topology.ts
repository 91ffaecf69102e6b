/** A layer of a Keras functional topology (`modelTopology.config.layers[i]`). */
export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown;
}

/** tfjs-layers' defaults of config values the exporters write; a compacted layer leaves them out when they hold. */
const DEFAULTS: Record<string, Record<string, unknown>> = {
  Conv2D: { strides: [1, 1], padding: 'valid', use_bias: true },
  DepthwiseConv2D: { strides: [1, 1], padding: 'valid', depth_multiplier: 1, use_bias: true },
  Dense: { use_bias: true },
};

type Topology = { class_name?: string; config: { layers: KerasLayer[] } & Record<string, unknown> } & Record<string, unknown>;

/** `inbound_nodes` a compacted layer without the field stands for: the previous layer's output (none for the first). */
const impliedInbound = (prev: string | undefined): unknown => (prev === undefined ? [] : [[[prev, 0, 0]]]);

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The topology as a version-2 packed file stores it: lossless, what the loader can restore is left
 * out of each layer — `config.name` when it equals the layer's `name`; config values equal to
 * tfjs-layers' defaults (Conv2D/DepthwiseConv2D `strides` [1, 1], `padding` 'valid',
 * `depth_multiplier` 1, `use_bias` true; Dense `use_bias` true); `config` when nothing is left;
 * `inbound_nodes` when the layer reads only the previous layer's output (`[[[previous, 0, 0]]]`,
 * or `[]` for the first layer). Inverse: {@link expandTopology}.
 */
export function compactTopology(t: Record<string, unknown>): Record<string, unknown> {
  const top = t as Topology;
  const layers = top.config.layers.map((l, i, all) => {
    const defaults: Record<string, unknown> = { name: l.name, ...DEFAULTS[l.class_name] };
    const config = Object.fromEntries(Object.entries(l.config).filter(([k, v]) => !(k in defaults && sameJson(v, defaults[k]))));
    const out: Record<string, unknown> = { name: l.name, class_name: l.class_name };
    if (Object.keys(config).length) out['config'] = config;
    if (!sameJson(l.inbound_nodes, impliedInbound(all[i - 1]?.name))) out['inbound_nodes'] = l.inbound_nodes;
    return out;
  });
  return { ...top, config: { ...top.config, layers } };
}

/**
 * Restores what {@link compactTopology} left out (a new object; the argument is not modified). A
 * default the original config did not spell out comes back spelled out, which tfjs reads the same.
 */
export function expandTopology(t: Record<string, unknown>): Record<string, unknown> {
  const top = t as { config: { layers: Array<Omit<KerasLayer, 'config'> & { config?: Record<string, unknown> }> } & Record<string, unknown> };
  const layers = top.config.layers.map((l, i, all) => ({
    name: l.name,
    class_name: l.class_name,
    config: { name: l.name, ...DEFAULTS[l.class_name], ...(l.config ?? {}) },
    inbound_nodes: l.inbound_nodes ?? impliedInbound(all[i - 1]?.name),
  }));
  return { ...top, config: { ...top.config, layers } };
}
