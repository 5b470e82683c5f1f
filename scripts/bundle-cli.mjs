// Bundles the `openledger` command into packages/node/dist/bundle/ (run by scripts/build.mjs after
// tsc). Why: start-up to the first answer was mostly module loading — ~715 ES modules resolved,
// read and compiled one at a time (docs/benchmarks.md, "Start-up"). The bundle is the compiled
// dist/ JavaScript of every workspace package and of their pure-JavaScript dependencies, in a few
// chunks: `openledger dev` loads the entry and the chunks it needs; the commands it does not run
// (network, payable AI, bridge, …) stay in chunks loaded by their `import()`.
//
// Files located relative to a module (`import.meta.url`: worker threads, genesis/devnet.json,
// package.json, createRequire) keep pointing at that module's own dist/ file. Packages with native
// addons or binaries of their own stay outside: they are imported from where pnpm installed them.
import { rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative, sep } from 'node:path'

/**
 * Loaded from node_modules, not bundled: native addons, and packages that locate files of their own
 * (esbuild its binary; pino and thread-stream their worker files, by `__dirname`).
 */
const EXTERNAL = [
  'level',
  'classic-level',
  'secp256k1',
  'msgpackr',
  'esbuild',
  '@crate-crypto/node-eth-kzg',
  'pino',
  'thread-stream',
]
const EXTERNAL_RE = new RegExp(`^(${EXTERNAL.map((e) => e.replace(/[/.]/g, '\\$&')).join('|')})(/.*)?$`)

/** `new URL('./x.js', import.meta.resolve('pkg')).href`, as tsc emits it. */
const RESOLVED_IMPORT = /new URL\('([^']+)', import\.meta\.resolve\('([^']+)'\)\)\.href/g
/** tsc's wrapper around a computed import specifier, left around a string literal. */
const WRAPPED_LITERAL = /__rewriteRelativeImportExtension\(("[^"]+")\)/g
const toUrlPath = (p) => (sep === '/' ? p : p.split(sep).join('/'))
const relativeSpec = (from, to) => {
  const r = toUrlPath(relative(from, to))
  return r.startsWith('.') ? r : `./${r}`
}

/** @param {string} root the workspace root @returns {Promise<{ files: number, inputs: number }>} */
export async function bundleCli(root) {
  const { build } = await import(createRequire(join(root, 'package.json')).resolve('esbuild'))
  const outdir = join(root, 'packages/node/dist/bundle')
  // Chunk names are content hashes: an old build's chunks would otherwise stay beside the new ones.
  rmSync(outdir, { recursive: true, force: true })
  const ownDist = /[\\/]packages[\\/][^\\/]+[\\/]dist[\\/].*\.m?js$/
  const result = await build({
    entryPoints: { cli: join(root, 'packages/node/dist/cli/main.js') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    sourcemap: 'linked',
    // Smaller files parse faster; identifiers are not renamed and `keepNames` keeps every function's
    // and class's `name` as in the sources (stack traces, error names).
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    // Bundled CommonJS modules call require(); an ES module has none of its own.
    banner: {
      js: "import{createRequire as __olRequire}from'node:module';const require=__olRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'openledger-bundle',
        setup(b) {
          // An external package is imported from the file pnpm installed for the importing package,
          // by a path relative to the bundle (not every package can resolve every other by name).
          b.onResolve({ filter: EXTERNAL_RE }, async (args) => {
            if (args.pluginData === 'inner') return undefined
            const r = await b.resolve(args.path, {
              kind: args.kind,
              importer: args.importer,
              resolveDir: args.resolveDir,
              pluginData: 'inner',
            })
            if (r.errors.length > 0) return { errors: r.errors }
            return { path: relativeSpec(outdir, r.path), external: true }
          })
          b.onLoad({ filter: ownDist }, async (args) => {
            let source = await readFile(args.path, 'utf8')
            if (!source.includes('import.meta.')) return undefined
            const resolveDir = dirname(args.path)
            // A module of a dependency that its exports do not name (evm-fastpath.ts: EthereumJS's
            // Interpreter) is imported by a path found next to the dependency's entry at run time.
            // Here it becomes a literal path, so the bundle has one copy of that module: the one
            // the bundled dependency itself uses (same class, same state).
            for (const [whole, file, pkg] of [...source.matchAll(RESOLVED_IMPORT)]) {
              const entry = await b.resolve(pkg, { kind: 'dynamic-import', resolveDir, importer: args.path })
              if (entry.errors.length > 0) return { errors: entry.errors }
              source = source.replace(whole, JSON.stringify(join(dirname(entry.path), file)))
            }
            // esbuild follows `import()` of a string literal only.
            source = source.replace(WRAPPED_LITERAL, '$1')
            if (source.includes('import.meta.resolve'))
              return { errors: [{ text: `${args.path}: an import.meta.resolve the bundle cannot keep` }] }
            const own = `new URL(${JSON.stringify(relativeSpec(outdir, args.path))},import.meta.url).href`
            return { contents: source.replaceAll('import.meta.url', own), loader: 'js', resolveDir }
          })
        },
      },
    ],
  })
  return {
    files: Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.mjs')).length,
    inputs: Object.keys(result.metafile.inputs).length,
  }
}
