/**
 * Slashing arithmetic. A slash takes `fractionBps` of a validator's bonded tokens at once (so every
 * delegator's tokens per share drop by the same fraction) and is recorded as a SlashEvent. Unbonding
 * and redelegation entries that were created after the infraction — stake that was at risk when
 * it happened and left since — are slashed lazily: each entry remembers how many events its
 * validator had when it was created, and when it matures (or is cancelled, or viewed) every later
 * event whose infraction precedes the entry applies to it. That is O(1) per slash however many
 * entries exist, and a validator has few events (a double sign tombstones it, a downtime jails it).
 */
import { BPS } from './math.ts'

export interface SlashEvent {
  /** Height of the offence. */
  infractionHeight: bigint
  fractionBps: number
}

/** Tokens removed from `tokens` by a slash of `fractionBps` (rounded down). */
export function slashAmount(tokens: bigint, fractionBps: number): bigint {
  return (tokens * BigInt(fractionBps)) / BPS
}

/**
 * Balance of an entry of `initialBalance` created at `creationHeight`, after the validator's
 * events from index `firstEvent` on (those slashed after the entry existed). Only offences that
 * happened before the entry was created apply: later ones did not endanger its stake.
 */
export function entryBalance(
  initialBalance: bigint,
  creationHeight: bigint,
  events: readonly SlashEvent[],
  firstEvent: number,
): bigint {
  let b = initialBalance
  for (let i = firstEvent; i < events.length; i++) {
    const e = events[i] as SlashEvent
    if (e.infractionHeight < creationHeight) b -= slashAmount(b, e.fractionBps)
  }
  return b
}
