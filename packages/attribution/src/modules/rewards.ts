/**
 * Balances of the Attribution module and of version shares (see pools.ts).
 *
 * `accrued[account]` holds settled wei (low 192 bits) and a sub-wei remainder in units of 2^-64
 * wei (high 64 bits). A holder's pending reward on a share token is balance × (I − snapshot) in
 * the same units, I the token's reward index; it is moved into `accrued` before any change of the
 * balance (mint, transfer) and on claim, the whole wei going to the claimable part and the rest
 * staying as the account's remainder. So an account's claimable is its exact rational entitlement
 * rounded down: nothing is lost to rounding, and nothing is paid twice. Settling a payment is
 * O(log versions) per datanet; claiming is O(share tokens held) through the per-account `held` list.
 */

import type { StorageReader, StorageWriter } from '@openledger/module-kit'
import { toBigInt, u256 } from '@openledger/module-kit'
import {
  ATTRIBUTION_ADDRESS,
  accruedSlot,
  DATANETS_ADDRESS,
  heldElementSlot,
  heldIndexSlot,
  heldLengthSlot,
  rewardSnapshotSlot,
  shareBalanceSlot,
  splitShareTokenId,
} from './layout.ts'
import { REWARD_SCALE, REWARD_SCALE_BITS, rewardIndex } from './pools.ts'
import { loadVersionCountOf } from './records.ts'

const WEI_BITS = 192n
const WEI_MASK = (1n << WEI_BITS) - 1n

export async function readU(r: StorageReader, account: Uint8Array, slot: Uint8Array): Promise<bigint> {
  return toBigInt(await r.read(account, slot))
}

/** The accrued word of an account: whole wei and the sub-wei remainder (×2^-64 wei). */
export async function readAccrued(
  r: StorageReader,
  account: Uint8Array,
): Promise<{ wei: bigint; remainder: bigint }> {
  const word = await readU(r, ATTRIBUTION_ADDRESS, accruedSlot(account))
  return { wei: word & WEI_MASK, remainder: word >> WEI_BITS }
}

function accruedWord(wei: bigint, remainder: bigint): Uint8Array {
  if (wei > WEI_MASK) throw new RangeError('accrued overflow')
  return u256(wei | (remainder << WEI_BITS))
}

/**
 * Takes an account's whole-wei accrued balance out (zeroing it, keeping the sub-wei remainder) and
 * returns it; the caller moves the OPEN. For system modules that collect their part without a claim
 * (the Staking module's end-of-block sweep of the stakers part).
 */
export async function takeAccrued(w: StorageWriter, account: Uint8Array): Promise<bigint> {
  const a = await readAccrued(w, account)
  if (a.wei > 0n) w.write(ATTRIBUTION_ADDRESS, accruedSlot(account), accruedWord(0n, a.remainder))
  return a.wei
}

/** Credits whole wei. */
export async function credit(w: StorageWriter, account: Uint8Array, amount: bigint): Promise<void> {
  if (amount === 0n) return
  const a = await readAccrued(w, account)
  w.write(ATTRIBUTION_ADDRESS, accruedSlot(account), accruedWord(a.wei + amount, a.remainder))
}

/** Credits an amount in units of 2^-64 wei: whole wei become claimable, the rest is kept. */
export async function creditScaled(w: StorageWriter, account: Uint8Array, scaled: bigint): Promise<void> {
  if (scaled === 0n) return
  const a = await readAccrued(w, account)
  const total = a.remainder + scaled
  w.write(
    ATTRIBUTION_ADDRESS,
    accruedSlot(account),
    accruedWord(a.wei + (total >> REWARD_SCALE_BITS), total & (REWARD_SCALE - 1n)),
  )
}

/** The reward index of a share token now (0 for a bare datanet id or an unpublished version). */
export async function tokenIndex(r: StorageReader, tokenId: bigint): Promise<bigint> {
  const { datanetId, version } = splitShareTokenId(tokenId)
  if (version === 0n) return 0n
  return rewardIndex(r, datanetId, version, await loadVersionCountOf(r, datanetId))
}

/**
 * Brings the holder's snapshot of a share token up to date and returns its balance and the reward
 * earned since the last snapshot (×2^-64 wei), which the caller must credit (creditScaled).
 */
export async function settleHolder(
  w: StorageWriter,
  tokenId: bigint,
  holder: Uint8Array,
): Promise<{ balance: bigint; earned: bigint }> {
  const balance = await readU(w, DATANETS_ADDRESS, shareBalanceSlot(tokenId, holder))
  const index = await tokenIndex(w, tokenId)
  const snapSlot = rewardSnapshotSlot(tokenId, holder)
  const snap = await readU(w, ATTRIBUTION_ADDRESS, snapSlot)
  if (snap === index) return { balance, earned: 0n }
  w.write(ATTRIBUTION_ADDRESS, snapSlot, u256(index))
  return { balance, earned: balance * (index - snap) }
}

/** Pending (not yet settled) reward of `holder` on one share token, ×2^-64 wei, without writing. */
export async function pendingReward(r: StorageReader, tokenId: bigint, holder: Uint8Array): Promise<bigint> {
  const balance = await readU(r, DATANETS_ADDRESS, shareBalanceSlot(tokenId, holder))
  if (balance === 0n) return 0n
  const index = await tokenIndex(r, tokenId)
  const snap = await readU(r, ATTRIBUTION_ADDRESS, rewardSnapshotSlot(tokenId, holder))
  return balance * (index - snap)
}

/** Share token ids with a non-zero balance, in `held` order. */
export async function heldList(r: StorageReader, account: Uint8Array): Promise<bigint[]> {
  const len = await readU(r, DATANETS_ADDRESS, heldLengthSlot(account))
  const out: bigint[] = []
  for (let i = 0n; i < len; i++) out.push(await readU(r, DATANETS_ADDRESS, heldElementSlot(account, i)))
  return out
}

async function heldAdd(w: StorageWriter, account: Uint8Array, tokenId: bigint): Promise<void> {
  const lenSlot = heldLengthSlot(account)
  const len = await readU(w, DATANETS_ADDRESS, lenSlot)
  w.write(DATANETS_ADDRESS, heldElementSlot(account, len), u256(tokenId))
  w.write(DATANETS_ADDRESS, heldIndexSlot(account, tokenId), u256(len + 1n))
  w.write(DATANETS_ADDRESS, lenSlot, u256(len + 1n))
}

/** Swap-and-pop removal, O(1). */
async function heldRemove(w: StorageWriter, account: Uint8Array, tokenId: bigint): Promise<void> {
  const lenSlot = heldLengthSlot(account)
  const len = await readU(w, DATANETS_ADDRESS, lenSlot)
  const idxSlot = heldIndexSlot(account, tokenId)
  const pos = (await readU(w, DATANETS_ADDRESS, idxSlot)) - 1n
  const last = len - 1n
  if (pos !== last) {
    const lastId = await readU(w, DATANETS_ADDRESS, heldElementSlot(account, last))
    w.write(DATANETS_ADDRESS, heldElementSlot(account, pos), u256(lastId))
    w.write(DATANETS_ADDRESS, heldIndexSlot(account, lastId), u256(pos + 1n))
  }
  w.write(DATANETS_ADDRESS, heldElementSlot(account, last), u256(0n))
  w.write(DATANETS_ADDRESS, idxSlot, u256(0n))
  w.write(DATANETS_ADDRESS, lenSlot, u256(last))
}

/** Adds `delta` (may be negative) to the account's total over all versions of the datanet. */
async function addToDatanetTotal(
  w: StorageWriter,
  datanetId: bigint,
  account: Uint8Array,
  delta: bigint,
): Promise<void> {
  const slot = shareBalanceSlot(datanetId, account)
  w.write(DATANETS_ADDRESS, slot, u256((await readU(w, DATANETS_ADDRESS, slot)) + delta))
}

/** Adds `amount` shares of a share token to `to` (after settling its pending reward). */
export async function mintShares(
  w: StorageWriter,
  tokenId: bigint,
  to: Uint8Array,
  amount: bigint,
): Promise<void> {
  const { balance, earned } = await settleHolder(w, tokenId, to)
  await creditScaled(w, to, earned)
  w.write(DATANETS_ADDRESS, shareBalanceSlot(tokenId, to), u256(balance + amount))
  await addToDatanetTotal(w, splitShareTokenId(tokenId).datanetId, to, amount)
  if (balance === 0n && amount > 0n) await heldAdd(w, to, tokenId)
}

/** Removes `amount` shares of a share token from `from` (after settling its pending reward); the
 * caller knows the balance covers it. */
export async function burnShares(
  w: StorageWriter,
  tokenId: bigint,
  from: Uint8Array,
  amount: bigint,
): Promise<void> {
  const { balance, earned } = await settleHolder(w, tokenId, from)
  await creditScaled(w, from, earned)
  if (balance < amount) throw new Error(`burning ${amount} of token ${tokenId} from a balance of ${balance}`)
  w.write(DATANETS_ADDRESS, shareBalanceSlot(tokenId, from), u256(balance - amount))
  await addToDatanetTotal(w, splitShareTokenId(tokenId).datanetId, from, -amount)
  if (balance === amount && amount > 0n) await heldRemove(w, from, tokenId)
}

/** Moves shares; the caller has checked the balance. Both sides are settled first. */
export async function moveShares(
  w: StorageWriter,
  tokenId: bigint,
  from: Uint8Array,
  to: Uint8Array,
  amount: bigint,
): Promise<void> {
  const f = await settleHolder(w, tokenId, from)
  await creditScaled(w, from, f.earned)
  const t = await settleHolder(w, tokenId, to)
  await creditScaled(w, to, t.earned)
  if (amount === 0n || Buffer.compare(from, to) === 0) return
  const datanetId = splitShareTokenId(tokenId).datanetId
  w.write(DATANETS_ADDRESS, shareBalanceSlot(tokenId, from), u256(f.balance - amount))
  w.write(DATANETS_ADDRESS, shareBalanceSlot(tokenId, to), u256(t.balance + amount))
  await addToDatanetTotal(w, datanetId, from, -amount)
  await addToDatanetTotal(w, datanetId, to, amount)
  if (f.balance === amount) await heldRemove(w, from, tokenId)
  if (t.balance === 0n) await heldAdd(w, to, tokenId)
}
