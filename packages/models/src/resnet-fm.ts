import { type BlockBuilder, NetworkBuilder, type NetworkSpec } from '@lowbit/nn';

/** A basic residual block: conv3×3-BN-ReLU, conv3×3-BN, plus identity or 1×1 conv-BN projection, then ReLU. */
function basicBlock(b: BlockBuilder, x: string, filters: number, stride: number, project: boolean): string {
  const h = b.relu('relu1', b.batchNorm('bn1', b.conv2d('conv1', x, { filters, kernel: 3, strides: stride })));
  const y = b.batchNorm('bn2', b.conv2d('conv2', h, { filters, kernel: 3 }));
  const s = project ? b.batchNorm('proj_bn', b.conv2d('proj', x, { filters, kernel: 1, strides: stride })) : x;
  return b.relu('out', b.add2('add', y, s));
}

/**
 * `resnet-fm`: a ResNet-style classifier for 28×28×1 images (77,754 trainable parameters).
 * conv3×3 1→16 + BN + ReLU; basic blocks 16→16 (stride 1), 16→32 (stride 2, projection),
 * 32→64 (stride 2, projection); global average pool; dense 64→10. Convolutions have no bias.
 */
export function resnetFmSpec(numClasses = 10, inputShape: number[] = [28, 28, 1]): NetworkSpec {
  return new NetworkBuilder('resnet-fm', inputShape)
    .block('stem', (b, x) => b.relu('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 16, kernel: 3 }))))
    .block('block1', (b, x) => basicBlock(b, x, 16, 1, false))
    .block('block2', (b, x) => basicBlock(b, x, 32, 2, true))
    .block('block3', (b, x) => basicBlock(b, x, 64, 2, true))
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: numClasses }))
    .build();
}
