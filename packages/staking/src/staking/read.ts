/**
 * Read API of the Staking module over any StakingStore: the module's view functions, the ol_*
 * RPC methods and the node's validator-set lookups use the same functions.
 */
import { toHex } from '@openledger/module-kit'
import { equalBytes } from '../core/bytes.ts'
import type { StakingParams } from '../core/params.ts'
import { BondStatus, statusAt, type ValidatorRecord } from '../core/records.ts'
import { delegationReward, settleValidator } from '../core/rewards.ts'
import { tokensForShares } from '../core/shares.ts'
import { entryBalance } from '../core/slashing.ts'
import type { StakingStore } from '../core/store.ts'
import { EntryKind } from '../core/unbonding.ts'
import { selfTokens } from '../ledger/common.ts'
import { StorageStakingStore } from './storage-store.ts'

export interface ValidatorView {
  operator: `0x${string}`
  consensusAddress: `0x${string}`
  status: BondStatus
  jailed: boolean
  tombstoned: boolean
  jailedUntil: bigint
  tokens: bigint
  delegatorShares: bigint
  selfDelegation: bigint
  commissionBps: number
  maxCommissionBps: number
  maxCommissionChangeBps: number
  minSelfDelegation: bigint
  unbondingHeight: bigint
  unbondingTime: bigint
  commission: bigint
  description: {
    moniker: string
    identity: string
    website: string
    securityContact: string
    details: string
  }
}

export async function validatorView(
  store: StakingStore,
  v: ValidatorRecord,
  time: bigint,
): Promise<ValidatorView> {
  const g = await store.rewards()
  const settled = settleValidator(v, g, v.status === BondStatus.Bonded)
  return {
    operator: toHex(v.operator),
    consensusAddress: toHex(v.consensus),
    status: statusAt(v, time),
    jailed: v.jailed,
    tombstoned: v.tombstoned,
    jailedUntil: v.jailedUntil,
    tokens: v.tokens,
    delegatorShares: v.shares,
    selfDelegation: await selfTokens(store, v),
    commissionBps: v.commissionBps,
    maxCommissionBps: v.maxCommissionBps,
    maxCommissionChangeBps: v.maxCommissionChangeBps,
    minSelfDelegation: v.minSelfDelegation,
    unbondingHeight: v.unbondingHeight,
    unbondingTime: v.unbondingCompletion,
    commission: settled.commission,
    description: await store.description(v.operator),
  }
}

export async function readValidator(store: StakingStore, operator: Uint8Array, time: bigint) {
  const v = await store.validator(operator)
  return v === undefined ? undefined : validatorView(store, v, time)
}

export const MAX_PAGE = 100

/** Validators with `status` (Unspecified: all), creation order; `total` counts the matching ones. */
export async function listValidators(
  store: StakingStore,
  status: BondStatus,
  offset: bigint,
  limit: bigint,
  time: bigint,
): Promise<{ page: ValidatorView[]; total: bigint }> {
  const n = await store.validatorCount()
  const max = limit > BigInt(MAX_PAGE) || limit === 0n ? BigInt(MAX_PAGE) : limit
  const page: ValidatorView[] = []
  let total = 0n
  for (let i = 0; i < n; i++) {
    const v = await store.validator(await store.validatorAt(i))
    if (v === undefined) continue
    if (status !== BondStatus.Unspecified && statusAt(v, time) !== status) continue
    if (total >= offset && BigInt(page.length) < max) page.push(await validatorView(store, v, time))
    total++
  }
  return { page, total }
}

export async function readDelegation(store: StakingStore, delegator: Uint8Array, validator: Uint8Array) {
  const d = await store.delegation(delegator, validator)
  const v = await store.validator(validator)
  return { shares: d.shares, balance: v === undefined ? 0n : tokensForShares(v, d.shares) }
}

export async function readPendingRewards(store: StakingStore, delegator: Uint8Array, validator: Uint8Array) {
  const v = await store.validator(validator)
  if (v === undefined) return 0n
  const settled = settleValidator(v, await store.rewards(), v.status === BondStatus.Bonded)
  const d = await store.delegation(delegator, validator)
  return delegationReward(settled.accPerShare, d.shares, d.accSnapshot)
}

export async function readUnbonding(store: StakingStore, delegator: Uint8Array, validator: Uint8Array) {
  const events = await store.slashEvents(validator)
  const out = []
  for (const id of await store.entryIds(EntryKind.Unbonding, delegator, validator)) {
    const e = await store.entry(id)
    if (e === undefined) continue
    out.push({
      id: e.id,
      creationHeight: e.creationHeight,
      completionTime: e.completionTime,
      initialBalance: e.initialBalance,
      balance: entryBalance(e.initialBalance, e.creationHeight, events, e.eventsAtCreation),
    })
  }
  return out
}

export async function readRedelegations(
  store: StakingStore,
  delegator: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
) {
  const out = []
  for (const id of await store.entryIds(EntryKind.Redelegation, delegator, src, dst)) {
    const e = await store.entry(id)
    if (e === undefined) continue
    out.push({
      id: e.id,
      creationHeight: e.creationHeight,
      completionTime: e.completionTime,
      initialBalance: e.initialBalance,
      sharesDst: e.sharesDst,
    })
  }
  return out
}

export async function readEpoch(store: StakingStore) {
  const e = await store.epoch()
  const record = await store.epochAt(e.startBlock)
  return {
    number: e.number,
    startBlock: e.startBlock,
    nextStartBlock: e.nextStartBlock,
    setHash: toHex(record?.setHash ?? new Uint8Array(32)),
  }
}

export async function readSigningInfo(store: StakingStore, operator: Uint8Array) {
  const info = await store.signingInfo(operator)
  const v = await store.validator(operator)
  return {
    slots: info.slots,
    missed: info.missed,
    jailed: v?.jailed ?? false,
    tombstoned: v?.tombstoned ?? false,
    jailedUntil: v?.jailedUntil ?? 0n,
  }
}

export async function readSupply(store: StakingStore) {
  const t = await store.totals()
  return {
    minted: t.minted,
    burned: t.burned,
    staked: t.staked,
    unbonding: t.unbonding,
    rewardPool: t.rewardPool,
  }
}

export function paramsView(p: StakingParams) {
  return { ...p }
}

/** Whether `consensus` is in the set that validates the next block. */
export async function isActive(store: StakingStore, consensus: Uint8Array): Promise<boolean> {
  return (await store.activeSet()).some((a) => equalBytes(a, consensus))
}

/** A StakingStore over any storage reader (a state root, eth_call state): reads only. */
export function readOnlyStakingStore(
  getStorage: (account: Uint8Array, slot: Uint8Array) => Promise<Uint8Array>,
): StakingStore {
  const refuse = () => {
    throw new Error('read-only staking store')
  }
  return new StorageStakingStore({ read: getStorage, write: refuse, writeFresh: refuse }, refuse)
}
