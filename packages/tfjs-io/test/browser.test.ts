// A packed export loads and predicts in a real headless Chromium exactly as in Node (issue 18):
// the page is an esbuild bundle of '@tensorflow/tfjs', '@lowbit/core' and '@lowbit/tfjs-io/loader'
// with no configuration, on the wasm backend with its binaries under one `wasmPaths` prefix.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfjs from '@tensorflow/tfjs';
import { initBackend, Rng } from '@lowbit/core';
import { wasmBinaries } from '@lowbit/core/node';
import { disposeNetwork } from '@lowbit/nn';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePage, launchChromium, pageErrors, type Served, screenshot, serve } from '../../../browser-test.shared.js';
import { exportPacked, writeTfjsExport } from '../src/index.node.js';
import { packedHandler } from '../src/packed/index.node.js';
import { quantizedReference } from './quantized-fixture.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const wasmDir = wasmBinaries().dir;
const dir = mkdtempSync(join(tmpdir(), 'lowbit-browser-io-'));

const PAGE = `import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@lowbit/core';
import { packedHandler } from '@lowbit/tfjs-io/loader';
window.backend = (o) => initBackend(o).then((info) => ({ ...info, active: tf.getBackend() }), (e) => ({ error: e.message, code: e.code, active: tf.getBackend() }));
window.predict = async (url, input, shape) => {
  const m = await tf.loadLayersModel(packedHandler(url));
  const y = tf.tidy(() => m.predict(tf.tensor(input, shape)));
  const out = Array.from(await y.data());
  y.dispose();
  m.dispose();
  return { out, backend: tf.getBackend() };
};
document.body.textContent = 'lowbit packed-model page ready';
`;

let browser: Browser;
let server: Served;
const shape = [4, 28, 28, 1];
const input = Array.from({ length: 4 * 28 * 28 }, (() => {
  const r = new Rng(3);
  return () => r.float();
})());

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const { net, grids } = quantizedReference('mbv2-fm', 4, 'channel', 'asymmetric');
  writeTfjsExport(join(dir, 'model'), exportPacked(net, { grids }));
  disposeNetwork(net);
  await bundlePage(PAGE, pkg, join(dir, 'page', 'main.js'), { html: true });
  server = await serve({ '/': join(dir, 'page'), '/wasm/': wasmDir, '/model/': join(dir, 'model') });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a lowbit-packed export in headless Chromium', () => {
  it('predicts on the wasm backend as Node does (max difference ≤ 1e-5)', async () => {
    const ref = await tfjs.loadLayersModel(packedHandler(join(dir, 'model', 'model.json')));
    const y = ref.predict(tfjs.tensor(input, shape)) as tfjs.Tensor;
    const want = Array.from(await y.data());
    y.dispose();
    ref.dispose();

    const page = await browser.newPage();
    const errors = pageErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => typeof (window as unknown as { predict?: unknown }).predict === 'function');
    const info = await page.evaluate(() => (window as unknown as { backend: (o: unknown) => Promise<Record<string, unknown>> }).backend({ wasmPaths: '/wasm/' }));
    expect(info).toMatchObject({ backend: 'wasm', active: 'wasm', simd: true, kernels: true });
    const got = await page.evaluate(([s, x, sh]) => (window as unknown as { predict: (u: string, i: number[], s: number[]) => Promise<{ out: number[]; backend: string }> }).predict(s, x, sh), ['/model/model.json', input, shape] as const);
    await screenshot(page, pkg, 'packed-model-page');
    expect(got.backend).toBe('wasm');
    expect(got.out.length).toBe(want.length);
    const diff = Math.max(...got.out.map((v, i) => Math.abs(v - want[i]!)));
    expect(diff).toBeLessThanOrEqual(1e-5);
    // the wasm binary came from the given prefix
    expect(server.requests.filter((r) => r.path.startsWith('/wasm/') && r.path.endsWith('.wasm')).map((r) => r.status)).toContain(200);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('without the wasm binaries, initBackend fails loudly with the fix instead of falling back to cpu', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => typeof (window as unknown as { backend?: unknown }).backend === 'function');
    const r = await page.evaluate(() => (window as unknown as { backend: (o: unknown) => Promise<Record<string, unknown>> }).backend({ wasmPaths: '/missing/' }));
    expect(r['code']).toBe('E_BACKEND');
    expect(String(r['error'])).toMatch(/wasm backend did not start.*under '\/missing\/'.*wasmPaths/s);
    expect(r['active']).not.toBe('cpu');
    // asked for, the fallback still works and says why
    const fb = await page.evaluate(() => (window as unknown as { backend: (o: unknown) => Promise<Record<string, unknown>> }).backend({ wasmPaths: '/missing/', fallback: true }));
    expect(fb).toMatchObject({ backend: 'cpu', active: 'cpu' });
    expect(String(fb['fellBackBecause'])).toMatch(/wasmPaths can be given only before/);
    await page.close();
  });
});
