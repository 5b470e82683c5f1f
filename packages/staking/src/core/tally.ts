/**
 * Governance tally and proposal states (OpenZeppelin Governor vocabulary and state order).
 *
 * Voting power is bonded stake at the proposal's snapshot block. A validator operator votes with its
 * validator's tokens; a delegator votes with its delegations' tokens. A delegator's own vote overrides
 * its validator's for its part: whichever votes second, the delegator's tokens count once, for the
 * delegator's choice (Cosmos x/gov semantics). Per (proposal, validator) the tally keeps the tokens
 * delegators have already voted with (`deducted`), so both orders are O(1) per validator.
 */
import { BPS } from './math.ts'

export const Support = { Against: 0, For: 1, Abstain: 2 } as const
export type Support = (typeof Support)[keyof typeof Support]

export const ProposalState = {
  Pending: 0,
  Active: 1,
  Canceled: 2,
  Defeated: 3,
  Succeeded: 4,
  Queued: 5,
  Expired: 6,
  Executed: 7,
} as const
export type ProposalState = (typeof ProposalState)[keyof typeof ProposalState]
export const PROPOSAL_STATE_NAMES = [
  'Pending',
  'Active',
  'Canceled',
  'Defeated',
  'Succeeded',
  'Queued',
  'Expired',
  'Executed',
] as const

export interface Votes {
  against: bigint
  for: bigint
  abstain: bigint
}

export function addVotes(v: Votes, support: Support, amount: bigint): Votes {
  if (amount < 0n) throw new RangeError('negative vote')
  switch (support) {
    case Support.Against:
      return { ...v, against: v.against + amount }
    case Support.For:
      return { ...v, for: v.for + amount }
    case Support.Abstain:
      return { ...v, abstain: v.abstain + amount }
  }
}

function subVotes(v: Votes, support: Support, amount: bigint): Votes {
  switch (support) {
    case Support.Against:
      return { ...v, against: v.against - amount }
    case Support.For:
      return { ...v, for: v.for - amount }
    case Support.Abstain:
      return { ...v, abstain: v.abstain - amount }
  }
}

/** One delegation of the voter at the snapshot, and the vote its validator cast (if any). */
export interface DelegatedPower {
  amount: bigint
  validatorVote: Support | undefined
}

/**
 * A delegator votes: each delegation's tokens go to `support`; where the validator already voted,
 * they are taken out of the validator's choice. Returns the new tally and the weight cast.
 */
export function castDelegatorVote(
  v: Votes,
  support: Support,
  parts: readonly DelegatedPower[],
): { votes: Votes; weight: bigint } {
  let votes = v
  let weight = 0n
  for (const p of parts) {
    if (p.amount === 0n) continue
    weight += p.amount
    if (p.validatorVote !== undefined) votes = subVotes(votes, p.validatorVote, p.amount)
  }
  return { votes: addVotes(votes, support, weight), weight }
}

/** A validator votes with its tokens at the snapshot, less what its delegators voted themselves. */
export function castValidatorVote(
  v: Votes,
  support: Support,
  tokens: bigint,
  deducted: bigint,
): { votes: Votes; weight: bigint } {
  const weight = tokens > deducted ? tokens - deducted : 0n
  return { votes: addVotes(v, support, weight), weight }
}

export function quorumOf(bondedAtSnapshot: bigint, quorumBps: number): bigint {
  return (bondedAtSnapshot * BigInt(quorumBps)) / BPS
}

export interface ProposalTimes {
  /** Voting power is read at this block; voting opens after it. */
  snapshot: bigint
  /** Last block in which votes are accepted. */
  deadline: bigint
  /** Earliest execution time (seconds) once queued; 0 when not queued. */
  eta: bigint
  executed: boolean
  canceled: boolean
}

/** Quorum counts For and Abstain (OpenZeppelin GovernorCountingSimple); success needs For > Against. */
export function proposalState(
  p: ProposalTimes,
  votes: Votes,
  quorum: bigint,
  now: { block: bigint; time: bigint },
  gracePeriod: bigint,
): ProposalState {
  if (p.executed) return ProposalState.Executed
  if (p.canceled) return ProposalState.Canceled
  if (now.block <= p.snapshot) return ProposalState.Pending
  if (now.block <= p.deadline) return ProposalState.Active
  const reached = votes.for + votes.abstain >= quorum
  if (!reached || votes.for <= votes.against) return ProposalState.Defeated
  if (p.eta === 0n) return ProposalState.Succeeded
  if (now.time >= p.eta + gracePeriod) return ProposalState.Expired
  return ProposalState.Queued
}
