import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from './errors.js';
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
  /**
   * Fall back to `cpu` when wasm cannot start, reporting why in `fellBackBecause` (default false:
   * wasm failing to start is an error that says how to fix it — the cpu backend is ~30× slower,
   * and a silent fallback hides a missing wasm binary in a page).
   */
  fallback?: boolean;
  /**
   * Where a page finds tfjs-backend-wasm's binaries (`tfjs-backend-wasm.wasm`, `-simd.wasm`,
   * `-threaded-simd.wasm`, shipped in `@tensorflow/tfjs-backend-wasm/dist/`): a URL prefix ending in
   * `/`, or a map from those file names to URLs (tfjs's `setWasmPaths`). Default: next to the
   * bundled script, as tfjs looks. Node finds them in node_modules and needs nothing.
   */
  wasmPaths?: string | Record<string, string>;
}

/** The binaries tfjs-backend-wasm loads (one of them, chosen by the platform's SIMD and threads). */
export const TFJS_WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');
let wasmLoaded: Promise<WasmModule> | null = null;

function loadWasm(): Promise<WasmModule> {
  wasmLoaded ??= import('@tensorflow/tfjs-backend-wasm');
  return wasmLoaded;
}

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

function wasmStartError(reason: string, wasmPaths: InitBackendOptions['wasmPaths']): LowbitError {
  const where = wasmPaths === undefined ? 'next to the bundled script (tfjs\'s default; no wasmPaths given)' : typeof wasmPaths === 'string' ? `under '${wasmPaths}'` : `at ${JSON.stringify(wasmPaths)}`;
  const fix = isNode()
    ? 'reinstall @tensorflow/tfjs-backend-wasm 4.22.0 (its dist/ holds the binaries), or initBackend({ backend: \'cpu\' }) / LOWBIT_BACKEND=cpu for the ~30× slower reference backend'
    : `serve ${TFJS_WASM_FILES.join(', ')} from node_modules/@tensorflow/tfjs-backend-wasm/dist/ and pass initBackend({ wasmPaths: '<their URL prefix>/' }); or initBackend({ backend: 'cpu' }) for the ~30× slower cpu backend`;
  return new LowbitError('E_BACKEND', `the wasm backend did not start (${reason}); it looked for its binaries ${where}. Fix: ${fix}`);
}

/**
 * Prepares tfjs for lowbit: registers gradients (including lowbit's fast conv gradients) and
 * selects the backend: `wasm` (XNNPACK, SIMD) by default, `cpu` as an explicit reference or
 * fallback. Safe to call any number of times; switching backends is allowed (tests compare them).
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const envBackend = typeof process !== 'undefined' ? process.env?.['LOWBIT_BACKEND'] : undefined;
  const wanted: BackendName = options.backend ?? (envBackend === 'cpu' ? 'cpu' : 'wasm');
  const fallback = options.fallback ?? false;
  await registerGradients();
  const k = await loadKernels();
  let fellBackBecause: string | undefined;
  if (wanted === 'wasm') {
    try {
      const wasm = await loadWasm();
      registerSharedIdentity();
      registerWasmCpuBridges();
      // tf.getBackend() is not to be trusted here: after a failed start it names 'wasm' all the same; the registry holds only started backends
      const started = 'wasm' in tf.engine().registry;
      if (!started && options.wasmPaths !== undefined) {
        try {
          wasm.setWasmPaths(options.wasmPaths);
        } catch (e) {
          throw new LowbitError('E_BACKEND', `wasmPaths can be given only before the wasm backend's first start attempt (tfjs: ${(e as Error).message}); load the page again with the right wasmPaths`);
        }
      }
      let ok: boolean;
      // tfjs logs a failed backend start and returns false; its console line is the only place the cause appears
      const logged: string[] = [];
      const warn = console.warn;
      const log = console.log;
      console.warn = (...a: unknown[]) => logged.push(a.map(String).join(' '));
      console.log = (...a: unknown[]) => logged.push(a.map(String).join(' '));
      try {
        ok = await tf.setBackend('wasm');
      } finally {
        console.warn = warn;
        console.log = log;
      }
      if (ok) for (const line of logged) warn(line);
      else throw wasmStartError(logged.join('; ') || 'tf.setBackend("wasm") returned false', options.wasmPaths);
    } catch (e) {
      if (!fallback) throw e instanceof LowbitError ? e : wasmStartError(e instanceof Error ? e.message : String(e), options.wasmPaths);
      fellBackBecause = e instanceof Error ? e.message : String(e);
    }
  }
  if (wanted === 'cpu' || fellBackBecause !== undefined) {
    await tf.setBackend('cpu');
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
