/** The state database adapter's write buffer and held commits (block sync writes a run of blocks'
 * state in one batch): held writes are readable by the writer and its readers, on disk only after
 * the flush, and a discarded buffer never reaches either. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LevelStateDB } from '../src/state/level-db.ts'

let dir: string
let db: Level<Uint8Array, Uint8Array>

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openledger-level-db-'))
  db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
})

afterEach(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

const k = (i: number) => new Uint8Array(32).fill(i)
const v = (i: number) => Uint8Array.of(i, i, i)
/** What is on disk (classic-level hands out Buffers). */
const disk = async (key: Uint8Array) => {
  const got = await db.get(key)
  return got === undefined ? undefined : Uint8Array.from(got)
}

describe('LevelStateDB held commits', () => {
  it('keeps committed buffers readable but off disk until flushed, then writes them all', async () => {
    const writer = new LevelStateDB(db, { cacheEntries: 100 })
    const reader = writer.reader({ cacheEntries: 100 })
    writer.holdCommits()
    for (const i of [1, 2]) {
      writer.beginBuffer()
      await writer.put(k(i), v(i))
      await writer.commitBuffer()
    }
    // A third block fails: its buffer is dropped and never held.
    writer.beginBuffer()
    await writer.put(k(3), v(3))
    writer.discardBuffer()
    for (const i of [1, 2]) {
      expect(await writer.get(k(i))).toEqual(v(i))
      expect(await reader.getPersisted(k(i))).toEqual(v(i))
      expect(await disk(k(i))).toBeUndefined()
    }
    expect(await writer.get(k(3))).toBeUndefined()
    expect(await writer.flushHeld()).toBe(2)
    for (const i of [1, 2]) expect(await disk(k(i))).toEqual(v(i))
    expect(await disk(k(3))).toBeUndefined()
    // Still holding: the next commit waits for the next flush; released, commits write through.
    writer.beginBuffer()
    await writer.put(k(4), v(4))
    await writer.commitBuffer()
    expect(await disk(k(4))).toBeUndefined()
    expect(await writer.flushHeld(true)).toBe(1)
    expect(await disk(k(4))).toEqual(v(4))
    writer.beginBuffer()
    await writer.put(k(5), v(5))
    await writer.commitBuffer()
    expect(await disk(k(5))).toEqual(v(5))
    expect(await writer.flushHeld()).toBe(0)
  })
})
