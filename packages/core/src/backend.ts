import * as tf from '@tensorflow/tfjs-core';
import { registerGradients } from './gradients/register.js';
import { loadKernels } from './kernels/runtime.js';
import { registerWasmCpuBridges } from './kernels/wasm-cpu-bridge.js';
import { registerSharedIdentity } from './kernels/wasm-identity.js';

export type BackendName = 'wasm' | 'cpu';

export interface BackendInfo {
  backend: BackendName;
  simd: boolean;
  /** lowbit's own WebAssembly SIMD kernels are loaded (faster depthwise gradients). */
  kernels: boolean;
  /** Why the requested backend was not used, when `fallback` kicked in. */
  fellBackBecause?: string;
}

export interface InitBackendOptions {
  /** Backend to select; default `wasm` (or `LOWBIT_BACKEND` from the environment). */
  backend?: BackendName;
  /** Fall back to `cpu` when wasm cannot start (default true); the reason is reported. */
  fallback?: boolean;
}

let wasmLoaded: Promise<void> | null = null;

function loadWasm(): Promise<void> {
  wasmLoaded ??= import('@tensorflow/tfjs-backend-wasm').then(() => undefined);
  return wasmLoaded;
}

/**
 * Prepares tfjs for lowbit: registers gradients (including lowbit's fast conv gradients) and
 * selects the backend: `wasm` (XNNPACK, SIMD) by default, `cpu` as an explicit reference or
 * fallback. Safe to call any number of times; switching backends is allowed (tests compare them).
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const envBackend = typeof process !== 'undefined' ? process.env['LOWBIT_BACKEND'] : undefined;
  const wanted: BackendName = options.backend ?? (envBackend === 'cpu' ? 'cpu' : 'wasm');
  const fallback = options.fallback ?? true;
  await registerGradients();
  const k = await loadKernels();
  let fellBackBecause: string | undefined;
  if (wanted === 'wasm') {
    try {
      await loadWasm();
      registerSharedIdentity();
      registerWasmCpuBridges();
      if (tf.getBackend() !== 'wasm') {
        const ok = await tf.setBackend('wasm');
        if (!ok) throw new Error('tf.setBackend("wasm") returned false');
      }
    } catch (e) {
      if (!fallback) throw e;
      fellBackBecause = e instanceof Error ? e.message : String(e);
    }
  }
  if (wanted === 'cpu' || fellBackBecause !== undefined) {
    if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
    silenceCpuNodeBanner();
  }
  await tf.ready();
  const backend = tf.getBackend() as BackendName;
  const simd = backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false;
  const base = { backend, simd, kernels: k !== null };
  return fellBackBecause === undefined ? base : { ...base, fellBackBecause };
}

/**
 * The cpu backend prints a banner recommending tfjs-node on first use in Node; lowbit uses cpu
 * deliberately (as a reference), and tfjs-node cannot be installed offline, so it is silenced.
 */
function silenceCpuNodeBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | undefined;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}
