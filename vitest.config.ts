import { defineConfig } from 'vitest/config'

// Tests run the TypeScript sources: packages export them under the `@openledger/source` condition
// (their default export is the compiled dist/). Vite resolves with it in the test processes; child
// processes (nodes, workers, `openledger` itself) inherit it through NODE_OPTIONS.
const SOURCE = '@openledger/source'
if (!(process.env.NODE_OPTIONS ?? '').includes(`--conditions=${SOURCE}`)) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --conditions=${SOURCE}`.trim()
}
// Vite's defaults (defaultServerConditions), which setting `conditions` replaces.
const conditions = [SOURCE, 'module', 'node', 'development|production']

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: [SOURCE] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2-core machines: network tests start real nodes; keep parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
})
