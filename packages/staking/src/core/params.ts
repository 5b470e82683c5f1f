/**
 * Parameters of Staking (with slashing) and Governance: defaults, validation (shared by the genesis
 * parser and the governance-only setters, so a proposal can never install what a genesis could not)
 * and the strict JSON parser of the genesis sections `staking` and `governance`.
 */
import { fail } from './errors.ts'
import { BPS } from './math.ts'

export interface StakingParams {
  /** Blocks per epoch; the set for the next epoch is elected after the epoch's last block. */
  epochLength: bigint
  /** Size of the QBFT set: the top `maxValidators` eligible validators by bonded tokens. */
  maxValidators: number
  /** A new set smaller than this is not installed: the current set stays for another epoch. */
  minValidators: number
  /** Validators that may exist (bounds the work of an epoch transition). */
  maxCandidates: number
  /** Seconds an undelegation (or a redelegation's slashability) lasts. */
  unbondingTime: bigint
  /** Unbonding (and redelegation) entries per delegator and validator (pair or triple). */
  maxEntries: number
  /** Floor of every validator's declared minimum self-delegation (wei). */
  minSelfDelegation: bigint
  /** New OPEN minted per block for bonded stake (wei; 0: fees only). */
  blockReward: bigint
  slashFractionDoubleSignBps: number
  slashFractionDowntimeBps: number
  /** Part of a double-sign slash paid to the account that submitted the evidence (bps). */
  reporterRewardBps: number
  /** Evidence about a height older than this many blocks is refused. */
  maxEvidenceAge: bigint
  /** Proposer slots per validator over which liveness is measured. */
  signedBlocksWindow: number
  /** Share of its slots a validator must fill (bps); missing more jails it. */
  minSignedPerWindowBps: number
  /** Seconds a downtime jail lasts before `unjail()` is allowed. */
  downtimeJailDuration: bigint
}

export interface GovernanceParams {
  /** Blocks between a proposal and the start of voting (the voting-power snapshot). */
  votingDelay: bigint
  /** Blocks voting stays open. */
  votingPeriod: bigint
  /** Voting power (wei of bonded stake) needed to propose. */
  proposalThreshold: bigint
  /** For + abstain votes needed, as a share of the stake bonded at the snapshot (bps). */
  quorumBps: number
  /** Seconds between queue and the earliest execution. */
  timelockDelay: bigint
  /** Seconds after the earliest execution time at which a queued proposal expires. */
  gracePeriod: bigint
  /** Floor of the EIP-1559 base fee (wei); read by block building and validation. */
  minBaseFee: bigint
}

const DAY = 86_400n

export const DEFAULT_STAKING_PARAMS: Readonly<StakingParams> = Object.freeze({
  epochLength: 30_000n,
  maxValidators: 21,
  minValidators: 1,
  maxCandidates: 1_000,
  unbondingTime: 21n * DAY,
  maxEntries: 7,
  minSelfDelegation: 10n ** 18n,
  blockReward: 0n,
  slashFractionDoubleSignBps: 500,
  slashFractionDowntimeBps: 100,
  reporterRewardBps: 1_000,
  maxEvidenceAge: 2n * 21n * DAY,
  signedBlocksWindow: 100,
  minSignedPerWindowBps: 5_000,
  downtimeJailDuration: 600n,
})

export const DEFAULT_GOVERNANCE_PARAMS: Readonly<GovernanceParams> = Object.freeze({
  votingDelay: 1n,
  votingPeriod: 50_400n,
  proposalThreshold: 0n,
  quorumBps: 3_340,
  timelockDelay: 2n * DAY,
  gracePeriod: 14n * DAY,
  minBaseFee: 0n,
})

/** Hard bounds that keep every epoch transition, vote and evidence bounded in work. */
export const STAKING_LIMITS = {
  maxValidators: 256,
  maxCandidates: 10_000,
  maxEntries: 32,
  signedBlocksWindow: 10_000,
  /** Distinct validators one account may delegate to (bounds castVote and views). */
  delegationsPerAccount: 32,
  /** Matured unbonding/redelegation entries paid out per block (the rest in the next blocks). */
  maturitiesPerBlock: 256,
  maxDescriptionField: 280,
} as const

export const GOVERNANCE_LIMITS = {
  maxActions: 16,
  maxCalldata: 16_384,
  maxDescription: 16_384,
  maxReason: 1_024,
} as const

const U64 = (1n << 64n) - 1n

/**
 * Checks staking params; `minBlockInterval` is the least number of seconds between two blocks
 * (the QBFT block period, at least 1 because timestamps strictly increase). Throws StakingError
 * InvalidParams(field, reason).
 */
export function validateStakingParams(p: StakingParams, minBlockInterval: bigint): void {
  const bad = (field: string, reason: string) => fail('InvalidParams', field, reason)
  if (p.epochLength < 1n || p.epochLength > U64) bad('epochLength', 'must be in [1, 2^64)')
  if (!int(p.maxValidators, 1, STAKING_LIMITS.maxValidators))
    bad('maxValidators', `must be an integer in [1, ${STAKING_LIMITS.maxValidators}]`)
  if (!int(p.minValidators, 1, p.maxValidators)) bad('minValidators', 'must be in [1, maxValidators]')
  if (!int(p.maxCandidates, p.maxValidators, STAKING_LIMITS.maxCandidates))
    bad('maxCandidates', `must be in [maxValidators, ${STAKING_LIMITS.maxCandidates}]`)
  if (p.unbondingTime < 1n || p.unbondingTime > U64) bad('unbondingTime', 'must be in [1, 2^64) seconds')
  if (!int(p.maxEntries, 1, STAKING_LIMITS.maxEntries))
    bad('maxEntries', `must be in [1, ${STAKING_LIMITS.maxEntries}]`)
  if (p.minSelfDelegation < 1n) bad('minSelfDelegation', 'must be at least 1 wei')
  if (p.blockReward < 0n || p.blockReward > 10n ** 30n) bad('blockReward', 'must be in [0, 10^30] wei')
  for (const f of ['slashFractionDoubleSignBps', 'slashFractionDowntimeBps', 'reporterRewardBps'] as const)
    if (!int(p[f], 0, Number(BPS))) bad(f, 'must be an integer in [0, 10000]')
  if (p.slashFractionDoubleSignBps === Number(BPS))
    bad('slashFractionDoubleSignBps', 'must be below 10000 (a validator keeps a non-zero stake)')
  if (p.slashFractionDowntimeBps === Number(BPS))
    bad('slashFractionDowntimeBps', 'must be below 10000 (a validator keeps a non-zero stake)')
  const interval = minBlockInterval < 1n ? 1n : minBlockInterval
  const unbondingBlocks = p.unbondingTime / interval
  if (p.maxEvidenceAge <= unbondingBlocks || p.maxEvidenceAge > U64)
    bad(
      'maxEvidenceAge',
      `must exceed the unbonding time in blocks (${unbondingBlocks} at ${interval} s per block), so stake stays slashable for every admissible piece of evidence`,
    )
  if (!int(p.signedBlocksWindow, 1, STAKING_LIMITS.signedBlocksWindow))
    bad('signedBlocksWindow', `must be in [1, ${STAKING_LIMITS.signedBlocksWindow}]`)
  if (!int(p.minSignedPerWindowBps, 0, Number(BPS))) bad('minSignedPerWindowBps', 'must be in [0, 10000]')
  if (p.downtimeJailDuration < 0n || p.downtimeJailDuration > U64)
    bad('downtimeJailDuration', 'must be in [0, 2^64) seconds')
}

export function validateGovernanceParams(p: GovernanceParams): void {
  const bad = (field: string, reason: string) => fail('InvalidParams', field, reason)
  if (p.votingDelay < 0n || p.votingDelay > U64) bad('votingDelay', 'must be in [0, 2^64) blocks')
  if (p.votingPeriod < 1n || p.votingPeriod > U64) bad('votingPeriod', 'must be in [1, 2^64) blocks')
  if (p.proposalThreshold < 0n) bad('proposalThreshold', 'must not be negative')
  if (!int(p.quorumBps, 1, Number(BPS))) bad('quorumBps', 'must be an integer in [1, 10000]')
  if (p.timelockDelay < 0n || p.timelockDelay > U64) bad('timelockDelay', 'must be in [0, 2^64) seconds')
  if (p.gracePeriod < 1n || p.gracePeriod > U64) bad('gracePeriod', 'must be in [1, 2^64) seconds')
  if (p.minBaseFee < 0n || p.minBaseFee > 10n ** 24n) bad('minBaseFee', 'must be in [0, 10^24] wei')
}

function int(v: number, lo: number, hi: number): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi
}
