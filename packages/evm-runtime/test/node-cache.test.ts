/** The decoded-node cache must answer exactly as decoding the stored bytes, and stay out of reach
 * of the library's in-place node updates. */
import { createMPT, MerklePatriciaTrie } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BatchTrieUpdater } from '../src/state/batch-trie.ts'
import { decodeStoredNode, installNodeCache, originalLookupNode } from '../src/state/node-cache.ts'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const key = fc.uint8Array({ minLength: 1, maxLength: 4 })
const value = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 70 }), fc.constant(null))

/** Every node stored in `trie`'s database, as the values the database hands out. */
async function storedNodes(trie: MerklePatriciaTrie): Promise<Uint8Array[]> {
  const db = (trie as unknown as { _db: { db: { _database: Map<string, Uint8Array> } } })._db.db
  return [...db._database.values()]
}

/** Nested lists of bytes → hex, for deep comparison. */
const show = (x: unknown): unknown => (x instanceof Uint8Array ? hex(x) : (x as unknown[]).map(show))

describe('decoded-node cache', () => {
  installNodeCache()

  it('is installed on the library trie', () => {
    expect(MerklePatriciaTrie.prototype.lookupNode).not.toBe(originalLookupNode)
  })

  it("gives BatchTrieUpdater's written nodes exactly the lists their bytes decode to", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.tuple(key, value), { maxLength: 30 }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (batches, hashed) => {
          const trie = await createMPT({ useKeyHashing: hashed })
          for (const batch of batches)
            await new BatchTrieUpdater(trie).apply(batch.map(([k, v]) => ({ key: k, value: v })))
          for (const stored of await storedNodes(trie)) {
            if (stored.length === 0 || stored.length === 32) continue // the persisted root key
            expect(show(decodeStoredNode(stored))).toEqual(show(RLP.decode(Uint8Array.from(stored))))
          }
        },
      ),
      { numRuns: 100 },
    )
  })

  it("keeps the library's put/del (which update looked-up nodes in place) exact", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(key, value), { maxLength: 80 }),
        fc.boolean(),
        async (ops, hashed) => {
          // Interleaved reads put every path's nodes in the cache before the writes update them.
          const trie = await createMPT({ useKeyHashing: hashed })
          const final = new Map<string, Uint8Array>()
          for (const [k, v] of ops) {
            await trie.get(k)
            if (v === null) {
              await trie.del(k)
              final.delete(hex(k))
            } else {
              await trie.put(k, v)
              final.set(hex(k), v)
            }
            await trie.get(k)
          }
          const fresh = await createMPT({ useKeyHashing: hashed })
          for (const [k, v] of final) await fresh.put(Uint8Array.from(Buffer.from(k, 'hex')), v)
          expect(hex(trie.root())).toBe(hex(fresh.root()))
          for (const [k, v] of final) expect(hex((await trie.get(Buffer.from(k, 'hex')))!)).toBe(hex(v))
        },
      ),
      { numRuns: 150 },
    )
  })

  it('still reports a node missing from the trie database', async () => {
    const a = await createMPT({})
    await a.put(Uint8Array.of(1), new Uint8Array(40).fill(7))
    const b = await createMPT({})
    b.root(a.root())
    await expect(b.get(Uint8Array.of(1), true)).rejects.toThrow('Missing node in DB')
  })
})
