// A browser project that imports lowbit builds with no bundler configuration (issue 18): esbuild
// (platform browser), Vite (an index.html app) and webpack 5 (target web) bundle the published entries — dist, through
// package.json "exports" — and the bundles hold no Node built-in. Needs `pnpm build` (nx builds
// before testing).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';
import webpack from 'webpack';
import { afterAll, describe, expect, it } from 'vitest';

// inside this package, so that '@lowbit/*' and '@tensorflow/*' resolve through its node_modules as they would in a user's project
const here = fileURLToPath(new URL('.', import.meta.url));
const dir = mkdtempSync(join(here, '.bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENTRY = `import { initBackend, Rng } from '@lowbit/core';
import { batches, decodeImageAsync, makeLabeledSet } from '@lowbit/data';
import * as io from '@lowbit/tfjs-io';
import { packedHandler } from '@lowbit/tfjs-io/loader';
import { evaluate, loadModel, quantize, QuantizedModel } from '@lowbit/pipelines';
export const api = { initBackend, Rng, batches, decodeImageAsync, makeLabeledSet, packedHandler, evaluate, loadModel, quantize, QuantizedModel };
// the file readers are Node's ('node' condition): the browser build must not have them
export const nodeOnly = ['readTfjsModel', 'writeTfjsExport', 'importTfjsModel'].filter((k) => k in io);
`;

/**
 * Every `node:` import left in a bundle (lowbit imports Node built-ins only by that prefix; there
 * must be none). tfjs-backend-wasm's emscripten glue keeps a bare `require("fs")` behind its own
 * is-this-Node check, which never runs in a page: bare names are not counted.
 */
function nodeImports(code: string): string[] {
  return [...new Set([...code.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](node:[\w/]+)["']/g)].map((m) => m[1]!))];
}

describe('bundling lowbit for the browser with no configuration', () => {
  it('esbuild (platform browser) bundles core, data, tfjs-io, its loader and pipelines', async () => {
    mkdirSync(join(dir, 'es'), { recursive: true });
    writeFileSync(join(dir, 'es', 'main.js'), ENTRY);
    const r = await esbuild({ entryPoints: [join(dir, 'es', 'main.js')], bundle: true, platform: 'browser', format: 'esm', outfile: join(dir, 'es', 'out.js'), logLevel: 'silent', metafile: true });
    expect(r.errors).toEqual([]);
    const code = readFileSync(join(dir, 'es', 'out.js'), 'utf8');
    expect(nodeImports(code)).toEqual([]);
    // the browser entries, not the Node ones, went in
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs.some((f) => /tfjs-io\/dist\/index\.js$/.test(f))).toBe(true);
    expect(inputs.filter((f) => /\/dist\/(index\.node|node\/|platform\/node|packed\/(index|loader)\.node)/.test(f))).toEqual([]);
    // the Node-only readers are absent (the namespace import keeps every export of the entry it got)
    for (const f of ['readTfjsModel', 'writeTfjsExport', 'importTfjsModel']) expect(code).not.toMatch(new RegExp(`function ${f}\\b`));
    expect(code).toMatch(/function importModelArtifacts\b/);
  });

  it('Vite builds an index.html app that imports the same entries', async () => {
    const root = join(dir, 'vite');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'main.js'), `${ENTRY}\nconsole.log(Object.keys(api).length, nodeOnly);\n`);
    writeFileSync(join(root, 'index.html'), '<!doctype html><html><body><script type="module" src="./main.js"></script></body></html>\n');
    const warnings: string[] = [];
    await viteBuild({
      root,
      configFile: false,
      logLevel: 'silent',
      build: { outDir: join(root, 'dist'), emptyOutDir: true, chunkSizeWarningLimit: 100_000 },
      customLogger: { info() {}, warn: (m: string) => warnings.push(m), warnOnce: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m), clearScreen() {}, hasErrorLogged: () => false, hasWarned: false },
    });
    const assets = readdirSync(join(root, 'dist', 'assets')).filter((f) => f.endsWith('.js'));
    expect(assets.length).toBeGreaterThan(0);
    const code = assets.map((f) => readFileSync(join(root, 'dist', 'assets', f), 'utf8')).join('\n');
    expect(nodeImports(code)).toEqual([]);
    // Vite replaces a Node built-in it cannot bundle by a stub and says so: there must be no such notice
    expect(warnings.filter((w) => /externalized for browser compatibility|__vite-browser-external/.test(w))).toEqual([]);
    expect(code).not.toContain('__vite-browser-external');
  });

  it('webpack 5 (target web, production) bundles the same entries', async () => {
    const root = join(dir, 'webpack');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'main.js'), ENTRY);
    const stats = await new Promise<webpack.Stats>((ok, fail) =>
      webpack({ mode: 'production', target: 'web', entry: join(root, 'main.js'), output: { path: join(root, 'dist'), filename: 'out.js' }, performance: { hints: false }, optimization: { minimize: false } }, (err, st) => (err || !st ? fail(err ?? new Error('no stats')) : ok(st))),
    );
    const info = stats.toJson({ all: false, errors: true, warnings: true });
    expect((info.errors ?? []).map((e) => e.message)).toEqual([]);
    expect((info.warnings ?? []).map((e) => e.message)).toEqual([]);
    const code = readFileSync(join(root, 'dist', 'out.js'), 'utf8');
    expect(nodeImports(code)).toEqual([]);
    // the namespace's export map: the browser entry's, without the Node readers
    expect(code.includes('importModelArtifacts:')).toBe(true);
    expect(['readTfjsModel:', 'writeTfjsExport:', 'importTfjsModel:'].filter((k) => code.includes(k))).toEqual([]);
  });
});
