/**
 * Crash safety with a real process: a child appends records in a loop and prints each height only
 * after `append` resolved (i.e. after fdatasync). It is SIGKILLed at a random point; reopening must
 * return every acknowledged record, in order, and at most the one append that was in flight.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, expect, it } from 'vitest'
import { ConsensusWal } from '../src/consensus/wal.ts'
import { makeRecord } from './fixtures/wal-records.ts'

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const walModule = pathToFileURL(join(packageDir, 'src/consensus/wal.ts')).href
const recordsModule = pathToFileURL(join(packageDir, 'test/fixtures/wal-records.ts')).href

// Record sizes vary (up to ~40 KB) so the kill can land inside writes of different lengths.
// Every 7th height is also pruned so a kill can hit a rewrite too.
const CHILD = `
import { ConsensusWal } from '${walModule}'
import { makeRecord } from '${recordsModule}'
const kinds = ['PROPOSAL', 'PREPARE', 'COMMIT', 'ROUND_CHANGE']
const { wal } = await ConsensusWal.open(process.argv[1], { pruneMinBytes: 32 * 1024 })
for (let h = BigInt(process.argv[2]); ; h++) {
  const i = Number(h % 4n)
  await wal.append(makeRecord(kinds[i], h, i, { messageBytes: 50 + Number(h % 13n) * 3000, certificateBytes: 100 }))
  process.stdout.write(h + '\\n')
  if (h % 7n === 0n) await wal.prune(h - 20n)
}
`

let child: ChildProcess | undefined
let dir: string | undefined

afterEach(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** Start the writer at `from`, SIGKILL it after `target` acknowledged appends; returns the acked heights. */
async function runAndKill(path: string, from: bigint, target: number): Promise<bigint[]> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', CHILD, path, String(from)],
    {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  child = proc
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<void>((res) => proc.once('exit', () => res()))
  const acked: bigint[] = []
  let buf = ''
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`writer too slow; stderr: ${stderr}`)), 30_000)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      rej(new Error(`writer exited early (${code}): ${stderr}`))
    })
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n')
      buf = lines.pop()!
      for (const l of lines) acked.push(BigInt(l))
      if (acked.length >= target && proc.signalCode === null) {
        clearTimeout(timer)
        proc.kill('SIGKILL')
        res()
      }
    })
  })
  await exited
  expect(proc.signalCode).toBe('SIGKILL')
  return acked
}

it('keeps every acknowledged record across 5 SIGKILLs', async () => {
  dir = await mkdtemp(join(tmpdir(), 'wal-crash-'))
  const path = join(dir, 'consensus.wal')
  let next = 1n
  const extras = new Set<bigint>()
  for (let run = 0; run < 5; run++) {
    const acked = await runAndKill(path, next, 20 + Math.floor(Math.random() * 60))
    const last = acked.at(-1)!
    expect(acked[0]).toBe(next)
    const { wal, records } = await ConsensusWal.open(path)
    const heights = records.map((r) => r.height)
    // Contiguous and in order (the prune floor moves, so the first height varies).
    heights.forEach((h, i) => {
      if (i > 0) expect(h).toBe(heights[i - 1]! + 1n)
    })
    const top = heights.at(-1)!
    // Everything acknowledged is there; beyond it at most the append that was in flight.
    expect(top === last || top === last + 1n).toBe(true)
    // Prune (after acking h) keeps heights > h - 20, so all recent acknowledged heights survive it.
    expect(heights[0]! <= last - 19n || heights[0] === 1n).toBe(true)
    for (const r of records) {
      if (extras.has(r.height)) continue
      const i = Number(r.height % 4n)
      const expected = makeRecord(
        (['PROPOSAL', 'PREPARE', 'COMMIT', 'ROUND_CHANGE'] as const)[i]!,
        r.height,
        i,
        {
          messageBytes: 50 + Number(r.height % 13n) * 3000,
          certificateBytes: 100,
        },
      )
      expect(Buffer.from(r.message).equals(expected.message)).toBe(true)
      expect([r.kind, r.round]).toEqual([expected.kind, i])
    }
    // The recovered file takes appends cleanly.
    await wal.append(makeRecord('PREPARE', top + 1n, 1))
    extras.add(top + 1n)
    await wal.close()
    const again = await ConsensusWal.open(path)
    expect(again.records.at(-1)!.height).toBe(top + 1n)
    expect(again.recovered.truncatedBytes).toBe(0)
    await again.wal.close()
    next = top + 2n
  }
})
