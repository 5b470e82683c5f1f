/**
 * The Attribution module (0x4f50454e…0003): settles provider-signed inference receipts, splits
 * the fee and keeps pull-based reward balances.
 *
 * Split of a fee F, each level apportioned exactly by largest remainder (apportion below):
 *   F → protocol, stakers, owner, contributors by protocolBps, stakersBps, ownerShareBps (model's)
 *   and the rest of 10⁴; parentRoyalty = ⌊owner·parentRoyaltyBps/10⁴⌋ to the direct parent's
 *   owner (derivatives only), the model owner keeping the rest;
 *   contributors → entries by their weights (sum 10⁶);
 *   an entry → its named contributions by their weights (sum 10⁶), or else, whole, to the pool of
 *   the named datanet version (pools.ts), which carries its sub-wei remainder.
 * So the credits of a settlement sum to F exactly and no account collects rounding.
 */

import type { CallEnv, DefinedModule } from '@openledger/module-kit'
import {
  type AbiTools,
  abiTools,
  defineModule,
  equalBytes,
  fromHex,
  isZero,
  toHex,
  u256,
} from '@openledger/module-kit'
import { attributionAbi } from '../sol/abi.ts'
import { type Receipt, receiptDigest, receiptHashWords, recoverSigner } from './eip712.ts'
import { GAS, keccakGas } from './gas.ts'
import {
  ATTRIBUTION_ADDRESS,
  accruedSlot,
  GOVERNANCE_ADDRESS,
  MODELS_ADDRESS,
  trainedOnSlot,
  usedNonceSlot,
} from './layout.ts'
import { loadParams, paramSpecOf, SPLIT_WORDS, setParam } from './param-store.ts'
import { BPS_DENOMINATOR, type ModuleParams, paramValue, WEIGHT_DENOMINATOR } from './params.ts'
import { payVersionPool } from './pools.ts'
import { readIsNonceUsed, readReceipt, readRewardIndex, readRewardPerShare, readRewards } from './read.ts'
import {
  ContributionStatus,
  loadContributionCore,
  loadModel,
  loadModelOwner,
  loadVersionCountOf,
  loadVersionTotals,
  receiptExists,
  storeReceipt,
} from './records.ts'
import { credit, creditScaled, heldList, readAccrued, readU, settleHolder } from './rewards.ts'

export const ATTRIBUTION_LIMITS = {
  maxEntries: 16,
  maxContributionsPerEntry: 64,
  maxContributionsPerReceipt: 256,
} as const

const t: AbiTools = abiTools(attributionAbi)
const BPS = BigInt(BPS_DENOMINATOR)
const WEIGHTS = BigInt(WEIGHT_DENOMINATOR)

interface ReceiptArg {
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
function checkShape(r: Receipt): void {
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

async function settle(
  env: CallEnv,
  genesis: ModuleParams,
  a: ReceiptArg,
  signatureHex: string,
): Promise<string> {
  const { x, ctx } = env
  const r = receiptFromArg(a)
  checkShape(r)
  if (ctx.value !== r.fee) t.fail('WrongValue', ctx.value, r.fee)
  if (!isZero(r.payer) && !equalBytes(r.payer, env.caller)) t.fail('WrongPayer', a.payer, toHex(env.caller))
  if (ctx.block.timestamp > r.deadline) t.fail('ReceiptExpired', r.deadline, ctx.block.timestamp)

  const model = await loadModel(x, r.modelId)
  if (model === undefined) return t.fail('ModelNotFound', r.modelId)
  if (r.modelVersion < 1 || BigInt(r.modelVersion) > model.versionCount) {
    t.fail('ModelVersionNotFound', r.modelId, r.modelVersion)
  }
  if (r.fee < model.minFee) t.fail('FeeBelowMinimum', r.fee, model.minFee)

  const digest = receiptDigest(r, ctx.chainId, ATTRIBUTION_ADDRESS)
  const sig = recoverSigner(digest, fromHex(signatureHex))
  if (!sig.ok) t.fail(sig.reason === 'malleable' ? 'MalleableSignature' : 'InvalidSignature')
  if (!equalBytes(sig.signer, model.provider))
    t.fail('InvalidSigner', toHex(model.provider), toHex(sig.signer))
  if (await receiptExists(x, digest)) t.fail('ReceiptAlreadySettled', toHex(digest))
  if ((await readU(x, ATTRIBUTION_ADDRESS, usedNonceSlot(r.modelId, r.nonce))) !== 0n) {
    t.fail('NonceAlreadyUsed', r.modelId, r.nonce)
  }

  // Validate every entry against state before computing anything.
  const mv = BigInt(r.modelVersion)
  const plans: { contributors: Uint8Array[]; totalWeight: bigint; versions: bigint }[] = []
  for (const e of r.entries) {
    if (
      (await readU(x, MODELS_ADDRESS, trainedOnSlot(r.modelId, mv, e.datanetId, e.datanetVersion))) === 0n
    ) {
      t.fail('DatanetVersionNotDeclared', r.modelId, r.modelVersion, e.datanetId, e.datanetVersion)
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

  // Split.
  const fee = r.fee
  const params = await loadParams(x, genesis, SPLIT_WORDS)
  const fixedBps = params.protocolBps + params.stakersBps + params.providerBps
  // A model keeps its owner share unless Governance has since raised the fixed parts past it.
  const ownerBps = Math.min(model.ownerShareBps, BPS_DENOMINATOR - fixedBps)
  const [protocol, stakers, providerPart, ownerBucket, contributorsBucket] = apportion(fee, [
    BigInt(params.protocolBps),
    BigInt(params.stakersBps),
    BigInt(params.providerBps),
    BigInt(ownerBps),
    BigInt(BPS_DENOMINATOR - fixedBps - ownerBps),
  ]) as [bigint, bigint, bigint, bigint, bigint]
  const dust = 0n
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
  credits.add(model.provider, providerPart)

  const receiptId = toHex(digest)
  const entryLogs = []
  const entryAmounts = apportion(
    contributorsBucket,
    r.entries.map((e) => BigInt(e.weight)),
  )
  for (let i = 0; i < r.entries.length; i++) {
    const e = r.entries[i] as Receipt['entries'][number]
    const plan = plans[i] as (typeof plans)[number]
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

  storeReceipt(x, digest, {
    modelId: r.modelId,
    modelVersion: r.modelVersion,
    payer: env.caller,
    settledAtBlock: ctx.block.number,
    fee,
    inputHash: r.inputHash,
    outputHash: r.outputHash,
    attributionCommitment: r.attributionCommitment,
    nonce: r.nonce,
  })
  x.write(ATTRIBUTION_ADDRESS, usedNonceSlot(r.modelId, r.nonce), u256(1n))

  x.emit(
    t.log('InferenceSettled', {
      receiptId,
      modelId: r.modelId,
      payer: toHex(env.caller),
      modelVersion: r.modelVersion,
      fee,
      inputHash: a.inputHash,
      outputHash: a.outputHash,
      attributionCommitment: a.attributionCommitment,
      nonce: r.nonce,
    }),
  )
  x.emit(
    t.log('FeeSplit', {
      receiptId,
      protocol,
      stakers,
      owner: ownerBucket - royalty,
      parentRoyalty: royalty,
      contributors: contributorsBucket,
      dust,
    }),
  )
  if (params.providerBps > 0) {
    x.emit(t.log('ProviderPaid', { receiptId, provider: toHex(model.provider), amount: providerPart }))
  }
  for (const l of entryLogs) x.emit(l)
  return receiptId
}

export function createAttributionModule(genesis: ModuleParams): DefinedModule {
  return defineModule({
    name: 'Attribution',
    address: ATTRIBUTION_ADDRESS,
    abi: attributionAbi,
    handlers: {
      settle: {
        mutating: true,
        payable: true,
        intrinsic(args) {
          const r = receiptFromArg(args[0] as ReceiptArg)
          return (
            GAS.ECRECOVER +
            GAS.SETTLE_ENTRY * BigInt(r.entries.length) +
            keccakGas(Number(receiptHashWords(r)) * 32)
          )
        },
        async run(env, args) {
          const [receipt, signature] = args as [ReceiptArg, string]
          return settle(env, genesis, receipt, signature)
        },
      },

      claim: {
        mutating: true,
        async run(env) {
          const { x } = env
          let earned = 0n
          for (const id of await heldList(x, env.caller))
            earned += (await settleHolder(x, id, env.caller)).earned
          await creditScaled(x, env.caller, earned)
          const { wei: amount, remainder } = await readAccrued(x, env.caller)
          if (amount === 0n) t.fail('NothingToClaim', toHex(env.caller))
          // The sub-wei remainder stays: it becomes a whole wei with later rewards.
          x.write(ATTRIBUTION_ADDRESS, accruedSlot(env.caller), u256(remainder << 192n))
          x.pay(ATTRIBUTION_ADDRESS, env.caller, amount)
          x.emit(t.log('RewardsClaimed', { account: toHex(env.caller), amount }))
          return amount
        },
      },

      claimable: {
        mutating: false,
        async run(env, args) {
          return (await readRewards(env.x, fromHex(args[0] as string))).claimable
        },
      },
      getReceipt: {
        mutating: false,
        async run(env, args) {
          const id = args[0] as string
          return (await readReceipt(env.x, fromHex(id))) ?? t.fail('ReceiptNotFound', id)
        },
      },
      receiptDigest: {
        mutating: false,
        intrinsic(args) {
          return keccakGas(Number(receiptHashWords(receiptFromArg(args[0] as ReceiptArg))) * 32)
        },
        async run(env, args) {
          return toHex(
            receiptDigest(receiptFromArg(args[0] as ReceiptArg), env.ctx.chainId, ATTRIBUTION_ADDRESS),
          )
        },
      },
      isNonceUsed: {
        mutating: false,
        async run(env, args) {
          const [modelId, nonce] = args as [bigint, bigint]
          return readIsNonceUsed(env.x, modelId, nonce)
        },
      },
      rewardPerShare: {
        mutating: false,
        async run(env, args) {
          return readRewardPerShare(env.x, args[0] as bigint)
        },
      },
      rewardIndex: {
        mutating: false,
        async run(env, args) {
          return readRewardIndex(env.x, args[0] as bigint)
        },
      },
      splitParams: {
        mutating: false,
        async run(env) {
          const params = await loadParams(env.x, genesis, SPLIT_WORDS)
          return {
            treasury: toHex(params.treasury),
            stakersPool: toHex(params.stakersPool),
            protocolBps: params.protocolBps,
            stakersBps: params.stakersBps,
            minOwnerBps: params.minOwnerBps,
            maxOwnerBps: params.maxOwnerBps,
            parentRoyaltyBps: params.parentRoyaltyBps,
            weightDenominator: WEIGHT_DENOMINATOR,
          }
        },
      },
      setParameter: {
        mutating: true,
        async run(env, args) {
          const [name, value] = args as [string, bigint]
          if (!equalBytes(env.caller, GOVERNANCE_ADDRESS)) t.fail('OnlyGovernance', toHex(env.caller))
          const res = await setParam(env.x, genesis, fromHex(name), value)
          if (!res.ok) {
            if (res.reason === 'unknown') t.fail('UnknownParameter', name)
            t.fail('InvalidParameter', name, value, res.detail)
          }
          env.x.emit(t.log('ParameterSet', { name, newValue: value }))
        },
      },
      getParameter: {
        mutating: false,
        async run(env, args) {
          const [name] = args as [string]
          const spec = paramSpecOf(fromHex(name))
          if (spec === undefined) return t.fail('UnknownParameter', name)
          return paramValue(await loadParams(env.x, genesis), spec)
        },
      },
      parameters: {
        mutating: false,
        async run(env) {
          const p = await loadParams(env.x, genesis)
          return { ...p, treasury: toHex(p.treasury), stakersPool: toHex(p.stakersPool) }
        },
      },
    },
  })
}
