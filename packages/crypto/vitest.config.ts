import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@attune/source'] },
  ssr: { resolve: { conditions: ['@attune/source'] } },
  // Property-based and fuzz suites are CPU-bound; CI runs them beside other packages' suites on two cores.
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 30_000 },
});
