import type { PackedLayer, PackedWeight } from './format.js';
import type { KerasLayer } from './topology.js';

const pair = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);

/** Keras weights of a layer (names in the order tfjs holds them, shapes), given its input channels; null: a layer without weights. */
function layerWeights(l: KerasLayer, cin: number): Array<[param: string, shape: number[]]> | null {
  const c = l.config;
  const bias = c['use_bias'] !== false;
  switch (l.class_name) {
    case 'Conv2D': {
      const f = c['filters'] as number;
      return [['kernel', [...pair(c['kernel_size']), cin, f]], ...(bias ? [['bias', [f]] as [string, number[]]] : [])];
    }
    case 'Conv2DTranspose': {
      // TF's transposed kernel: [kh, kw, out, in]
      const f = c['filters'] as number;
      return [['kernel', [...pair(c['kernel_size']), f, cin]], ...(bias ? [['bias', [f]] as [string, number[]]] : [])];
    }
    case 'PReLU':
      // one slope per channel, shared over the other axes (the only PReLU lowbit writes)
      return [['alpha', [...((c['shared_axes'] as number[] | undefined) ?? []).map(() => 1), cin]]];
    case 'DepthwiseConv2D': {
      const m = (c['depth_multiplier'] as number | undefined) ?? 1;
      return [['depthwise_kernel', [...pair(c['kernel_size']), cin, m]], ...(bias ? [['bias', [cin * m]] as [string, number[]]] : [])];
    }
    case 'Dense': {
      const u = c['units'] as number;
      return [['kernel', [cin, u]], ...(bias ? [['bias', [u]] as [string, number[]]] : [])];
    }
    case 'BatchNormalization':
      return [...(c['scale'] !== false ? ['gamma'] : []), ...(c['center'] !== false ? ['beta'] : []), 'moving_mean', 'moving_variance'].map((p) => [p, [cin]]);
    default:
      return null;
  }
}

/**
 * Every weight of a version-2 packed file, in file order: for each layer of the topology that has
 * weights (Conv2D, Conv2DTranspose, DepthwiseConv2D, Dense, BatchNormalization, PReLU), its kernel — on the grid of the
 * layer's entry in `layers` — then its bias, or its BN parameters, all named and shaped as tfjs
 * layers name and shape them. Throws when a weighted layer has no entry or an entry names a layer
 * without weights (`where` names the file in errors).
 */
export function packedWeights(layers: readonly KerasLayer[], entries: Record<string, PackedLayer>, where = 'model.json'): PackedWeight[] {
  const out: PackedWeight[] = [];
  const used = new Set<string>();
  for (const l of layers) {
    const e = entries[l.name];
    const ws = layerWeights(l, e?.in ?? 0);
    if (!ws) continue;
    if (!e || !Number.isInteger(e.in) || e.in < 1) {
      throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.layers.${l.name}' must be {in: input channels ≥ 1, …} for ${l.class_name} layer '${l.name}', got ${JSON.stringify(e)}`);
    }
    if (e.bits !== undefined && (!Number.isInteger(e.bits) || e.bits < 2 || e.bits > 8 || l.class_name === 'BatchNormalization')) {
      throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.layers.${l.name}.bits' must be an integer 2–8 on a kernel, got ${JSON.stringify(e.bits)} on ${l.class_name} '${l.name}'`);
    }
    used.add(l.name);
    ws.forEach(([param, shape], i) => {
      if (i > 0 || e.bits === undefined) {
        out.push({ name: `${l.name}/${param}`, shape });
        return;
      }
      if (e.axis != null && !(Number.isInteger(e.axis) && e.axis >= 0 && e.axis < shape.length)) {
        throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.layers.${l.name}.axis' must be an axis of the kernel shape [${shape}], got ${JSON.stringify(e.axis)}`);
      }
      if (e.zeroPoint !== undefined && e.zeroPoint !== true) {
        throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.layers.${l.name}.zeroPoint' must be true or absent, got ${JSON.stringify(e.zeroPoint)}`);
      }
      out.push({ name: `${l.name}/${param}`, shape, bits: e.bits, ...(e.axis != null ? { axis: e.axis } : {}), ...(e.zeroPoint ? { zeroPoint: true as const } : {}) });
    });
  }
  const extra = Object.keys(entries).filter((k) => !used.has(k));
  if (extra.length) throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.layers' has entries for layers with no weights in the topology: ${extra.join(', ')}`);
  return out;
}

/**
 * The version-2 entry of a layer, from the shape of its first weight and its grid: input channels
 * are axis −2 of a kernel, axis −1 of a transposed kernel `[kh, kw, out, in]`, of a BN parameter
 * and of PReLU slopes.
 */
export function packedLayerOf(firstShape: readonly number[], kind: 'kernel' | 'transposedKernel' | 'other', grid?: { bits: number; axis: number | null; zeroPoint?: number[] }): PackedLayer {
  const cin = firstShape[firstShape.length - (kind === 'kernel' ? 2 : 1)]!;
  if (!grid) return { in: cin };
  return { in: cin, bits: grid.bits, ...(grid.axis !== null ? { axis: grid.axis } : {}), ...(grid.zeroPoint ? { zeroPoint: true as const } : {}) };
}
