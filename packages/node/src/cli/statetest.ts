/**
 * `openledger evm statetest <file|dir> [--fork NAME] [--run REGEX] [--json]`: Ethereum
 * GeneralStateTests through the chain's own block execution (evm-runtime/src/statetest). One line
 * per case (`--json`: go-ethereum's `evm statetest` result objects, one per line), a summary on
 * stderr with cases/s, exit status 1 when any case fails or a file cannot be read.
 */
import { fixtureFiles, runStateTests, type StateTestEvent } from '@openledger/evm-runtime/statetest'

export interface StateTestCliOptions {
  path: string
  fork?: string
  run?: string
  json?: boolean
  /** Run cases on the exclusion list too. */
  all?: boolean
}

export async function runStateTestCli(
  o: StateTestCliOptions,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  let run: RegExp | undefined
  if (o.run !== undefined) {
    try {
      run = new RegExp(o.run)
    } catch (e) {
      err(`--run: invalid regular expression: ${(e as Error).message}`)
      return 2
    }
  }
  let files: string[]
  try {
    files = await fixtureFiles(o.path)
  } catch (e) {
    err(`cannot read ${o.path}: ${(e as Error).message}`)
    return 2
  }
  const t0 = performance.now()
  let cases = 0
  let passed = 0
  let skipped = 0
  let unreadable = 0
  const print = (ev: StateTestEvent) => {
    if (ev.kind === 'error') {
      unreadable++
      err(`error ${ev.file}: ${ev.error}`)
    } else if (ev.kind === 'skip') {
      skipped++
      if (!o.json) out(`skip ${ev.name} (${ev.reason})`)
    } else {
      cases++
      if (ev.result.pass) passed++
      if (o.json) out(JSON.stringify(ev.result))
      else
        out(
          `${ev.result.pass ? 'pass' : 'FAIL'} ${ev.result.name}${ev.result.error ? `: ${ev.result.error}` : ''}`,
        )
    }
  }
  for await (const ev of runStateTests(files, { fork: o.fork, run, exclusions: o.all !== true })) print(ev)
  const seconds = (performance.now() - t0) / 1000
  err(
    `${cases} cases, ${passed} passed, ${cases - passed} failed, ${skipped} excluded, ${files.length} files` +
      `${unreadable > 0 ? ` (${unreadable} unreadable)` : ''}, ${seconds.toFixed(1)} s, ` +
      `${(cases / Math.max(seconds, 1e-9)).toFixed(1)} cases/s`,
  )
  return passed === cases && unreadable === 0 ? 0 : 1
}
