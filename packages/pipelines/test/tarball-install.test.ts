import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const packages = readdirSync(join(root, 'packages')).sort();

/**
 * A README's first example: its first ```ts block that imports something (signature listings
 * come without imports), with the TypeScript types stripped, as a newcomer's `.ts` file compiles.
 */
function firstExample(readme: string): string {
  const blocks = [...readFileSync(readme, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^import /m.test(b));
  if (!blocks.length) throw new Error(`${readme} has no ts example with imports`);
  return ts.transpileModule(blocks[0]!, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}

const tfjs = ['@tensorflow/tfjs@4.22.0', '@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0'];

/** Every package packed as its tarball, into `dir`. */
function packAll(dir: string): string[] {
  mkdirSync(dir);
  for (const p of packages) execFileSync('pnpm', ['pack', '--pack-destination', dir], { cwd: join(root, 'packages', p), stdio: 'pipe' });
  return readdirSync(dir).map((f) => join(dir, f));
}

function runExample(app: string, pkg: string) {
  const file = join(app, `example-${pkg}.mjs`);
  writeFileSync(file, firstExample(join(root, 'packages', pkg, 'README.md')));
  // plain output whatever the runner's colour settings (CI sets FORCE_COLOR)
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env['FORCE_COLOR'];
  const r = spawnSync(process.execPath, [file], { cwd: app, encoding: 'utf8', timeout: 300_000, env });
  return { ...r, stdout: stripVTControlCharacters(r.stdout) };
}

// Installs the packed tarballs as a user outside the monorepo would (npm, the registry for tfjs
// only) and runs every package's README example against them, as written.
describe('the packed packages install in a fresh npm project', () => {
  const work = mkdtempSync(join(tmpdir(), 'lowbit-tarballs-npm-'));
  const app = join(work, 'app');
  let install: ReturnType<typeof spawnSync>;
  beforeAll(() => {
    const tarballs = packAll(join(work, 'tgz'));
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true, type: 'module' }));
    install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, ...tfjs], { cwd: app, encoding: 'utf8', timeout: 300_000 });
  }, 600_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('installs with one tfjs-core', () => {
    expect(install.status, String(install.stderr)).toBe(0);
    const cores = spawnSync('find', ['node_modules', '-path', '*@tensorflow/tfjs-core/package.json'], { cwd: app, encoding: 'utf8' }).stdout.trim().split('\n');
    expect(cores).toHaveLength(1);
  });

  it.each(packages)('the README example of @lowbit/%s runs as written', (pkg) => {
    expect(install.status, 'install failed').toBe(0);
    const run = runExample(app, pkg);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr + run.stdout).not.toMatch(/already registered|Error/);
    expect(run.stdout.trim().length, 'the example prints its result').toBeGreaterThan(0);
    if (pkg === 'pipelines') for (const f of ['out/stock/model.json', 'out/stock/group1-shard1of1.bin', 'out/packed/model.json', 'out/packed/weights.lbp']) expect(existsSync(join(app, f)), f).toBe(true);
    if (pkg === 'models') expect(run.stdout.trim()).toBe('77754');
    if (pkg === 'tfjs-io') expect(Number(run.stdout.trim().split(/\s+/).pop())).toBeLessThan(1e-5);
  }, 300_000);
});

describe('the packed packages install in a fresh pnpm project', () => {
  it('one tfjs-core, no duplicate kernels, the @lowbit/pipelines README example runs and writes both saves', () => {
    const work = mkdtempSync(join(tmpdir(), 'lowbit-tarballs-pnpm-'));
    try {
      const tarballs = packAll(join(work, 'tgz'));
      const app = join(work, 'app');
      mkdirSync(app);
      // pnpm resolves the tarballs' @lowbit dependencies (plain versions) through overrides to the same files
      const files = Object.fromEntries(tarballs.map((t) => [`@lowbit/${t.replace(/^.*lowbit-(.*)-\d+\.\d+\.\d+\.tgz$/, '$1')}`, `file:${t}`]));
      const deps = { ...files, ...Object.fromEntries(tfjs.map((d) => [d.slice(0, d.lastIndexOf('@')), d.slice(d.lastIndexOf('@') + 1)])) };
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true, type: 'module', dependencies: deps, pnpm: { overrides: files } }));
      const install = spawnSync('pnpm', ['install', '--prefer-offline'], { cwd: app, encoding: 'utf8', timeout: 300_000 });
      expect(install.status, String(install.stderr)).toBe(0);
      const cores = spawnSync('find', ['node_modules', '-path', '*@tensorflow/tfjs-core/package.json'], { cwd: app, encoding: 'utf8' }).stdout.trim().split('\n');
      expect(cores).toHaveLength(1);
      const run = runExample(app, 'pipelines');
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr + run.stdout).not.toMatch(/already registered/);
      for (const f of ['out/stock/model.json', 'out/stock/group1-shard1of1.bin', 'out/packed/model.json', 'out/packed/weights.lbp']) expect(existsSync(join(app, f)), f).toBe(true);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 600_000);
});
