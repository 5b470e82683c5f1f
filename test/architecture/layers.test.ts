/**
 * The import rules of docs/architecture.md, checked on every source file of the repository:
 * - packages form layers: a package imports only packages of a lower layer (and declares them in
 *   its package.json); relative imports of sources never leave their package;
 * - inside packages/node, folders form layers along the data flow (intake → pool → builder →
 *   consensus → commit → observers): a file imports only its own layer or lower ones, and only the
 *   service layer and above may import the JSON-RPC package;
 * - no import loops between files (type-only imports count: they tie files together as well).
 * KNOWN lists the violations that predate this test; it may only shrink (an entry that no longer
 * occurs fails the test too, so it is removed when fixed).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, test } from 'vitest'
import { walk } from './source-files.ts'

const ROOT = resolve(import.meta.dirname, '../..')

/** Package layers, lowest first. A package may import packages of lower layers only. */
const PACKAGE_LAYERS: readonly (readonly string[])[] = [
  ['consensus', 'evm-runtime', 'rpc', 'modelfactory'], // pure consensus; execution host; JSON-RPC server over a Backend; off-chain ML (models, LoRA, artifacts)
  ['module-kit'], // writing native modules against the host's interface
  ['attribution', 'bridge'], // native modules (Datanets, Models, Attribution), engine, SDK; the L1 bridge
  ['staking', 'payable', 'studio'], // native modules Staking (with slashing) and Governance; Payable AI's client side (CLI commands, providers, trainer); the Studio web app
  ['node'], // assembly: store, pool, chain, sealer, QBFT host, p2p, RPC backends, CLI
]

/** Layers of packages/node/src, lowest first: a folder, or a file path relative to src. */
const NODE_LAYERS: readonly (readonly string[])[] = [
  ['util', 'logger.ts', 'metrics.ts', 'version.ts', 'polyfills.ts'], // base
  [
    // storage, keys, formats, transport
    'store',
    'keys',
    'genesis',
    'p2p',
    'consensus/block-codec.ts',
    'consensus/crypto.ts',
    'consensus/validator-set.ts',
    'consensus/epochs.ts',
    'consensus/wal-format.ts',
    'consensus/wal.ts',
    'consensus/cycle-timings.ts',
  ],
  ['chain'], // commit: the one path that persists blocks and notifies observers
  ['txpool'], // the pool follows the chain
  ['intake', 'miner', 'gossip', 'sync', 'consensus/qbft-host.ts', 'consensus/evidence.ts'], // intake and block producers
  ['backend', 'dev', 'fork', 'rpc', 'attribution', 'bridge', 'staking'], // services: JSON-RPC backends and namespaces; the L1 bridge; a dev chain's fork remote; staking/governance
  ['node.ts', 'network-node.ts', 'index.ts'], // assembly
  ['cli'], // the `openledger` program
]
/** The lowest node layer that may import @openledger/rpc (RPC shapes and errors). */
const NODE_RPC_LAYER = 5

/** Violations that predate this test (issue 12 removes them). Format: "from -> to". */
const KNOWN = new Set<string>()

const SOURCE = /\.(ts|mts|mjs)$/

const packages = readdirSync(join(ROOT, 'packages')).filter((p) =>
  statSync(join(ROOT, 'packages', p, 'package.json'), { throwIfNoEntry: false })?.isFile(),
)
const files = [
  ...packages.flatMap((p) =>
    ['src', 'test', 'bench'].flatMap((d) => walk(join(ROOT, 'packages', p, d), SOURCE)),
  ),
]
const rel = (f: string) => relative(ROOT, f).split('\\').join('/')

interface Import {
  from: string
  spec: string
  /** Resolved file for relative imports. */
  target?: string
}

const imports: Import[] = files.flatMap((f) =>
  ts.preProcessFile(readFileSync(f, 'utf8'), true, true).importedFiles.map((i) => {
    const spec = i.fileName
    return { from: rel(f), spec, target: spec.startsWith('.') ? rel(resolve(dirname(f), spec)) : undefined }
  }),
)

const pkgOf = (path: string) => path.split('/')[1] as string
const packageName = (spec: string) => /^@openledger\/([^/]+)/.exec(spec)?.[1]

function layerOf(layers: readonly (readonly string[])[], name: string): number {
  return layers.findIndex((l) => l.includes(name))
}

function nodeLayer(path: string): number {
  const inSrc = path.slice('packages/node/src/'.length)
  const parts = inSrc.split('/')
  const candidates = [inSrc, parts.length > 1 ? (parts[0] as string) : inSrc]
  for (const c of candidates) {
    const i = layerOf(NODE_LAYERS, c)
    if (i >= 0) return i
  }
  return -1
}

/** A rule violation: the key KNOWN uses, and why it is one. */
interface Violation {
  key: string
  why: string
}
const v = (key: string, why: string): Violation => ({ key, why })

function packageViolations(): Violation[] {
  const out: Violation[] = []
  const declared = new Map<string, Set<string>>()
  for (const p of packages) {
    const json = JSON.parse(readFileSync(join(ROOT, 'packages', p, 'package.json'), 'utf8'))
    const deps = { ...json.dependencies, ...json.devDependencies, ...json.peerDependencies }
    const own = new Set(
      Object.keys(deps)
        .map(packageName)
        .filter((n): n is string => n !== undefined),
    )
    declared.set(p, own)
    for (const d of own) {
      if (layerOf(PACKAGE_LAYERS, d) >= layerOf(PACKAGE_LAYERS, p))
        out.push(v(`packages/${p}/package.json -> @openledger/${d}`, 'depends on its own or a higher layer'))
    }
  }
  for (const i of imports) {
    const from = pkgOf(i.from)
    if (i.target !== undefined) {
      // Tests and benchmarks may use the repository's shared helpers; sources ship alone.
      if (i.from.startsWith(`packages/${from}/src/`) && !i.target.startsWith(`packages/${from}/`))
        out.push(v(`${i.from} -> ${i.target}`, 'relative import out of its package: import the package'))
      continue
    }
    const to = packageName(i.spec)
    if (to === undefined || to === from) continue
    const key = `${i.from} -> @openledger/${to}`
    if (layerOf(PACKAGE_LAYERS, to) >= layerOf(PACKAGE_LAYERS, from))
      out.push(v(key, 'imports a package of its own or a higher layer'))
    else if (!declared.get(from)?.has(to))
      out.push(v(key, `not a dependency in packages/${from}/package.json`))
  }
  return out
}

function nodeViolations(): Violation[] {
  const out: Violation[] = []
  for (const i of imports) {
    if (!i.from.startsWith('packages/node/src/')) continue
    const from = nodeLayer(i.from)
    if (i.target?.startsWith('packages/node/src/')) {
      const to = nodeLayer(i.target)
      if (to > from)
        out.push(v(`${i.from} -> ${i.target}`, `layer ${from} imports layer ${to} (NODE_LAYERS)`))
    } else if (packageName(i.spec) === 'rpc' && from < NODE_RPC_LAYER) {
      out.push(
        v(`${i.from} -> @openledger/rpc`, 'only services (backend, dev, rpc) and above use RPC shapes'),
      )
    }
  }
  return out
}

/** Import loops: strongly connected components (Tarjan) of more than one file, or a self-import. */
function cycleViolations(): Violation[] {
  const graph = new Map<string, string[]>()
  for (const f of files) graph.set(rel(f), [])
  for (const i of imports)
    if (i.target !== undefined && graph.has(i.target)) graph.get(i.from)?.push(i.target)
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: Violation[] = []
  const visit = (n: string) => {
    idx.set(n, index)
    low.set(n, index++)
    stack.push(n)
    onStack.add(n)
    for (const w of graph.get(n) ?? []) {
      if (!idx.has(w)) {
        visit(w)
        low.set(n, Math.min(low.get(n)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(n, Math.min(low.get(n)!, idx.get(w)!))
    }
    if (low.get(n) === idx.get(n)) {
      const scc: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        scc.push(w)
      } while (w !== n)
      if (scc.length > 1 || graph.get(n)?.includes(n))
        out.push(v(`cycle: ${scc.sort().join(' -> ')}`, 'these files import each other'))
    }
  }
  for (const n of graph.keys()) if (!idx.has(n)) visit(n)
  return out
}

const unknown = (vs: Violation[]) => vs.filter((x) => !KNOWN.has(x.key)).map((x) => `${x.key}  (${x.why})`)

describe('architecture: import layers', () => {
  test('every package and every packages/node/src file has a layer', () => {
    const missing = packages.filter((p) => layerOf(PACKAGE_LAYERS, p) < 0)
    expect(missing, 'add these packages to PACKAGE_LAYERS (test/architecture/layers.test.ts)').toEqual([])
    const nodeFiles = files.map(rel).filter((f) => f.startsWith('packages/node/src/'))
    const unplaced = nodeFiles.filter((f) => nodeLayer(f) < 0)
    expect(unplaced, 'add these folders/files to NODE_LAYERS (test/architecture/layers.test.ts)').toEqual([])
  })

  test('packages import only lower packages, declared in their package.json', () => {
    expect(unknown(packageViolations())).toEqual([])
  })

  test('packages/node/src: no import from a lower layer to a higher one', () => {
    expect(unknown(nodeViolations())).toEqual([])
  })

  test('no import loops between files', () => {
    expect(unknown(cycleViolations())).toEqual([])
  })

  test('KNOWN lists only violations that still occur', () => {
    const seen = new Set(
      [...packageViolations(), ...nodeViolations(), ...cycleViolations()].map((x) => x.key),
    )
    expect(
      [...KNOWN].filter((k) => !seen.has(k)),
      'fixed: remove from KNOWN',
    ).toEqual([])
  })
})
