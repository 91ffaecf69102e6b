import type { Network } from '@lowbit/nn';
import { exportLayersModel } from './export-layers.js';
import type { ExportOptions, TfjsExport } from './export-types.js';
import { packBits } from './packed/bits.js';
import { PACKED_FORMAT, type PackedWeight } from './packed/format.js';
import { concatBytes } from './weights-manifest.js';

/**
 * lowbit's packed format: the same LayersModel topology as the stock export, with every kernel
 * that has a grid stored as `bits`-wide codes, bit-packed, plus one float32 scale per channel (any
 * granularity, 2–8 bits); biases and BN parameters in float32. Load it with
 * `tf.loadLayersModel(packedHandler(path or url))` from `@lowbit/tfjs-io/loader`.
 */
export function exportPacked(net: Network, o: Pick<ExportOptions, 'grids'>): TfjsExport {
  const stock = exportLayersModel(net, {}); // float32 everywhere: gives topology and values in order
  const specs = ((stock.modelJson['weightsManifest'] as Array<{ weights: Array<{ name: string; shape: number[] }> }>)[0]!).weights;
  const data = new Float32Array(stock.weightData.buffer, stock.weightData.byteOffset, stock.weightData.byteLength / 4);
  const chunks: Uint8Array[] = [];
  const weights: PackedWeight[] = [];
  const stored: TfjsExport['weights'] = [];
  let pos = 0;
  const layerOf = new Map<string, string>();
  for (const n of net.nodes) layerOf.set(n.name.replace(/[^A-Za-z0-9_.-]/g, '_'), n.name);
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const values = data.subarray(pos, pos + n);
    pos += n;
    const [kname, param] = [s.name.slice(0, s.name.lastIndexOf('/')), s.name.slice(s.name.lastIndexOf('/') + 1)];
    const grid = param.endsWith('kernel') ? o.grids?.[layerOf.get(kname) ?? kname] : undefined;
    let chunk: Uint8Array;
    if (grid) {
      const channels = grid.axis === null ? 1 : s.shape[grid.axis]!;
      const inner = grid.axis === null ? n : s.shape.slice(grid.axis + 1).reduce((a, b) => a * b, 1);
      const bias = 2 ** (grid.bits - 1);
      const q = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const ch = grid.axis === null ? 0 : Math.floor(i / inner) % channels;
        q[i] = Math.round(values[i]! / grid.scale[ch]!) + bias;
      }
      const codes = packBits(q, grid.bits);
      const scales = new Uint8Array(Float32Array.from(grid.scale).buffer);
      chunk = new Uint8Array(codes.length + scales.length);
      chunk.set(codes);
      chunk.set(scales, codes.length);
      weights.push(grid.axis === null ? { name: s.name, shape: s.shape, bits: grid.bits } : { name: s.name, shape: s.shape, bits: grid.bits, axis: grid.axis });
      stored.push({ name: s.name, storedAs: 'packed', bytes: chunk.length, note: `${grid.bits}-bit codes, bit-packed, ${channels} scale(s)` });
    } else {
      chunk = new Uint8Array(values.slice().buffer);
      weights.push({ name: s.name, shape: s.shape });
      stored.push({ name: s.name, storedAs: 'float32', bytes: chunk.length });
    }
    chunks.push(chunk);
  }
  const weightData = concatBytes(chunks);
  const modelJson = {
    format: PACKED_FORMAT,
    generatedBy: 'lowbit',
    modelTopology: stock.modelJson['modelTopology'],
    lowbitPacked: { version: 1, path: 'weights.lbp', weights },
  };
  return { modelJson, weightData, weights: stored };
}
