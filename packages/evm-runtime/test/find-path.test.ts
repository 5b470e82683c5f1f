/** The direct findPath must answer exactly as EthereumJS's WalkController-based one. */
import { createMPT } from '@ethereumjs/mpt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { directFindPath, originalFindPath } from '../src/state/find-path.ts'

const ser = (p: {
  node: { serialize(): Uint8Array } | null
  remaining: ArrayLike<number>
  stack: Array<{ serialize(): Uint8Array }>
}) => ({
  node: p.node ? Buffer.from(p.node.serialize()).toString('hex') : null,
  // the trie mutates `remaining` with shift(): it must be a real array, as the library returns
  remaining: Array.isArray(p.remaining) ? [...p.remaining] : 'not an array',
  stack: p.stack.map((n) => Buffer.from(n.serialize()).toString('hex')),
})

describe('directFindPath', () => {
  it('matches the library on random tries, for present and absent keys, hashed or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.uint8Array({ minLength: 1, maxLength: 8 }),
            fc.uint8Array({ minLength: 1, maxLength: 40 }),
          ),
          { maxLength: 60 },
        ),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 8 }), { maxLength: 20 }),
        fc.boolean(),
        async (entries, probes, hashed) => {
          const trie = await createMPT({ useKeyHashing: hashed })
          for (const [k, v] of entries) await trie.put(k, v)
          const keyOf = (k: Uint8Array) =>
            hashed ? (trie as unknown as { hash(b: Uint8Array): Uint8Array }).hash(k) : k
          for (const k of [...entries.map(([k]) => k), ...probes]) {
            const a = await directFindPath.call(trie, keyOf(k))
            const b = await originalFindPath.call(trie, keyOf(k))
            expect(ser(a)).toEqual(ser(b))
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  it('matches the library when a node is missing', async () => {
    const trie = await createMPT({})
    for (let i = 0; i < 50; i++) await trie.put(Uint8Array.of(i, i * 7), Uint8Array.of(1, 2, 3, i))
    const other = await createMPT({ root: trie.root() })
    const key = Uint8Array.of(3, 21)
    expect(ser(await directFindPath.call(other, key))).toEqual(ser(await originalFindPath.call(other, key)))
    await expect(directFindPath.call(other, key, true)).rejects.toThrow('Missing node in DB')
  })
})
