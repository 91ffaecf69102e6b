import { z } from 'zod';
import { checkSchema } from '@lowbit/core';
import type { NetworkJson } from './serialize.js';
import type { NetworkSpec } from './spec.js';

// Schemas of the network IR and of a saved network's model.json: every field a node's op reads,
// with its type and range, checked before any of it is used (a BatchNorm epsilon of -1 or a
// padding of 'SAME' is an error naming the node, not a silently wrong model).

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const int = z.number().int();
const pair = z.tuple([posInt, posInt]);
const spatialPads = z.tuple([z.tuple([nonNegInt, nonNegInt]), z.tuple([nonNegInt, nonNegInt])]);
const padding = z.union([z.literal('same'), z.literal('valid'), spatialPads], { error: "must be 'same', 'valid' or [[top, bottom], [left, right]] (non-negative integers)" });
const base = { name: z.string().min(1), inputs: z.array(z.string().min(1)).min(1) };

const nodeSchema = z.discriminatedUnion('op', [
  z.object({ ...base, op: z.literal('conv2d'), filters: posInt, kernelSize: pair, strides: pair, padding, useBias: z.boolean(), separateBias: z.boolean().optional() }),
  z.object({ ...base, op: z.literal('conv2dTranspose'), filters: posInt, kernelSize: pair, strides: pair, padding: z.enum(['same', 'valid']), outputSize: pair, useBias: z.boolean() }),
  z.object({ ...base, op: z.literal('depthwiseConv2d'), kernelSize: pair, strides: pair, padding, depthMultiplier: posInt, useBias: z.boolean(), separateBias: z.boolean().optional() }),
  z.object({ ...base, op: z.literal('dense'), units: posInt, useBias: z.boolean(), separateBias: z.boolean().optional() }),
  z.object({ ...base, op: z.literal('batchNorm'), epsilon: z.number().positive().max(1), momentum: z.number().min(0).max(1) }),
  z.object({ ...base, op: z.enum(['avgPool', 'maxPool']), poolSize: pair, strides: pair, padding: z.enum(['same', 'valid']) }),
  z.object({ ...base, op: z.enum(['relu', 'relu6', 'identity', 'flatten', 'globalAvgPool', 'add', 'sub', 'mul', 'div', 'abs', 'sqrt', 'rsqrt', 'softmax', 'sigmoid', 'tanh', 'swish', 'hardSwish', 'prelu']) }),
  z.object({ ...base, op: z.literal('clip'), min: finite.nullable(), max: finite.nullable() }),
  z.object({ ...base, op: z.literal('concat'), axis: int }),
  z.object({ ...base, op: z.literal('zeroPad'), padding: spatialPads, channels: z.tuple([nonNegInt, nonNegInt]).optional() }),
  z.object({ ...base, op: z.literal('resize'), size: pair, method: z.enum(['bilinear', 'nearest']), alignCorners: z.boolean(), halfPixelCenters: z.boolean() }),
  z.object({ ...base, op: z.literal('depthToSpace'), blockSize: posInt }),
  z.object({ ...base, op: z.literal('transpose'), perm: z.array(nonNegInt) }),
  z.object({ ...base, op: z.literal('leakyRelu'), alpha: finite }),
  z.object({ ...base, op: z.literal('pad'), paddings: z.array(z.tuple([nonNegInt, nonNegInt])), value: finite }),
  z.object({ ...base, op: z.literal('sum'), axes: z.array(int), keepDims: z.boolean() }),
  z.object({ ...base, op: z.literal('slice'), begin: z.array(nonNegInt), size: z.array(int.min(-1)), squeeze: z.array(nonNegInt) }),
  z.object({ ...base, op: z.literal('reshape'), targetShape: z.array(int.min(-1)) }),
  z.object({ ...base, op: z.literal('scale'), scale: z.union([finite, z.array(finite)]), offset: z.union([finite, z.array(finite)]) }),
]);

/** The network IR (without weights): name, input shape, nodes with their attributes, blocks, outputs. */
export const networkSpecSchema = z.object({
  name: z.string(),
  inputShape: z.array(posInt).min(1),
  nodes: z.array(nodeSchema).min(1),
  blocks: z.array(z.object({ name: z.string().min(1), nodes: z.array(z.string().min(1)).min(1) })).min(1),
  outputs: z.array(z.string().min(1)).min(1).optional(),
});

/** One weight of a saved lowbit network: a float32 array of `shape`. */
export const networkWeightSchema = z.object({ name: z.string().min(1), shape: z.array(nonNegInt), dtype: z.literal('float32') });

/** A saved lowbit network's `model.json` (the weights in one shard beside it). */
export const networkJsonSchema = z.object({
  format: z.literal('lowbit-network'),
  formatVersion: z.literal(1),
  network: networkSpecSchema,
  weightsManifest: z.array(z.object({ paths: z.array(z.string().min(1)).length(1), weights: z.array(networkWeightSchema) })).length(1),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** "node 'bn1'" for a path into `nodes[i]` (of a spec at `prefix`). */
function nodeWhere(prefix: readonly PropertyKey[]) {
  return (path: readonly PropertyKey[], value: unknown): string | undefined => {
    if (!prefix.every((p, i) => path[i] === p) || path[prefix.length] !== 'nodes' || typeof path[prefix.length + 1] !== 'number') return undefined;
    let v: unknown = value;
    for (const p of prefix) v = (v as Record<PropertyKey, unknown> | null)?.[p];
    const node = (v as { nodes?: unknown[] } | null)?.nodes?.[path[prefix.length + 1] as number] as { name?: unknown } | null | undefined;
    return typeof node?.name === 'string' ? `node '${node.name}'` : undefined;
  };
}

/**
 * Checks a network spec's fields (types, ranges, known ops and values) and throws an E_FORMAT
 * LowbitError naming `source`, the field and the node; the graph itself (references, shapes,
 * blocks) is checked by `analyze`.
 */
export function checkNetworkSpec(spec: unknown, source: string, code = 'E_FORMAT'): asserts spec is NetworkSpec {
  checkSchema(networkSpecSchema, spec, source, { code, where: nodeWhere([]) });
}

/** Checks a saved network's model.json object (as {@link checkNetworkSpec}, plus format, version and manifest). */
export function checkNetworkJson(json: unknown, source: string): asserts json is NetworkJson {
  checkSchema(networkJsonSchema, json, source, { where: nodeWhere(['network']) });
}
