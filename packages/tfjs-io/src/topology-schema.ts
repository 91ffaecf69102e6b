import { z } from 'zod';
import { checkSchema } from '@lowbit/core';

// The structure of a TF.js model.json's `modelTopology` that the importers walk (lists, names,
// connections, attribute value kinds), checked before any of it is read: a malformed file is an
// E_FORMAT error naming the field, not a TypeError inside an importer. The values themselves
// (filters, kernel sizes, epsilon…) are checked when they become the IR (`checkNetworkSpec`).

const intLike = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]);
const intOrPair = z.union([z.number().int(), z.array(z.number().int()).min(1).max(2)]);

/** `["layer_name", nodeIndex, tensorIndex, kwargs?]`: one connection in Keras' JSON. */
const connection = z.tuple([z.string().min(1), z.number().int().nonnegative(), z.number().int().nonnegative()]).rest(z.unknown());

/** Config fields the LayersModel importer reads, where present, with the types it reads them as. */
const layerConfig = z.looseObject({
  name: z.string().min(1).optional(),
  batch_input_shape: z.array(z.number().int().positive().nullable()).min(2).optional(),
  activation: z.string().optional(),
  padding: z.union([z.string(), intOrPair, z.array(z.array(z.number().int()).length(2)).length(2)]).optional(),
  kernel_size: intOrPair.optional(),
  strides: intOrPair.optional(),
  pool_size: intOrPair.optional(),
  dilation_rate: intOrPair.optional(),
  size: intOrPair.optional(),
  use_bias: z.boolean().optional(),
  target_shape: z.array(z.number().int()).optional(),
  dims: z.array(z.number().int()).optional(),
  shared_axes: z.array(z.number().int()).nullable().optional(),
  axis: z.union([z.number().int(), z.array(z.number().int())]).optional(),
  data_format: z.string().optional(),
  interpolation: z.string().optional(),
});

const kerasLayer = z.object({
  class_name: z.string().min(1),
  name: z.string().min(1).optional(),
  config: layerConfig,
  inbound_nodes: z.array(z.array(connection)).optional(),
});

const functionalConfig = z.looseObject({
  name: z.string().optional(),
  layers: z.array(kerasLayer).min(1),
  input_layers: z.array(connection),
  output_layers: z.array(connection),
});
const sequentialConfig = z.union([z.array(kerasLayer).min(1), z.looseObject({ name: z.string().optional(), layers: z.array(kerasLayer).min(1) })]);

const kerasModel = z.discriminatedUnion('class_name', [
  z.looseObject({ class_name: z.literal('Sequential'), config: sequentialConfig }),
  z.looseObject({ class_name: z.enum(['Model', 'Functional']), config: functionalConfig }),
]);

/** A LayersModel's `modelTopology` holding the Keras model directly, or under `model_config` (the second form). */
export const layersTopologySchema = kerasModel;
const layersTopologyWrapped = z.looseObject({ model_config: kerasModel });

/** An AttrValue as the converter writes it (proto3 JSON; the kinds the GraphModel importer reads). */
const attrValue = z.looseObject({
  s: z.string().optional(),
  i: intLike.optional(),
  f: z.union([z.number(), z.string()]).optional(),
  b: z.boolean().optional(),
  type: z.string().optional(),
  list: z.looseObject({ i: z.array(intLike).optional(), s: z.array(z.string()).optional(), f: z.array(z.union([z.number(), z.string()])).optional() }).optional(),
  shape: z.looseObject({ dim: z.array(z.looseObject({ size: intLike })).optional() }).optional(),
});

/** A GraphModel's `modelTopology`: its NodeDefs. */
export const graphTopologySchema = z.looseObject({
  node: z.array(z.object({ name: z.string().min(1), op: z.string().min(1), input: z.array(z.string().min(1)).optional(), attr: z.record(z.string(), attrValue).optional() })).min(1),
});

/** "layer 'conv1'" / "node 'conv1'" for a path into the layer or node list. */
function listWhere(path: readonly PropertyKey[], value: unknown): string | undefined {
  let v: unknown = value;
  for (let i = 0; i < path.length; i++) {
    v = (v as Record<PropertyKey, unknown> | null)?.[path[i]!];
    const key = path[i];
    if ((key === 'layers' || key === 'node') && typeof path[i + 1] === 'number') {
      const item = (v as unknown[] | undefined)?.[path[i + 1] as number] as { name?: unknown; config?: { name?: unknown } } | null | undefined;
      const name = item?.name ?? item?.config?.name;
      return typeof name === 'string' ? `${key === 'node' ? 'node' : 'layer'} '${name}'` : undefined;
    }
  }
  return undefined;
}

/** Checks a model.json's `modelTopology` for the importer of `format`; throws E_FORMAT naming the field. */
export function checkTopology(json: Record<string, unknown>, format: 'layers-model' | 'graph-model', source: string): void {
  const t = json['modelTopology'];
  const wrapped = t !== null && typeof t === 'object' && 'model_config' in t;
  const schema = z.object({ modelTopology: format === 'graph-model' ? graphTopologySchema : wrapped ? layersTopologyWrapped : layersTopologySchema });
  checkSchema(schema, json, source, { where: listWhere });
}
