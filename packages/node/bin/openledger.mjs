#!/usr/bin/env node
// Entry point of the `openledger` command. It runs the bundle of the compiled JavaScript
// (dist/bundle/, built with dist/ by `pnpm build`, which `pnpm install` runs): one file per chunk
// instead of ~700 modules, which is most of the start-up time. Without the bundle, or with
// OPENLEDGER_BUNDLE=0, it runs dist/ module by module. Under the `@openledger/source` export
// condition (the test suite sets it in NODE_OPTIONS) the package resolves to its TypeScript
// sources instead, loaded through tsx.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const main = import.meta.resolve('@openledger/node/cli')
const bundle = new URL('../dist/bundle/cli.mjs', import.meta.url)
if (main.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(main)
} else if (process.env.OPENLEDGER_BUNDLE !== '0' && existsSync(bundle)) {
  await import(bundle.href)
} else if (!existsSync(fileURLToPath(main))) {
  console.error(
    `openledger: ${fileURLToPath(main)} is missing: build the packages first (npx -y pnpm@10 run build)`,
  )
  process.exit(1)
} else {
  await import(main)
}
