/**
 * Voting power at the end of a past block, from the checkpoints: bonded stake only, i.e. stake on
 * validators that were members of the QBFT set validating the block after it.
 */
import { equalBytes } from '../core/bytes.ts'
import { mulDiv } from '../core/math.ts'
import type { StakingStore } from '../core/store.ts'

async function bondedAt(store: StakingStore, operator: Uint8Array, block: bigint): Promise<boolean> {
  const v = await store.validator(operator)
  if (v === undefined) return false
  // Checkpoints hold values at the END of a block; after an epoch's last block the next set holds.
  const epoch = await store.epochAt(block + 1n)
  return epoch !== undefined && (await store.isEpochMember(epoch.number, v.consensus))
}

/** A validator's tokens at `block` if it was bonded then, else 0. */
export async function validatorPowerAt(
  store: StakingStore,
  operator: Uint8Array,
  block: bigint,
): Promise<bigint> {
  if (!(await bondedAt(store, operator, block))) return 0n
  return store.valueAt({ kind: 'tokens', validator: operator }, block)
}

/** Tokens of `delegator`'s delegation to `operator` at `block` if that validator was bonded then. */
export async function delegationPowerAt(
  store: StakingStore,
  delegator: Uint8Array,
  operator: Uint8Array,
  block: bigint,
): Promise<bigint> {
  if (!(await bondedAt(store, operator, block))) return 0n
  const shares = await store.valueAt({ kind: 'delegation', delegator, validator: operator }, block)
  if (shares === 0n) return 0n
  const total = await store.valueAt({ kind: 'shares', validator: operator }, block)
  if (total === 0n) return 0n
  const tokens = await store.valueAt({ kind: 'tokens', validator: operator }, block)
  return mulDiv(shares, tokens, total)
}

export interface VotingPower {
  /** Tokens of the validator `account` operates (0 if none or not bonded). */
  asValidator: bigint
  /** Its delegations to other validators, each with that validator's operator. */
  asDelegator: { validator: Uint8Array; amount: bigint }[]
  total: bigint
}

/** Voting power of `account` at `block`. Its self-delegation is part of its validator's tokens. */
export async function votingPowerAt(
  store: StakingStore,
  account: Uint8Array,
  block: bigint,
): Promise<VotingPower> {
  const asValidator = await validatorPowerAt(store, account, block)
  const asDelegator: VotingPower['asDelegator'] = []
  let total = asValidator
  for (const validator of await store.delegatorValidators(account)) {
    if (equalBytes(validator, account)) continue
    const amount = await delegationPowerAt(store, account, validator, block)
    if (amount > 0n) {
      asDelegator.push({ validator, amount })
      total += amount
    }
  }
  return { asValidator, asDelegator, total }
}

export async function totalBondedAt(store: StakingStore, block: bigint): Promise<bigint> {
  return store.valueAt({ kind: 'totalBonded' }, block)
}
