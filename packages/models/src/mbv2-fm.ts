import { type BlockBuilder, NetworkBuilder, type NetworkSpec } from '@lowbit/nn';

/**
 * An inverted residual block (MobileNetV2): 1×1 expand + BN + ReLU6 (omitted when t = 1),
 * 3×3 depthwise + BN + ReLU6, 1×1 project + BN, residual add when stride 1 and in = out.
 */
function invertedResidual(b: BlockBuilder, x: string, cin: number, t: number, cout: number, stride: number): string {
  let h = x;
  if (t !== 1) h = b.relu6('expand_relu', b.batchNorm('expand_bn', b.conv2d('expand', h, { filters: cin * t, kernel: 1 })));
  h = b.relu6('dw_relu', b.batchNorm('dw_bn', b.depthwiseConv2d('dw', h, { kernel: 3, strides: stride })));
  const y = b.batchNorm('project_bn', b.conv2d('project', h, { filters: cout, kernel: 1 }));
  return stride === 1 && cin === cout ? b.add2('add', y, x) : y;
}

/** The inverted-residual settings of `mbv2-fm`: (t, c, s). */
export const MBV2_FM_SETTINGS: ReadonlyArray<readonly [t: number, c: number, s: number]> = [
  [1, 16, 1],
  [4, 24, 2],
  [4, 24, 1],
  [4, 32, 2],
  [4, 32, 1],
];

/**
 * `mbv2-fm`: a MobileNetV2-style classifier for 28×28×1 images (32,234 trainable parameters).
 * conv3×3 1→16 + BN + ReLU6; inverted residual blocks {@link MBV2_FM_SETTINGS}; 1×1 conv → 128
 * + BN + ReLU6; global average pool; dense 128→10. Convolutions have no bias.
 */
export function mbv2FmSpec(numClasses = 10, inputShape: number[] = [28, 28, 1]): NetworkSpec {
  const nb = new NetworkBuilder('mbv2-fm', inputShape).block('stem', (b, x) =>
    b.relu6('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 16, kernel: 3 }))),
  );
  let cin = 16;
  MBV2_FM_SETTINGS.forEach(([t, c, s], i) => {
    const inC = cin;
    nb.block(`ir${i + 1}`, (b, x) => invertedResidual(b, x, inC, t, c, s));
    cin = c;
  });
  return nb
    .block('last', (b, x) => b.relu6('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 128, kernel: 1 }))))
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: numClasses }))
    .build();
}
