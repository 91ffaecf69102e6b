// Browser tests in a real headless Chromium (issue 18): Debian's `chromium` (apt; `.ci/run`
// installs it) driven by playwright-core pointed at the system binary — no browser is downloaded.
// Pages are bundled with esbuild from the packages' published entries (dist, `browser`/default
// conditions) and served on 127.0.0.1 only. Screenshots go to `<package>/.vitest-results/screenshots`.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join, normalize, resolve } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';

/** The Chromium binary: `LOWBIT_CHROMIUM`, else Debian's. */
export const CHROMIUM = process.env['LOWBIT_CHROMIUM'] ?? '/usr/bin/chromium';

/** Starts headless Chromium; a missing binary is an error saying how to install it (tests fail, they do not skip). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`browser tests need Chromium at ${CHROMIUM}: apt-get install -y chromium (or set LOWBIT_CHROMIUM)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream', '.png': 'image/png', '.jpg': 'image/jpeg', '.css': 'text/css' };

export interface Served {
  url: string;
  /** Paths requested so far, with their status (to assert what a page fetched). */
  requests: Array<{ path: string; status: number }>;
  close(): Promise<void>;
}

/**
 * Serves directories on 127.0.0.1 at a free port: `routes` maps a URL prefix ('/', '/wasm/') to a
 * directory. `isolated` adds the COOP/COEP headers that make a page cross-origin isolated
 * (SharedArrayBuffer, wasm threads).
 */
export async function serve(routes: Record<string, string>, o: { isolated?: boolean } = {}): Promise<Served> {
  const requests: Served['requests'] = [];
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    let status = 404;
    if (prefix) {
      const root = resolve(routes[prefix]!);
      let file = normalize(join(root, path.slice(prefix.length)));
      if (file.startsWith(root) && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (file.startsWith(root) && existsSync(file) && statSync(file).isFile()) {
        status = 200;
        res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'cache-control': 'no-store',
          ...(o.isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {}),
        });
        res.end(readFileSync(file));
      }
    }
    // Chromium asks for a favicon on its own: an empty answer, not a 404 in the page's console
    if (status === 404 && path === '/favicon.ico') {
      status = 204;
      res.writeHead(204).end();
    }
    requests.push({ path, status });
    if (status === 404) res.writeHead(404).end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((ok) => server.close(() => ok())) };
}

/**
 * Bundles `code` (an ES module resolving packages from `resolveDir`) for the browser into `outfile`,
 * as a user's esbuild build would: no configuration. With `html`, also writes an `index.html`
 * beside it that loads the bundle as a module (a page to open).
 */
export async function bundlePage(code: string, resolveDir: string, outfile: string, o: { html?: boolean } = {}): Promise<void> {
  const dir = resolve(outfile, '..');
  mkdirSync(dir, { recursive: true });
  await build({ stdin: { contents: code, resolveDir, loader: 'js', sourcefile: 'page.js' }, bundle: true, platform: 'browser', format: 'esm', outfile, logLevel: 'silent', target: 'es2022' });
  if (o.html) writeFileSync(join(dir, 'index.html'), `<!doctype html><html><body><script type="module" src="./${basename(outfile)}"></script></body></html>\n`);
}

/** Collects a page's console errors and uncaught exceptions (a test asserts there were none). */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  return errors;
}

/** Saves a screenshot as a test artefact: `<dir>/.vitest-results/screenshots/<name>.png`. */
export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  const out = join(dir, '.vitest-results', 'screenshots');
  mkdirSync(out, { recursive: true });
  const file = join(out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The part of `@tensorflow/tfjs` that {@link stockLoad} uses (passed in: each package has its own dev copy to resolve). */
interface StockTfjs<M> {
  io: {
    getModelArtifactsForJSON(j: never, load: (manifest: Array<{ paths: string[]; weights: unknown[] }>) => Promise<[unknown[], ArrayBuffer]>): Promise<unknown>;
    fromMemory(a: never): unknown;
  };
  loadLayersModel(h: never): Promise<M>;
}

/**
 * Stock `tf.loadLayersModel` of a model.json on disk (what a page downloaded): the artifacts are
 * built by tfjs's own `getModelArtifactsForJSON`, as `tf.io.http` builds them for a URL.
 */
export async function stockLoad<M>(tfjs: StockTfjs<M>, modelJson: string): Promise<M> {
  const j = JSON.parse(readFileSync(modelJson, 'utf8')) as never;
  const artifacts = await tfjs.io.getModelArtifactsForJSON(j, async (manifest) => {
    const all = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelJson), p)))));
    return [manifest.flatMap((g) => g.weights), all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer];
  });
  return tfjs.loadLayersModel(tfjs.io.fromMemory(artifacts as never) as never);
}
