import type { OpImporter } from './op-importer.js';
import { activationImporter, leakyReluImporter, preluImporter, squareImporter } from './ops/activations.js';
import { addImporter, addNImporter, clipImporter, mulImporter, realDivImporter, subImporter } from './ops/arithmetic.js';
import { batchNormImporter } from './ops/batch-norm.js';
import { convImporter, transposedConvImporter } from './ops/conv.js';
import { matMulImporter } from './ops/matmul.js';
import { poolImporter } from './ops/pooling.js';
import { maxImporter, meanImporter, sumImporter } from './ops/reduce.js';
import { concatImporter, depthToSpaceImporter, padImporter, reshapeImporter, resizeImporter, sliceImporter, splitImporter, squeezeImporter, transposeImporter } from './ops/shape.js';

const IMPORTERS: OpImporter[] = [
  convImporter,
  transposedConvImporter,
  matMulImporter,
  batchNormImporter,
  activationImporter,
  preluImporter,
  squareImporter,
  leakyReluImporter,
  addImporter,
  addNImporter,
  subImporter,
  mulImporter,
  realDivImporter,
  clipImporter,
  meanImporter,
  maxImporter,
  sumImporter,
  resizeImporter,
  depthToSpaceImporter,
  poolImporter,
  padImporter,
  reshapeImporter,
  squeezeImporter,
  sliceImporter,
  splitImporter,
  transposeImporter,
  concatImporter,
];

/** The importer of each TF op name. */
export const importerFor = new Map<string, OpImporter>(IMPORTERS.flatMap((i) => i.ops.map((op) => [op, i] as const)));
