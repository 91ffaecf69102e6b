/**
 * Weight grids of a quantized lowbit model (the `quantization.layers` metadata of `lowbit ptq`'s
 * output): value = `scale·c` with integer `c` in `[−2^(b−1), 2^(b−1) − 1]`, or with `zeroPoint`
 * (an asymmetric grid, one per channel) in `[−z, 2^b − 1 − z]` (the code `c + z` is unsigned).
 */
export type LayerGrids = Record<string, { bits: number; axis: number | null; scale: number[]; zeroPoint?: number[] }>;

/** Options of the stock TF.js exports ({@link exportLayersModel}, {@link exportGraphModel}). */
export interface ExportOptions {
  /** Grids of the kernels; kernels without one are stored in float32. */
  grids?: LayerGrids;
  /**
   * How kernels on per-channel grids are stored, since the stock manifest holds one scale per
   * tensor. `uint8` (default): the integer codes in the stock uint8 container (1 byte a weight, at
   * any bit width up to 8), the layer computing with the codes and a following op (GraphModel:
   * Mul + BiasAdd) or layer (LayersModel: a 1×1 DepthwiseConv2D, or BatchNormalization after a
   * Dense) applying the per-channel scales and the bias, both in float16. `float32`: the
   * dequantized kernel, exact; `float16`: the same rounded to float16.
   */
  perChannel?: 'uint8' | 'float32' | 'float16';
  /**
   * How the bias beside an integer-coded kernel (`perChannel: 'uint8'`) is stored: `float16`
   * (default, 2 bytes a channel) or `uint8`: the stock uint8 container with its own min and step,
   * 256 levels from its smallest to its largest value, as the TF.js converter's `--quantize_uint8`
   * stores biases (1 byte a channel; measured on nsfwjs MobileNetV2 at W8: 0.7% smaller weights,
   * top-1 agreement with the float model 97.33% instead of 98.67%).
   */
  codeBias?: 'uint8' | 'float16';
}

/** How one weight was stored, for the user to see. */
export interface StoredWeight {
  name: string;
  /** The lowbit layer (IR node) the weight belongs to. */
  layer?: string;
  /** `int32`: a graph constant of a GraphModel (a shape, axes, paddings), not a learnt weight. */
  storedAs: 'uint8' | 'float16' | 'float32' | 'int32' | 'packed';
  bytes: number;
  note?: string;
}

/** An export in memory: `model.json` as an object, its one weight file, and how each weight was stored. */
export interface TfjsExport {
  modelJson: Record<string, unknown>;
  weightData: Uint8Array;
  weights: StoredWeight[];
}
