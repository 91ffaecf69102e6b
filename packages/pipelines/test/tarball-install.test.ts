import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

/** The first ```ts block of a README: the example a newcomer copies. */
function firstExample(readme: string): string {
  const m = /```ts\n([\s\S]*?)```/.exec(readFileSync(readme, 'utf8'));
  if (!m) throw new Error(`${readme} has no ts example`);
  return m[1]!;
}

// Installs the packed tarballs as a user outside the monorepo would (npm, the registry for tfjs
// only) and runs this package's README example against them, as written.
describe('the packed packages install in a fresh project', () => {
  for (const client of ['npm', 'pnpm'] as const) {
    it(`${client}: one tfjs-core, no duplicate kernels, the README example runs and writes both saves`, () => {
      const work = mkdtempSync(join(tmpdir(), `lowbit-tarballs-${client}-`));
      try {
        const tgz = join(work, 'tgz');
        mkdirSync(tgz);
        for (const p of readdirSync(join(root, 'packages'))) {
          execFileSync('pnpm', ['pack', '--pack-destination', tgz], { cwd: join(root, 'packages', p), stdio: 'pipe' });
        }
        const app = join(work, 'app');
        mkdirSync(app);
        const tarballs = readdirSync(tgz).map((f) => join(tgz, f));
        const tfjs = ['@tensorflow/tfjs@4.22.0', '@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0'];
        let install: ReturnType<typeof spawnSync>;
        if (client === 'npm') {
          writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true, type: 'module' }));
          install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, ...tfjs], { cwd: app, encoding: 'utf8', timeout: 300_000 });
        } else {
          // pnpm resolves the tarballs' @lowbit dependencies (plain versions) through overrides to the same files
          const files = Object.fromEntries(tarballs.map((t) => [`@lowbit/${t.replace(/^.*lowbit-(.*)-\d+\.\d+\.\d+\.tgz$/, '$1')}`, `file:${t}`]));
          const deps = { ...files, ...Object.fromEntries(tfjs.map((d) => [d.slice(0, d.lastIndexOf('@')), d.slice(d.lastIndexOf('@') + 1)])) };
          writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true, type: 'module', dependencies: deps, pnpm: { overrides: files } }));
          install = spawnSync('pnpm', ['install', '--prefer-offline'], { cwd: app, encoding: 'utf8', timeout: 300_000 });
        }
        expect(install.status, String(install.stderr)).toBe(0);
        const cores = spawnSync('find', ['node_modules', '-path', '*@tensorflow/tfjs-core/package.json'], { cwd: app, encoding: 'utf8' }).stdout.trim().split('\n');
        expect(cores).toHaveLength(1);
        writeFileSync(join(app, 'example.mjs'), firstExample(join(here, '..', 'README.md')));
        const run = spawnSync(process.execPath, ['example.mjs'], { cwd: app, encoding: 'utf8', timeout: 300_000 });
        expect(run.status, run.stderr).toBe(0);
        expect(run.stderr + run.stdout).not.toMatch(/already registered/);
        for (const f of ['out/stock/model.json', 'out/stock/group1-shard1of1.bin', 'out/packed/model.json', 'out/packed/weights.lbp']) expect(existsSync(join(app, f)), f).toBe(true);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }, 600_000);
  }
});
