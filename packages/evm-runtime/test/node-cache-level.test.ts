/** Trie nodes read straight from a LevelStateDB under the trie's CheckpointDB when no checkpoint
 * is open (state/node-cache.ts readNode): reads, roots and missing nodes are as through the
 * CheckpointDB, and an open checkpoint's writes are still seen first. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMPT, type MerklePatriciaTrie } from '@ethereumjs/mpt'
import { ValueEncoding } from '@ethereumjs/util'
import { Level } from 'level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BatchTrieUpdater } from '../src/state/batch-trie.ts'
import { installDirectFindPath } from '../src/state/find-path.ts'
import { LevelStateDB } from '../src/state/level-db.ts'
import { installNodeCache } from '../src/state/node-cache.ts'

let dir: string
let level: Level<Uint8Array, Uint8Array>

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openledger-node-cache-level-'))
  level = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await level.open()
})

afterEach(async () => {
  await level.close()
  await rm(dir, { recursive: true, force: true })
})

const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('hex') : String(b))
const key = (i: number) => Uint8Array.of(i >> 8, i & 0xff, 7)
const val = (i: number, round: number) => new Uint8Array(40).fill((i * 31 + round) & 0xff)

async function levelTrie(db: LevelStateDB): Promise<MerklePatriciaTrie> {
  return createMPT({ db, useKeyHashing: true, valueEncoding: ValueEncoding.Bytes, cacheSize: 64 })
}

async function same(a: MerklePatriciaTrie, b: MerklePatriciaTrie, n: number): Promise<void> {
  expect(hex(a.root())).toBe(hex(b.root()))
  for (let i = 0; i < n; i++) expect(hex(await a.get(key(i)))).toBe(hex(await b.get(key(i))))
}

describe('trie nodes read from the LevelStateDB below the CheckpointDB', () => {
  installNodeCache()
  installDirectFindPath()

  it('reads, checkpoints, reverts and discarded buffers as the in-memory reference trie', async () => {
    const db = new LevelStateDB(level, { cacheEntries: 1000 })
    const trie = await levelTrie(db)
    const ref = await createMPT({ useKeyHashing: true })
    const N = 300
    for (let round = 0; round < 3; round++) {
      const updates = Array.from({ length: N }, (_, i) => ({
        key: key(i),
        value: (i + round) % 7 === 0 ? null : val(i, round),
      }))
      db.beginBuffer()
      await new BatchTrieUpdater(trie).apply(updates)
      await db.commitBuffer()
      await new BatchTrieUpdater(ref).apply(updates)
      await same(trie, ref, N)
    }
    // An open checkpoint's writes come first, and go with a revert.
    const before = trie.root()
    trie.checkpoint()
    await trie.put(key(1), val(1, 99))
    await trie.del(key(2))
    expect(hex(await trie.get(key(1)))).toBe(hex(val(1, 99)))
    expect(await trie.get(key(2))).toBeNull()
    await trie.revert()
    expect(hex(trie.root())).toBe(hex(before))
    await same(trie, ref, N)
    // A discarded block's nodes are gone: its root reads as missing, the old root as before.
    db.beginBuffer()
    await new BatchTrieUpdater(trie).apply([{ key: key(5), value: val(5, 42) }])
    const discarded = trie.root()
    db.discardBuffer()
    trie.root(before)
    await same(trie, ref, N)
    const other = await levelTrie(db)
    other.root(discarded)
    await expect(other.get(key(5), true)).rejects.toThrow('Missing node in DB')
    // A fresh trie over the same LevelDB (nothing in its caches) reads what is on disk.
    const fresh = await levelTrie(new LevelStateDB(level))
    fresh.root(before)
    await same(fresh, ref, N)
  })
})
