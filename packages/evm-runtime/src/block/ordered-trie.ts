/**
 * Root of an "ordered" Merkle Patricia trie (key = rlp(index)), as used for the transactions and
 * receipts roots, built in one pass from the sorted keys: every node is encoded and hashed
 * exactly once. EthereumJS's MerklePatriciaTrie re-walks and re-hashes the path on every put,
 * which made these two roots ~40% of a full block's root time. Verified against
 * MerklePatriciaTrie in test/ordered-trie.test.ts.
 */
import { RLP } from '@ethereumjs/rlp'
import { KECCAK256_RLP } from '@ethereumjs/util'

type Item = Uint8Array | Item[]

function toNibbles(key: Uint8Array): number[] {
  const out = new Array<number>(key.length * 2)
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i] >> 4
    out[2 * i + 1] = key[i] & 15
  }
  return out
}

/** Hex-prefix (compact) encoding of a nibble path. */
function hexPrefix(nibbles: number[], leaf: boolean): Uint8Array {
  const odd = nibbles.length % 2
  const out = new Uint8Array(1 + (nibbles.length - odd) / 2)
  const flag = (leaf ? 2 : 0) + odd
  let i = 0
  if (odd === 1) {
    out[0] = (flag << 4) | nibbles[0]
    i = 1
  } else {
    out[0] = flag << 4
  }
  for (let j = 1; i < nibbles.length; i += 2, j++) out[j] = (nibbles[i] << 4) | nibbles[i + 1]
  return out
}

interface Entry {
  path: number[]
  value: Uint8Array
}

export function orderedTrieRootFast(values: Uint8Array[], keccak: (b: Uint8Array) => Uint8Array): Uint8Array {
  if (values.length === 0) return KECCAK256_RLP
  const entries: Entry[] = values.map((value, i) => ({ path: toNibbles(RLP.encode(i)), value }))
  entries.sort((a, b) => {
    const n = Math.min(a.path.length, b.path.length)
    for (let i = 0; i < n; i++) if (a.path[i] !== b.path[i]) return a.path[i] - b.path[i]
    return a.path.length - b.path.length
  })

  /** A child reference: the node itself when its encoding is under 32 bytes, else its hash. */
  const ref = (node: Item): Item => {
    const enc = RLP.encode(node)
    return enc.length < 32 ? node : keccak(enc)
  }

  // entries[lo, hi) share their first `depth` nibbles.
  const build = (lo: number, hi: number, depth: number): Item => {
    if (hi - lo === 1) return [hexPrefix(entries[lo].path.slice(depth), true), entries[lo].value]
    // Longest common prefix beyond depth (sorted: compare first and last).
    const first = entries[lo].path
    const last = entries[hi - 1].path
    let common = 0
    while (
      depth + common < first.length &&
      depth + common < last.length &&
      first[depth + common] === last[depth + common]
    )
      common++
    if (common > 0)
      return [hexPrefix(first.slice(depth, depth + common), false), ref(build(lo, hi, depth + common))]
    const branch: Item[] = new Array(17)
    let i = lo
    let value: Uint8Array = new Uint8Array(0)
    if (entries[i].path.length === depth) value = entries[i++].value // key ends here (sorted first)
    for (let nib = 0; nib < 16; nib++) {
      let j = i
      while (j < hi && entries[j].path[depth] === nib) j++
      branch[nib] = j > i ? ref(build(i, j, depth + 1)) : new Uint8Array(0)
      i = j
    }
    branch[16] = value
    return branch
  }
  return keccak(RLP.encode(build(0, entries.length, 0)))
}
