import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2-core machines: network tests start real nodes; keep parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
})
