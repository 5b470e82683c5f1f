/**
 * End-of-block system work of the Staking module, in this order:
 *   1. income (stakers' part of fees swept from Attribution, block reward) → reward accumulator;
 *   2. liveness: proposer slots of this block (core/liveness.ts); downtime → slash + jail;
 *   3. matured unbonding / redelegation entries paid out (bounded per block);
 *   4. at an epoch's last block: election of the next epoch's set, status changes, epoch record;
 *   5. everything burned in this block is returned for the host to destroy.
 * Deterministic in (state, block number, time, coinbase): every node re-runs it.
 */
import { equalBytes } from '../core/bytes.ts'
import { type Candidate, elect, validatorSetHash } from '../core/election.ts'
import { isDown, proposerSlots, recordSlot, resetSigningInfo, slotPosition } from '../core/liveness.ts'
import { STAKING_LIMITS } from '../core/params.ts'
import { BondStatus, Infraction, type ValidatorRecord } from '../core/records.ts'
import { distribute } from '../core/rewards.ts'
import { sharesCoveringTokens, tokensForShares } from '../core/shares.ts'
import type { StakingStore } from '../core/store.ts'
import { type Entry, EntryKind } from '../core/unbonding.ts'
import { burn, type Env, moveTokens, payReward, selfTokens, settle, writeDelegation } from './common.ts'
import { removeEntry, settleEntry } from './delegations.ts'
import { type SlashResult, slashAndJail } from './slash.ts'

export interface BlockEnv extends Env {
  coinbase: Uint8Array
}

export interface EpochChange {
  number: bigint
  startBlock: bigint
  set: Uint8Array[]
  setHash: Uint8Array
  /** False: too few eligible validators, the previous set continues. */
  installed: boolean
}

export interface EndBlockResult {
  /** OPEN the host must destroy from the Staking account now. */
  burn: bigint
  slashes: SlashResult[]
  matured: number
  epoch?: EpochChange
}

/** `income` is already in the Staking account (`minted` of it newly created this block). */
export async function endBlock(
  store: StakingStore,
  env: BlockEnv,
  income: bigint,
  minted: bigint,
): Promise<EndBlockResult> {
  if (income > 0n) {
    await store.setRewards(distribute(await store.rewards(), income))
    const t = await store.totals()
    t.rewardPool += income
    t.minted += minted
    await store.setTotals(t)
  }
  const slashes = await liveness(store, env)
  const matured = await maturities(store, env)
  const e = await store.epoch()
  const epoch = env.height + 1n === e.nextStartBlock ? await transition(store, env) : undefined
  const toBurn = await store.pendingBurn()
  if (toBurn > 0n) {
    const t = await store.totals()
    t.pendingBurn = 0n
    await store.setTotals(t)
  }
  return { burn: toBurn, slashes, matured, epoch }
}

async function liveness(store: StakingStore, env: BlockEnv): Promise<SlashResult[]> {
  const e = await store.epoch()
  const previous = e.lastCoinbase
  e.lastCoinbase = env.coinbase
  await store.setEpoch(e)
  const slots = proposerSlots(await store.activeSet(), previous, env.coinbase)
  if (slots === undefined) return []
  const out: SlashResult[] = []
  for (const c of slots.missed) {
    const r = await recordLiveness(store, env, c, true)
    if (r !== undefined) out.push(r)
  }
  await recordLiveness(store, env, slots.proposer, false)
  return out
}

async function recordLiveness(
  store: StakingStore,
  env: BlockEnv,
  consensus: Uint8Array,
  missed: boolean,
): Promise<SlashResult | undefined> {
  const operator = await store.operatorOf(consensus)
  if (operator === undefined) return undefined
  // Unknown or jailed: not recorded. The whole record is read only for a slash (rare).
  if ((await store.jailed(operator)) !== false) return undefined
  const params = await store.params()
  const info = await store.signingInfo(operator)
  const pos = slotPosition(info, params.signedBlocksWindow)
  const word = await store.bitmapWord(operator, info.generation, pos.word)
  const r = recordSlot(info, word, pos.bit, missed)
  await store.setBitmapWord(operator, info.generation, pos.word, r.word)
  if (!isDown(r.info, params.signedBlocksWindow, params.minSignedPerWindowBps)) {
    await store.setSigningInfo(operator, r.info)
    return undefined
  }
  await store.setSigningInfo(operator, resetSigningInfo(r.info))
  const v = (await store.validator(operator)) as ValidatorRecord
  return slashAndJail(store, env, v, {
    infractionHeight: env.height,
    fractionBps: params.slashFractionDowntimeBps,
    reason: Infraction.Downtime,
    jailedUntil: env.time + params.downtimeJailDuration,
    tombstone: false,
  })
}

async function maturities(store: StakingStore, env: BlockEnv): Promise<number> {
  const q = await store.queue()
  let processed = 0
  while (q.head < q.nextEntryId && processed < STAKING_LIMITS.maturitiesPerBlock) {
    const e = await store.entry(q.head)
    if (e !== undefined) {
      if (e.completionTime > env.time) break
      await mature(store, env, e)
    }
    q.head += 1n
    processed++
  }
  if (processed > 0) await store.setQueue(q)
  return processed
}

async function mature(store: StakingStore, env: BlockEnv, original: Entry): Promise<void> {
  const { entry, slashed } = await settleEntry(store, original)
  if (entry.kind === EntryKind.Unbonding) {
    const t = await store.totals()
    t.unbonding -= original.initialBalance
    await store.setTotals(t)
    await burn(store, slashed)
    store.pay(entry.delegator, entry.initialBalance)
  } else if (slashed > 0n && entry.dst !== undefined) {
    // The source validator was slashed for an offence before this redelegation: the moved stake
    // owes the same fraction, taken from the delegation it became (as far as it still exists).
    const dst = await store.validator(entry.dst)
    if (dst !== undefined) {
      await settle(store, dst)
      const d = await store.delegation(entry.delegator, entry.dst)
      const before = d.shares
      await payReward(store, entry.delegator, dst, d)
      const shares = sharesCoveringTokens(dst, d.shares, slashed)
      const tokens = shares === dst.shares ? dst.tokens : tokensForShares(dst, shares)
      d.shares -= shares
      await moveTokens(store, env, dst, -tokens, -shares)
      await writeDelegation(store, env, entry.delegator, entry.dst, before, d, Number.MAX_SAFE_INTEGER)
      await burn(store, tokens)
    }
  }
  if (entry.kind === EntryKind.Redelegation && entry.dst !== undefined) {
    const n = await store.incoming(entry.delegator, entry.dst)
    await store.setIncoming(entry.delegator, entry.dst, n > 0 ? n - 1 : 0)
  }
  await removeEntry(store, entry)
}

/** Elects the set of the epoch starting at env.height + 1. */
async function transition(store: StakingStore, env: BlockEnv): Promise<EpochChange> {
  const params = await store.params()
  const count = await store.validatorCount()
  const candidates: Candidate[] = []
  for (let i = 0; i < count; i++) {
    const v = await store.validator(await store.validatorAt(i))
    if (v === undefined) continue
    candidates.push({
      operator: v.operator,
      consensus: v.consensus,
      tokens: v.tokens,
      selfTokens: await selfTokens(store, v),
      minSelfDelegation: v.minSelfDelegation,
      jailed: v.jailed,
    })
  }
  const result = elect(candidates, params.maxValidators, params.minValidators)
  const set = result.installed ? result.set : await store.activeSet()
  if (result.installed) {
    let delta = 0n
    for (const c of candidates) {
      const v = await store.validator(c.operator)
      if (v === undefined) continue
      const bond = result.elected.some((x) => equalBytes(x.operator, c.operator))
      if (bond === (v.status === BondStatus.Bonded)) continue
      await settle(store, v)
      if (bond) {
        v.status = BondStatus.Bonded
        delta += v.tokens
      } else {
        v.status = BondStatus.Unbonding
        v.unbondingHeight = env.height
        v.unbondingCompletion = env.time + params.unbondingTime
        delta -= v.tokens
      }
      await store.setValidator(v)
    }
    if (delta !== 0n) {
      const g = await store.rewards()
      g.bondedTokens += delta
      await store.setRewards(g)
      await store.checkpoint({ kind: 'totalBonded' }, env.height, g.bondedTokens)
    }
    await store.setActiveSet(set)
  }
  const e = await store.epoch()
  const setHash = validatorSetHash(set)
  const number = e.number + 1n
  await store.pushEpoch({ number, startBlock: env.height + 1n, setHash, members: set })
  e.number = number
  e.startBlock = env.height + 1n
  e.nextStartBlock = env.height + 1n + params.epochLength
  await store.setEpoch(e)
  return { number, startBlock: env.height + 1n, set, setHash, installed: result.installed }
}
