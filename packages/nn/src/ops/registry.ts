import { LowbitError } from '@lowbit/core';
import type { NodeSpec, OpName } from '../spec.js';
import { batchNormOp } from './batch-norm.js';
import { conv2dOp } from './conv2d.js';
import { conv2dTransposeOp } from './conv2d-transpose.js';
import { denseOp } from './dense.js';
import { depthwiseConv2dOp } from './depthwise-conv2d.js';
import { addOp, divOp, mulOp, subOp, flattenOp, globalAvgPoolOp, identityOp, relu6Op, reluOp } from './elementwise.js';
import type { OpDef } from './op-def.js';
import { avgPoolOp, maxPoolOp } from './pooling.js';
import { absOp, clipOp, hardSwishOp, leakyReluOp, preluOp, sigmoidOp, softmaxOp, rsqrtOp, sqrtOp, swishOp, tanhOp } from './activations.js';
import { sumOp } from './reduce.js';
import { concatOp, depthToSpaceOp, padOp, reshapeOp, resizeOp, scaleOp, sliceOp, transposeOp, zeroPadOp } from './shape-ops.js';

const registry = new Map<OpName, OpDef>(
  [
    conv2dOp,
    conv2dTransposeOp,
    depthwiseConv2dOp,
    denseOp,
    batchNormOp,
    reluOp,
    relu6Op,
    identityOp,
    addOp,
    mulOp,
    divOp,
    subOp,
    absOp,
    rsqrtOp,
    sqrtOp,
    sumOp,
    sliceOp,
    transposeOp,
    padOp,
    leakyReluOp,
    flattenOp,
    globalAvgPoolOp,
    avgPoolOp,
    maxPoolOp,
    softmaxOp,
    sigmoidOp,
    tanhOp,
    preluOp,
    clipOp,
    swishOp,
    hardSwishOp,
    concatOp,
    zeroPadOp,
    reshapeOp,
    resizeOp,
    depthToSpaceOp,
    scaleOp,
  ].map(
    (d) => [d.op, d as unknown as OpDef],
  ),
);

/** The op definition for a node; a clear error for an unknown op. */
export function opFor(spec: NodeSpec): OpDef {
  const def = registry.get(spec.op);
  if (!def) {
    throw new LowbitError('E_UNKNOWN_OP', `node '${spec.name}': unknown op '${String(spec.op)}' (known: ${[...registry.keys()].join(', ')})`);
  }
  return def;
}

export function knownOps(): OpName[] {
  return [...registry.keys()];
}
