import type { AttributionResult } from './attribute.ts'
import { AttributionError } from './errors.ts'
import { largestRemainder } from './fixed.ts'

/** The Attribution module's receipt entry shape (IAttribution.Entry). */
export interface ReceiptEntryShape {
  datanetId: bigint
  datanetVersion: bigint
  /** Share of the contributors' part, in units of the result's denominator (uint32 on chain). */
  weight: number
  /** Named contributions (uint64 on chain); empty = all shareholders of the datanet. */
  contributionIds: bigint[]
  /** Weights of `contributionIds`, summing exactly to `contributionDenominator`. */
  contributionWeights: number[]
}

const UINT32_MAX = 0xffff_ffffn
const UINT64_MAX = (1n << 64n) - 1n

/**
 * Converts an attribution result to receipt entries: one entry per datanet with its datanet weight;
 * inside it, the contributions' raw credits apportioned to `contributionDenominator` with the same
 * largest-remainder rule (ties to the lower id). Fallback results give entries without named
 * contributions. Everything is recomputable from the same inputs, so a verifier can compare a
 * receipt's entries with `toReceiptEntries(recomputed, ...)`.
 */
export function toReceiptEntries(
  result: AttributionResult,
  datanetVersions: ReadonlyMap<bigint, bigint>,
  contributionDenominator = 1_000_000n,
): ReceiptEntryShape[] {
  if (result.denominator > UINT32_MAX) {
    throw new AttributionError('INVALID_PARAMS', 'receipt weights are uint32: denominator too large')
  }
  if (contributionDenominator < 1n || contributionDenominator > UINT32_MAX) {
    throw new AttributionError('INVALID_PARAMS', 'contributionDenominator must be in [1, 2^32)')
  }
  const named = result.entries.some((e) => e.contributionId !== null)
  return result.datanets.map((d) => {
    const version = datanetVersions.get(d.datanetId)
    if (version === undefined || version < 0n || version > UINT64_MAX) {
      throw new AttributionError('INVALID_PARAMS', `no uint64 version given for datanet ${d.datanetId}`)
    }
    const credits = named ? result.credits.filter((c) => c.datanetId === d.datanetId && c.credit > 0n) : []
    for (const c of credits) {
      if (c.contributionId > UINT64_MAX) {
        throw new AttributionError(
          'INVALID_PARAMS',
          `contribution id ${c.contributionId} does not fit uint64`,
        )
      }
    }
    const weights =
      credits.length === 0
        ? []
        : largestRemainder(
            credits.map((c) => c.credit),
            contributionDenominator,
          )
    const keep = credits.map((_, i) => i).filter((i) => weights[i]! > 0n)
    return {
      datanetId: d.datanetId,
      datanetVersion: version,
      weight: Number(d.weight),
      contributionIds: keep.map((i) => credits[i]!.contributionId),
      contributionWeights: keep.map((i) => Number(weights[i]!)),
    }
  })
}

/** The Attribution module's limits on a receipt's entries (its ATTRIBUTION_LIMITS). */
export interface ReceiptLimits {
  maxContributionsPerEntry: number
  maxContributionsPerReceipt: number
}

/**
 * The module's limits applied to receipt entries, as providers do and verifiers (and the chain's
 * re-run of a challenged receipt) expect: an entry naming more than `maxContributionsPerEntry`
 * contributions, or any entry once the receipt would name more than `maxContributionsPerReceipt`,
 * keeps its datanet weight but names none (its part then goes to the version's shareholders).
 */
export function applyReceiptLimits(
  entries: readonly ReceiptEntryShape[],
  limits: ReceiptLimits,
): ReceiptEntryShape[] {
  let named = 0
  return entries.map((e) => {
    const n = e.contributionIds.length
    const keep = n <= limits.maxContributionsPerEntry && named + n <= limits.maxContributionsPerReceipt
    if (keep) named += n
    return {
      datanetId: e.datanetId,
      datanetVersion: e.datanetVersion,
      weight: e.weight,
      contributionIds: keep ? e.contributionIds : [],
      contributionWeights: keep ? e.contributionWeights : [],
    }
  })
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A contribution's bytes as the text the engine indexes: UTF-8, a leading byte-order mark dropped
 * (WHATWG decoding), anything not UTF-8 refused (INVALID_TEXT). Providers, verifiers and the chain
 * decode records this way.
 */
export function decodeRecordText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new AttributionError('INVALID_TEXT', 'content is not UTF-8 text')
  }
}
