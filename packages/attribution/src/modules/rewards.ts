/**
 * Reward-per-share accounting for datanet shares. rewardPerShare[d] is the cumulative wei paid per
 * share of datanet d (integer: remainders of the division go to the treasury as dust at settle time,
 * so every holder's pending amount is exact). A holder's pending reward is
 * balance × (rewardPerShare − snapshot); it is moved into `accrued` before any change of the
 * balance (mint, transfer) and on claim. Settling a payment is O(1) per datanet; claiming is
 * O(datanets held) through the per-account `held` list.
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
  rewardPerShareSlot,
  rewardSnapshotSlot,
  shareBalanceSlot,
} from './layout.ts'

export async function readU(r: StorageReader, account: Uint8Array, slot: Uint8Array): Promise<bigint> {
  return toBigInt(await r.read(account, slot))
}

/** Moves the holder's pending reward on `datanetId` into accrued. Returns the share balance. */
export async function settleHolder(w: StorageWriter, datanetId: bigint, holder: Uint8Array): Promise<bigint> {
  const balance = await readU(w, DATANETS_ADDRESS, shareBalanceSlot(datanetId, holder))
  const rps = await readU(w, ATTRIBUTION_ADDRESS, rewardPerShareSlot(datanetId))
  const snapSlot = rewardSnapshotSlot(datanetId, holder)
  const snap = await readU(w, ATTRIBUTION_ADDRESS, snapSlot)
  if (snap === rps) return balance
  const pending = balance * (rps - snap)
  if (pending > 0n) await credit(w, holder, pending)
  w.write(ATTRIBUTION_ADDRESS, snapSlot, u256(rps))
  return balance
}

export async function credit(w: StorageWriter, account: Uint8Array, amount: bigint): Promise<void> {
  if (amount === 0n) return
  const slot = accruedSlot(account)
  w.write(ATTRIBUTION_ADDRESS, slot, u256((await readU(w, ATTRIBUTION_ADDRESS, slot)) + amount))
}

/** Pending (not yet settled) reward of `holder` on one datanet, without writing. */
export async function pendingReward(
  r: StorageReader,
  datanetId: bigint,
  holder: Uint8Array,
): Promise<bigint> {
  const balance = await readU(r, DATANETS_ADDRESS, shareBalanceSlot(datanetId, holder))
  if (balance === 0n) return 0n
  const rps = await readU(r, ATTRIBUTION_ADDRESS, rewardPerShareSlot(datanetId))
  const snap = await readU(r, ATTRIBUTION_ADDRESS, rewardSnapshotSlot(datanetId, holder))
  return balance * (rps - snap)
}

export async function heldList(r: StorageReader, account: Uint8Array): Promise<bigint[]> {
  const len = await readU(r, DATANETS_ADDRESS, heldLengthSlot(account))
  const out: bigint[] = []
  for (let i = 0n; i < len; i++) out.push(await readU(r, DATANETS_ADDRESS, heldElementSlot(account, i)))
  return out
}

async function heldAdd(w: StorageWriter, account: Uint8Array, datanetId: bigint): Promise<void> {
  const lenSlot = heldLengthSlot(account)
  const len = await readU(w, DATANETS_ADDRESS, lenSlot)
  w.write(DATANETS_ADDRESS, heldElementSlot(account, len), u256(datanetId))
  w.write(DATANETS_ADDRESS, heldIndexSlot(account, datanetId), u256(len + 1n))
  w.write(DATANETS_ADDRESS, lenSlot, u256(len + 1n))
}

/** Swap-and-pop removal, O(1). */
async function heldRemove(w: StorageWriter, account: Uint8Array, datanetId: bigint): Promise<void> {
  const lenSlot = heldLengthSlot(account)
  const len = await readU(w, DATANETS_ADDRESS, lenSlot)
  const idxSlot = heldIndexSlot(account, datanetId)
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

/** Adds `amount` shares to `to` (after settling its pending reward). */
export async function mintShares(
  w: StorageWriter,
  datanetId: bigint,
  to: Uint8Array,
  amount: bigint,
): Promise<void> {
  const balance = await settleHolder(w, datanetId, to)
  w.write(DATANETS_ADDRESS, shareBalanceSlot(datanetId, to), u256(balance + amount))
  if (balance === 0n && amount > 0n) await heldAdd(w, to, datanetId)
}

/** Moves shares; the caller has checked the balance. Both sides are settled first. */
export async function moveShares(
  w: StorageWriter,
  datanetId: bigint,
  from: Uint8Array,
  to: Uint8Array,
  amount: bigint,
  fromBalance: bigint,
): Promise<void> {
  await settleHolder(w, datanetId, from)
  const toBalance = await settleHolder(w, datanetId, to)
  if (amount === 0n || Buffer.compare(from, to) === 0) return
  w.write(DATANETS_ADDRESS, shareBalanceSlot(datanetId, from), u256(fromBalance - amount))
  w.write(DATANETS_ADDRESS, shareBalanceSlot(datanetId, to), u256(toBalance + amount))
  if (fromBalance === amount) await heldRemove(w, from, datanetId)
  if (toBalance === 0n) await heldAdd(w, to, datanetId)
}
