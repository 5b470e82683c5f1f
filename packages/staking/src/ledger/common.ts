/**
 * Shared steps of the ledger operations: loading a validator, settling its rewards before its tokens
 * or status change, paying a delegation's rewards, and moving tokens with the bonded total and the
 * governance checkpoints kept in step. Every operation mutates loaded records and writes them back.
 */
import { fail } from '../core/errors.ts'
import { BondStatus, type DelegationRecord, type ValidatorRecord } from '../core/records.ts'
import { delegationReward, settleValidator } from '../core/rewards.ts'
import { tokensForShares } from '../core/shares.ts'
import type { StakingStore } from '../core/store.ts'

/** Block context of an operation. */
export interface Env {
  height: bigint
  time: bigint
}

export async function mustValidator(store: StakingStore, operator: Uint8Array): Promise<ValidatorRecord> {
  const v = await store.validator(operator)
  if (v === undefined) return fail('ValidatorNotFound', operator)
  return v
}

/** Brings the validator's reward accumulators up to date (before its tokens or status change). */
export async function settle(store: StakingStore, v: ValidatorRecord): Promise<void> {
  const g = await store.rewards()
  const s = settleValidator(v, g, v.status === BondStatus.Bonded)
  v.accSnapshot = s.accSnapshot
  v.accPerShare = s.accPerShare
  v.commission = s.commission
}

/** Pays a delegation's pending reward (the validator must be settled) and resets its snapshot. */
export async function payReward(
  store: StakingStore,
  delegator: Uint8Array,
  v: ValidatorRecord,
  d: DelegationRecord,
): Promise<bigint> {
  const reward = delegationReward(v.accPerShare, d.shares, d.accSnapshot)
  d.accSnapshot = v.accPerShare
  if (reward > 0n) {
    const t = await store.totals()
    t.rewardPool -= reward
    await store.setTotals(t)
    store.pay(delegator, reward)
  }
  return reward
}

/**
 * Adds `delta` (negative: removes) tokens and `sharesDelta` shares to a settled validator, keeping
 * the staked and bonded totals and the checkpoints in step. Writes the validator.
 */
export async function moveTokens(
  store: StakingStore,
  env: Env,
  v: ValidatorRecord,
  delta: bigint,
  sharesDelta: bigint,
): Promise<void> {
  v.tokens += delta
  v.shares += sharesDelta
  if (v.tokens < 0n || v.shares < 0n) throw new Error('ledger invariant: negative tokens or shares')
  const t = await store.totals()
  t.staked += delta
  await store.setTotals(t)
  if (delta !== 0n && v.status === BondStatus.Bonded) {
    const g = await store.rewards()
    g.bondedTokens += delta
    await store.setRewards(g)
    await store.checkpoint({ kind: 'totalBonded' }, env.height, g.bondedTokens)
  }
  if (delta !== 0n) await store.checkpoint({ kind: 'tokens', validator: v.operator }, env.height, v.tokens)
  if (sharesDelta !== 0n)
    await store.checkpoint({ kind: 'shares', validator: v.operator }, env.height, v.shares)
  await store.setValidator(v)
}

/** Writes a delegation and its checkpoint; maintains the delegator's validator list. */
export async function writeDelegation(
  store: StakingStore,
  env: Env,
  delegator: Uint8Array,
  validator: Uint8Array,
  before: bigint,
  d: DelegationRecord,
  maxDelegations: number,
): Promise<void> {
  if (before === 0n && d.shares > 0n) {
    if ((await store.delegatorValidatorCount(delegator)) >= maxDelegations)
      fail('TooManyDelegations', BigInt(maxDelegations))
    await store.addDelegatorValidator(delegator, validator)
  } else if (before > 0n && d.shares === 0n) {
    await store.removeDelegatorValidator(delegator, validator)
  }
  await store.setDelegation(delegator, validator, d.shares === 0n ? { shares: 0n, accSnapshot: 0n } : d)
  if (before !== d.shares)
    await store.checkpoint({ kind: 'delegation', delegator, validator }, env.height, d.shares)
}

/** Tokens of the operator's own delegation. */
export async function selfTokens(store: StakingStore, v: ValidatorRecord): Promise<bigint> {
  const d = await store.delegation(v.operator, v.operator)
  return tokensForShares(v, d.shares)
}

/** Destroys `amount` of the Staking account's OPEN at the end of the block (supply accounting). */
export async function burn(store: StakingStore, amount: bigint): Promise<void> {
  if (amount === 0n) return
  const t = await store.totals()
  t.burned += amount
  t.pendingBurn += amount
  await store.setTotals(t)
}
