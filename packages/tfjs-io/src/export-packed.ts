import { LowbitError } from '@lowbit/core';
import { analyze, type Network } from '@lowbit/nn';
import { exportLayersModel, kerasNames } from './export-layers.js';
import { checkGridNames, codesOnGrid } from './grid-check.js';
import type { ExportOptions, TfjsExport } from './export-types.js';
import { packBits } from './packed/bits.js';
import { PACKED_FORMAT, PACKED_VERSION, type PackedLayer, type PackedManifestV2 } from './packed/format.js';
import { packedLayerOf, packedWeights } from './packed/layers.js';
import { compactTopology, type KerasLayer } from './packed/topology.js';
import { concatBytes } from './weights-manifest.js';

/**
 * lowbit's packed format (version {@link PACKED_VERSION}): the same LayersModel topology as the
 * stock export (stored compacted, losslessly), with every kernel that has a grid stored as
 * `bits`-wide codes, bit-packed, plus one float32 scale per channel (any granularity, 2–8 bits;
 * an asymmetric grid adds one uint8 zero point per channel);
 * biases and BN parameters in float32. model.json holds one small entry per weighted layer (input
 * channels, bits, axis); weight names and shapes follow from the topology. Load it with
 * `tf.loadLayersModel(packedHandler(path or url))` from `@lowbit/tfjs-io/loader`.
 */
export function exportPacked(net: Network, o: Pick<ExportOptions, 'grids'>): TfjsExport {
  checkGridNames(net.params, o.grids);
  const stock = exportLayersModel(net, {}); // float32 everywhere: gives topology and values in order
  const specs = ((stock.modelJson['weightsManifest'] as Array<{ weights: Array<{ name: string; shape: number[] }> }>)[0]!).weights;
  const data = new Float32Array(stock.weightData.buffer, stock.weightData.byteOffset, stock.weightData.byteLength / 4);
  const chunks: Uint8Array[] = [];
  const layers: Record<string, PackedLayer> = {};
  const stored: TfjsExport['weights'] = [];
  let pos = 0;
  const layerOf = new Map<string, string>();
  // the Keras names exportLayersModel gave the nodes (in its order: the same unique names)
  for (const [node, keras] of kerasNames(analyze(net).order.map((x) => x.spec.name))) layerOf.set(keras, node);
  const ops = new Map(net.nodes.map((n) => [n.name, n.op]));
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const values = data.subarray(pos, pos + n);
    pos += n;
    const [kname, param] = [s.name.slice(0, s.name.lastIndexOf('/')), s.name.slice(s.name.lastIndexOf('/') + 1)];
    const layer = layerOf.get(kname) ?? kname;
    const grid = param.endsWith('kernel') ? o.grids?.[layer] : undefined;
    if (grid && grid.bits > 8) throw new LowbitError('E_GRID', `weight '${s.name}': the packed format holds 2..8-bit codes, the grid has ${grid.bits} bits`);
    // codes in range and weights on the grid, or a clear error (never codes that wrap in packBits)
    const signed = grid ? codesOnGrid(s.name, s.shape, values, grid) : null;
    const kind = !param.endsWith('kernel') ? 'other' : ops.get(layer) === 'conv2dTranspose' ? 'transposedKernel' : 'kernel';
    layers[kname] ??= packedLayerOf(s.shape, kind, grid);
    let chunk: Uint8Array;
    if (grid && signed) {
      const channels = grid.axis === null ? 1 : s.shape[grid.axis]!;
      const zp = grid.zeroPoint;
      const inner = grid.axis === null ? n : s.shape.slice(grid.axis + 1).reduce((a, b) => a * b, 1);
      const bias = 2 ** (grid.bits - 1);
      const q = new Uint32Array(n);
      // symmetric: c + 2^(b−1); asymmetric: the unsigned code c + z of the weight's channel
      for (let i = 0; i < n; i++) q[i] = signed[i]! + (zp ? zp[grid.axis === null ? 0 : Math.floor(i / inner) % channels]! : bias);
      const codes = packBits(q, grid.bits);
      const scales = new Uint8Array(Float32Array.from(grid.scale).buffer);
      const zeros = zp ? Uint8Array.from(zp) : new Uint8Array(0);
      chunk = new Uint8Array(codes.length + scales.length + zeros.length);
      chunk.set(codes);
      chunk.set(scales, codes.length);
      chunk.set(zeros, codes.length + scales.length);
      stored.push({ name: s.name, layer, storedAs: 'packed', bytes: chunk.length, note: `${grid.bits}-bit codes, bit-packed, ${channels} scale(s)${zp ? ` and ${channels} zero point(s)` : ''}` });
    } else {
      chunk = new Uint8Array(values.slice().buffer);
      stored.push({ name: s.name, layer, storedAs: 'float32', bytes: chunk.length });
    }
    chunks.push(chunk);
  }
  const topology = stock.modelJson['modelTopology'] as { config: { layers: KerasLayer[] } };
  // Self-check: what the loader will derive from the entries is what was written.
  const derived = packedWeights(topology.config.layers, layers);
  const mismatch = specs.findIndex((s, i) => s.name !== derived[i]?.name || s.shape.join() !== derived[i]?.shape.join());
  if (mismatch >= 0 || derived.length !== specs.length) {
    const s = specs[mismatch] ?? specs[specs.length - 1]!;
    throw new LowbitError('E_EXPORT', `lowbit-packed export: weight '${s.name}' [${s.shape}] cannot be described by its layer's entry (derived: ${JSON.stringify(derived[mismatch] ?? null)})`);
  }
  const weightData = concatBytes(chunks);
  const lowbitPacked: PackedManifestV2 = { version: PACKED_VERSION, path: 'weights.lbp', layers };
  const modelJson = { format: PACKED_FORMAT, generatedBy: 'lowbit', modelTopology: compactTopology(topology), lowbitPacked };
  return { modelJson, weightData, weights: stored };
}
