import { MerklePatriciaTrie } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { keccak_256 } from '@noble/hashes/sha3.js'
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { orderedTrieRootFast } from '../src/block/ordered-trie.ts'

async function reference(values: Uint8Array[]): Promise<Uint8Array> {
  const trie = new MerklePatriciaTrie()
  for (let i = 0; i < values.length; i++) await trie.put(RLP.encode(i), values[i])
  return trie.root()
}

// Values are never empty in tx/receipt tries (an empty value would mean deletion).
test('one-pass ordered trie root equals MerklePatriciaTrie for sizes around every RLP/nibble boundary', async () => {
  for (const n of [0, 1, 2, 15, 16, 17, 127, 128, 129, 200, 255, 256, 257, 1500]) {
    const values = Array.from({ length: n }, (_, i) =>
      Uint8Array.from({ length: 1 + ((i * 7) % 90) }, (_, j) => (i + j) & 255),
    )
    expect(Buffer.from(orderedTrieRootFast(values, keccak_256)).toString('hex'), `n=${n}`).toBe(
      Buffer.from(await reference(values)).toString('hex'),
    )
  }
})

test('one-pass ordered trie root equals MerklePatriciaTrie on random values', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 80 }), { maxLength: 300 }),
      async (values) => {
        expect(orderedTrieRootFast(values, keccak_256)).toEqual(await reference(values))
      },
    ),
    { numRuns: 40 },
  )
})
