/**
 * `openledger evm statetest` minus the printing: collects fixture files, expands them into cases,
 * applies the fork filter, the name filter and the exclusion list, and runs each case.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { EXCLUSIONS } from './exclusions.ts'
import { fixtureCases, type StateTestCase } from './fixture.ts'
import { type StateTestResult, StateTestRunner } from './runner.ts'

export { EXCLUSIONS, type Exclusion } from './exclusions.ts'
export { FixtureError, fixtureCases, type StateTestCase } from './fixture.ts'
export { FORKS, type StateTestResult, StateTestRunner } from './runner.ts'

export interface StateTestFilter {
  /** Only cases of this fork (fixture name, e.g. Cancun). */
  fork?: string
  /** Only cases whose name (`test/fork/index`) matches. */
  run?: RegExp
  /** Apply the checked-in exclusion list (default true). */
  exclusions?: boolean
  /** Keep only every n-th case of the ordered set, from offset `sample.offset` (a fixed sample). */
  sample?: { every: number; offset?: number }
}

/** Every .json file under `path` (or `path` itself), sorted, so runs are reproducible. */
export async function fixtureFiles(path: string): Promise<string[]> {
  const s = await stat(path)
  if (s.isFile()) return [path]
  const out: string[] = []
  const walk = async (dir: string) => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))
    for (const e of entries) {
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile() && e.name.endsWith('.json')) out.push(p)
    }
  }
  await walk(path)
  return out
}

export type StateTestEvent =
  | { kind: 'result'; file: string; result: StateTestResult }
  | { kind: 'skip'; file: string; name: string; fork: string; reason: string }
  | { kind: 'error'; file: string; error: string }

/** Runs the cases of `files` one by one, yielding each result (or skip, or unreadable file). */
export async function* runStateTests(
  files: readonly string[],
  filter: StateTestFilter = {},
  runner = new StateTestRunner(),
): AsyncGenerator<StateTestEvent> {
  let seq = 0
  const sample = filter.sample
  for (const file of files) {
    let cases: StateTestCase[]
    try {
      cases = fixtureCases(file, JSON.parse(await readFile(file, 'utf8')))
    } catch (e) {
      yield { kind: 'error', file, error: (e as Error).message }
      continue
    }
    for (const c of cases) {
      if (filter.fork !== undefined && c.fork !== filter.fork) continue
      if (filter.run !== undefined && !filter.run.test(c.name)) continue
      if (sample !== undefined && seq++ % sample.every !== (sample.offset ?? 0)) continue
      const excluded = filter.exclusions === false ? undefined : exclusionOf(c)
      if (excluded !== undefined) {
        yield { kind: 'skip', file, name: c.name, fork: c.fork, reason: excluded }
        continue
      }
      yield { kind: 'result', file, result: await runner.run(c) }
    }
  }
}

function exclusionOf(c: StateTestCase): string | undefined {
  for (const x of EXCLUSIONS) {
    if (x.fork !== undefined && x.fork !== c.fork) continue
    if (x.name !== undefined && x.name !== c.name && x.name !== c.test) continue
    return x.reason
  }
  return undefined
}
