/**
 * A fixed sample of OpenZeppelin Contracts' own test suite (shared/compat) against a real
 * `openledger dev` and against `hardhat node` in the same run (the full suite: `pnpm compat`).
 * Every sample file passes on hardhat node, so it must pass on openledger dev with the same counts.
 * The first run on a machine installs the suite's toolchain and compiles it (minutes; the work
 * directory keeps both for later runs).
 */
import { describe, expect, it } from 'vitest'
import { filePasses } from '../../compat/lib/run.ts'
import { formatTable, runCompat, SAMPLE } from '../../compat/openzeppelin.ts'

describe('OpenZeppelin Contracts suite (sample)', () => {
  it(
    'every sample file passes on openledger dev as on hardhat node',
    async () => {
      const lines: string[] = []
      const report = await runCompat({ files: SAMPLE, timeoutMs: 10 * 60_000, log: (s) => lines.push(s) })
      const table = formatTable(report)
      process.stdout.write(`\n${table}\n`)
      for (const row of report.results) {
        expect(row.hardhat && filePasses(row.hardhat), `${row.file} passes on hardhat node\n${table}`).toBe(
          true,
        )
        expect(row.openledger && filePasses(row.openledger), `${row.file} on openledger dev\n${table}`).toBe(
          true,
        )
        expect(row.openledger!.passing, row.file).toBe(row.hardhat!.passing)
      }
      expect(report.regressions).toEqual([])
    },
    60 * 60_000,
  )
})
