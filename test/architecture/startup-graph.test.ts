/**
 * What `openledger dev` loads before it answers: the modules statically reachable from the CLI's
 * entry and the dev command (static `import`/`export … from`, not `import type`, not `import()`).
 * Start-up time is mostly module loading (docs/benchmarks.md, issue 12), so the parts a dev chain
 * needs only on demand stay out of this graph: the other commands' clients (payable AI, staking,
 * governance, bridge), the L1 bridge, Studio's bundler, the model factory, and viem's full entry
 * (its client half: the start-up path uses `viem/utils`).
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, test } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const ENTRIES = ['packages/node/src/cli/main.ts', 'packages/node/src/cli/dev.ts']

/** Value imports of a file: static imports and re-exports that are not type-only. */
function valueImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false)
  const out: string[] = []
  for (const s of sf.statements) {
    if (ts.isImportDeclaration(s)) {
      const c = s.importClause
      if (c?.isTypeOnly) continue
      // `import { type A, type B } from 'x'` is erased too.
      const named = c?.namedBindings
      if (
        c &&
        c.name === undefined &&
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly)
      )
        continue
      out.push((s.moduleSpecifier as ts.StringLiteral).text)
    } else if (ts.isExportDeclaration(s) && s.moduleSpecifier && !s.isTypeOnly) {
      out.push((s.moduleSpecifier as ts.StringLiteral).text)
    }
  }
  return out
}

/** A workspace package's source file for a specifier (its `@openledger/source` export). */
function workspaceSource(spec: string): string | undefined {
  const m = /^@openledger\/([^/]+)(\/.*)?$/.exec(spec)
  if (!m) return undefined
  const dir = join(ROOT, 'packages', m[1] as string)
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const entry = pkg.exports?.[m[2] ? `.${m[2]}` : '.']
  const src = entry?.['@openledger/source']
  if (typeof src !== 'string') throw new Error(`${spec}: no @openledger/source export`)
  return join(dir, src)
}

/** Files and external specifiers statically reachable from the entries. */
function startupGraph(): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>()
  const external = new Set<string>()
  const todo = ENTRIES.map((e) => join(ROOT, e))
  while (todo.length > 0) {
    const f = todo.pop() as string
    if (files.has(f)) continue
    files.add(f)
    for (const spec of valueImports(f)) {
      const target = spec.startsWith('.') ? resolve(dirname(f), spec) : workspaceSource(spec)
      if (target === undefined) external.add(spec)
      else if (existsSync(target)) todo.push(target)
      else throw new Error(`${relative(ROOT, f)}: cannot resolve ${spec}`)
    }
  }
  return { files, external }
}

describe('start-up module graph of `openledger dev`', () => {
  const { files, external } = startupGraph()
  const rel = [...files].map((f) => relative(ROOT, f).split('\\').join('/'))

  test('reaches the node it starts (guards against a graph walk that finds nothing)', () => {
    expect(rel).toContain('packages/node/src/node.ts')
    expect(rel).toContain('packages/evm-runtime/src/runtime.ts')
    expect(rel).toContain('packages/rpc/src/server.ts')
  })

  test('leaves out what a dev chain loads on first use', () => {
    const onDemand = [
      /^packages\/payable\/src\/(?!cli\.ts|cli-options\.ts|format\.ts)/, // payable commands and clients
      /^packages\/bridge\//, // the L1 bridge (--l1-rpc)
      /^packages\/studio\//, // Studio's bundler (first /studio/ request)
      /^packages\/modelfactory\//, // training and serving (first studio_* call)
      /^packages\/node\/src\/cli\/(bridge|gov|stake|network|devnet|demo|statetest)\.ts$/, // other commands
      /^packages\/node\/src\/(network-node\.ts|p2p\/|gossip\/|sync\/)/, // network mode
    ]
    expect(rel.filter((f) => onDemand.some((r) => r.test(f)))).toEqual([])
    expect([...external].filter((s) => s === 'viem' || s === 'esbuild' || s.startsWith('libp2p'))).toEqual([])
  })
})
