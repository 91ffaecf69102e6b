import { unpackBits } from './bits.js';
import { type PackedWeight, packedBytes } from './format.js';

/**
 * Expands a packed weight file into float32 weights (in file order; `m.weights` as `readPackedJson`
 * gives them, or a version-1 manifest) exactly as the quantized model computes them:
 * `Math.fround(scale · code)` (asymmetric: `Math.fround(scale · (q − z))`). `file` names the weight file in errors.
 */
export function decodePacked(m: { weights: readonly PackedWeight[] }, data: ArrayBuffer, file = 'the weight file'): { specs: Array<{ name: string; shape: number[]; dtype: 'float32' }>; weightData: ArrayBuffer } {
  const total = m.weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  const out = new Float32Array(total);
  let pos = 0;
  let offset = 0;
  const expected = m.weights.reduce((s, w) => s + packedBytes(w), 0);
  if (expected !== data.byteLength) throw new Error(`lowbit-packed: ${file} has ${data.byteLength} bytes, model.json describes ${expected}`);
  for (const w of m.weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.bits === undefined) {
      out.set(new Float32Array(data.slice(offset, offset + 4 * n)), pos);
    } else {
      const axis = w.axis ?? null;
      const codeBytes = Math.ceil((n * w.bits) / 8);
      const q = unpackBits(new Uint8Array(data, offset, codeBytes), w.bits, n);
      const channels = axis === null ? 1 : w.shape[axis]!;
      const scales = new Float32Array(data.slice(offset + codeBytes, offset + codeBytes + 4 * channels));
      const inner = axis === null ? n : w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const bias = 2 ** (w.bits - 1);
      const zeros = w.zeroPoint ? new Uint8Array(data, offset + codeBytes + 4 * channels, channels) : null;
      for (let i = 0; i < n; i++) {
        const ch = axis === null ? 0 : Math.floor(i / inner) % channels;
        out[pos + i] = Math.fround(scales[ch]! * (q[i]! - (zeros ? zeros[ch]! : bias)));
      }
    }
    offset += packedBytes(w);
    pos += n;
  }
  return { specs: m.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' as const })), weightData: out.buffer };
}
