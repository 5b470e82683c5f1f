/**
 * Checkpointed values (OpenZeppelin's Checkpoints.Trace208 scheme): a history of (block, value)
 * pairs, one per block in which the value changed, appended in block order. The value at block t
 * is the last checkpoint with key ≤ t, i.e. the value at the end of block t. Governance reads
 * voting power at a proposal's snapshot block this way. Storage: one slot per checkpoint,
 * key (uint48) in the low 48 bits and value (uint208) above, as Solidity packs the struct.
 */

export interface Checkpoint {
  key: bigint
  value: bigint
}

export const MAX_KEY = (1n << 48n) - 1n
export const MAX_VALUE = (1n << 208n) - 1n

export function packCheckpoint(c: Checkpoint): bigint {
  if (c.key < 0n || c.key > MAX_KEY) throw new RangeError('checkpoint key out of range')
  if (c.value < 0n || c.value > MAX_VALUE) throw new RangeError('checkpoint value out of range')
  return c.key | (c.value << 48n)
}

export function unpackCheckpoint(w: bigint): Checkpoint {
  return { key: w & MAX_KEY, value: w >> 48n }
}

/** Where a new value at block `key` goes: over the last checkpoint (same block) or appended. */
export function checkpointSlotFor(length: bigint, last: Checkpoint | undefined, key: bigint): bigint {
  if (last !== undefined && last.key > key) throw new RangeError('checkpoint keys must not decrease')
  return last !== undefined && last.key === key ? length - 1n : length
}

/** Value at block `key` (the last checkpoint with key ≤ `key`; 0 before the first). O(log n) reads. */
export async function upperLookup(
  length: bigint,
  read: (index: bigint) => Promise<Checkpoint>,
  key: bigint,
): Promise<bigint> {
  let lo = 0n
  let hi = length
  // Recent lookups are the common case (a proposal's snapshot is at most votingPeriod old).
  if (length > 5n) {
    const probe = length - 5n
    if ((await read(probe)).key <= key) lo = probe + 1n
    else hi = probe
  }
  while (lo < hi) {
    const mid = (lo + hi) >> 1n
    if ((await read(mid)).key > key) hi = mid
    else lo = mid + 1n
  }
  return hi === 0n ? 0n : (await read(hi - 1n)).value
}
