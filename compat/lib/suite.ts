/**
 * The OpenZeppelin Contracts suite from the shared data set, prepared in a work directory: a copy
 * of its files, its own Hardhat 2 toolchain (`npm ci --ignore-scripts`), the `solc` npm package of
 * the version its config asks for, and a config that compiles offline with that package's
 * soljson and adds a `remote` network. Nothing of the suite is changed; the work directory is
 * outside the repository's tracked files (default `<repo>/.compat`, gitignored).
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { join, relative } from 'node:path'

export interface SuitePaths {
  /** The shared, read-only suite. */
  source: string
  /** The prepared copy tests run in. */
  dir: string
  /** Directory of the `solc` npm package (its soljson.js). */
  solcDir: string
  /** Hardhat config file name inside `dir`. */
  config: string
}

export const COMPAT_CONFIG = 'hardhat.openledger-compat.v2.config.js'

export function sharedDir(root: string): string {
  return process.env.OPENLEDGER_SHARED ?? join(root, '..', 'shared')
}

export function suiteSource(root: string): string {
  const dir = join(sharedDir(root), 'compat', 'openzeppelin-contracts')
  if (!existsSync(join(dir, 'package.json'))) {
    throw new Error(
      `the OpenZeppelin suite is missing: expected ${dir} (set OPENLEDGER_SHARED to the shared data directory)`,
    )
  }
  return dir
}

/**
 * Where the toolchain, compiled artifacts and logs live: $OPENLEDGER_COMPAT_WORK, else a cache
 * directory outside the repository shared by every checkout on the machine, so the minutes-long
 * first compilation happens once per machine rather than once per clone.
 */
export function workDir(_root: string): string {
  return (
    process.env.OPENLEDGER_COMPAT_WORK ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'openledger-compat')
  )
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/**
 * Serialises preparation and compilation between processes sharing a work directory (parallel
 * test runs, several checkouts): a lock directory holding the owner's pid; a lock whose owner is
 * gone is taken over. Waits at most `timeoutMs`.
 */
export function withWorkLock<T>(work: string, fn: () => T, timeoutMs = 90 * 60_000): T {
  mkdirSync(work, { recursive: true })
  const lock = join(work, '.lock')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let owner = Number.NaN
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'))
      } catch {}
      let alive = true
      if (Number.isInteger(owner)) {
        try {
          process.kill(owner, 0)
        } catch {
          alive = false
        }
      }
      if (!alive) rmSync(lock, { recursive: true, force: true })
      else if (Date.now() > deadline) throw new Error(`compat: ${lock} held by pid ${owner} for too long`)
      else sleepSync(500)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** The solc version the suite's hardhat.config.js defaults to (its `compiler` option). */
export function suiteSolcVersion(source: string): string {
  const cfg = readFileSync(join(source, 'hardhat.config.js'), 'utf8')
  const m = /compiler:\s*\{[^}]*?default:\s*'(\d+\.\d+\.\d+)'/s.exec(cfg)
  if (!m) throw new Error(`cannot find the default compiler version in ${join(source, 'hardhat.config.js')}`)
  return m[1]!
}

function listFiles(dir: string, base = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) listFiles(p, base, out)
    else out.push(`${relative(base, p)}:${st.size}:${st.mtimeMs}`)
  }
  return out
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

function npm(args: string[], cwd: string, log: (s: string) => void): void {
  log(`$ npm ${args.join(' ')}   (in ${cwd})`)
  execFileSync('npm', args, {
    cwd,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CI: 'true' },
  })
}

/**
 * Copies the suite (when it changed), installs its toolchain and the solc package (when missing
 * or its lockfile changed) and writes the compat config. Idempotent and quick when nothing changed.
 */
export function prepareSuite(root: string, log: (s: string) => void): SuitePaths {
  const source = suiteSource(root)
  const work = workDir(root)
  const dir = join(work, 'openzeppelin-contracts')
  mkdirSync(work, { recursive: true })
  const stampFile = join(work, 'suite.stamp')
  const stamp = sha(listFiles(source).sort().join('\n'))
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp || !existsSync(dir)) {
    log(`copying ${source} → ${dir}`)
    // Keep node_modules, artifacts and cache: Hardhat recompiles only what changed.
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (!['node_modules', 'artifacts', 'cache', 'contracts-exposed'].includes(name))
        rmSync(join(dir, name), { recursive: true, force: true })
    }
    cpSync(source, dir, { recursive: true, preserveTimestamps: true })
    execFileSync('chmod', ['-R', 'u+w', dir])
    writeFileSync(stampFile, stamp)
  }
  const lockStamp = join(work, 'npm.stamp')
  const lock = sha(readFileSync(join(dir, 'package-lock.json'), 'utf8'))
  if (
    !existsSync(join(dir, 'node_modules')) ||
    !existsSync(lockStamp) ||
    readFileSync(lockStamp, 'utf8') !== lock
  ) {
    npm(['ci', '--ignore-scripts', '--no-audit', '--no-fund'], dir, log)
    writeFileSync(lockStamp, lock)
  }
  const version = suiteSolcVersion(source)
  const solcRoot = join(work, `solc-${version}`)
  const solcDir = join(solcRoot, 'node_modules', 'solc')
  if (!existsSync(join(solcDir, 'soljson.js'))) {
    mkdirSync(solcRoot, { recursive: true })
    writeFileSync(join(solcRoot, 'package.json'), '{"name":"compat-solc","private":true}\n')
    npm(['install', '--no-audit', '--no-fund', '--ignore-scripts', `solc@${version}`], solcRoot, log)
  }
  writeFileSync(join(dir, COMPAT_CONFIG), compatConfig())
  return { source, dir, solcDir, config: COMPAT_CONFIG }
}

/**
 * Requires the suite's own config unchanged, makes Hardhat compile with the `solc` npm package's
 * soljson instead of downloading a compiler (TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD), and points the
 * `localhost` and `remote` networks at $COMPAT_URL.
 */
function compatConfig(): string {
  return `// Written by openledger's compat harness (compat/lib/suite.ts). Do not edit.
const path = require('path');
const base = require('./hardhat.config.js');
const { subtask } = require('hardhat/config');
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require('hardhat/builtin-tasks/task-names');

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async args => {
  const solcDir = process.env.COMPAT_SOLC_DIR;
  const solc = require(solcDir);
  const longVersion = solc.version().replace(/\\.Emscripten.*$/, '');
  const version = longVersion.replace(/\\+.*$/, '');
  if (args.solcVersion !== version) {
    throw new Error(\`compat: the suite asks for solc \${args.solcVersion}, \${solcDir} is \${version}\`);
  }
  return { compilerPath: path.join(solcDir, 'soljson.js'), isSolcJs: true, version, longVersion };
});

// \`localhost\` is how users point Hardhat at a node (hardhat-ethers then sends with a fixed gas
// limit when the node answers hardhat_metadata, as Hardhat's own node does); \`remote\` is any
// other network name (hardhat-ethers estimates every transaction).
const url = process.env.COMPAT_URL || 'http://127.0.0.1:8545';
module.exports = {
  ...base,
  networks: {
    ...base.networks,
    localhost: { url, timeout: 600000 },
    remote: { url, timeout: 600000 },
  },
};
`
}

/** Every test file of the suite (relative paths), in a stable order. */
export function testFiles(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (name.endsWith('.test.js')) out.push(relative(dir, p))
    }
  }
  walk(join(dir, 'test'))
  return out
}
