/**
 * Datanet version commitment: a depth-32 binary Merkle tree over the approved contributions in
 * approval order (leaf i = i-th approval), empty leaves = 32 zero bytes, node = keccak256(left . right).
 * Maintained on-chain incrementally (one branch slot written per approval, as the Ethereum deposit
 * contract), so publishing a version is O(32) no matter how many contributions it covers.
 *
 * leaf = keccak256(abi.encode(uint256 datanetId, uint256 contributionId, address contributor,
 *                             bytes32 contentHash, uint64 size, uint64 weight))
 */

import type { StorageReader, StorageWriter } from '@openledger/module-kit'
import { concat, keccak, pad32, u256, ZERO32 } from '@openledger/module-kit'
import { DATANETS_ADDRESS, merkleBranchSlot } from './layout.ts'

export const TREE_DEPTH = 32

export const ZERO_HASHES: readonly Uint8Array[] = (() => {
  const z: Uint8Array[] = [ZERO32]
  for (let h = 0; h < TREE_DEPTH; h++) z.push(keccak(concat(z[h] as Uint8Array, z[h] as Uint8Array)))
  return z
})()

export interface LeafInput {
  datanetId: bigint
  contributionId: bigint
  contributor: Uint8Array
  contentHash: Uint8Array
  size: bigint
  weight: bigint
}

export function contributionLeaf(l: LeafInput): Uint8Array {
  return keccak(
    concat(
      u256(l.datanetId),
      u256(l.contributionId),
      pad32(l.contributor),
      l.contentHash,
      u256(l.size),
      u256(l.weight),
    ),
  )
}

/** Root of the tree holding `leaves` (in order), recomputed from scratch. */
export function computeContributionsRoot(leaves: readonly Uint8Array[]): Uint8Array {
  let level = [...leaves]
  for (let h = 0; h < TREE_DEPTH; h++) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      next.push(keccak(concat(level[i] as Uint8Array, level[i + 1] ?? (ZERO_HASHES[h] as Uint8Array))))
    }
    level = next
  }
  return level[0] ?? (ZERO_HASHES[TREE_DEPTH] as Uint8Array)
}

/** Sibling path (bottom-up) proving leaf `index` of `leaves`. */
export function contributionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length)
    throw new RangeError('leaf index out of range')
  const proof: Uint8Array[] = []
  let level = [...leaves]
  let i = index
  for (let h = 0; h < TREE_DEPTH; h++) {
    proof.push(level[i ^ 1] ?? (ZERO_HASHES[h] as Uint8Array))
    const next: Uint8Array[] = []
    for (let j = 0; j < level.length; j += 2) {
      next.push(keccak(concat(level[j] as Uint8Array, level[j + 1] ?? (ZERO_HASHES[h] as Uint8Array))))
    }
    level = next
    i >>= 1
  }
  return proof
}

export function verifyContributionProof(
  leaf: Uint8Array,
  index: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (proof.length !== TREE_DEPTH) return false
  let node = leaf
  let i = index
  for (const sibling of proof) {
    node = (i & 1) === 0 ? keccak(concat(node, sibling)) : keccak(concat(sibling, node))
    i >>= 1
  }
  return Buffer.compare(node, root) === 0
}

/** Appends leaf number `count` (0-based) to the on-chain branch of a datanet. */
export async function insertLeaf(
  w: StorageWriter,
  datanetId: bigint,
  count: bigint,
  leaf: Uint8Array,
): Promise<void> {
  let node = leaf
  let size = count + 1n
  for (let h = 0; h < TREE_DEPTH; h++) {
    if ((size & 1n) === 1n) {
      w.write(DATANETS_ADDRESS, merkleBranchSlot(datanetId, h), node)
      return
    }
    node = keccak(concat(await w.read(DATANETS_ADDRESS, merkleBranchSlot(datanetId, h)), node))
    size >>= 1n
  }
  throw new RangeError('datanet contribution tree is full')
}

/** Root over the first `count` leaves from the on-chain branch. */
export async function branchRoot(r: StorageReader, datanetId: bigint, count: bigint): Promise<Uint8Array> {
  let node: Uint8Array = ZERO32
  let size = count
  for (let h = 0; h < TREE_DEPTH; h++) {
    if ((size & 1n) === 1n)
      node = keccak(concat(await r.read(DATANETS_ADDRESS, merkleBranchSlot(datanetId, h)), node))
    else node = keccak(concat(node, ZERO_HASHES[h] as Uint8Array))
    size >>= 1n
  }
  return node
}
