import type { OpImporter } from './op-importer.js';
import { activationImporter, preluImporter } from './ops/activations.js';
import { addImporter, addNImporter, clipImporter, mulImporter, realDivImporter, subImporter } from './ops/arithmetic.js';
import { batchNormImporter } from './ops/batch-norm.js';
import { convImporter, transposedConvImporter } from './ops/conv.js';
import { matMulImporter } from './ops/matmul.js';
import { poolImporter } from './ops/pooling.js';
import { maxImporter, meanImporter } from './ops/reduce.js';
import { concatImporter, depthToSpaceImporter, padImporter, reshapeImporter, resizeImporter, squeezeImporter } from './ops/shape.js';

const IMPORTERS: OpImporter[] = [
  convImporter,
  transposedConvImporter,
  matMulImporter,
  batchNormImporter,
  activationImporter,
  preluImporter,
  addImporter,
  addNImporter,
  subImporter,
  mulImporter,
  realDivImporter,
  clipImporter,
  meanImporter,
  maxImporter,
  resizeImporter,
  depthToSpaceImporter,
  poolImporter,
  padImporter,
  reshapeImporter,
  squeezeImporter,
  concatImporter,
];

/** The importer of each TF op name. */
export const importerFor = new Map<string, OpImporter>(IMPORTERS.flatMap((i) => i.ops.map((op) => [op, i] as const)));
