import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@attune/source'] },
  ssr: { resolve: { conditions: ['@attune/source'] } },
  // Integration tests share 2 cores with every other package's tests in CI: embedded PGlite and worker processes
  // can take a while to start there.
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000 },
});
