import { z } from 'zod';
import { checkSchema, confinedPath } from '@lowbit/core';
import type * as tf from '@tensorflow/tfjs-core';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** One weight of a TF.js weights manifest (`weightSpecs` entry), as tfjs reads it. */
export const weightEntrySchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
  quantization: z
    .object({
      dtype: z.enum(['uint8', 'uint16', 'float16']),
      scale: finite.optional(),
      min: finite.optional(),
    })
    .optional(),
});

/** A TF.js `weightsManifest`: weight groups, each its shard files and their entries in order. */
export const weightsManifestSchema = z.array(z.object({ paths: z.array(z.string()).min(1), weights: z.array(weightEntrySchema) }));

/** "weight 'conv1/kernel'" for a path into an entry list at `prefix`. */
function entryWhere(listAt: (path: readonly PropertyKey[], value: unknown) => unknown[] | undefined, index: (path: readonly PropertyKey[]) => number | undefined) {
  return (path: readonly PropertyKey[], value: unknown): string | undefined => {
    const i = index(path);
    if (i === undefined) return undefined;
    const e = listAt(path, value)?.[i] as { name?: unknown } | null | undefined;
    return typeof e?.name === 'string' ? `weight '${e.name}'` : undefined;
  };
}

/**
 * Checks a model.json's `weightsManifest` (types, shapes of non-negative integers, known dtypes,
 * finite quantization scales) and that every shard path stays inside the model's folder; throws
 * an E_FORMAT LowbitError naming `source` and the field.
 */
export function checkWeightsManifest(manifest: unknown, source: string): Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> {
  const m = checkSchema(z.object({ weightsManifest: weightsManifestSchema }), { weightsManifest: manifest }, source, {
    where: entryWhere(
      (path, v) => ((v as { weightsManifest: Array<{ weights?: unknown[] }> }).weightsManifest[path[1] as number]?.weights ?? undefined) as unknown[] | undefined,
      (path) => (path[2] === 'weights' && typeof path[3] === 'number' ? path[3] : undefined),
    ),
  }).weightsManifest;
  m.forEach((g, gi) => {
    g.paths.forEach((p, pi) => {
      confinedPath(p, source, `weightsManifest[${gi}].paths[${pi}]`);
    });
  });
  return manifest as Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** Checks `weightSpecs` of in-memory ModelArtifacts as {@link checkWeightsManifest} checks a manifest's entries. */
export function checkWeightSpecs(specs: unknown, source: string): tf.io.WeightsManifestEntry[] {
  checkSchema(z.object({ weightSpecs: z.array(weightEntrySchema) }), { weightSpecs: specs }, source, {
    where: entryWhere(
      (_p, v) => (v as { weightSpecs: unknown[] }).weightSpecs,
      (path) => (typeof path[1] === 'number' ? path[1] : undefined),
    ),
  });
  return specs as tf.io.WeightsManifestEntry[];
}
