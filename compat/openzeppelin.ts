/**
 * `pnpm compat`: OpenZeppelin Contracts' own Hardhat test suite (shared/compat) against
 * `openledger dev` and against `hardhat node` in the same run, file by file. Prints a per-file
 * table (passing / failing / pending and wall time on each node) and exits non-zero when a file
 * that passes on `hardhat node` does not pass on `openledger dev`.
 *
 *   node --import tsx compat/openzeppelin.ts [--sample] [--files a.test.js,b.test.js] [--range 51-130]
 *        [--only openledger|hardhat] [--network localhost|remote] [--timeout-min 20] [--json out.json]
 *   node --import tsx compat/openzeppelin.ts --report run1/results.jsonl,run2/results.jsonl
 *
 * The work directory (toolchain, compiled artifacts, per-file logs) is $OPENLEDGER_COMPAT_WORK or
 * ~/.cache/openledger-compat; the first run installs and compiles (minutes), later runs reuse both.
 * Each run appends every file's result to `<work>/logs/<run>/results.jsonl` as soon as the file is
 * done, so a long run that is stopped keeps what it measured; `--report` prints the table of one or
 * more such files (a run finished in pieces).
 */
import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
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
  /** `N-M` or `N`: 1-based positions in the suite's file order (inclusive); instead of `files`. */
  range?: string
  /** Hardhat network name the tests run with (default localhost, see CompatNetwork). */
  network?: CompatNetwork
  only?: TargetName
  timeoutMs?: number
  log?: (s: string) => void
}

type Row = CompatReport['results'][number]

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
  const files = opts.range !== undefined ? range(opts.range, all) : (opts.files ?? all)
  const index = (f: string) => all.indexOf(f) + 1
  for (const f of files) if (!all.includes(f)) throw new Error(`no such test file in the suite: ${f}`)
  const names: TargetName[] = opts.only ? [opts.only] : ['openledger', 'hardhat']
  // Per run: concurrent runs share the work directory.
  const logDir = join(
    workDir(ROOT),
    'logs',
    `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`,
  )
  mkdirSync(logDir, { recursive: true })
  const results = join(logDir, 'results.jsonl')
  const record = (line: object) => appendFileSync(results, `${JSON.stringify(line)}\n`)
  record({
    run: { commit: gitCommit(), started: new Date().toISOString(), files: files.length, loadavg: loadavg() },
  })
  log(`per-file results: ${results}`)
  const targets: Partial<Record<TargetName, RunningTarget>> = {}
  const start = (n: TargetName) => (n === 'openledger' ? startOpenledger(ROOT) : startHardhat(suite))
  const rows: Row[] = []
  try {
    for (const n of names) targets[n] = await start(n)
    log(`nodes: ${names.map((n) => `${n} ${targets[n]!.url}`).join(', ')}; ${files.length} files`)
    for (const [i, file] of files.entries()) {
      const row: Row = { file }
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
      }
      rows.push(row)
      record({ index: index(file), ...row, finished: new Date().toISOString(), loadavg: loadavg() })
      log(`[${i + 1}/${files.length}] #${index(file)} ${formatRow(row, names)}`)
    }
  } finally {
    for (const t of Object.values(targets)) await t?.child.stop()
  }
  return summarize(rows)
}

/** Totals and regressions of per-file rows (one run, or several runs' results.jsonl). */
export function summarize(rows: Row[]): CompatReport {
  const report: CompatReport = {
    results: rows,
    regressions: [],
    totals: {
      openledger: { passing: 0, failing: 0, pending: 0, wallMs: 0 },
      hardhat: { passing: 0, failing: 0, pending: 0, wallMs: 0 },
    },
  }
  for (const row of rows) {
    for (const n of ['openledger', 'hardhat'] as const) {
      const r = row[n]
      if (!r) continue
      const tot = report.totals[n]
      tot.passing += r.passing
      tot.failing += r.failing
      tot.pending += r.pending
      tot.wallMs += r.wallMs
    }
    if (row.hardhat && row.openledger && filePasses(row.hardhat) && !filePasses(row.openledger))
      report.regressions.push(row.file)
  }
  return report
}

/** The rows of results.jsonl files, in suite order; a file measured twice keeps its last result. */
export function readResults(paths: string[]): Row[] {
  const byFile = new Map<string, Row & { index?: number }>()
  for (const p of paths) {
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (line.trim() === '') continue
      const x = JSON.parse(line) as Row & { index?: number; run?: unknown }
      if (x.run === undefined) byFile.set(x.file, x)
    }
  }
  return [...byFile.values()]
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
    .map(({ file, openledger, hardhat }) => ({ file, openledger, hardhat }))
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
  } catch {
    return undefined
  }
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

/** `51-130` or `7`: 1-based positions in the suite's file order (inclusive). */
function range(spec: string, files: string[]): string[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec)
  if (!m) throw new Error('--range expects N or N-M (1-based file positions)')
  const a = Number(m[1])
  const b = m[2] === undefined ? a : Number(m[2])
  if (a < 1 || b < a || b > files.length)
    throw new Error(`--range ${spec}: the suite has files 1-${files.length}`)
  return files.slice(a - 1, b)
}

function parseArgs(argv: string[]): CompatOptions & { json?: string; report?: string[] } {
  const o: CompatOptions & { json?: string; report?: string[] } = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const v = () => {
      const x = argv[++i]
      if (x === undefined) throw new Error(`${a} needs a value`)
      return x
    }
    if (a === '--sample') o.files = SAMPLE
    else if (a === '--files') o.files = v().split(',').filter(Boolean)
    else if (a === '--range') o.range = v()
    else if (a === '--network') {
      const x = v()
      if (x !== 'localhost' && x !== 'remote') throw new Error('--network expects localhost or remote')
      o.network = x
    } else if (a === '--report') o.report = v().split(',').filter(Boolean)
    else if (a === '--only') {
      const x = v()
      if (x !== 'openledger' && x !== 'hardhat') throw new Error('--only expects openledger or hardhat')
      o.only = x
    } else if (a === '--timeout-min') o.timeoutMs = Number(v()) * 60_000
    else if (a === '--json') o.json = v()
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: pnpm compat [--sample] [--files a,b] [--range N-M] [--only openledger|hardhat] [--network localhost|remote] [--timeout-min N] [--json file]\n' +
          '       pnpm compat --report results.jsonl[,more.jsonl]   (table of earlier runs)\n',
      )
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  return o
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const opts = parseArgs(process.argv.slice(2))
  const run = opts.report
    ? Promise.resolve(summarize(readResults(opts.report)))
    : runCompat(opts).then((report) => {
        process.stdout.write(
          `load average at the end: ${loadavg()
            .map((x) => x.toFixed(1))
            .join(' ')}\n`,
        )
        return report
      })
  run.then(
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
