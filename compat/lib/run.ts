/**
 * Runs test files of the prepared suite with `hardhat test --no-compile --network <localhost|remote>`
 * against a running node, one process per file, and reads mocha's summary.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { startChild, withTimeout } from '../../bench/lib/proc.ts'
import type { SuitePaths } from './suite.ts'
import { type RunningTarget, rpc } from './targets.ts'

/** `localhost`: hardhat-ethers sends with a fixed gas limit on a node answering hardhat_metadata
 * (what users running `--network localhost` get); `remote`: it estimates every transaction. */
export type CompatNetwork = 'localhost' | 'remote'

export interface FileResult {
  file: string
  target: string
  passing: number
  failing: number
  pending: number
  wallMs: number
  /** Set when mocha printed no summary (crash, timeout) or the node misbehaved. */
  error?: string
  /** Titles of failing tests (mocha's numbered list), for the report. */
  failures: string[]
}

/** Mocha's spec-reporter summary lines. */
export function parseMochaSummary(out: string): Pick<
  FileResult,
  'passing' | 'failing' | 'pending' | 'failures'
> & {
  found: boolean
} {
  const n = (re: RegExp) => {
    const m = re.exec(out)
    return m ? Number(m[1]) : 0
  }
  const found = /^\s*\d+ passing \(/m.test(out) || /^\s*\d+ failing/m.test(out)
  const failures: string[] = []
  const tail = out.slice(out.search(/^\s*\d+ failing/m) >= 0 ? out.search(/^\s*\d+ failing/m) : out.length)
  for (const m of tail.matchAll(/^\s{2}(\d+)\) (.+)$/gm)) failures.push(m[2]!.trim())
  return {
    found,
    passing: n(/^\s*(\d+) passing \(/m),
    failing: n(/^\s*(\d+) failing/m),
    pending: n(/^\s*(\d+) pending/m),
    failures,
  }
}

export async function runFile(
  suite: SuitePaths,
  target: RunningTarget,
  file: string,
  opts: { timeoutMs: number; logDir: string; network: CompatNetwork },
): Promise<FileResult> {
  // Every file starts from a fresh chain, as with a fresh in-process network.
  await rpc(target.url, 'hardhat_reset', [])
  let out = ''
  const t0 = performance.now()
  const child = startChild(
    process.execPath,
    [
      join(suite.dir, 'node_modules/hardhat/internal/cli/bootstrap.js'),
      'test',
      '--no-compile',
      '--network',
      opts.network,
      '--config',
      suite.config,
      file,
    ],
    {
      cwd: suite.dir,
      name: `hardhat test ${file}`,
      env: { ...process.env, COMPAT_URL: target.url, COMPAT_SOLC_DIR: suite.solcDir, FORCE_COLOR: '0' },
      onLine: (l) => {
        out += `${l}\n`
      },
    },
  )
  let error: string | undefined
  try {
    await withTimeout(
      child.exited.catch(() => {}),
      opts.timeoutMs,
      `${file} on ${target.name}`,
    )
  } catch (err) {
    error = (err as Error).message
    await child.stop(2000)
  }
  const wallMs = performance.now() - t0
  const logFile = join(opts.logDir, target.name, `${file}.log`)
  mkdirSync(dirname(logFile), { recursive: true })
  writeFileSync(logFile, out)
  const s = parseMochaSummary(out)
  if (!s.found && error === undefined)
    error = `no mocha summary (exit ${child.proc.exitCode}); see ${logFile}`
  return {
    file,
    target: target.name,
    passing: s.passing,
    failing: s.failing,
    pending: s.pending,
    wallMs,
    error,
    failures: s.failures,
  }
}

/** A file passes when it ran tests, none failed and mocha finished. */
export const filePasses = (r: FileResult): boolean =>
  r.error === undefined && r.failing === 0 && r.passing > 0
