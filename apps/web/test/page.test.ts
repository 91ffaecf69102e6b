// apps/web end to end in a real headless Chromium (issue 18): the built page (dist, served as
// `pnpm web` serves it) quantizes the bundled demo model with the demo images in its worker, shows
// progress and the result, and its download — loaded by stock TF.js in Node — agrees with the float
// model on the held-back images as the page said. Screenshots of each step: .vitest-results/screenshots.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lowbit/core';
import { decodeImage, preprocessInto, toChannels, UNIT } from '@lowbit/data';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, pageErrors, screenshot, stockLoad } from '../../../browser-test.shared.js';
// @ts-expect-error: a plain ESM script without types
import { startServer } from '../scripts/serve.mjs';

const app = fileURLToPath(new URL('..', import.meta.url));
const dist = join(app, 'dist');
const out = mkdtempSync(join(tmpdir(), 'lowbit-web-'));
let server: { url: string; close(): Promise<void> };
let browser: Browser;
let page: Page;
let errors: string[];

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  server = await startServer(dist, 0);
  browser = await launchChromium();
  page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1000, height: 900 } });
  errors = pageErrors(page);
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(out, { recursive: true, force: true });
});

describe('apps/web in headless Chromium', () => {
  it('starts cross-origin isolated on the wasm backend, with nothing to do until a model and images are chosen', async () => {
    await page.waitForSelector('body[data-backend]');
    expect(await page.getAttribute('body', 'data-backend')).toBe('wasm+simd');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.isDisabled('#start')).toBe(true);
    await screenshot(page, app, '1-start');
  });

  it('a wrong model file is a clear error on the page', async () => {
    await page.setInputFiles('#model-files', { name: 'model.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "layers-model"}') });
    await page.waitForSelector('#model-status.error');
    expect(await page.textContent('#model-status')).toMatch(/cannot use this model: .*modelTopology/);
    await screenshot(page, app, '2-bad-model');
  });

  it('takes a model chosen as files (model.json + weights) and the demo images', async () => {
    await page.setInputFiles('#model-files', [join(dist, 'demo', 'model', 'model.json'), join(dist, 'demo', 'model', 'group1-shard1of1.bin')]);
    await page.waitForFunction(() => /input 28×28×1/.test(document.getElementById('model-status')?.textContent ?? ''));
    await page.click('#demo-images');
    await page.waitForFunction(() => /^200 images/.test(document.getElementById('images-status')?.textContent ?? ''));
    expect(await page.isDisabled('#start')).toBe(false);
    await screenshot(page, app, '3-model-and-images');
  });

  it('cancel stops a run after its current step', async () => {
    await page.selectOption('#method', 'nwq');
    await page.fill('#iters', '5000');
    await page.click('#start');
    await page.waitForFunction(() => /^step \d+ \/ 5000/.test(document.getElementById('progress-text')?.textContent ?? ''), undefined, { timeout: 120_000 });
    await screenshot(page, app, '4-running');
    await page.click('#cancel');
    await page.waitForFunction(() => /^cancelled/.test(document.getElementById('progress-text')?.textContent ?? ''));
    expect(await page.isDisabled('#start')).toBe(false);
  });

  it('quantizes with NWQ W4A4 in its worker, shows progress, the result and the downloads', async () => {
    await page.click('#demo-model');
    await page.waitForFunction(() => /demo\/model\/model\.json: input 28×28×1/.test(document.getElementById('model-status')?.textContent ?? ''));
    await page.fill('#iters', '40');
    await page.click('#start');
    await page.waitForSelector('#result-table', { timeout: 240_000 });
    expect(await page.textContent('#progress-text')).toMatch(/^done in/);
    expect(await page.textContent('#agreement-text')).toMatch(/^held-back agreement so far: \d+\.\d% \(step 40, as if the run stopped there\)$/);
    expect(await page.$$eval('#loss-chart polyline', (l) => l.length)).toBe(1);
    expect(await page.$$eval('#bits-chart rect', (r) => r.length)).toBeGreaterThan(10);
    await screenshot(page, app, '5-result');
    const text = await page.textContent('#result-table');
    expect(text).toMatch(/NWQ W4A4 \(40 iterations/);
    expect(errors).toEqual([]);
  });

  it('the tfjs download loads in stock TF.js in Node and agrees with the float model as the page showed', async () => {
    const buttons = await page.$$('#downloads button[data-target="tfjs"]');
    expect(buttons.length).toBe(2);
    for (const b of buttons) {
      const [download] = await Promise.all([page.waitForEvent('download'), b.click()]);
      await download.saveAs(join(out, download.suggestedFilename()));
    }
    const shown = (await page.textContent('#result-table'))!.match(/stock TF\.js download \(float activations\)(\d+\.\d+)% of (\d+)/);
    expect(shown).not.toBeNull();
    const [pageAgreement, held] = [Number(shown![1]) / 100, Number(shown![2])];
    expect(held).toBe(40);
    // the held-back images are the last 40 demo images, read as the page reads them (PNG, 0..1)
    const x = new Float32Array(held * 28 * 28);
    for (let i = 0; i < held; i++) {
      const img = decodeImage(readFileSync(join(dist, 'demo', 'images', `${String(200 - held + i).padStart(3, '0')}.png`)), 'demo');
      preprocessInto(toChannels(img, 28, 28, 1), x, 1, UNIT, i * 784);
    }
    const quantized = await stockLoad<tfjs.LayersModel>(tfjs as never, join(out, 'model.json'));
    const float = await stockLoad<tfjs.LayersModel>(tfjs as never, join(dist, 'demo', 'model', 'model.json'));
    const agreement = tf.tidy(() => {
      const input = tf.tensor4d(x, [held, 28, 28, 1]);
      const a = (quantized.predict(input) as tf.Tensor).argMax(1);
      const b = (float.predict(input) as tf.Tensor).argMax(1);
      return tf.mean(tf.cast(tf.equal(a, b), 'float32')).dataSync()[0]!;
    });
    quantized.dispose();
    float.dispose();
    expect(Math.abs(agreement - pageAgreement)).toBeLessThanOrEqual(1 / held + 1e-9);
    expect(agreement).toBeGreaterThanOrEqual(0.9);
  });

  it('runs data-parallel across two workers when asked (the page is cross-origin isolated)', async () => {
    expect(await page.$eval('#threads option[value="2"]', (o) => (o as HTMLOptionElement).disabled)).toBe(false);
    await page.selectOption('#threads', '2');
    await page.fill('#iters', '10');
    await page.click('#start');
    // the previous run's table says '1 worker': wait for this run's
    await page.waitForFunction(() => /2 workers/.test(document.getElementById('result-table')?.textContent ?? ''), undefined, { timeout: 240_000 });
    expect(await page.textContent('#progress-text')).toMatch(/^done in/);
    const text = await page.textContent('#result-table');
    expect(text).toMatch(/NWQ W4A4 \(10 iterations/);
    expect(text).toMatch(/s in the page, 2 workers/);
    await screenshot(page, app, '6-two-workers');
    await page.selectOption('#threads', '1');
    expect(errors).toEqual([]);
  });
});
