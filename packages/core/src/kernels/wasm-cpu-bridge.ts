import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient kernels that tfjs-backend-wasm lacks (tfjs#8474) but tfjs's own gradients call
 * directly: the fused `conv2d` / `depthwiseConv2d` ops (what tfjs-layers uses for a `Conv2D`
 * or `DepthwiseConv2D` layer with a linear activation) compute their gradient with these kernels
 * through `customGrad`, which lowbit's gradient overrides cannot reach. Without them a user's own
 * `model.fit` fails on wasm once `initBackend()` selected it.
 */
export const BRIDGED_KERNELS = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'] as const;

interface WasmLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
}

interface CpuLike {
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object;
  readSync(dataId: object): tf.backend_util.BackendValues;
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * Registers, for each kernel the wasm backend lacks, a wasm kernel that runs the cpu backend's
 * implementation on copies of its inputs (exact: the reference implementation; slow, but only
 * a user's own training of linear-activation convolutions reaches it — lowbit's training uses
 * its forward-convolution gradients). No-op where wasm has the kernel or cpu is not available.
 */
export function registerWasmCpuBridges(): void {
  for (const name of BRIDGED_KERNELS) {
    if (tf.getKernel(name, 'wasm')) continue;
    const cpuKernel = tf.getKernel(name, 'cpu');
    if (!cpuKernel) continue;
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ((args: { inputs: Record<string, tf.TensorInfo>; backend: WasmLike; attrs: tf.NamedAttrMap }) => {
        const cpu = tf.findBackend('cpu') as unknown as CpuLike | null;
        if (!cpu) throw new Error(`${name} on wasm needs the cpu backend (@tensorflow/tfjs-backend-cpu) for its bridge`);
        const staged: object[] = [];
        try {
          const inputs: Record<string, tf.TensorInfo> = {};
          for (const [k, t] of Object.entries(args.inputs)) {
            const dataId = cpu.write(args.backend.readSync(t.dataId), t.shape, t.dtype);
            staged.push(dataId);
            inputs[k] = { dataId, shape: t.shape, dtype: t.dtype };
          }
          const r = cpuKernel.kernelFunc({ inputs, backend: cpu as unknown as tf.KernelBackend, attrs: args.attrs }) as tf.TensorInfo;
          staged.push(r.dataId);
          const out = args.backend.makeOutput(r.shape, r.dtype);
          args.backend.typedArrayFromHeap(out).set(cpu.readSync(r.dataId) as tf.backend_util.TypedArray);
          return out;
        } finally {
          for (const d of staged) cpu.disposeData(d, true);
        }
      }) as unknown as tf.KernelFunc,
    });
  }
}
