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

describe('LevelStateDB deferred commits (the node writes them in its block batch)', () => {
  it('holds every commit until taken, keeps taken writes readable until they land, re-holds them when the batch fails', async () => {
    const writer = new LevelStateDB(db, { cacheEntries: 100 })
    const reader = writer.reader({ cacheEntries: 100 })
    writer.deferCommits()
    expect(writer.takeHeld()).toBeUndefined()
    writer.beginBuffer()
    await writer.put(k(1), v(1))
    await writer.commitBuffer()
    expect(await disk(k(1))).toBeUndefined()
    expect(await reader.getPersisted(k(1))).toEqual(v(1))

    // Taken, and the caller's batch fails: readable throughout, held again, taken again.
    const first = writer.takeHeld()!
    expect(first.ops.map((o) => [o.type, Uint8Array.from(o.key)])).toEqual([['put', k(1)]])
    expect(writer.takeHeld()).toBeUndefined()
    expect(await writer.get(k(1))).toEqual(v(1))
    expect(await reader.getPersisted(k(1))).toEqual(v(1))
    first.failed()
    expect(await reader.getPersisted(k(1))).toEqual(v(1))

    // A later block's commit joins it; the caller writes them (here: plainly) and reports landing.
    writer.beginBuffer()
    await writer.put(k(2), v(2))
    await writer.commitBuffer()
    const second = writer.takeHeld()!
    expect(second.ops.map((o) => Uint8Array.from(o.key)).sort((a, b) => a[0]! - b[0]!)).toEqual([k(1), k(2)])
    // Taken but not landed: still readable while the caller's batch is in flight.
    expect(await reader.getPersisted(k(2))).toEqual(v(2))
    await db.batch(second.ops as Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }>)
    second.landed()
    second.failed() // settled once: a late failure changes nothing
    expect(writer.takeHeld()).toBeUndefined()
    for (const i of [1, 2]) {
      expect(await disk(k(i))).toEqual(v(i))
      expect(await reader.getPersisted(k(i))).toEqual(v(i))
    }
  })

  it('writes a `through` commit at once, together with everything held', async () => {
    const writer = new LevelStateDB(db, { cacheEntries: 100 })
    writer.deferCommits()
    writer.beginBuffer()
    await writer.put(k(1), v(1))
    await writer.commitBuffer()
    writer.beginBuffer()
    await writer.put(k(2), v(2))
    await writer.commitBuffer({ through: true })
    for (const i of [1, 2]) expect(await disk(k(i))).toEqual(v(i))
    expect(writer.takeHeld()).toBeUndefined()
    // Block sync's hold released: commits are still deferred.
    writer.holdCommits()
    await writer.flushHeld(true)
    writer.beginBuffer()
    await writer.put(k(3), v(3))
    await writer.commitBuffer()
    expect(await disk(k(3))).toBeUndefined()
    expect(writer.takeHeld()?.ops).toHaveLength(1)
  })
})
