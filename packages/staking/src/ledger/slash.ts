/** Slashing and jailing: double-sign evidence (tombstone) and downtime. */
import { fail } from '../core/errors.ts'
import { bpsOf } from '../core/math.ts'
import { Infraction, MAX_U64, type ValidatorRecord } from '../core/records.ts'
import { slashAmount } from '../core/slashing.ts'
import type { StakingStore } from '../core/store.ts'
import { burn, type Env, moveTokens, settle } from './common.ts'

export interface SlashResult {
  operator: Uint8Array
  infractionHeight: bigint
  reason: Infraction
  /** Tokens taken from the validator. */
  amount: bigint
  /** Part of `amount` destroyed (the rest rewarded the reporter). */
  burned: bigint
  reward: bigint
  jailedUntil: bigint
}

/**
 * Slashes `fractionBps` of the validator's tokens (its delegators' tokens per share drop alike),
 * records the event for its unbonding and redelegation entries, and jails it.
 */
export async function slashAndJail(
  store: StakingStore,
  env: Env,
  v: ValidatorRecord,
  o: {
    infractionHeight: bigint
    fractionBps: number
    reason: Infraction
    jailedUntil: bigint
    tombstone: boolean
    reporter?: Uint8Array
    reporterRewardBps?: number
  },
): Promise<SlashResult> {
  await settle(store, v)
  const amount = slashAmount(v.tokens, o.fractionBps)
  await moveTokens(store, env, v, -amount, 0n)
  const reward = o.reporter !== undefined ? bpsOf(amount, o.reporterRewardBps ?? 0) : 0n
  if (reward > 0n && o.reporter !== undefined) store.pay(o.reporter, reward)
  await burn(store, amount - reward)
  await store.pushSlashEvent(v.operator, { infractionHeight: o.infractionHeight, fractionBps: o.fractionBps })
  v.slashEvents += 1
  v.jailed = true
  if (o.tombstone) v.tombstoned = true
  if (o.jailedUntil > v.jailedUntil) v.jailedUntil = o.jailedUntil
  await store.setValidator(v)
  return {
    operator: v.operator,
    infractionHeight: o.infractionHeight,
    reason: o.reason,
    amount,
    burned: amount - reward,
    reward,
    jailedUntil: v.jailedUntil,
  }
}

export interface DoubleSignEvidence {
  /** Consensus address that signed both messages. */
  consensus: Uint8Array
  height: bigint
  /** Order-independent hash of the two messages (replay protection). */
  hash: Uint8Array
}

/** Checks admissibility and slashes (the caller has verified both signatures). */
export async function handleDoubleSign(
  store: StakingStore,
  env: Env,
  reporter: Uint8Array,
  ev: DoubleSignEvidence,
): Promise<SlashResult> {
  const params = await store.params()
  if (ev.height >= env.height) fail('EvidenceFromFuture', ev.height)
  if (env.height - ev.height > params.maxEvidenceAge) fail('EvidenceTooOld', ev.height, params.maxEvidenceAge)
  if (await store.evidenceSeen(ev.hash)) fail('EvidenceAlreadySubmitted', ev.hash)
  const epoch = await store.epochAt(ev.height)
  if (epoch === undefined || !(await store.isEpochMember(epoch.number, ev.consensus)))
    fail('NotInValidatorSet', ev.consensus, ev.height)
  const operator = await store.operatorOf(ev.consensus)
  if (operator === undefined) return fail('NotInValidatorSet', ev.consensus, ev.height)
  const v = await store.validator(operator)
  if (v === undefined) return fail('NotInValidatorSet', ev.consensus, ev.height)
  if (v.tombstoned) fail('AlreadyTombstoned', operator)
  await store.markEvidence(ev.hash)
  return slashAndJail(store, env, v, {
    infractionHeight: ev.height,
    fractionBps: params.slashFractionDoubleSignBps,
    reason: Infraction.DoubleSign,
    jailedUntil: MAX_U64,
    tombstone: true,
    reporter,
    reporterRewardBps: params.reporterRewardBps,
  })
}
