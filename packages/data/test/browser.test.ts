// Image decoding in a real headless Chromium through the platform (createImageBitmap +
// OffscreenCanvas): the browser build of '@lowbit/data' decodes PNG to exactly the pixels pngjs
// gives in Node, JPEG to within decoder rounding of jpeg-js, and names the source on bad bytes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePage, launchChromium, pageErrors, type Served, serve } from '../../../browser-test.shared.js';
import { decodeImage, decodeImageAsync } from '../src/index.node.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lowbit-browser-data-'));

const PAGE = `import { decodeImageAsync, imageFormat } from '@lowbit/data';
window.decode = async (bytes, asBlob) => {
  const u8 = new Uint8Array(bytes);
  try {
    const img = await decodeImageAsync(asBlob ? new Blob([u8]) : u8, 'upload.img');
    return { width: img.width, height: img.height, data: Array.from(img.data), format: imageFormat(u8) };
  } catch (e) {
    return { error: e.message, code: e.code };
  }
};
`;

/** A smooth RGBA test picture (gradients and a disc), so that JPEG keeps it close. */
function picture(w: number, h: number): Uint8Array {
  const d = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x);
      const inDisc = (x - w / 2) ** 2 + (y - h / 2) ** 2 < (w / 4) ** 2;
      d[i] = Math.round((255 * x) / (w - 1));
      d[i + 1] = Math.round((255 * y) / (h - 1));
      d[i + 2] = inDisc ? 200 : 40;
      d[i + 3] = 255;
    }
  }
  return d;
}

let browser: Browser;
let server: Served;
let page: Page;
let errors: string[];
const W = 37;
const H = 23;
const pixels = picture(W, H);
const png = (() => {
  const p = new PNG({ width: W, height: H });
  p.data = Buffer.from(pixels);
  return new Uint8Array(PNG.sync.write(p));
})();
const jpg = new Uint8Array(jpeg.encode({ width: W, height: H, data: Buffer.from(pixels) }, 95).data);

beforeAll(async () => {
  await bundlePage(PAGE, pkg, join(dir, 'main.js'), { html: true });
  server = await serve({ '/': dir });
  browser = await launchChromium();
  page = await browser.newPage();
  errors = pageErrors(page);
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => typeof (window as unknown as { decode?: unknown }).decode === 'function');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Decoded = { width: number; height: number; data: number[]; format: string; error?: string; code?: string };
const decodeInPage = (bytes: Uint8Array, asBlob = false): Promise<Decoded> => page.evaluate(([b, blob]) => (window as unknown as { decode: (b: number[], blob: boolean) => Promise<Decoded> }).decode(b, blob), [Array.from(bytes), asBlob] as const);

describe('decodeImageAsync in headless Chromium', () => {
  it('decodes PNG bytes and a PNG Blob to exactly the pixels pngjs gives in Node', async () => {
    const node = decodeImage(png, 'test.png');
    expect(Array.from(node.data)).toEqual(Array.from(pixels));
    expect(Array.from((await decodeImageAsync(png, 'test.png')).data)).toEqual(Array.from(pixels));
    for (const asBlob of [false, true]) {
      const got = await decodeInPage(png, asBlob);
      expect(got.error).toBeUndefined();
      expect([got.width, got.height, got.format]).toEqual([W, H, 'png']);
      expect(got.data).toEqual(Array.from(pixels));
    }
  });

  it('decodes JPEG within decoder rounding of jpeg-js', async () => {
    const node = decodeImage(jpg, 'test.jpg');
    const got = await decodeInPage(jpg);
    expect([got.width, got.height, got.format]).toEqual([W, H, 'jpeg']);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < got.data.length; i++) {
      const d = Math.abs(got.data[i]! - node.data[i]!);
      sum += d;
      max = Math.max(max, d);
    }
    expect(sum / got.data.length).toBeLessThan(1.5);
    expect(max).toBeLessThan(16);
  });

  it('bad bytes are an error naming the source', async () => {
    const got = await decodeInPage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect(got).toMatchObject({ code: 'E_IMAGE' });
    expect(got.error).toMatch(/upload\.img: not a PNG or JPEG file/);
    const truncated = await decodeInPage(png.slice(0, 40));
    expect(truncated).toMatchObject({ code: 'E_IMAGE' });
    expect(truncated.error).toMatch(/upload\.img: cannot decode image/);
    expect(errors).toEqual([]);
  });
});
