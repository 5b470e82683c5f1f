/** The batched trie update must produce exactly the trie that EthereumJS's put/del produce. */
import { createMerkleProof, createMPT, verifyMPTWithMerkleProof } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BatchTrieUpdater, encodeNode } from '../src/state/batch-trie.ts'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const key = fc.uint8Array({ minLength: 1, maxLength: 4 })
const value = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 70 }), fc.constant(null))

describe('BatchTrieUpdater', () => {
  it('gives the same root and readable values as sequential put/del', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(key, fc.uint8Array({ minLength: 1, maxLength: 70 })), { maxLength: 40 }),
        fc.array(fc.array(fc.tuple(key, value), { maxLength: 30 }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (initial, batches, hashed) => {
          const reference = await createMPT({ useKeyHashing: hashed })
          const batched = await createMPT({ useKeyHashing: hashed })
          for (const [k, v] of initial) {
            await reference.put(k, v)
            await batched.put(k, v)
          }
          for (const batch of batches) {
            for (const [k, v] of batch) {
              if (v === null) await reference.del(k)
              else await reference.put(k, v)
            }
            await new BatchTrieUpdater(batched).apply(batch.map(([k, v]) => ({ key: k, value: v })))
            expect(hex(batched.root())).toBe(hex(reference.root()))
          }
          // The written nodes are readable and provable by the library itself.
          for (const [k] of [...initial, ...batches.flat()]) {
            const expected = await reference.get(k)
            expect((await batched.get(k)) === null ? null : hex((await batched.get(k))!)).toBe(
              expected === null ? null : hex(expected),
            )
            if (expected !== null) {
              const proof = await createMerkleProof(batched, k)
              const fresh = await createMPT({ useKeyHashing: hashed })
              expect(hex((await verifyMPTWithMerkleProof(fresh, batched.root(), k, proof))!)).toBe(
                hex(expected),
              )
            }
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it('handles a large account-like batch on a populated trie', async () => {
    const reference = await createMPT({ useKeyHashing: true })
    const batched = await createMPT({ useKeyHashing: true })
    const addr = (i: number) => Uint8Array.from({ length: 20 }, (_, j) => (i * 31 + j * 7) & 0xff)
    for (let i = 0; i < 300; i++) {
      await reference.put(addr(i), Uint8Array.of(1, i & 0xff, 2))
      await batched.put(addr(i), Uint8Array.of(1, i & 0xff, 2))
    }
    const updates = Array.from({ length: 500 }, (_, i) => ({
      key: addr(i * 3),
      value: i % 17 === 0 ? null : Uint8Array.of(9, i & 0xff),
    }))
    for (const u of updates) {
      if (u.value === null) await reference.del(u.key)
      else await reference.put(u.key, u.value)
    }
    await new BatchTrieUpdater(batched).apply(updates)
    expect(hex(batched.root())).toBe(hex(reference.root()))
  })
})

describe('encodeNode', () => {
  it('gives the bytes RLP.encode gives for node-shaped lists', () => {
    const item = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.uint8Array({ minLength: 300, maxLength: 700 }),
      fc.integer({ min: 0, max: 255 }).map((b) => Uint8Array.of(b)),
      fc.array(fc.uint8Array({ maxLength: 12 }), { minLength: 2, maxLength: 3 }),
    )
    fc.assert(
      fc.property(
        fc.oneof(fc.array(item, { minLength: 17, maxLength: 17 }), fc.array(item, { maxLength: 4 })),
        (items) => {
          expect(hex(encodeNode(items))).toBe(hex(RLP.encode(items)))
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('BatchTrieUpdater yielding', () => {
  it('lets other work run during a large update, with the same root', async () => {
    const addr = (i: number) => Uint8Array.from({ length: 20 }, (_, j) => (i * 131 + j * 7 + (i >> 8)) & 0xff)
    const updates = Array.from({ length: 3000 }, (_, i) => ({
      key: addr(i),
      value: Uint8Array.of(1, i & 0xff, 2),
    }))
    const quiet = await createMPT({ useKeyHashing: true })
    expect(await new BatchTrieUpdater(quiet).apply(updates)).toBe(0)
    const yielding = await createMPT({ useKeyHashing: true })
    let ticks = 0
    const timer = setInterval(() => ticks++, 0)
    try {
      const yielded = await new BatchTrieUpdater(yielding).apply(updates, { yieldEveryMs: 1 })
      expect(yielded).toBeGreaterThan(0)
    } finally {
      clearInterval(timer)
    }
    expect(ticks).toBeGreaterThan(0)
    expect(hex(yielding.root())).toBe(hex(quiet.root()))
  })
})
