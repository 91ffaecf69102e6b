import * as tf from '@tensorflow/tfjs-core';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * tfjs clones every tensor it saves for backpropagation, and the wasm backend's `Identity`
 * copies the data. Tensors are immutable (a variable's `assign` swaps its buffer), so a clone
 * can share the buffer by reference count, as wasm's own `Reshape` already does.
 */
export function registerSharedIdentity(): void {
  if (tf.getKernel('Identity', 'wasm')?.kernelFunc === sharedIdentity) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: sharedIdentity as unknown as tf.KernelFunc });
}

function sharedIdentity(args: { inputs: { x: tf.TensorInfo }; backend: RefCountingBackend }): tf.TensorInfo {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
