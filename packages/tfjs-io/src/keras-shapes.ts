/**
 * The output size tfjs-layers' Conv2DTranspose derives along one axis (it has no
 * `output_padding`): `in·stride` for 'same', `in·stride + max(k − stride, 0)` for 'valid'.
 */
export function kerasTransposeSize(inSize: number, k: number, stride: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? inSize * stride : inSize * stride + Math.max(k - stride, 0);
}
