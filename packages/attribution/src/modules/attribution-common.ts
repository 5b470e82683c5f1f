/** What the Attribution module's parts share: typed errors and events, the receipt argument, limits
 * and the shape checks of a receipt. */
import { type AbiTools, abiTools, fromHex } from '@openledger/module-kit'
import { attributionAbi } from '../sol/abi.ts'
import type { Receipt } from './eip712.ts'
import { WEIGHT_DENOMINATOR } from './params.ts'

export const ATTRIBUTION_LIMITS = {
  maxEntries: 16,
  maxContributionsPerEntry: 64,
  maxContributionsPerReceipt: 256,
} as const

export const t: AbiTools = abiTools(attributionAbi)
const WEIGHTS = BigInt(WEIGHT_DENOMINATOR)

export interface ReceiptArg {
  modelId: bigint
  modelVersion: number
  inputHash: string
  outputHash: string
  entries: readonly {
    datanetId: bigint
    datanetVersion: bigint
    weight: number
    contributionIds: readonly bigint[]
    contributionWeights: readonly number[]
  }[]
  nonce: bigint
  deadline: bigint
  payer: string
  fee: bigint
  attributionCommitment: string
}

export function receiptFromArg(a: ReceiptArg): Receipt {
  return {
    modelId: a.modelId,
    modelVersion: a.modelVersion,
    inputHash: fromHex(a.inputHash),
    outputHash: fromHex(a.outputHash),
    entries: a.entries,
    nonce: a.nonce,
    deadline: a.deadline,
    payer: fromHex(a.payer),
    fee: a.fee,
    attributionCommitment: fromHex(a.attributionCommitment),
  }
}

/** Shape checks that need no state: bounds, lengths, weight sums. */
export function checkShape(r: Receipt): void {
  if (r.entries.length === 0) t.fail('NoEntries')
  if (r.entries.length > ATTRIBUTION_LIMITS.maxEntries) {
    t.fail('TooManyItems', BigInt(r.entries.length), BigInt(ATTRIBUTION_LIMITS.maxEntries))
  }
  let named = 0
  let sum = 0n
  r.entries.forEach((e, i) => {
    if (e.contributionIds.length !== e.contributionWeights.length) {
      t.fail(
        'LengthMismatch',
        BigInt(i),
        BigInt(e.contributionIds.length),
        BigInt(e.contributionWeights.length),
      )
    }
    if (e.contributionIds.length > ATTRIBUTION_LIMITS.maxContributionsPerEntry) {
      t.fail(
        'TooManyItems',
        BigInt(e.contributionIds.length),
        BigInt(ATTRIBUTION_LIMITS.maxContributionsPerEntry),
      )
    }
    named += e.contributionIds.length
    sum += BigInt(e.weight)
    if (e.contributionIds.length > 0) {
      const inner = e.contributionWeights.reduce((a, w) => a + BigInt(w), 0n)
      if (inner !== WEIGHTS) t.fail('ContributionWeightsDoNotSumToTotal', BigInt(i), inner, WEIGHTS)
    }
  })
  if (named > ATTRIBUTION_LIMITS.maxContributionsPerReceipt) {
    t.fail('TooManyItems', BigInt(named), BigInt(ATTRIBUTION_LIMITS.maxContributionsPerReceipt))
  }
  if (sum !== WEIGHTS) t.fail('WeightsDoNotSumToTotal', sum, WEIGHTS)
}
