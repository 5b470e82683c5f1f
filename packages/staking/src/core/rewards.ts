/**
 * Reward accumulators, two levels, O(1) per operation:
 *
 *   income (stakers' part of inference fees, block reward)
 *     → bonded validators by tokens:  accPerToken += income·P / bondedTokens
 *     → a validator's pending reward = tokens·(accPerToken − its snapshot)/P, settled before its tokens
 *       or status change; commission (bps) to its operator, the rest to its shares:
 *       accPerShare += rest·P / shares
 *     → a delegation's pending reward = shares·(accPerShare − its snapshot)/P, paid when its shares
 *       change or on withdrawal.
 *
 * P = ACC_PRECISION. The global remainder of the first division is carried to the next income, so
 * the global level distributes income exactly; the two per-holder floors leave at most one wei per
 * settlement in the pool (the property tests bound it). Income while nothing is bonded waits in
 * `undistributed`.
 */
import { ACC_PRECISION, bpsOf } from './math.ts'

export interface GlobalRewards {
  accPerToken: bigint
  /** Σ tokens of Bonded validators: the denominator of accPerToken. */
  bondedTokens: bigint
  /** Remainder (scaled by P) of the last division, added to the next income. */
  carry: bigint
  /** Income received while nothing was bonded. */
  undistributed: bigint
}

export interface ValidatorRewards {
  tokens: bigint
  shares: bigint
  commissionBps: number
  /** accPerToken at the last settlement. */
  accSnapshot: bigint
  accPerShare: bigint
  /** Commission earned and not yet withdrawn by the operator. */
  commission: bigint
}

export function distribute(g: GlobalRewards, income: bigint): GlobalRewards {
  if (income < 0n) throw new RangeError('negative income')
  if (g.bondedTokens === 0n) return { ...g, undistributed: g.undistributed + income }
  const scaled = (income + g.undistributed) * ACC_PRECISION + g.carry
  return {
    ...g,
    accPerToken: g.accPerToken + scaled / g.bondedTokens,
    carry: scaled % g.bondedTokens,
    undistributed: 0n,
  }
}

/**
 * Brings a validator's accumulators up to `g`. `bonded` says whether its tokens were part of
 * g.bondedTokens since its last settlement (only then did it earn).
 */
export function settleValidator(v: ValidatorRewards, g: GlobalRewards, bonded: boolean): ValidatorRewards {
  if (v.accSnapshot === g.accPerToken) return v
  if (!bonded || v.tokens === 0n) return { ...v, accSnapshot: g.accPerToken }
  const earned = (v.tokens * (g.accPerToken - v.accSnapshot)) / ACC_PRECISION
  const commission = bpsOf(earned, v.commissionBps)
  const rest = earned - commission
  if (v.shares === 0n) return { ...v, accSnapshot: g.accPerToken, commission: v.commission + earned }
  return {
    ...v,
    accSnapshot: g.accPerToken,
    accPerShare: v.accPerShare + (rest * ACC_PRECISION) / v.shares,
    commission: v.commission + commission,
  }
}

/** Pending reward of a delegation of `shares` whose snapshot is `snapshot`. */
export function delegationReward(accPerShare: bigint, shares: bigint, snapshot: bigint): bigint {
  return (shares * (accPerShare - snapshot)) / ACC_PRECISION
}
