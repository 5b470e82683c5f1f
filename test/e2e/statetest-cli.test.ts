/** `openledger evm statetest` as users run it: output formats and exit status. */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { runCli } from '../helpers/dev-node.ts'

const SHARED = process.env.OPENLEDGER_SHARED ?? fileURLToPath(new URL('../../../shared', import.meta.url))
const ADD11 = join(SHARED, 'ethereum-tests/GeneralStateTests/stExample/add11.json')
const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

function fixture(): string {
  if (!existsSync(ADD11))
    throw new Error(`${ADD11} not found: set OPENLEDGER_SHARED to the directory holding ethereum-tests/`)
  return ADD11
}

it('--json prints go-ethereum result objects and exits 0 when all pass', async () => {
  const r = await runCli(['evm', 'statetest', fixture(), '--json'])
  expect(r.code).toBe(0)
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  expect(lines).toEqual([
    {
      name: 'add11/Cancun/0',
      pass: true,
      stateRoot: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      fork: 'Cancun',
    },
  ])
  expect(r.stderr).toMatch(/1 cases, 1 passed, 0 failed, 0 excluded, 1 files, [\d.]+ s, [\d.]+ cases\/s/)
})

it('exits 1 when a case fails, naming it and why', async () => {
  const json = JSON.parse(await readFile(fixture(), 'utf8'))
  json.add11.post.Cancun[0].hash = `0x${'11'.repeat(32)}`
  const dir = await mkdtemp(join(tmpdir(), 'statetest-cli-'))
  dirs.push(dir)
  await writeFile(join(dir, 'bad.json'), JSON.stringify(json))
  const text = await runCli(['evm', 'statetest', dir])
  expect(text.code).toBe(1)
  expect(text.stdout).toMatch(
    /^FAIL add11\/Cancun\/0: post state root mismatch: got 0x[0-9a-f]{64}, want 0x1{64}$/m,
  )
  const j = await runCli(['evm', 'statetest', dir, '--json'])
  expect(JSON.parse(j.stdout.trim())).toMatchObject({ name: 'add11/Cancun/0', pass: false, fork: 'Cancun' })
})

it('--fork and --run select cases; a bad path or regex is a usage error', async () => {
  const none = await runCli(['evm', 'statetest', fixture(), '--fork', 'Prague'])
  expect(none.code).toBe(0)
  expect(none.stderr).toMatch(/^0 cases/m)
  const run = await runCli(['evm', 'statetest', fixture(), '--run', '^add11/Cancun/0$'])
  expect(run.stdout.trim()).toBe('pass add11/Cancun/0')
  const missing = await runCli(['evm', 'statetest', '/nonexistent/dir'])
  expect(missing.code).toBe(2)
  expect(missing.stderr).toMatch(/cannot read \/nonexistent\/dir/)
  const badRe = await runCli(['evm', 'statetest', fixture(), '--run', '('])
  expect(badRe.code).toBe(2)
  expect(badRe.stderr).toMatch(/--run: invalid regular expression/)
})

it('--jobs runs files on worker threads with the same output, in the same order', async () => {
  const dir = join(fixture(), '..')
  const one = await runCli(['evm', 'statetest', dir, '--json'])
  const two = await runCli(['evm', 'statetest', dir, '--json', '--jobs', '2'])
  expect(one.code).toBe(0)
  expect(two.code).toBe(0)
  expect(one.stdout.trim().split('\n').length).toBeGreaterThan(10)
  expect(two.stdout).toBe(one.stdout)
  expect(two.stderr).toMatch(/(\d+) cases, \1 passed, 0 failed, 0 excluded/)
  // A failing case fails a parallel run as it fails a single-threaded one.
  const json = JSON.parse(await readFile(fixture(), 'utf8'))
  json.add11.post.Cancun[0].hash = `0x${'11'.repeat(32)}`
  const bad = await mkdtemp(join(tmpdir(), 'statetest-jobs-'))
  dirs.push(bad)
  await writeFile(join(bad, 'a.json'), JSON.stringify(json))
  await writeFile(join(bad, 'b.json'), await readFile(fixture(), 'utf8'))
  const failed = await runCli(['evm', 'statetest', bad, '--jobs', '2'])
  expect(failed.code).toBe(1)
  expect(failed.stdout.trim().split('\n')).toEqual([
    expect.stringMatching(/^FAIL add11\/Cancun\/0: post state root mismatch/),
    'pass add11/Cancun/0',
  ])
  const zero = await runCli(['evm', 'statetest', dir, '--jobs', '0'])
  expect(zero.code).toBe(2)
  expect(zero.stderr).toMatch(/--jobs: expected a whole number from 1 to 256/)
}, 120_000)
