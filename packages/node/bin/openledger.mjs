#!/usr/bin/env node
// Entry point of the `openledger` command: the compiled JavaScript in dist/ (`pnpm build`, which
// `pnpm install` runs). Under the `@openledger/source` export condition (the test suite sets it in
// NODE_OPTIONS) the package resolves to its TypeScript sources instead, loaded through tsx.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const main = import.meta.resolve('@openledger/node/cli')
if (main.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api')
  register()
} else if (!existsSync(fileURLToPath(main))) {
  console.error(
    `openledger: ${fileURLToPath(main)} is missing: build the packages first (npx -y pnpm@10 run build)`,
  )
  process.exit(1)
}
await import(main)
