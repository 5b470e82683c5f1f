import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { crc32 } from 'node:zlib'
import type { SignedRecord } from '@openledger/consensus'
import { Packr } from 'msgpackr'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConsensusWal, WalError, walHistory } from '../src/consensus/wal.ts'
import { HEADER_BYTES, walHeader } from '../src/consensus/wal-format.ts'
import { heightRecords, KINDS, makeRecord } from './fixtures/wal-records.ts'

let dir: string
let path: string
const open: ConsensusWal[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wal-'))
  path = join(dir, 'consensus.wal')
})

afterEach(async () => {
  for (const w of open.splice(0)) await w.close().catch(() => {})
  await rm(dir, { recursive: true, force: true })
})

async function openWal(p = path, opts?: Parameters<typeof ConsensusWal.open>[1]) {
  const r = await ConsensusWal.open(p, opts)
  open.push(r.wal)
  return r
}

async function writeRecords(records: readonly SignedRecord[]): Promise<number[]> {
  const { wal } = await openWal()
  const ends: number[] = []
  for (const r of records) {
    await wal.append(r)
    ends.push(wal.size())
  }
  await wal.close()
  return ends
}

/** Deep equality that also requires plain Uint8Arrays (no Buffer subclasses). */
function expectSameRecords(actual: readonly SignedRecord[], expected: readonly SignedRecord[]): void {
  // Compared as hex: element-wise toEqual on many Uint8Arrays dominates the torn-tail loop.
  expect(actual.map(show)).toEqual(expected.map(show))
  for (const r of actual)
    for (const b of [r.digest, r.message, r.certificate])
      if (b !== undefined) expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype)
}

function show(r: SignedRecord): string {
  const hex = (b: Uint8Array | undefined) => (b === undefined ? '-' : Buffer.from(b).toString('hex'))
  return [
    r.kind,
    r.height,
    r.round,
    hex(r.digest),
    hex(r.message),
    hex(r.certificate),
    Object.keys(r).length,
  ].join('/')
}

function expectWalError(e: unknown, code: string): void {
  expect(e).toBeInstanceOf(WalError)
  expect((e as WalError).code).toBe(code)
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

describe('ConsensusWal append and reopen', () => {
  it('creates a header-only file and reopens it empty', async () => {
    const { wal, records, recovered } = await openWal()
    expect(records).toEqual([])
    expect(recovered).toEqual({ records: 0, truncatedBytes: 0 })
    expect(wal.size()).toBe(HEADER_BYTES)
    expect(new Uint8Array(await readFile(path))).toEqual(walHeader())
    await wal.close()
    expect((await openWal()).records).toEqual([])
  })

  it('round-trips all four kinds, with certificate, in order', async () => {
    const recs = [...heightRecords(1n), ...heightRecords(2n, 3), makeRecord('COMMIT', 2n ** 70n, 0x7fffffff)]
    const ends = await writeRecords(recs)
    expect((await stat(path)).size).toBe(ends.at(-1))
    const { records, recovered, wal } = await openWal()
    expectSameRecords(records, recs)
    expect(records.map((r) => r.kind)).toContain('ROUND_CHANGE')
    expect(new Set(records.map((r) => r.kind))).toEqual(new Set(KINDS))
    expect(records[2]!.certificate).toBeDefined()
    expect(records[1]!.certificate).toBeUndefined()
    expect(recovered).toEqual({ records: recs.length, truncatedBytes: 0 })
    expect(wal.size()).toBe(ends.at(-1))
  })

  it('serialises concurrent appends in call order', async () => {
    const { wal } = await openWal()
    const recs = Array.from({ length: 40 }, (_, i) => makeRecord(KINDS[i % 4]!, BigInt(i), i % 3))
    await Promise.all(recs.map((r) => wal.append(r)))
    await wal.close()
    expectSameRecords((await openWal()).records, recs)
  })

  it('rejects malformed records without writing anything', async () => {
    const { wal } = await openWal()
    const good = makeRecord('PREPARE', 5n, 0)
    const bad: unknown[] = [
      null,
      { ...good, kind: 'VOTE' },
      { ...good, height: 5 },
      { ...good, height: -1n },
      { ...good, round: -1 },
      { ...good, round: 1.5 },
      { ...good, round: 2 ** 31 },
      { ...good, digest: new Uint8Array(31) },
      { ...good, digest: 'aa'.repeat(32) },
      { ...good, message: new Uint8Array(0) },
      { ...good, certificate: [1, 2] },
    ]
    for (const b of bad) expectWalError(await rejection(wal.append(b as SignedRecord)), 'INVALID_RECORD')
    expect(wal.size()).toBe(HEADER_BYTES)
    await wal.append(good)
    expectWalError(await rejection(wal.prune(3 as unknown as bigint)), 'INVALID_ARGUMENT')
    await wal.close()
    expectSameRecords((await openWal()).records, [good])
  })

  it('refuses use after close', async () => {
    const { wal } = await openWal()
    await wal.append(makeRecord('PREPARE', 1n, 0))
    await wal.close()
    expectWalError(await rejection(wal.append(makeRecord('PREPARE', 2n, 0))), 'CLOSED')
    expectWalError(await rejection(wal.prune(5n)), 'CLOSED')
    await wal.close()
  })

  it('walHistory keeps only records above the committed head', () => {
    const recs = [...heightRecords(4n), ...heightRecords(5n), ...heightRecords(6n)]
    expect(walHistory(recs, 4n)).toEqual([...heightRecords(5n), ...heightRecords(6n)])
    expect(walHistory(recs, 6n)).toEqual([])
  })
})

describe('ConsensusWal format', () => {
  const fixture = fileURLToPath(new URL('./fixtures/wal-v1.bin', import.meta.url))
  const fixtureRecords = [...heightRecords(1n), ...heightRecords(2n ** 64n + 5n, 2)]

  it('reads the version-1 golden file', async () => {
    await writeFile(path, await readFile(fixture))
    const { records, recovered } = await openWal()
    expectSameRecords(records, fixtureRecords)
    expect(recovered).toEqual({ records: 8, truncatedBytes: 0 })
  })

  it('writes byte-identical version-1 frames (format is pinned)', async () => {
    await writeRecords(fixtureRecords)
    expect(await readFile(path)).toEqual(await readFile(fixture))
  })
})

describe('ConsensusWal recovery', () => {
  it('cuts a torn last frame at every byte offset, then appends cleanly', async () => {
    const recs = [...heightRecords(7n).slice(0, 3), makeRecord('COMMIT', 8n, 1, { certificateBytes: 60 })]
    const ends = await writeRecords(recs)
    const full = await readFile(path)
    const lastStart = ends[2]!
    const extra = makeRecord('ROUND_CHANGE', 9n, 2)
    for (let cut = lastStart; cut < full.length; cut++) {
      await writeFile(path, full.subarray(0, cut))
      const { wal, records, recovered } = await ConsensusWal.open(path)
      expectSameRecords(records, recs.slice(0, 3))
      expect(recovered).toEqual({ records: 3, truncatedBytes: cut - lastStart })
      expect((await stat(path)).size).toBe(lastStart)
      await wal.append(extra)
      await wal.close()
      const again = await ConsensusWal.open(path)
      expectSameRecords(again.records, [...recs.slice(0, 3), extra])
      expect(again.recovered.truncatedBytes).toBe(0)
      await again.wal.close()
    }
  })

  it('treats a zero-filled tail (size extended, data never written) as torn', async () => {
    const recs = heightRecords(3n)
    const ends = await writeRecords(recs)
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.alloc(4096)]))
    const { records, recovered } = await openWal()
    expectSameRecords(records, recs)
    expect(recovered.truncatedBytes).toBe(4096)
    expect((await stat(path)).size).toBe(ends.at(-1))
  })

  it('drops the last frame when its payload has a flipped byte', async () => {
    const recs = heightRecords(11n)
    const ends = await writeRecords(recs)
    const buf = await readFile(path)
    buf[ends[2]! + 8 + 10]! ^= 0x01
    await writeFile(path, buf)
    const { records, recovered } = await openWal()
    expectSameRecords(records, recs.slice(0, 3))
    expect(recovered.truncatedBytes).toBe(ends[3]! - ends[2]!)
  })

  it('refuses to open when a middle frame is damaged (payload, checksum or length)', async () => {
    const recs = heightRecords(12n)
    const ends = await writeRecords(recs)
    const pristine = await readFile(path)
    // payload byte, crc byte, low and high length bytes of the second frame
    for (const at of [ends[0]! + 8 + 5, ends[0]! + 5, ends[0]! + 3, ends[0]!]) {
      const buf = Buffer.from(pristine)
      buf[at]! ^= 0x40
      await writeFile(path, buf)
      const e = await rejection(ConsensusWal.open(path))
      expectWalError(e, 'CORRUPT')
      expect((e as Error).message).toMatch(/record 2 at offset/)
      // Refusing must not modify the file.
      expect(await readFile(path)).toEqual(buf)
    }
  })

  it('checksum-valid frame with a bad shape: torn when last, corruption when in the middle', async () => {
    const packr = new Packr({ useRecords: false, moreTypes: false })
    const frame = (payload: Uint8Array) => {
      const f = Buffer.alloc(8 + payload.length)
      f.writeUInt32BE(payload.length, 0)
      f.writeUInt32BE(crc32(payload), 4)
      f.set(payload, 8)
      return f
    }
    const good = makeRecord('PREPARE', 20n, 0)
    const shapes = [
      packr.pack(['VOTE', '20', 0, new Uint8Array(32), new Uint8Array(5)]),
      packr.pack(['PREPARE', '020', 0, new Uint8Array(32), new Uint8Array(5)]),
      packr.pack(['PREPARE', '20', 0, new Uint8Array(31), new Uint8Array(5)]),
      packr.pack(['PREPARE', '20', -1, new Uint8Array(32), new Uint8Array(5)]),
      packr.pack(['PREPARE', '20', 0, new Uint8Array(32), new Uint8Array(5), null]),
      packr.pack({ kind: 'PREPARE' }),
      new Uint8Array([0xc1]),
    ]
    await writeRecords([good])
    const base = await readFile(path)
    for (const s of shapes) {
      await writeFile(path, Buffer.concat([base, frame(s)]))
      const r = await ConsensusWal.open(path)
      expectSameRecords(r.records, [good])
      expect(r.recovered.truncatedBytes).toBe(8 + s.length)
      await r.wal.close()
      const goodFrame = base.subarray(HEADER_BYTES)
      await writeFile(path, Buffer.concat([base, frame(s), goodFrame]))
      expectWalError(await rejection(ConsensusWal.open(path)), 'CORRUPT')
    }
  })

  it('rejects files that are not a WAL', async () => {
    await writeFile(path, 'hello world, not a wal at all')
    expectWalError(await rejection(ConsensusWal.open(path)), 'BAD_HEADER')
    await writeFile(path, walHeader().subarray(0, 5))
    expectWalError(await rejection(ConsensusWal.open(path)), 'BAD_HEADER')
    const v2 = walHeader()
    v2[HEADER_BYTES - 1] = 2
    await writeFile(path, v2)
    const e = await rejection(ConsensusWal.open(path))
    expectWalError(e, 'BAD_HEADER')
    expect((e as Error).message).toMatch(/version 2/)
    const sub = join(dir, 'a-directory')
    await mkdir(sub)
    expectWalError(await rejection(ConsensusWal.open(sub)), 'IO')
    expectWalError(await rejection(ConsensusWal.open(join(dir, 'missing', 'x.wal'))), 'IO')
    expectWalError(await rejection(ConsensusWal.open('')), 'INVALID_ARGUMENT')
    expectWalError(await rejection(ConsensusWal.open(path, { pruneMinBytes: -1 })), 'INVALID_ARGUMENT')
    expectWalError(await rejection(ConsensusWal.open(path, { pruneEveryHeights: 0n })), 'INVALID_ARGUMENT')
  })
})

describe('ConsensusWal prune', () => {
  const all = [1n, 2n, 3n, 4n, 5n, 6n].flatMap((h) => heightRecords(h))

  it('keeps only records above the committed height, in order', async () => {
    const { wal } = await openWal(path, { pruneMinBytes: 0 })
    for (const r of all) await wal.append(r)
    const before = wal.size()
    await wal.prune(4n)
    const kept = all.filter((r) => r.height > 4n)
    expect(wal.size()).toBeLessThan(before)
    expect((await stat(path)).size).toBe(wal.size())
    const extra = makeRecord('PREPARE', 7n, 0)
    await wal.append(extra)
    await wal.close()
    const r = await openWal()
    expectSameRecords(r.records, [...kept, extra])
    await r.wal.prune(100n)
    await r.wal.close()
    // Nothing is due under the default size threshold, so that prune kept everything.
    expectSameRecords((await openWal()).records, [...kept, extra])
  })

  it('is a no-op when nothing can be dropped or the file is small, and rewrites every N heights', async () => {
    const { wal } = await openWal(path, { pruneEveryHeights: 3n })
    for (const r of all) await wal.append(r)
    const ino = (await stat(path)).ino
    await wal.prune(0n) // nothing at or below height 0
    await wal.prune(1n) // small file; starts the every-3-heights count
    await wal.prune(2n)
    expect((await stat(path)).ino).toBe(ino)
    await wal.prune(4n) // 3 heights since the count started: rewrite
    expect((await stat(path)).ino).not.toBe(ino)
    await wal.close()
    expectSameRecords(
      (await openWal()).records,
      all.filter((r) => r.height > 4n),
    )
  })

  it('rewrites once the file passes the size threshold', async () => {
    const { wal } = await openWal(path, { pruneMinBytes: 4096 })
    const ino = (await stat(path)).ino
    await wal.append(makeRecord('PREPARE', 1n, 0))
    await wal.append(makeRecord('PREPARE', 2n, 0))
    await wal.prune(1n)
    expect((await stat(path)).ino).toBe(ino)
    while (wal.size() < 4096) await wal.append(makeRecord('PROPOSAL', 2n, 1, { messageBytes: 1000 }))
    await wal.prune(1n)
    expect((await stat(path)).ino).not.toBe(ino)
    expect((await openWal()).records.every((r) => r.height === 2n)).toBe(true)
  })

  it('ignores and removes a temp file left by an interrupted prune', async () => {
    await writeRecords(all)
    const original = await readFile(path)
    const tmp = `${path}.prune-tmp`
    // Interrupted before its fsync: partial garbage.
    await writeFile(tmp, original.subarray(0, 100))
    let r = await openWal()
    expectSameRecords(r.records, all)
    await expect(stat(tmp)).rejects.toThrow(/ENOENT/)
    await r.wal.close()
    // Interrupted after the fsync but before the rename: a complete pruned image, still ignored.
    const pruned = await openWal(join(dir, 'other.wal'), { pruneMinBytes: 0 })
    for (const x of all) await pruned.wal.append(x)
    await pruned.wal.prune(5n)
    await pruned.wal.close()
    await writeFile(tmp, await readFile(join(dir, 'other.wal')))
    r = await openWal()
    expectSameRecords(r.records, all)
    expect(await readFile(path)).toEqual(original)
    await expect(stat(tmp)).rejects.toThrow(/ENOENT/)
  })

  it('a failed prune leaves the old file in use', async () => {
    const { wal } = await openWal(path, { pruneMinBytes: 0 })
    for (const r of all) await wal.append(r)
    // A directory squatting on the temp name makes the rewrite fail before any rename.
    await mkdir(`${path}.prune-tmp`)
    expectWalError(await rejection(wal.prune(3n)), 'IO')
    const extra = makeRecord('COMMIT', 7n, 0, { certificateBytes: 10 })
    await wal.append(extra)
    await wal.close()
    await rm(`${path}.prune-tmp`, { recursive: true })
    expectSameRecords((await openWal()).records, [...all, extra])
  })

  it('serialises prune with concurrent appends', async () => {
    const { wal } = await openWal(path, { pruneMinBytes: 0 })
    const ops: Promise<void>[] = []
    for (const h of [1n, 2n, 3n, 4n]) {
      for (const r of heightRecords(h)) ops.push(wal.append(r))
      ops.push(wal.prune(h - 1n))
    }
    await Promise.all(ops)
    await wal.close()
    expectSameRecords((await openWal()).records, heightRecords(4n))
  })
})

describe('ConsensusWal latency', () => {
  it('measures append+fsync latency over 200 appends', async () => {
    const { wal } = await openWal()
    const samples: number[] = []
    const recs = Array.from({ length: 200 }, (_, i) => makeRecord(KINDS[i % 4]!, BigInt(i + 1), 0))
    for (const r of recs) {
      const t0 = performance.now()
      await wal.append(r)
      samples.push(performance.now() - t0)
    }
    await wal.close()
    samples.sort((a, b) => a - b)
    const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor((samples.length * p) / 100))]!
    console.log(
      `WAL append+fdatasync over ${samples.length} appends (${tmpdir()}): ` +
        `p50=${pct(50).toFixed(3)}ms p99=${pct(99).toFixed(3)}ms max=${samples.at(-1)!.toFixed(3)}ms`,
    )
    expectSameRecords((await openWal()).records, recs)
  })
})
