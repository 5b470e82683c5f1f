/**
 * Crediting a receipt's fee: the exact apportionment of every level (see attribution.ts) and the
 * events that report it. Used when a receipt settles without a challenge window, when it is
 * finalized after the window, and when a challenge is resolved (with the recomputed entries).
 */
import { type Exec, toHex } from '@openledger/module-kit'
import { t } from './attribution-common.ts'
import type { ReceiptEntry } from './eip712.ts'
import { MODELS_ADDRESS, trainedOnSlot } from './layout.ts'
import { BPS_DENOMINATOR, type ModuleParams } from './params.ts'
import { payVersionPool } from './pools.ts'
import {
  ContributionStatus,
  loadContributionCore,
  loadModelOwner,
  loadVersionCountOf,
  loadVersionTotals,
  type ModelHeader,
} from './records.ts'
import { credit, readU } from './rewards.ts'

const BPS = BigInt(BPS_DENOMINATOR)

/**
 * Largest-remainder apportionment of `total` by integer `weights` (their sum > 0): part i gets
 * ⌊total·wᵢ/Σw⌋, and the units left (fewer than the number of parts) go one each to the largest
 * remainders, ties to the lower index. The parts sum to `total` exactly.
 */
export function apportion(total: bigint, weights: readonly bigint[]): bigint[] {
  let sum = 0n
  for (const w of weights) sum += w
  const parts = weights.map((w) => (total * w) / sum)
  let left = total - parts.reduce((a, p) => a + p, 0n)
  if (left > 0n) {
    const rems = weights.map((w) => (total * w) % sum)
    const order = weights
      .map((_, i) => i)
      .sort((a, b) => {
        const d = (rems[b] as bigint) - (rems[a] as bigint)
        return d > 0n ? 1 : d < 0n ? -1 : a - b
      })
    for (const i of order) {
      if (left === 0n) break
      parts[i] = (parts[i] as bigint) + 1n
      left--
    }
  }
  return parts
}

class Credits {
  private readonly m = new Map<string, { account: Uint8Array; amount: bigint }>()
  add(account: Uint8Array, amount: bigint): void {
    if (amount === 0n) return
    const k = toHex(account)
    const e = this.m.get(k)
    if (e === undefined) this.m.set(k, { account, amount })
    else e.amount += amount
  }
  entries() {
    return this.m.values()
  }
}

/** What crediting an entry needs from state: the named contributions' contributors, or the pool. */
export interface EntryPlan {
  contributors: Uint8Array[]
  totalWeight: bigint
  versions: bigint
}

/**
 * Checks every entry against state (the model version declares the datanet version; every named
 * contribution is approved and inside it) and returns what crediting needs. Typed reverts.
 */
export async function planEntries(
  x: Exec,
  modelId: bigint,
  modelVersion: number,
  entries: readonly ReceiptEntry[],
): Promise<EntryPlan[]> {
  const mv = BigInt(modelVersion)
  const plans: EntryPlan[] = []
  for (const e of entries) {
    if ((await readU(x, MODELS_ADDRESS, trainedOnSlot(modelId, mv, e.datanetId, e.datanetVersion))) === 0n) {
      t.fail('DatanetVersionNotDeclared', modelId, modelVersion, e.datanetId, e.datanetVersion)
    }
    const totals = await loadVersionTotals(x, e.datanetId, e.datanetVersion)
    if (e.contributionIds.length > 0) {
      const contributors: Uint8Array[] = []
      for (const cid of e.contributionIds) {
        const c = await loadContributionCore(x, e.datanetId, cid)
        if (c === undefined || c.status !== ContributionStatus.Approved || c.approvalIndex >= totals.count) {
          t.fail('ContributionNotInVersion', e.datanetId, e.datanetVersion, cid)
        }
        contributors.push(c.contributor)
      }
      plans.push({ contributors, totalWeight: 0n, versions: 0n })
    } else {
      // A declared version is published, so its total weight is positive.
      const versions = await loadVersionCountOf(x, e.datanetId)
      plans.push({ contributors: [], totalWeight: totals.totalWeight, versions })
    }
  }
  return plans
}

export interface SplitInput {
  receiptId: Uint8Array
  model: ModelHeader
  fee: bigint
  entries: readonly ReceiptEntry[]
  plans: readonly EntryPlan[]
  params: ModuleParams
  /** The provider was proven wrong: its part goes to the contributors, with `extra` (the harmed
   * side's part of its slashed bond). */
  fault?: { extra: bigint }
}

/** Credits every part of the fee and emits FeeSplit, ProviderPaid and the per-entry events. */
export async function applySplit(x: Exec, s: SplitInput): Promise<void> {
  const { model, params, entries, plans } = s
  const fixedBps = params.protocolBps + params.stakersBps + params.providerBps
  // A model keeps its owner share unless Governance has since raised the fixed parts past it.
  const ownerBps = Math.min(model.ownerShareBps, BPS_DENOMINATOR - fixedBps)
  const [protocol, stakers, providerPart, ownerBucket, contributorsPart] = apportion(s.fee, [
    BigInt(params.protocolBps),
    BigInt(params.stakersBps),
    BigInt(params.providerBps),
    BigInt(ownerBps),
    BigInt(BPS_DENOMINATOR - fixedBps - ownerBps),
  ]) as [bigint, bigint, bigint, bigint, bigint]
  const providerPaid = s.fault === undefined ? providerPart : 0n
  const contributorsBucket = contributorsPart + (s.fault === undefined ? 0n : providerPart + s.fault.extra)
  let royalty = 0n
  const credits = new Credits()
  if (model.parentId !== 0n) {
    const parentOwner = await loadModelOwner(x, model.parentId)
    if (parentOwner !== undefined) {
      royalty = (ownerBucket * BigInt(model.parentRoyaltyBps)) / BPS
      credits.add(parentOwner, royalty)
    }
  }
  credits.add(model.owner, ownerBucket - royalty)
  credits.add(params.stakersPool, stakers)
  credits.add(model.provider, providerPaid)

  const receiptId = toHex(s.receiptId)
  const entryLogs = []
  const entryAmounts = apportion(
    contributorsBucket,
    entries.map((e) => BigInt(e.weight)),
  )
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as ReceiptEntry
    const plan = plans[i] as EntryPlan
    const entryAmount = entryAmounts[i] as bigint
    if (plan.contributors.length > 0) {
      const amounts = apportion(
        entryAmount,
        e.contributionWeights.map((cw) => BigInt(cw)),
      )
      for (let j = 0; j < plan.contributors.length; j++) {
        const amount = amounts[j] as bigint
        const contributor = plan.contributors[j] as Uint8Array
        credits.add(contributor, amount)
        entryLogs.push(
          t.log('ContributionPaid', {
            receiptId,
            datanetId: e.datanetId,
            contributionId: e.contributionIds[j],
            contributor: toHex(contributor),
            amount,
          }),
        )
      }
    }
    entryLogs.push(
      t.log('AttributionPaid', {
        receiptId,
        datanetId: e.datanetId,
        datanetVersion: e.datanetVersion,
        amount: entryAmount,
      }),
    )
    if (plan.contributors.length === 0 && entryAmount > 0n) {
      const increase = await payVersionPool(
        x,
        e.datanetId,
        e.datanetVersion,
        plan.versions,
        plan.totalWeight,
        entryAmount,
      )
      entryLogs.push(
        t.log('VersionPoolPaid', {
          receiptId,
          datanetId: e.datanetId,
          version: e.datanetVersion,
          amount: entryAmount,
          rewardIndexIncrease: increase,
        }),
      )
    }
  }
  credits.add(params.treasury, protocol)
  for (const c of credits.entries()) await credit(x, c.account, c.amount)
  x.emit(
    t.log('FeeSplit', {
      receiptId,
      protocol,
      stakers,
      owner: ownerBucket - royalty,
      parentRoyalty: royalty,
      contributors: contributorsBucket,
      dust: 0n,
    }),
  )
  if (params.providerBps > 0) {
    x.emit(t.log('ProviderPaid', { receiptId, provider: toHex(model.provider), amount: providerPaid }))
  }
  for (const l of entryLogs) x.emit(l)
}
