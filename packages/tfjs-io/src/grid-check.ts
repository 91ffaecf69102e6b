import { LowbitError } from '@lowbit/core';
import type { LayerGrids } from './export-types.js';

/** How far from an integer `w / scale` may be and still count as on the grid (float32 rounding of `code·scale` is ~1e-7). */
export const GRID_TOLERANCE = 1e-3;

/**
 * Checks that a kernel lies on its grid before any code is written: a valid grid (integer bits
 * 2..16, one finite non-zero scale per channel of `axis`), and every `w / scale` within
 * {@link GRID_TOLERANCE} of an integer code in the signed range `[−2^(b−1), 2^(b−1) − 1]` (with a
 * zero point z per channel: `[−z, 2^b − 1 − z]`).
 * Float weights that were never quantized, or grids that do not belong to them, are clear
 * errors instead of codes that wrap around. Returns the integer codes.
 */
export function codesOnGrid(name: string, shape: number[], values: Float32Array, grid: LayerGrids[string]): Int32Array {
  const where = `weight '${name}'`;
  if (!(Number.isInteger(grid.bits) && grid.bits >= 2 && grid.bits <= 16)) throw new LowbitError('E_GRID', `${where}: grid bits must be an integer 2..16, got ${grid.bits}`);
  const channels = grid.axis === null ? 1 : shape[grid.axis];
  if (grid.axis !== null && (!Number.isInteger(grid.axis) || channels === undefined)) throw new LowbitError('E_GRID', `${where}: grid axis ${grid.axis} does not exist in a kernel of shape [${shape.join(', ')}]`);
  if (!Array.isArray(grid.scale) && !ArrayBuffer.isView(grid.scale)) throw new LowbitError('E_GRID', `${where}: grid scale must be a list of numbers`);
  if (grid.scale.length !== channels) throw new LowbitError('E_GRID', `${where}: grid has ${grid.scale.length} scale(s), the kernel [${shape.join(', ')}] has ${channels} channel(s) on axis ${grid.axis}`);
  for (let c = 0; c < grid.scale.length; c++) {
    const s = grid.scale[c]!;
    if (!(Number.isFinite(s) && s !== 0)) throw new LowbitError('E_GRID', `${where}: grid scale[${c}] must be finite and non-zero, got ${s}`);
  }
  const zp = grid.zeroPoint;
  const top = 2 ** grid.bits - 1;
  if (zp !== undefined) {
    if (!Array.isArray(zp) || zp.length !== grid.scale.length) throw new LowbitError('E_GRID', `${where}: grid zeroPoint must be a list of ${grid.scale.length} integer(s), one per scale, got ${Array.isArray(zp) ? `${zp.length}` : JSON.stringify(zp)}`);
    zp.forEach((z, c) => {
      if (!(Number.isInteger(z) && z >= 0 && z <= top)) throw new LowbitError('E_GRID', `${where}: grid zeroPoint[${c}] must be an integer 0..${top}, got ${z}`);
    });
  }
  const inner = grid.axis === null ? values.length : shape.slice(grid.axis + 1).reduce((a, b) => a * b, 1);
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const ch = grid.axis === null ? 0 : Math.floor(i / inner) % channels!;
    const c = values[i]! / grid.scale[ch]!;
    const r = Math.round(c);
    const lo = zp ? -zp[ch]! : -(2 ** (grid.bits - 1));
    const hi = zp ? top - zp[ch]! : 2 ** (grid.bits - 1) - 1;
    if (!(Math.abs(c - r) <= GRID_TOLERANCE) || r < lo || r > hi) {
      const why = !Number.isFinite(c) ? 'is not finite' : r < lo || r > hi ? `is outside the ${grid.bits}-bit range ${lo}..${hi}${zp ? ` (zero point ${zp[ch]})` : ''}` : 'is not an integer (the weight is not on its grid)';
      throw new LowbitError(
        'E_GRID',
        `${where}: value ${values[i]} at flat index ${i} / scale ${grid.scale[ch]} = ${c} ${why}; export a quantized model (quantize()'s result or lowbit ptq's model.json), not float weights with grids`,
      );
    }
    codes[i] = r;
  }
  return codes;
}

/** Every grid must name a layer of the network that has a kernel (a grid of another model is an error, not ignored). */
export function checkGridNames(params: Record<string, Record<string, unknown>>, grids: LayerGrids | undefined): void {
  if (!grids) return;
  const unknown = Object.keys(grids).filter((k) => !params[k]?.['kernel']);
  if (unknown.length) throw new LowbitError('E_GRID', `the grids name ${unknown.length} layer(s) with no kernel in this network: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`);
}
