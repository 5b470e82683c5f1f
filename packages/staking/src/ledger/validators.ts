/** Creating and editing validators, commission, unjailing. */
import { fail } from '../core/errors.ts'
import { BPS } from '../core/math.ts'
import { STAKING_LIMITS } from '../core/params.ts'
import { BondStatus, type Description, type ValidatorRecord } from '../core/records.ts'
import type { StakingStore } from '../core/store.ts'
import { type Env, mustValidator, selfTokens, settle } from './common.ts'
import { type DelegateResult, delegate } from './delegations.ts'

/** editValidator: a description field with this value keeps the stored one (Cosmos convention). */
export const DO_NOT_MODIFY = '[do-not-modify]'
/** Seconds between two commission changes. */
export const COMMISSION_CHANGE_INTERVAL = 86_400n

export interface CreateValidatorArgs {
  description: Description
  commissionBps: number
  maxCommissionBps: number
  maxCommissionChangeBps: number
  minSelfDelegation: bigint
  consensus: Uint8Array
}

function checkDescription(d: Description): void {
  for (const [field, value] of Object.entries(d)) {
    if (Buffer.byteLength(value, 'utf8') > STAKING_LIMITS.maxDescriptionField)
      fail('DescriptionTooLong', field, BigInt(STAKING_LIMITS.maxDescriptionField))
  }
}

export async function createValidator(
  store: StakingStore,
  env: Env,
  operator: Uint8Array,
  value: bigint,
  a: CreateValidatorArgs,
): Promise<DelegateResult> {
  const params = await store.params()
  if ((await store.validator(operator)) !== undefined) fail('ValidatorExists', operator)
  if (a.consensus.length !== 20 || a.consensus.every((b) => b === 0)) fail('InvalidConsensusAddress')
  if ((await store.operatorOf(a.consensus)) !== undefined) fail('ConsensusAddressInUse', a.consensus)
  if (
    a.commissionBps > a.maxCommissionBps ||
    a.maxCommissionBps > Number(BPS) ||
    a.maxCommissionChangeBps > a.maxCommissionBps
  )
    fail('InvalidCommission', a.commissionBps, a.maxCommissionBps, a.maxCommissionChangeBps)
  if (a.minSelfDelegation < params.minSelfDelegation)
    fail('MinSelfDelegationBelowFloor', a.minSelfDelegation, params.minSelfDelegation)
  if (value < a.minSelfDelegation) fail('SelfDelegationBelowMinimum', value, a.minSelfDelegation)
  checkDescription(a.description)
  const count = await store.validatorCount()
  if (count >= params.maxCandidates) fail('TooManyValidators', BigInt(params.maxCandidates))
  const g = await store.rewards()
  const v: ValidatorRecord = {
    operator,
    consensus: a.consensus,
    index: count,
    status: BondStatus.Unbonded,
    jailed: false,
    tombstoned: false,
    jailedUntil: 0n,
    tokens: 0n,
    shares: 0n,
    commissionBps: a.commissionBps,
    maxCommissionBps: a.maxCommissionBps,
    maxCommissionChangeBps: a.maxCommissionChangeBps,
    commissionUpdatedAt: 0n,
    minSelfDelegation: a.minSelfDelegation,
    unbondingHeight: 0n,
    unbondingCompletion: 0n,
    accSnapshot: g.accPerToken,
    accPerShare: 0n,
    commission: 0n,
    slashEvents: 0,
  }
  await store.setValidator(v, true)
  await store.setOperatorOf(a.consensus, operator)
  await store.setDescription(operator, a.description)
  return delegate(store, env, operator, operator, value)
}

export interface EditValidatorArgs {
  description: Description
  /** -1: keep. */
  commissionBps: bigint
  /** -1: keep. */
  minSelfDelegation: bigint
}

export async function editValidator(
  store: StakingStore,
  env: Env,
  operator: Uint8Array,
  a: EditValidatorArgs,
): Promise<ValidatorRecord> {
  const v = await mustValidator(store, operator)
  if (a.commissionBps !== -1n) {
    if (a.commissionBps < 0n || a.commissionBps > BigInt(v.maxCommissionBps))
      fail('InvalidCommission', clampU16(a.commissionBps), v.maxCommissionBps, v.maxCommissionChangeBps)
    const next = Number(a.commissionBps)
    if (next !== v.commissionBps) {
      const diff = next > v.commissionBps ? next - v.commissionBps : v.commissionBps - next
      if (diff > v.maxCommissionChangeBps)
        fail('CommissionChangeTooLarge', v.commissionBps, next, v.maxCommissionChangeBps)
      if (v.commissionUpdatedAt !== 0n && env.time < v.commissionUpdatedAt + COMMISSION_CHANGE_INTERVAL)
        fail('CommissionChangeTooSoon', v.commissionUpdatedAt + COMMISSION_CHANGE_INTERVAL)
      // Rewards earned so far keep the old rate.
      await settle(store, v)
      v.commissionBps = next
      v.commissionUpdatedAt = env.time
    }
  }
  if (a.minSelfDelegation !== -1n) {
    const params = await store.params()
    if (a.minSelfDelegation < v.minSelfDelegation)
      fail(
        'MinSelfDelegationDecrease',
        v.minSelfDelegation,
        a.minSelfDelegation < 0n ? 0n : a.minSelfDelegation,
      )
    if (a.minSelfDelegation < params.minSelfDelegation)
      fail('MinSelfDelegationBelowFloor', a.minSelfDelegation, params.minSelfDelegation)
    const own = await selfTokens(store, v)
    if (own < a.minSelfDelegation) fail('SelfDelegationBelowMinimum', own, a.minSelfDelegation)
    v.minSelfDelegation = a.minSelfDelegation
  }
  const old = await store.description(operator)
  const merged = { ...old }
  for (const k of Object.keys(old) as (keyof Description)[]) {
    if (a.description[k] !== DO_NOT_MODIFY) merged[k] = a.description[k]
  }
  checkDescription(merged)
  await store.setDescription(operator, merged)
  await store.setValidator(v)
  return v
}

function clampU16(x: bigint): number {
  return Number(x < 0n ? 0n : x > 0xffffn ? 0xffffn : x)
}

export async function unjail(store: StakingStore, env: Env, operator: Uint8Array): Promise<void> {
  const v = await mustValidator(store, operator)
  if (v.tombstoned) fail('AlreadyTombstoned', operator)
  if (!v.jailed) fail('NotJailed', operator)
  if (env.time < v.jailedUntil) fail('JailPeriodNotOver', v.jailedUntil)
  const own = await selfTokens(store, v)
  if (own < v.minSelfDelegation) fail('SelfDelegationBelowMinimum', own, v.minSelfDelegation)
  v.jailed = false
  await store.setValidator(v)
  const info = await store.signingInfo(operator)
  await store.setSigningInfo(operator, { slots: 0n, missed: 0, generation: info.generation + 1 })
}
