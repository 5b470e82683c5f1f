// `pnpm build` (also run by `pnpm install`, as the root's `prepare`): compiles every package to its
// dist/ (JavaScript, .d.ts, source maps) with `tsc -b tsconfig.build.json` (incremental: only what
// changed), then copies the plain-JavaScript runtime files of each src/ (worker threads such as
// recover-worker.mjs, with their .d.mts) to dist/, where the compiled code loads them by relative
// URL. The tsx loader shims (exec-worker.mjs, train-worker.mjs) only serve runs from the sources.
// Last, it bundles the `openledger` command into packages/node/dist/bundle/ (scripts/bundle-cli.mjs),
// which the binary runs when it is there.
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleCli } from './bundle-cli.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const built = spawnSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
})
if (built.status !== 0) {
  // As the install's `prepare`, a type error (say, in a work in progress) must not fail the install:
  // tsc still emits JavaScript for what it can, and `pnpm typecheck` / `pnpm build` report it.
  const prepare = process.argv.includes('--prepare')
  console.error(`build: tsc -b tsconfig.build.json failed${prepare ? ' (install goes on)' : ''}`)
  if (!prepare) process.exit(built.status ?? 1)
}

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) yield* walk(join(dir, e.name))
    else yield join(dir, e.name)
  }
}

let copied = 0
for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src')
  let files
  try {
    files = [...walk(src)]
  } catch {
    continue
  }
  for (const file of files) {
    if (!file.endsWith('.mjs') && !file.endsWith('.d.mts')) continue
    if (readFileSync(file, 'utf8').includes("'tsx/esm/api'")) continue
    const to = join(root, 'packages', pkg, 'dist', relative(src, file))
    mkdirSync(dirname(to), { recursive: true })
    copyFileSync(file, to)
    copied++
  }
}
console.log(`build: packages compiled to dist/ (${copied} plain-JavaScript runtime files copied)`)
try {
  const started = Date.now()
  const b = await bundleCli(root)
  console.log(
    `build: openledger bundled (${b.inputs} modules in ${b.files} files, ${Date.now() - started} ms)`,
  )
} catch (e) {
  // Without the bundle the binary runs the compiled modules of dist/ (slower to start, same code).
  console.error(`build: bundling the openledger command failed: ${e instanceof Error ? e.message : e}`)
  if (!process.argv.includes('--prepare')) process.exit(1)
}
