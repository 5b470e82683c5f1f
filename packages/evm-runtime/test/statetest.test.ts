/**
 * Ethereum's GeneralStateTests through the chain's block execution (src/statetest). `pnpm test`
 * runs a fixed, deterministic sample (every SAMPLE_EVERY-th case of the sorted set, all forks);
 * `pnpm statetest` runs all of it (README). The runner itself is checked against tampered fixtures.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { EXCLUSIONS, fixtureFiles, runStateTests, StateTestRunner } from '../src/statetest/index.ts'

const REPO = fileURLToPath(new URL('../../..', import.meta.url))
const SHARED = process.env.OPENLEDGER_SHARED ?? join(REPO, '..', 'shared')
const TESTS = join(SHARED, 'ethereum-tests', 'GeneralStateTests')
/** Every 20th case: ~1,000 cases, every directory represented. */
const SAMPLE_EVERY = Number(process.env.STATETEST_SAMPLE_EVERY ?? 20)

function requireFixtures(): void {
  if (!existsSync(TESTS))
    throw new Error(
      `GeneralStateTests not found at ${TESTS}: set OPENLEDGER_SHARED to the directory holding ethereum-tests/`,
    )
}

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

describe('GeneralStateTests', () => {
  it(`a fixed sample (every ${SAMPLE_EVERY}th case) passes`, async () => {
    requireFixtures()
    const files = await fixtureFiles(TESTS)
    const failures: string[] = []
    let cases = 0
    for await (const ev of runStateTests(files, { sample: { every: SAMPLE_EVERY } })) {
      if (ev.kind === 'error') failures.push(`${ev.file}: ${ev.error}`)
      if (ev.kind !== 'result') continue
      cases++
      if (!ev.result.pass) failures.push(`${ev.result.name}: ${ev.result.error}`)
    }
    expect(failures).toEqual([])
    expect(cases).toBeGreaterThan(19_000 / SAMPLE_EVERY)
  }, 1_800_000)

  it('the exclusion list names what it excludes and why', () => {
    for (const x of EXCLUSIONS) {
      expect(x.fork !== undefined || x.name !== undefined).toBe(true)
      expect(x.reason.length).toBeGreaterThan(20)
    }
  })
})

describe('the runner', () => {
  async function tampered(file: string, edit: (json: Record<string, any>) => void) {
    requireFixtures()
    const json = JSON.parse(await readFile(join(TESTS, file), 'utf8'))
    edit(json)
    const dir = await mkdtemp(join(tmpdir(), 'statetest-'))
    dirs.push(dir)
    const path = join(dir, 'case.json')
    await writeFile(path, JSON.stringify(json))
    const results = []
    for await (const ev of runStateTests([path])) if (ev.kind === 'result') results.push(ev.result)
    return results
  }

  it('fails a case whose expected root or logs differ from execution', async () => {
    const [good] = await tampered('stExample/add11.json', () => undefined)
    expect(good).toMatchObject({ name: 'add11/Cancun/0', pass: true, fork: 'Cancun' })
    const [badRoot] = await tampered('stExample/add11.json', (j) => {
      j.add11.post.Cancun[0].hash = `0x${'11'.repeat(32)}`
    })
    expect(badRoot!.pass).toBe(false)
    expect(badRoot!.error).toMatch(/post state root mismatch/)
    expect(badRoot!.stateRoot).toBe(good!.stateRoot)
    const [badLogs] = await tampered('stExample/add11.json', (j) => {
      j.add11.post.Cancun[0].logs = `0x${'22'.repeat(32)}`
    })
    expect(badLogs!.error).toMatch(/logs hash mismatch/)
  })

  it('rejects (does not execute) a transaction the fixture expects to fail, and fails a case that expects a rejection of a valid one', async () => {
    // A valid transaction with a made-up expectException: executed, so the case fails.
    const [wrongExpectation] = await tampered('stExample/add11.json', (j) => {
      j.add11.post.Cancun[0].expectException = 'TransactionException.INSUFFICIENT_ACCOUNT_FUNDS'
    })
    expect(wrongExpectation!.pass).toBe(false)
    expect(wrongExpectation!.error).toMatch(/expected exception/)
    // Sender too poor for gas × price + value: rejected, state untouched but for the coinbase touch.
    const [poor] = await tampered('stExample/add11.json', (j) => {
      const sender = j.add11.transaction.sender.toLowerCase()
      const key = Object.keys(j.add11.pre).find((k) => k.toLowerCase() === sender)!
      j.add11.pre[key].balance = '0x01'
      j.add11.post.Cancun[0].expectException = 'TransactionException.INSUFFICIENT_ACCOUNT_FUNDS'
    })
    expect(poor!.pass).toBe(true)
  })

  it('a runner reused across cases gives the same answers as fresh ones', async () => {
    requireFixtures()
    const files = (await fixtureFiles(join(TESTS, 'stExample'))).slice(0, 6)
    const shared = new StateTestRunner()
    for await (const ev of runStateTests(files, {}, shared)) {
      if (ev.kind !== 'result') continue
      const fresh: (typeof ev.result)[] = []
      const exact = new RegExp(`^${ev.result.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
      for await (const f of runStateTests([ev.file], { run: exact }))
        if (f.kind === 'result') fresh.push(f.result)
      expect(fresh).toEqual([ev.result])
    }
  })
})
