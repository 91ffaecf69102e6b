import type * as tf from '@tensorflow/tfjs-core';

/** A shape without the batch dimension: `[H, W, C]` for images, `[F]` for features. */
export type Shape = number[];

/** 'same', 'valid', or explicit `[[top, bottom], [left, right]]` zero padding. */
export type Padding = 'same' | 'valid' | [[number, number], [number, number]];

interface NodeBase {
  /** Unique node name; also the name of its output value. */
  name: string;
  /** Names of the values this node reads: other nodes' names, or `'input'`. */
  inputs: string[];
}

export interface Conv2dSpec extends NodeBase {
  op: 'conv2d';
  filters: number;
  kernelSize: [number, number];
  strides: [number, number];
  padding: Padding;
  useBias: boolean;
  /**
   * The bias is added after the layer's product as an op of its own (TF's Conv2D / MatMul + BiasAdd,
   * unfused), not inside it (`_FusedConv2D`, Keras layers): imported models keep the arithmetic
   * stock TF.js runs for them. Default false.
   */
  separateBias?: boolean;
}

/**
 * A transposed convolution (TF's Conv2DBackpropInput, Keras Conv2DTranspose): the gradient of a
 * convolution with these kernel size, strides and padding whose input was `outputSize`. The
 * kernel is `[kh, kw, filters, inChannels]`, as in TF.
 */
export interface Conv2dTransposeSpec extends NodeBase {
  op: 'conv2dTranspose';
  filters: number;
  kernelSize: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
  /** Spatial size of the output `[H, W]` (TF's `input_sizes`; Keras: `in·stride`, or `in·stride + max(k − stride, 0)` unpadded). */
  outputSize: [number, number];
  useBias: boolean;
}

export interface DepthwiseConv2dSpec extends NodeBase {
  op: 'depthwiseConv2d';
  kernelSize: [number, number];
  strides: [number, number];
  padding: Padding;
  depthMultiplier: number;
  useBias: boolean;
  /**
   * The bias is added after the layer's product as an op of its own (TF's Conv2D / MatMul + BiasAdd,
   * unfused), not inside it (`_FusedConv2D`, Keras layers): imported models keep the arithmetic
   * stock TF.js runs for them. Default false.
   */
  separateBias?: boolean;
}

export interface DenseSpec extends NodeBase {
  op: 'dense';
  units: number;
  useBias: boolean;
  /**
   * The bias is added after the layer's product as an op of its own (TF's Conv2D / MatMul + BiasAdd,
   * unfused), not inside it (`_FusedConv2D`, Keras layers): imported models keep the arithmetic
   * stock TF.js runs for them. Default false.
   */
  separateBias?: boolean;
}

export interface BatchNormSpec extends NodeBase {
  op: 'batchNorm';
  epsilon: number;
  /** Running-statistics momentum, Keras convention (0.99 keeps 99% of the old value). */
  momentum: number;
}

export interface PoolSpec extends NodeBase {
  op: 'avgPool' | 'maxPool';
  poolSize: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
}

export interface SimpleSpec extends NodeBase {
  op: 'relu' | 'relu6' | 'identity' | 'flatten' | 'globalAvgPool' | 'add' | 'sub' | 'mul' | 'div' | 'abs' | 'sqrt' | 'rsqrt' | 'softmax' | 'sigmoid' | 'tanh' | 'swish' | 'hardSwish';
}

/** Parametric ReLU: `x` where positive, `alpha·x` elsewhere, one learned slope per channel (Keras PReLU shared over the spatial axes). */
export interface PreluSpec extends NodeBase {
  op: 'prelu';
}

/** Clipping to `[min, max]`; `null` leaves that side open (TF's Maximum / Minimum with a constant, clip_by_value). */
export interface ClipSpec extends NodeBase {
  op: 'clip';
  min: number | null;
  max: number | null;
}

/** Concatenation along a per-example axis (−1: channels). */
export interface ConcatSpec extends NodeBase {
  op: 'concat';
  axis: number;
}

/** Zero padding of the two spatial axes, `[[top, bottom], [left, right]]`, and optionally of the channels (`[before, after]`). */
export interface ZeroPadSpec extends NodeBase {
  op: 'zeroPad';
  padding: [[number, number], [number, number]];
  channels?: [number, number];
}

/** Resizing of the two spatial axes to `size` (TF's ResizeBilinear / ResizeNearestNeighbor, same flags). */
export interface ResizeSpec extends NodeBase {
  op: 'resize';
  size: [number, number];
  method: 'bilinear' | 'nearest';
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

/** TF's DepthToSpace (NHWC): blocks of `blockSize`² channels become `blockSize`×`blockSize` pixels. */
export interface DepthToSpaceSpec extends NodeBase {
  op: 'depthToSpace';
  blockSize: number;
}

/** A permutation of the per-example axes (TF's Transpose with the batch axis first). */
export interface TransposeSpec extends NodeBase {
  op: 'transpose';
  perm: number[];
}

/** Leaky ReLU: `x` where positive, `alpha·x` elsewhere, one constant slope. */
export interface LeakyReluSpec extends NodeBase {
  op: 'leakyRelu';
  alpha: number;
}

/**
 * Padding of any per-example axes with a constant (TF's PadV2). ±∞ (a max pool's padding) is held
 * as ±3.4028234663852886e38, the largest float32, since JSON has no infinity.
 */
export interface PadSpec extends NodeBase {
  op: 'pad';
  paddings: Array<[number, number]>;
  value: number;
}

/** Sum over per-example axes (TF's Sum), keeping them as size 1 or dropping them. */
export interface SumSpec extends NodeBase {
  op: 'sum';
  axes: number[];
  keepDims: boolean;
}

/** A box of each example: `size[i]` values from `begin[i]` on every per-example axis (TF's StridedSlice with strides 1); `squeeze` axes (of size 1) are then dropped. */
export interface SliceSpec extends NodeBase {
  op: 'slice';
  begin: number[];
  size: number[];
  squeeze: number[];
}

/** Reshape of each example to `targetShape` (one entry may be −1). */
export interface ReshapeSpec extends NodeBase {
  op: 'reshape';
  targetShape: number[];
}

/** Constant affine rescaling `x·scale + offset` (Keras Rescaling; Normalization with per-channel vectors). */
export interface ScaleSpec extends NodeBase {
  op: 'scale';
  scale: number | number[];
  offset: number | number[];
}

export type NodeSpec = Conv2dSpec | Conv2dTransposeSpec | DepthwiseConv2dSpec | DenseSpec | BatchNormSpec | PoolSpec | SimpleSpec | PreluSpec | ClipSpec | ConcatSpec | ZeroPadSpec | ResizeSpec | DepthToSpaceSpec | ReshapeSpec | ScaleSpec | SumSpec | SliceSpec | TransposeSpec | LeakyReluSpec | PadSpec;
export type OpName = NodeSpec['op'];

/** Layers with a weight kernel that quantization acts on. */
export type LayerSpec = Conv2dSpec | Conv2dTransposeSpec | DepthwiseConv2dSpec | DenseSpec;

/**
 * A named group of consecutive nodes — the unit of block-wise reconstruction and of the
 * activation regularisation over block outputs. A block reads only its own nodes' outputs and
 * the previous block's output (the network input for the first block); its output is the output
 * of its last node.
 */
export interface BlockSpec {
  name: string;
  nodes: string[];
}

/** The serialisable description of a network (no weights). */
export interface NetworkSpec {
  name: string;
  inputShape: Shape;
  nodes: NodeSpec[];
  blocks: BlockSpec[];
  /**
   * The output values in order, for a network with several outputs (heads of a detector, a
   * landmark model's coordinates and scores). Omitted: the last node is the only output. Every
   * output must be in the last block, and the last node must be one of them.
   */
  outputs?: string[];
}

/** The spec fields of a network (or spec), without parameters, sharing the node and block lists. */
export function specOf(s: NetworkSpec): NetworkSpec {
  return { name: s.name, inputShape: s.inputShape, nodes: s.nodes, blocks: s.blocks, ...(s.outputs ? { outputs: s.outputs } : {}) };
}

/** Parameters of one node by parameter name (`kernel`, `bias`, `gamma`, `beta`, `movingMean`, `movingVariance`). */
export type NodeParams = Record<string, tf.Variable>;

/** A network: its spec plus weights as tfjs variables, keyed by node name then parameter name. */
export interface Network extends NetworkSpec {
  params: Record<string, NodeParams>;
}

export function isLayer(spec: NodeSpec): spec is LayerSpec {
  return spec.op === 'conv2d' || spec.op === 'conv2dTranspose' || spec.op === 'depthwiseConv2d' || spec.op === 'dense';
}
