// quantize() in a Web Worker of a real headless Chromium (issue 18): a page bundled with esbuild
// (no configuration) sends a TF.js model and calibration images to a worker running
// serveQuantize(), gets progress messages, can cancel, and receives the export files — which stock
// TF.js loads in Node with the predictions of the same quantization run in Node.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lowbit/core';
import { wasmBinaries } from '@lowbit/core/node';
import { bundledCalibrationSet, bundledTestSet, makeBatch } from '@lowbit/data';
import { loadReference } from '@lowbit/models/node';
import { disposeNetwork } from '@lowbit/nn';
import { exportLayersModel, writeTfjsExport } from '@lowbit/tfjs-io';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePage, launchChromium, pageErrors, type Served, screenshot, serve, stockLoad } from '../../../browser-test.shared.js';
import { quantize, type QuantizeReport } from '../src/index.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const wasmDist = wasmBinaries().dir;
const dir = mkdtempSync(join(tmpdir(), 'lowbit-browser-worker-'));
const CALIB = 128;
const HELD = 256;

const WORKER = `import { serveQuantize } from '@lowbit/pipelines';
serveQuantize();
`;
const PAGE = `import * as tf from '@tensorflow/tfjs-core';
import { quantizeInWorker } from '@lowbit/pipelines';
const rows = async (url, n) => ({ data: new Float32Array(await (await fetch(url)).arrayBuffer()), shape: [n, 28, 28, 1] });
window.run = async (config, o = {}) => {
  const worker = new Worker('./worker.js', { type: 'module' });
  const model = await tf.io.http('/model/model.json').load();
  const job = { model, calibration: await rows('/data/calib.bin', ${CALIB}), heldOut: await rows('/data/held.bin', ${HELD}), config, saves: [{ target: 'tfjs' }], backend: { wasmPaths: '/wasm/' } };
  if (o.badShape) job.calibration.shape = [${CALIB}, 28, 28, 3];
  const controller = new AbortController();
  const progress = [];
  // the page's own thread keeps running while the worker computes: count its timer ticks
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 20);
  const t0 = performance.now();
  try {
    const r = await quantizeInWorker(worker, job, { signal: controller.signal, onProgress: (p) => {
      progress.push({ step: p.step, total: p.total, loss: p.loss, eta: p.etaSeconds, agreement: p.heldOutAgreement });
      document.body.textContent = 'step ' + p.step + ' / ' + p.total + ', loss ' + p.loss.toFixed(4);
      if (o.cancelAtStep !== undefined && p.step >= o.cancelAtStep) controller.abort();
    } });
    document.body.textContent = 'done: held-out agreement ' + r.report.heldOutAgreement;
    return { report: r.report, files: r.files.map((fs) => fs.map((f) => ({ name: f.name, data: Array.from(f.data) }))), progress, ticks, ms: performance.now() - t0 };
  } catch (e) {
    document.body.textContent = 'error: ' + e.message;
    return { error: e.message, code: e.code, progress, ticks, ms: performance.now() - t0 };
  } finally {
    clearInterval(timer);
    worker.terminate();
  }
};
document.body.textContent = 'ready';
`;

interface RunResult {
  report?: QuantizeReport;
  files?: Array<Array<{ name: string; data: number[] }>>;
  progress: Array<{ step: number; total: number; loss: number; eta: number; agreement?: number }>;
  ticks: number;
  ms: number;
  error?: string;
  code?: string;
}

let browser: Browser;
let server: Served;
let page: Page;
let errors: string[];
let calib: tf.Tensor;
let held: tf.Tensor;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const net = loadReference('resnet-fm');
  writeTfjsExport(join(dir, 'model'), exportLayersModel(net));
  disposeNetwork(net);
  calib = makeBatch(bundledCalibrationSet(), Int32Array.from({ length: CALIB }, (_, i) => i)).x;
  held = makeBatch(bundledTestSet(), Int32Array.from({ length: HELD }, (_, i) => i)).x;
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'calib.bin'), calib.dataSync() as Float32Array);
  writeFileSync(join(dir, 'data', 'held.bin'), held.dataSync() as Float32Array);
  await bundlePage(PAGE, pkg, join(dir, 'page', 'main.js'), { html: true });
  await bundlePage(WORKER, pkg, join(dir, 'page', 'worker.js'));
  server = await serve({ '/': join(dir, 'page'), '/wasm/': wasmDist, '/model/': join(dir, 'model'), '/data/': join(dir, 'data') });
  browser = await launchChromium();
  page = await browser.newPage();
  errors = pageErrors(page);
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => typeof (window as unknown as { run?: unknown }).run === 'function');
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  tf.dispose([calib, held]);
  rmSync(dir, { recursive: true, force: true });
});

const runInPage = (config: Record<string, unknown>, o: { cancelAtStep?: number; badShape?: boolean } = {}): Promise<RunResult> =>
  page.evaluate(([c, opt]) => (window as unknown as { run: (c: unknown, o: unknown) => Promise<RunResult> }).run(c, opt), [config, o] as const);

describe('quantize() in a Web Worker in headless Chromium', () => {
  it('RTN W4A4: the page gets the report and a tfjs export that stock TF.js loads in Node and predicts as the Node run does', async () => {
    const got = await runInPage({ method: 'rtn', wBits: 4, aBits: 4 });
    await screenshot(page, pkg, 'worker-rtn-done');
    expect(got.error).toBeUndefined();
    const node = await quantize(join(dir, 'model', 'model.json'), { method: 'rtn', wBits: 4, aBits: 4, calibration: calib, heldOut: held });
    const nodeFiles = await node.model.files({ target: 'tfjs' });
    node.model.dispose();
    expect([got.report!.calibImages, node.report.calibImages, got.report!.heldOutImages]).toEqual([CALIB, CALIB, HELD]);
    expect(got.report!.heldOutImages).toBe(HELD);
    expect(Math.abs(got.report!.heldOutAgreement! - node.report.heldOutAgreement!)).toBeLessThanOrEqual(2 / HELD);
    // the downloaded export, loaded by stock tfjs in Node, against the Node run's own export
    const out = join(dir, 'downloaded');
    mkdirSync(out);
    for (const f of got.files![0]!) writeFileSync(join(out, f.name), Uint8Array.from(f.data));
    const nodeOut = join(dir, 'node-export');
    mkdirSync(nodeOut);
    for (const f of nodeFiles) writeFileSync(join(nodeOut, f.name), f.data);
    const [ma, mb] = [await stockLoad<tfjs.LayersModel>(tfjs as never, join(out, 'model.json')), await stockLoad<tfjs.LayersModel>(tfjs as never, join(nodeOut, 'model.json'))];
    const agree = tf.tidy(() => {
      const pa = (ma.predict(held) as tf.Tensor).argMax(1);
      const pb = (mb.predict(held) as tf.Tensor).argMax(1);
      return tf.mean(tf.cast(tf.equal(pa, pb), 'float32')).dataSync()[0]!;
    });
    expect(agree).toBeGreaterThanOrEqual(0.99);
    ma.dispose();
    mb.dispose();
    expect(errors).toEqual([]);
  });

  it('a short NWQ run reports progress while the page thread stays responsive', async () => {
    const got = await runInPage({ method: 'nwq', wBits: 4, aBits: 4, iterations: 20, batchSize: 16 });
    await screenshot(page, pkg, 'worker-nwq-done');
    expect(got.error).toBeUndefined();
    expect(got.report!.method).toBe('nwq');
    expect(got.report!.iterations).toBe(20);
    expect(got.progress.length).toBeGreaterThanOrEqual(3);
    expect(got.progress.at(-1)!.step).toBe(20);
    expect(got.progress.every((p) => Number.isFinite(p.loss) && p.total === 20)).toBe(true);
    // the agreement so far, measured on the held-out images during the run
    expect(got.progress.filter((p) => p.agreement !== undefined).length).toBeGreaterThanOrEqual(2);
    // a 20 ms timer on the page's thread kept firing through the run (≥ half of its ticks)
    expect(got.ticks).toBeGreaterThanOrEqual(Math.floor(got.ms / 20 / 2));
    expect(got.report!.heldOutAgreement).toBeGreaterThan(0.9);
  });

  it('cancelling stops the worker after the current step with E_ABORTED', async () => {
    const got = await runInPage({ method: 'nwq', wBits: 4, aBits: 4, iterations: 2000, batchSize: 16 }, { cancelAtStep: 5 });
    await screenshot(page, pkg, 'worker-nwq-cancelled');
    expect(got.code).toBe('E_ABORTED');
    expect(got.error).toMatch(/stopped on request/);
    expect(got.progress.at(-1)!.step).toBeLessThan(20);
  });

  it('a bad job is an error with its code and the field, not a hang', async () => {
    const got = await runInPage({ method: 'rtn', wBits: 4, aBits: 4 }, { badShape: true });
    expect(got.code).toBe('E_DATA');
    expect(got.error).toMatch(/calibration: expected \{ data: Float32Array, shape: \[N, H, W, C\] \}.*shape \[128,28,28,3\]/);
    expect(errors).toEqual([]);
  });
});
