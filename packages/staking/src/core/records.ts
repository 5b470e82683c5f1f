/** The staking state as typed records; `store.ts` says how they are read and written. */
import type { GlobalRewards } from './rewards.ts'

/** IStaking.BondStatus. Unbonding turns into Unbonded by time (`statusAt`), without a write. */
export const BondStatus = { Unspecified: 0, Unbonded: 1, Unbonding: 2, Bonded: 3 } as const
export type BondStatus = (typeof BondStatus)[keyof typeof BondStatus]

/** IStaking.Infraction. */
export const Infraction = { Unspecified: 0, DoubleSign: 1, Downtime: 2, LowSelfDelegation: 3 } as const
export type Infraction = (typeof Infraction)[keyof typeof Infraction]

export const MAX_U64 = (1n << 64n) - 1n

export interface Description {
  moniker: string
  identity: string
  website: string
  securityContact: string
  details: string
}

export interface ValidatorRecord {
  operator: Uint8Array
  consensus: Uint8Array
  /** Position in the validator list (creation order, 0-based). */
  index: number
  status: BondStatus
  jailed: boolean
  tombstoned: boolean
  jailedUntil: bigint
  tokens: bigint
  shares: bigint
  commissionBps: number
  maxCommissionBps: number
  maxCommissionChangeBps: number
  /** Time of the last commission change (0: never). */
  commissionUpdatedAt: bigint
  minSelfDelegation: bigint
  unbondingHeight: bigint
  unbondingCompletion: bigint
  accSnapshot: bigint
  accPerShare: bigint
  commission: bigint
  /** Number of slash events recorded for this validator. */
  slashEvents: number
}

export interface DelegationRecord {
  shares: bigint
  /** The validator's accPerShare when this delegation's rewards were last paid. */
  accSnapshot: bigint
}

export interface Totals {
  /** Σ tokens of all validators. */
  staked: bigint
  /** Σ initial balances of unbonding entries (lazy slashes are applied when an entry is settled). */
  unbonding: bigint
  /** Rewards received and not yet paid out: commission, delegators' pending rewards, rounding dust. */
  rewardPool: bigint
  minted: bigint
  burned: bigint
  /** Burned by transactions of the current block; destroyed by the end-of-block hook. */
  pendingBurn: bigint
}

export interface QueueState {
  nextEntryId: bigint
  /** Lowest id not yet matured or removed. */
  head: bigint
  lastCompletion: bigint
}

export interface EpochState {
  number: bigint
  startBlock: bigint
  nextStartBlock: bigint
  /** Coinbase of the last block (proposer-slot liveness). */
  lastCoinbase: Uint8Array
}

export interface EpochRecord {
  number: bigint
  startBlock: bigint
  setHash: Uint8Array
  /** Consensus addresses, sorted ascending. */
  members: Uint8Array[]
}

export type { GlobalRewards }

/** Status of a validator at `time`: Unbonding ends by itself after the unbonding time. */
export function statusAt(v: ValidatorRecord, time: bigint): BondStatus {
  if (v.status === BondStatus.Unbonding && time >= v.unbondingCompletion) return BondStatus.Unbonded
  return v.status
}

export function emptyDescription(): Description {
  return { moniker: '', identity: '', website: '', securityContact: '', details: '' }
}
