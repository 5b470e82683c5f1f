/**
 * `pnpm compat`: OpenZeppelin Contracts' own Hardhat test suite (shared/compat) against
 * `openledger dev` and against `hardhat node` in the same run, file by file. Prints a per-file
 * table (passing / failing / pending and wall time on each node) and exits non-zero when a file
 * that passes on `hardhat node` does not pass on `openledger dev`.
 *
 *   node --import tsx compat/openzeppelin.ts [--sample] [--files a.test.js,b.test.js] [--only openledger|hardhat]
 *                                            [--timeout-min 20] [--json out.json]
 *
 * The work directory (toolchain, compiled artifacts, per-file logs) is $OPENLEDGER_COMPAT_WORK or
 * `<repo>/.compat`; the first run installs and compiles (minutes), later runs reuse both.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCleanup } from '../bench/lib/proc.ts'
import { type CompatNetwork, type FileResult, filePasses, runFile } from './lib/run.ts'
import { prepareSuite, type SuitePaths, testFiles, withWorkLock, workDir } from './lib/suite.ts'
import { type RunningTarget, startHardhat, startOpenledger, type TargetName } from './lib/targets.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/**
 * The fixed sample CI runs (test/compat/openzeppelin-sample.test.ts): files that pass on
 * `hardhat node` and exercise what Hardhat users rely on — loadFixture snapshots, the time and
 * mine helpers, an impersonated contract sending transactions, custom errors, revert reasons and
 * events, Math's CLZ-based functions.
 */
export const SAMPLE = [
  'test/utils/Address.test.js',
  'test/utils/types/Time.test.js',
  'test/utils/math/Math.test.js',
  'test/token/ERC20/extensions/ERC20Votes.test.js',
  'test/crosschain/BridgeERC20.test.js',
]

export interface CompatOptions {
  files?: string[]
  /** Hardhat network name the tests run with (default localhost, see CompatNetwork). */
  network?: CompatNetwork
  only?: TargetName
  timeoutMs?: number
  log?: (s: string) => void
}

export interface CompatReport {
  results: Array<{ file: string; openledger?: FileResult; hardhat?: FileResult }>
  /** Files that pass on hardhat node but not on openledger dev. */
  regressions: string[]
  totals: Record<TargetName, { passing: number; failing: number; pending: number; wallMs: number }>
}

export function compile(suite: SuitePaths, log: (s: string) => void): void {
  log('compiling the suite (cached after the first run) …')
  const t0 = performance.now()
  const logFile = join(workDir(ROOT), 'compile.log')
  try {
    const out = execFileSync(
      process.execPath,
      [
        join(suite.dir, 'node_modules/hardhat/internal/cli/bootstrap.js'),
        'compile',
        '--config',
        suite.config,
      ],
      {
        cwd: suite.dir,
        env: { ...process.env, COMPAT_SOLC_DIR: suite.solcDir, FORCE_COLOR: '0' },
        maxBuffer: 256 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    writeFileSync(logFile, out)
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer }
    writeFileSync(logFile, `${e.stdout ?? ''}\n${e.stderr ?? ''}`)
    throw new Error(`compiling the suite failed; see ${logFile}`)
  }
  log(`compiled in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}

export async function runCompat(opts: CompatOptions = {}): Promise<CompatReport> {
  const log = opts.log ?? ((s: string) => process.stdout.write(`${s}\n`))
  installCleanup()
  const suite = withWorkLock(workDir(ROOT), () => {
    const s = prepareSuite(ROOT, log)
    compile(s, log)
    return s
  })
  const all = testFiles(suite.dir)
  const files = opts.files ?? all
  for (const f of files) if (!all.includes(f)) throw new Error(`no such test file in the suite: ${f}`)
  const names: TargetName[] = opts.only ? [opts.only] : ['openledger', 'hardhat']
  // Per run: concurrent runs share the work directory.
  const logDir = join(
    workDir(ROOT),
    'logs',
    `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`,
  )
  const targets: Partial<Record<TargetName, RunningTarget>> = {}
  const start = (n: TargetName) => (n === 'openledger' ? startOpenledger(ROOT) : startHardhat(suite))
  const report: CompatReport = {
    results: [],
    regressions: [],
    totals: {
      openledger: { passing: 0, failing: 0, pending: 0, wallMs: 0 },
      hardhat: { passing: 0, failing: 0, pending: 0, wallMs: 0 },
    },
  }
  try {
    for (const n of names) targets[n] = await start(n)
    log(`nodes: ${names.map((n) => `${n} ${targets[n]!.url}`).join(', ')}; ${files.length} files`)
    for (const [i, file] of files.entries()) {
      const row: CompatReport['results'][number] = { file }
      for (const n of names) {
        let t = targets[n]!
        if (t.child.proc.exitCode !== null || t.child.proc.signalCode !== null) {
          log(`${n} died; restarting it`)
          t = targets[n] = await start(n)
        }
        let r: FileResult
        try {
          r = await runFile(suite, t, file, {
            timeoutMs: opts.timeoutMs ?? 20 * 60_000,
            logDir,
            network: opts.network ?? 'localhost',
          })
        } catch (err) {
          r = {
            file,
            target: n,
            passing: 0,
            failing: 0,
            pending: 0,
            wallMs: 0,
            error: (err as Error).message,
            failures: [],
          }
        }
        row[n] = r
        const tot = report.totals[n]
        tot.passing += r.passing
        tot.failing += r.failing
        tot.pending += r.pending
        tot.wallMs += r.wallMs
      }
      report.results.push(row)
      log(`[${i + 1}/${files.length}] ${formatRow(row, names)}`)
      if (row.hardhat && row.openledger && filePasses(row.hardhat) && !filePasses(row.openledger))
        report.regressions.push(file)
    }
  } finally {
    for (const t of Object.values(targets)) await t?.child.stop()
  }
  return report
}

function cell(r: FileResult | undefined): string {
  if (!r) return '—'
  const base = `${r.passing}/${r.failing}/${r.pending} ${(r.wallMs / 1000).toFixed(1)}s`
  return r.error ? `${base} (${r.error.split('\n')[0]!.slice(0, 60)})` : base
}

function formatRow(row: CompatReport['results'][number], names: TargetName[]): string {
  const verdict =
    row.hardhat && row.openledger
      ? filePasses(row.hardhat) && !filePasses(row.openledger)
        ? 'REGRESSION'
        : 'ok'
      : ''
  return `${row.file}  ${names.map((n) => `${n} ${cell(row[n])}`).join('  ')}  ${verdict}`
}

/** Markdown table: file, then passing/failing/pending and wall time per node. */
export function formatTable(report: CompatReport): string {
  const lines = [
    '| file | openledger dev (pass/fail/pending) | wall | hardhat node (pass/fail/pending) | wall | |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  const pfp = (r?: FileResult) =>
    r ? `${r.passing}/${r.failing}/${r.pending}${r.error ? ' (error)' : ''}` : '—'
  const wall = (r?: FileResult) => (r ? `${(r.wallMs / 1000).toFixed(1)} s` : '—')
  for (const row of report.results) {
    const bad = row.hardhat && row.openledger && filePasses(row.hardhat) && !filePasses(row.openledger)
    lines.push(
      `| ${row.file.replace(/^test\//, '')} | ${pfp(row.openledger)} | ${wall(row.openledger)} | ${pfp(row.hardhat)} | ${wall(row.hardhat)} | ${bad ? '**regression**' : ''} |`,
    )
  }
  const t = report.totals
  lines.push(
    `| **total** | ${t.openledger.passing}/${t.openledger.failing}/${t.openledger.pending} | ${(t.openledger.wallMs / 1000).toFixed(0)} s | ${t.hardhat.passing}/${t.hardhat.failing}/${t.hardhat.pending} | ${(t.hardhat.wallMs / 1000).toFixed(0)} s | |`,
  )
  return lines.join('\n')
}

function parseArgs(argv: string[]): CompatOptions & { json?: string } {
  const o: CompatOptions & { json?: string } = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const v = () => {
      const x = argv[++i]
      if (x === undefined) throw new Error(`${a} needs a value`)
      return x
    }
    if (a === '--sample') o.files = SAMPLE
    else if (a === '--files') o.files = v().split(',').filter(Boolean)
    else if (a === '--only') {
      const x = v()
      if (x !== 'openledger' && x !== 'hardhat') throw new Error('--only expects openledger or hardhat')
      o.only = x
    } else if (a === '--timeout-min') o.timeoutMs = Number(v()) * 60_000
    else if (a === '--json') o.json = v()
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: pnpm compat [--sample] [--files a,b] [--only openledger|hardhat] [--network localhost|remote] [--timeout-min N] [--json file]\n',
      )
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  return o
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const opts = parseArgs(process.argv.slice(2))
  runCompat(opts).then(
    (report) => {
      process.stdout.write(`\n${formatTable(report)}\n`)
      if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 2))
      if (report.regressions.length > 0) {
        process.stdout.write(
          `\nfiles passing on hardhat node but not on openledger dev:\n${report.regressions.join('\n')}\n`,
        )
        process.exit(1)
      }
      process.exit(0)
    },
    (err) => {
      process.stderr.write(`compat: ${(err as Error).message}\n`)
      process.exit(2)
    },
  )
}
