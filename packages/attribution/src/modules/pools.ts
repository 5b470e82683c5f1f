/**
 * Version-exact pro-rata pools of a datanet.
 *
 * A datanet-level (pro-rata) payment naming version v belongs to the contributions that version v
 * holds, in proportion to the weights they had when v was published: its pool has the fixed supply
 * S_v (the version's total weight). Shares are minted per version ("version shares", token id
 * `v << 128 | datanetId`, see layout.ts): shares of version c are in every version v ≥ c, so they
 * earn the per-share rate P_v of every version v ≥ c. With P_v the cumulative reward per share of
 * version v's pool, the reward index of version-c shares is
 *
 *   I_c = Σ_{v ≥ c} P_v = prefix(N) − prefix(c − 1)        (N = published versions)
 *
 * kept in a binary indexed (Fenwick) tree over the versions, so that paying version v and reading
 * I_c both cost O(log N) storage accesses, never anything proportional to contributors or holders.
 * Paying the latest version touches one node.
 *
 * Exact rounding: rates are scaled by 2^64 and each version's pool carries the remainder of its
 * division into the next payment, so P_v = ⌊(all paid to v)·2^64 / S_v⌋ exactly; holders keep their
 * own sub-wei remainder (see rewards.ts). Every wei paid in is owed to someone in units of 2^-64 wei.
 */
import type { StorageReader, StorageWriter } from '@openledger/module-kit'
import { toBigInt, u256 } from '@openledger/module-kit'
import { ATTRIBUTION_ADDRESS, rewardTreeSlot } from './layout.ts'

/** Reward-per-share values are fixed point with this many fractional bits. */
export const REWARD_SCALE_BITS = 64n
export const REWARD_SCALE = 1n << REWARD_SCALE_BITS
/** Node sums use the low 192 bits of a tree slot; the pool's carried remainder the high 64. */
const NODE_BITS = 192n
const NODE_MASK = (1n << NODE_BITS) - 1n

function lowbit(i: bigint): bigint {
  return i & -i
}

async function node(r: StorageReader, datanetId: bigint, i: bigint): Promise<bigint> {
  return toBigInt(await r.read(ATTRIBUTION_ADDRESS, rewardTreeSlot(datanetId, i))) & NODE_MASK
}

/** Σ_{v ≤ i} P_v: popcount(i) reads. */
export async function rewardPrefix(r: StorageReader, datanetId: bigint, i: bigint): Promise<bigint> {
  let sum = 0n
  for (let k = i; k > 0n; k -= lowbit(k)) sum += await node(r, datanetId, k)
  return sum
}

/** Reward index (×2^64 wei per share) of version-`version` shares, given N published versions.
 * Shares of a version not yet published have earned nothing: 0. */
export async function rewardIndex(
  r: StorageReader,
  datanetId: bigint,
  version: bigint,
  publishedVersions: bigint,
): Promise<bigint> {
  if (version < 1n || version > publishedVersions) return 0n
  return (
    (await rewardPrefix(r, datanetId, publishedVersions)) - (await rewardPrefix(r, datanetId, version - 1n))
  )
}

/**
 * Credits `amount` wei to the pool of version `version` (supply `totalWeight` > 0) of a datanet
 * with `publishedVersions` versions: P_version grows by ⌊(amount·2^64 + carry) / S⌋ and the
 * remainder is carried. Every holder of shares of versions ≤ `version` earns from it, nobody else.
 * Returns the increase of the reward index (×2^64 wei per share).
 */
export async function payVersionPool(
  w: StorageWriter,
  datanetId: bigint,
  version: bigint,
  publishedVersions: bigint,
  totalWeight: bigint,
  amount: bigint,
): Promise<bigint> {
  if (amount === 0n) return 0n
  if (totalWeight <= 0n || version < 1n || version > publishedVersions) {
    throw new RangeError(`no pool for version ${version} of datanet ${datanetId}`)
  }
  const own = rewardTreeSlot(datanetId, version)
  const word = toBigInt(await w.read(ATTRIBUTION_ADDRESS, own))
  const num = (amount << REWARD_SCALE_BITS) + (word >> NODE_BITS)
  const delta = num / totalWeight
  w.write(
    ATTRIBUTION_ADDRESS,
    own,
    u256(addToNode(word & NODE_MASK, delta) | ((num % totalWeight) << NODE_BITS)),
  )
  for (let i = version + lowbit(version); i <= publishedVersions; i += lowbit(i)) {
    const slot = rewardTreeSlot(datanetId, i)
    const wi = toBigInt(await w.read(ATTRIBUTION_ADDRESS, slot))
    w.write(ATTRIBUTION_ADDRESS, slot, u256(addToNode(wi & NODE_MASK, delta) | (wi & ~NODE_MASK)))
  }
  return delta
}

/** Node sums are bounded by the OPEN supply (< 2^90 wei) × 2^64 per unit of weight ≪ 2^192. */
function addToNode(value: bigint, delta: bigint): bigint {
  const next = value + delta
  if (next > NODE_MASK) throw new RangeError('reward tree node overflow')
  return next
}

/**
 * Creates the tree node of a newly published version `version` (every earlier version already
 * has its node): it covers versions (version − lowbit, version], whose sums it must include.
 */
export async function addTreeNode(w: StorageWriter, datanetId: bigint, version: bigint): Promise<void> {
  const span = lowbit(version)
  if (span === 1n) return // covers only itself: P_version = 0
  const value =
    (await rewardPrefix(w, datanetId, version - 1n)) - (await rewardPrefix(w, datanetId, version - span))
  if (value > 0n) w.write(ATTRIBUTION_ADDRESS, rewardTreeSlot(datanetId, version), u256(value))
}

/** What a version's pool holds but has not yet credited per share, in units of 2^-64 wei (below
 * its supply S_version, so below S_version·2^-64 wei). */
export async function poolCarry(r: StorageReader, datanetId: bigint, version: bigint): Promise<bigint> {
  return toBigInt(await r.read(ATTRIBUTION_ADDRESS, rewardTreeSlot(datanetId, version))) >> NODE_BITS
}
