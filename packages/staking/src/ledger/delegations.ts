/** Delegate, undelegate, redelegate, cancel an unbonding, withdraw rewards. */
import { equalBytes } from '../core/bytes.ts'
import { fail } from '../core/errors.ts'
import { STAKING_LIMITS } from '../core/params.ts'
import { Infraction, type ValidatorRecord } from '../core/records.ts'
import { sharesForDeposit, sharesForWithdrawal } from '../core/shares.ts'
import { entryBalance } from '../core/slashing.ts'
import type { StakingStore } from '../core/store.ts'
import { completionTime, type Entry, EntryKind } from '../core/unbonding.ts'
import {
  type Env,
  moveTokens,
  mustValidator,
  payReward,
  selfTokens,
  settle,
  writeDelegation,
} from './common.ts'

export interface DelegateResult {
  shares: bigint
  reward: bigint
}

/**
 * Bonds `amount` (already in the Staking account: msg.value, or a cancelled unbonding) to `validator`
 * for `delegator`. Pays the delegation's pending rewards first.
 */
export async function delegate(
  store: StakingStore,
  env: Env,
  delegator: Uint8Array,
  validator: Uint8Array,
  amount: bigint,
): Promise<DelegateResult> {
  const v = await mustValidator(store, validator)
  await settle(store, v)
  const d = await store.delegation(delegator, validator)
  const before = d.shares
  const reward = await payReward(store, delegator, v, d)
  const shares = sharesForDeposit(v, amount)
  d.shares += shares
  await moveTokens(store, env, v, amount, shares)
  await writeDelegation(store, env, delegator, validator, before, d, STAKING_LIMITS.delegationsPerAccount)
  return { shares, reward }
}

/** Takes `amount` tokens of `delegator` out of the settled validator `v`; pays rewards first. */
async function withdraw(
  store: StakingStore,
  env: Env,
  delegator: Uint8Array,
  v: ValidatorRecord,
  amount: bigint,
): Promise<{ tokens: bigint; reward: bigint }> {
  const d = await store.delegation(delegator, v.operator)
  if (d.shares === 0n) fail('InsufficientDelegation', 0n, amount)
  const before = d.shares
  const reward = await payReward(store, delegator, v, d)
  const out = sharesForWithdrawal(v, d.shares, amount)
  d.shares -= out.shares
  await moveTokens(store, env, v, -out.tokens, -out.shares)
  await writeDelegation(store, env, delegator, v.operator, before, d, STAKING_LIMITS.delegationsPerAccount)
  return { tokens: out.tokens, reward }
}

/** An operator whose own stake fell below its declared minimum is jailed (no slash). */
async function checkSelfDelegation(
  store: StakingStore,
  env: Env,
  delegator: Uint8Array,
  v: ValidatorRecord,
): Promise<boolean> {
  if (!equalBytes(delegator, v.operator) || v.jailed) return false
  if ((await selfTokens(store, v)) >= v.minSelfDelegation) return false
  v.jailed = true
  v.jailedUntil = env.time
  await store.setValidator(v)
  return true
}

async function newEntry(
  store: StakingStore,
  env: Env,
  fields: Omit<Entry, 'id' | 'completionTime' | 'creationHeight'>,
): Promise<Entry> {
  const params = await store.params()
  const ids = await store.entryIds(fields.kind, fields.delegator, fields.validator, fields.dst)
  if (ids.length >= params.maxEntries) fail('TooManyEntries', BigInt(params.maxEntries))
  const q = await store.queue()
  const entry: Entry = {
    ...fields,
    id: q.nextEntryId,
    creationHeight: env.height,
    completionTime: completionTime(env.time, params.unbondingTime, q.lastCompletion),
  }
  q.nextEntryId += 1n
  q.lastCompletion = entry.completionTime
  await store.setQueue(q)
  await store.setEntry(entry)
  await store.setEntryIds(entry.kind, entry.delegator, entry.validator, entry.dst, [...ids, entry.id])
  return entry
}

export interface UndelegateResult {
  completionTime: bigint
  tokens: bigint
  reward: bigint
  /** The operator fell below its minimum self-delegation and was jailed. */
  jailed: Infraction | undefined
}

export async function undelegate(
  store: StakingStore,
  env: Env,
  delegator: Uint8Array,
  validator: Uint8Array,
  amount: bigint,
): Promise<UndelegateResult> {
  const v = await mustValidator(store, validator)
  await settle(store, v)
  const { tokens, reward } = await withdraw(store, env, delegator, v, amount)
  const entry = await newEntry(store, env, {
    kind: EntryKind.Unbonding,
    delegator,
    validator,
    initialBalance: tokens,
    sharesDst: 0n,
    eventsAtCreation: v.slashEvents,
  })
  const t = await store.totals()
  t.unbonding += tokens
  await store.setTotals(t)
  const jailed = (await checkSelfDelegation(store, env, delegator, v))
    ? Infraction.LowSelfDelegation
    : undefined
  return { completionTime: entry.completionTime, tokens, reward, jailed }
}

export interface RedelegateResult extends UndelegateResult {
  sharesDst: bigint
}

export async function redelegate(
  store: StakingStore,
  env: Env,
  delegator: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  amount: bigint,
): Promise<RedelegateResult> {
  if (equalBytes(src, dst)) fail('SelfRedelegation')
  const vs = await mustValidator(store, src)
  const vd = await mustValidator(store, dst)
  // Stake that arrived by redelegation stays slashable for the previous validator's offences; a
  // second hop before it matures would escape that (Cosmos refuses it the same way).
  if ((await store.incoming(delegator, src)) > 0) fail('TransitiveRedelegation', src)
  await settle(store, vs)
  const out = await withdraw(store, env, delegator, vs, amount)
  await settle(store, vd)
  const dd = await store.delegation(delegator, dst)
  const before = dd.shares
  const rewardDst = await payReward(store, delegator, vd, dd)
  const sharesDst = sharesForDeposit(vd, out.tokens)
  dd.shares += sharesDst
  await moveTokens(store, env, vd, out.tokens, sharesDst)
  await writeDelegation(store, env, delegator, dst, before, dd, STAKING_LIMITS.delegationsPerAccount)
  const entry = await newEntry(store, env, {
    kind: EntryKind.Redelegation,
    delegator,
    validator: src,
    dst,
    initialBalance: out.tokens,
    sharesDst,
    eventsAtCreation: vs.slashEvents,
  })
  await store.setIncoming(delegator, dst, (await store.incoming(delegator, dst)) + 1)
  const jailed = (await checkSelfDelegation(store, env, delegator, vs))
    ? Infraction.LowSelfDelegation
    : undefined
  return {
    completionTime: entry.completionTime,
    tokens: out.tokens,
    reward: out.reward + rewardDst,
    sharesDst,
    jailed,
  }
}

/**
 * Applies the validator's slashes since the entry was created (offences before its creation) and
 * returns the entry with its current balance as the new initial balance; the difference is burned.
 */
export async function settleEntry(store: StakingStore, e: Entry): Promise<{ entry: Entry; slashed: bigint }> {
  const events = await store.slashEvents(e.validator)
  if (events.length === e.eventsAtCreation) return { entry: e, slashed: 0n }
  const balance = entryBalance(e.initialBalance, e.creationHeight, events, e.eventsAtCreation)
  return {
    entry: { ...e, initialBalance: balance, eventsAtCreation: events.length },
    slashed: e.initialBalance - balance,
  }
}

export async function removeEntry(store: StakingStore, e: Entry): Promise<void> {
  const ids = await store.entryIds(e.kind, e.delegator, e.validator, e.dst)
  await store.setEntryIds(
    e.kind,
    e.delegator,
    e.validator,
    e.dst,
    ids.filter((id) => id !== e.id),
  )
  await store.deleteEntry(e.id)
}

/** Bonds `amount` of the unbonding entry created at `creationHeight` back to `validator`. */
export async function cancelUnbonding(
  store: StakingStore,
  env: Env,
  delegator: Uint8Array,
  validator: Uint8Array,
  amount: bigint,
  creationHeight: bigint,
): Promise<DelegateResult> {
  if (amount <= 0n) fail('ZeroAmount')
  await mustValidator(store, validator)
  const ids = await store.entryIds(EntryKind.Unbonding, delegator, validator)
  let found: Entry | undefined
  for (const id of ids) {
    const e = await store.entry(id)
    if (e !== undefined && e.creationHeight === creationHeight) {
      found = e
      break
    }
  }
  if (found === undefined) return fail('UnbondingEntryNotFound', creationHeight)
  const { entry, slashed } = await settleEntry(store, found)
  if (amount > entry.initialBalance) fail('InsufficientDelegation', entry.initialBalance, amount)
  const t = await store.totals()
  t.unbonding -= slashed + amount
  t.burned += slashed
  t.pendingBurn += slashed
  await store.setTotals(t)
  if (amount === entry.initialBalance) await removeEntry(store, entry)
  else await store.setEntry({ ...entry, initialBalance: entry.initialBalance - amount })
  return delegate(store, env, delegator, validator, amount)
}

export async function withdrawRewards(
  store: StakingStore,
  delegator: Uint8Array,
  validator: Uint8Array,
): Promise<bigint> {
  const v = await mustValidator(store, validator)
  await settle(store, v)
  await store.setValidator(v)
  const d = await store.delegation(delegator, validator)
  const reward = await payReward(store, delegator, v, d)
  if (reward === 0n) fail('NothingToWithdraw')
  await store.setDelegation(delegator, validator, d)
  return reward
}

export async function withdrawCommission(store: StakingStore, operator: Uint8Array): Promise<bigint> {
  const v = await mustValidator(store, operator)
  await settle(store, v)
  const amount = v.commission
  if (amount === 0n) fail('NothingToWithdraw')
  v.commission = 0n
  await store.setValidator(v)
  const t = await store.totals()
  t.rewardPool -= amount
  await store.setTotals(t)
  store.pay(operator, amount)
  return amount
}
