/**
 * The address index writes behind the chain (store/address-index.ts): commits only enqueue, reads
 * wait for what was enqueued before them, several blocks go into one batch, and an unwind never
 * removes a block enqueued after it. Each case runs twice: writes through the sublevel, and
 * straight to the parent database with the keys prefixed once (how the node opens it).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AddressIndex, type IndexDb, type IndexedTx } from '../src/store/address-index.ts'
import type { ChainStore } from '../src/store/index.ts'

const SENDER = new Uint8Array(20).fill(0xaa)
const TO = new Uint8Array(20).fill(0xbb)
const hash = (n: number) => new Uint8Array(32).fill(n)
const tx = (n: number, nonce: bigint): IndexedTx => ({
  hash: hash(n),
  sender: SENDER,
  nonce,
  to: TO,
  logs: [],
})

/** The index only asks an empty chain for its head when it opens. */
const emptyStore = { headNumber: () => -1n, genesisNumber: 0n } as unknown as ChainStore

let dir: string
let level: Level<Uint8Array, Uint8Array>
let batches: number
let db: IndexDb
let prefixKey: NonNullable<IndexDb['prefixKey']>

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ol-addr-index-'))
  level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  const sub = level.sublevel<Uint8Array, Uint8Array>('ots', { keyEncoding: 'view', valueEncoding: 'view' })
  prefixKey = (k, f, l) => sub.prefixKey(k, f, l)
  batches = 0
  db = {
    get: (k, o) => sub.get(k, o),
    iterator: (o) => sub.iterator(o),
    batch: (ops, o) => {
      batches++
      return sub.batch(ops, o)
    },
  }
})

afterEach(async () => {
  await level.close()
  await rm(dir, { recursive: true, force: true })
})

async function hashes(index: AddressIndex, address: Uint8Array): Promise<number[]> {
  const page = await index.page(address, 'before', 1000n, 100)
  return page.txs.map((t) => t.hash[0]!)
}

async function nonceTx(index: AddressIndex, nonce: bigint): Promise<number | undefined> {
  return (await index.bySenderAndNonce(SENDER, nonce))?.[0]
}

describe.each([
  ['through its sublevel', false],
  ['to the parent database, keys prefixed', true],
])('AddressIndex writes behind the chain, %s', (_name, direct) => {
  const open = () =>
    direct
      ? AddressIndex.open({ ...db, prefixKey }, emptyStore, undefined, {
          batch: (ops, o) => {
            batches++
            return level.batch(ops, o)
          },
        })
      : AddressIndex.open(db, emptyStore)

  it('answers reads with every block enqueued before them, written in one batch', async () => {
    const index = await open()
    index.enqueue(1n, [tx(1, 0n)])
    index.enqueue(2n, [tx(2, 1n), tx(3, 2n)])
    index.enqueue(3n, [tx(4, 3n)])
    // Nothing awaited in between: the read itself waits for the write.
    expect(await hashes(index, TO)).toEqual([4, 3, 2, 1])
    expect(await nonceTx(index, 2n)).toBe(3)
    expect(index.head).toBe(3n)
    expect(batches).toBe(1)
    // A block at or below the last one enqueued is ignored.
    index.enqueue(3n, [tx(9, 9n)])
    await index.settled()
    expect(await hashes(index, SENDER)).toEqual([4, 3, 2, 1])
  })

  it('unwinds after the writes queued before it, and keeps blocks enqueued after it', async () => {
    const index = await open()
    index.enqueue(1n, [tx(1, 0n)])
    index.enqueue(2n, [tx(2, 1n)])
    const unwound = index.unwindTo(1n)
    // Block 2 again, on the new branch, before the unwind has run.
    index.enqueue(2n, [tx(7, 1n)])
    await unwound
    expect(await hashes(index, SENDER)).toEqual([7, 1])
    expect(await nonceTx(index, 1n)).toBe(7)
    expect(index.head).toBe(2n)
  })

  it('restart drops everything and starts from the new first block', async () => {
    const index = await open()
    index.enqueue(1n, [tx(1, 0n)])
    void index.restart(0n)
    index.enqueue(1n, [tx(5, 0n)])
    expect(await hashes(index, SENDER)).toEqual([5])
    expect(await nonceTx(index, 0n)).toBe(5)
  })
})
