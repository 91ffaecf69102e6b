// Data-parallel quantize() in a real headless Chromium (issue 18): the page's worker is rank 0,
// replica Web Workers started by the page (quantizeInWorker's replicaWorker, each running
// serveQuantizeReplica) run their share of every step through a SharedArrayBuffer, which the page
// has because it is served cross-origin isolated. Two threads must follow one thread's run.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lowbit/core';
import { wasmBinaries } from '@lowbit/core/node';
import { bundledCalibrationSet, bundledTestSet, makeBatch } from '@lowbit/data';
import { loadReference } from '@lowbit/models/node';
import { disposeNetwork } from '@lowbit/nn';
import { exportLayersModel, writeTfjsExport } from '@lowbit/tfjs-io';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePage, launchChromium, pageErrors, type Served, screenshot, serve } from '../../../browser-test.shared.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lowbit-browser-threads-'));
const CALIB = 128;
const HELD = 256;

const WORKER = `import { serveQuantize } from '@lowbit/pipelines';
serveQuantize();
`;
const REPLICA = `import { serveQuantizeReplica } from '@lowbit/pipelines';
serveQuantizeReplica();
`;
const PAGE = `import * as tf from '@tensorflow/tfjs-core';
import { quantizeInWorker } from '@lowbit/pipelines';
const rows = async (url, n) => ({ data: new Float32Array(await (await fetch(url)).arrayBuffer()), shape: [n, 28, 28, 1] });
window.run = async (config, o = {}) => {
  const worker = new Worker('./worker.js', { type: 'module' });
  const model = await tf.io.http('/model/model.json').load();
  const job = { model, calibration: await rows('/data/calib.bin', ${CALIB}), heldOut: await rows('/data/held.bin', ${HELD}), config, saves: [], backend: { wasmPaths: '/wasm/' } };
  const progress = [];
  let started = 0;
  const replicaWorker = o.replica === undefined ? undefined : () => { started++; return new Worker(o.replica, { type: 'module' }); };
  const controller = new AbortController();
  const t0 = performance.now();
  try {
    const r = await quantizeInWorker(worker, job, { replicaWorker, signal: controller.signal, onProgress: (p) => {
      progress.push({ step: p.step, loss: p.loss });
      if (o.cancelAtStep !== undefined && p.step >= o.cancelAtStep) controller.abort();
    } });
    return { report: r.report, progress, started, ms: performance.now() - t0 };
  } catch (e) {
    return { error: e.message, code: e.code, progress, started, ms: performance.now() - t0 };
  } finally {
    worker.terminate();
  }
};
document.body.textContent = 'isolated: ' + crossOriginIsolated;
`;

interface RunResult {
  report?: { threads: number; iterations: number; heldOutAgreement: number; calibrationAgreement: number };
  progress: Array<{ step: number; loss: number }>;
  started: number;
  ms: number;
  error?: string;
  code?: string;
}

let browser: Browser;
let isolated: Served;
let plain: Served;
let page: Page;
let errors: string[];

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const net = loadReference('resnet-fm');
  writeTfjsExport(join(dir, 'model'), exportLayersModel(net));
  disposeNetwork(net);
  const calib = makeBatch(bundledCalibrationSet(), Int32Array.from({ length: CALIB }, (_, i) => i)).x;
  const held = makeBatch(bundledTestSet(), Int32Array.from({ length: HELD }, (_, i) => i)).x;
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'calib.bin'), calib.dataSync() as Float32Array);
  writeFileSync(join(dir, 'data', 'held.bin'), held.dataSync() as Float32Array);
  tf.dispose([calib, held]);
  await bundlePage(PAGE, pkg, join(dir, 'page', 'main.js'), { html: true });
  await bundlePage(WORKER, pkg, join(dir, 'page', 'worker.js'));
  await bundlePage(REPLICA, pkg, join(dir, 'page', 'replica.js'));
  const routes = { '/': join(dir, 'page'), '/wasm/': wasmBinaries().dir, '/model/': join(dir, 'model'), '/data/': join(dir, 'data') };
  isolated = await serve(routes, { isolated: true });
  plain = await serve(routes);
  browser = await launchChromium();
  page = await browser.newPage();
  errors = pageErrors(page);
  await page.goto(`${isolated.url}/`);
  await page.waitForFunction(() => typeof (window as unknown as { run?: unknown }).run === 'function');
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
  rmSync(dir, { recursive: true, force: true });
});

const runIn = (p: Page, config: Record<string, unknown>, o: { replica?: string; cancelAtStep?: number } = {}): Promise<RunResult> =>
  p.evaluate(([c, opt]) => (window as unknown as { run: (c: unknown, o: unknown) => Promise<RunResult> }).run(c, opt), [config, o] as const);

describe('data-parallel quantize() across Web Workers in headless Chromium', () => {
  const nwq = { method: 'nwq', wBits: 4, aBits: 4, iterations: 20, batchSize: 32, seed: 3 };

  it('two threads (the page worker and one replica worker) follow the one-thread run step by step', async () => {
    expect(await page.textContent('body')).toBe('isolated: true');
    const one = await runIn(page, { ...nwq, threads: 1 });
    const two = await runIn(page, { ...nwq, threads: 2 }, { replica: './replica.js' });
    await screenshot(page, pkg, 'threads-two-done');
    expect(one.error).toBeUndefined();
    expect(two.error).toBeUndefined();
    expect([one.report!.threads, two.report!.threads, two.started]).toEqual([1, 2, 1]);
    expect(two.progress.map((p) => p.step)).toEqual(one.progress.map((p) => p.step));
    expect(two.progress.at(-1)!.step).toBe(20);
    // the same losses at every reported step, up to float summation order
    for (const [i, p] of two.progress.entries()) expect(Math.abs(p.loss - one.progress[i]!.loss) / one.progress[i]!.loss, `step ${p.step}`).toBeLessThan(1e-3);
    expect(Math.abs(two.report!.heldOutAgreement - one.report!.heldOutAgreement)).toBeLessThanOrEqual(2 / HELD);
    expect(Math.abs(two.report!.calibrationAgreement - one.report!.calibrationAgreement)).toBeLessThanOrEqual(2 / CALIB);
    console.log(`NWQ 20 iterations at batch 32 in the page: one thread ${one.ms.toFixed(0)} ms, two threads ${two.ms.toFixed(0)} ms`);
    expect(errors).toEqual([]);
  }, 300_000);

  it('cancelling a two-thread run stops both threads after the current step with E_ABORTED', async () => {
    const got = await runIn(page, { ...nwq, iterations: 2000, threads: 2 }, { replica: './replica.js', cancelAtStep: 5 });
    expect(got.code).toBe('E_ABORTED');
    expect(got.progress.at(-1)!.step).toBeLessThan(20);
    // the page worker and its replica can run again at once
    const again = await runIn(page, { ...nwq, iterations: 5, threads: 2 }, { replica: './replica.js' });
    expect(again.error).toBeUndefined();
    expect(again.report!.threads).toBe(2);
  }, 300_000);

  it('threads without replicaWorker, or with a replica script that does not load, is an error with the cause, not a hang', async () => {
    const none = await runIn(page, { ...nwq, iterations: 5, threads: 2 });
    expect(none.code).toBe('E_REPLICA');
    expect(none.error).toMatch(/config\.threads 2 runs replicas in Web Workers: pass quantizeInWorker\(worker, job, \{ replicaWorker/);
    const missing = await runIn(page, { ...nwq, iterations: 5, threads: 2 }, { replica: './no-such-replica.js' });
    expect(missing.code).toBe('E_REPLICA');
    expect(missing.error).toMatch(/replica 1: /);
    expect(missing.started).toBe(1);
    expect(isolated.requests.some((r) => r.path === '/no-such-replica.js' && r.status === 404)).toBe(true);
  }, 300_000);

  it('a page that is not cross-origin isolated gets an error naming the headers it needs', async () => {
    const p = await browser.newPage();
    await p.goto(`${plain.url}/`);
    await p.waitForFunction(() => typeof (window as unknown as { run?: unknown }).run === 'function');
    expect(await p.textContent('body')).toBe('isolated: false');
    const r = await runIn(p, { ...nwq, iterations: 5, threads: 2 }, { replica: './replica.js' });
    expect(r.code).toBe('E_PLATFORM');
    expect(r.error).toMatch(/needs SharedArrayBuffer, which a page has only when it is cross-origin isolated: serve it with 'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp'/);
    expect(r.started).toBe(0);
    await p.close();
  }, 300_000);
});
