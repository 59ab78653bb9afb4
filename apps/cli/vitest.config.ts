import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@attune/source'] },
  ssr: { resolve: { conditions: ['@attune/source'] } },
  // Integration tests share 2 cores with every other package's tests in CI: embedded PGlite and worker processes
  // can take a while to start there.
  // Each test here starts dozens of CLI processes (and an API and a worker): the files run one after another, so
  // they do not compete with each other for the 2 cores, and a test may take minutes while other packages' run.
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
