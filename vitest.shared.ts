import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings: tests run on package sources (the `@lowbit/source` export
 * condition), and every project writes a JSON result file that `.ci/run` sums up.
 */
export function lowbitVitestConfig(name: string, opts: { testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions: ['@lowbit/source', 'import', 'module', 'node', 'default'] },
    ssr: { resolve: { conditions: ['@lowbit/source', 'import', 'node', 'default'] } },
    test: {
      name,
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: opts.testTimeout ?? 60_000,
      hookTimeout: 120_000,
      pool: 'forks',
      fileParallelism: false,
      reporters: ['default', 'json'],
      outputFile: { json: '.vitest-results/results.json' },
    },
  });
}
