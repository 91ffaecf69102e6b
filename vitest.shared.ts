import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings: tests run on package sources (the `@lowbit/source` export
 * condition), and every project writes a JSON result file that `.ci/run` sums up.
 */
export function lowbitVitestConfig(name: string, opts: { testTimeout?: number; fileParallelism?: boolean } = {}) {
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
      // files one at a time, unless a project asks for two (the CLI: its files spawn lowbit runs that
      // leave a core idle much of the time, and it is the longest project)
      fileParallelism: opts.fileParallelism ?? false,
      ...(opts.fileParallelism ? { maxWorkers: 2 } : {}),
      reporters: ['default', 'json'],
      outputFile: { json: '.vitest-results/results.json' },
    },
  });
}
