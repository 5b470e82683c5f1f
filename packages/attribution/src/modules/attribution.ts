/**
 * The Attribution module (0x4f50454e…0003): settles provider-signed inference receipts, splits
 * the fee and keeps pull-based reward balances.
 *
 * Split of a fee F, each level apportioned exactly by largest remainder (split.ts):
 *   F → protocol, stakers, owner, contributors by protocolBps, stakersBps, ownerShareBps (model's)
 *   and the rest of 10⁴; parentRoyalty = ⌊owner·parentRoyaltyBps/10⁴⌋ to the direct parent's
 *   owner (derivatives only), the model owner keeping the rest;
 *   contributors → entries by their weights (sum 10⁶);
 *   an entry → its named contributions by their weights (sum 10⁶), or else, whole, to the pool of
 *   the named datanet version (pools.ts), which carries its sub-wei remainder.
 * So the credits of a settlement sum to F exactly and no account collects rounding. With a challenge
 * window (a governed parameter) the fee is credited when the receipt is finalized after the window
 * or its challenge is resolved (challenges.ts).
 */

import type { CallEnv, DefinedModule } from '@openledger/module-kit'
import { defineModule, equalBytes, fromHex, isZero, toHex, u256 } from '@openledger/module-kit'
import { attributionAbi } from '../sol/abi.ts'
import { checkShape, type ReceiptArg, receiptFromArg, t } from './attribution-common.ts'
import { challengeHandlers } from './challenges.ts'
import { receiptDigest, receiptHashWords, recoverSigner } from './eip712.ts'
import { GAS, keccakGas } from './gas.ts'
import { ATTRIBUTION_ADDRESS, accruedSlot, GOVERNANCE_ADDRESS, usedNonceSlot } from './layout.ts'
import type { ModuleDeps } from './module-history.ts'
import { loadParams, paramSpecOf, SETTLE_WORDS, SPLIT_WORDS, setParam } from './param-store.ts'
import { type ModuleParams, paramValue, WEIGHT_DENOMINATOR } from './params.ts'
import { readIsNonceUsed, readReceipt, readRewardIndex, readRewardPerShare, readRewards } from './read.ts'
import {
  loadModel,
  loadProviderBond,
  type ProviderBond,
  ReceiptState,
  receiptExists,
  storeProviderBond,
  storeReceipt,
  storeReceiptChallenge,
} from './records.ts'
import { creditScaled, heldList, readAccrued, readU, settleHolder } from './rewards.ts'
import { applySplit, planEntries } from './split.ts'

export { ATTRIBUTION_LIMITS, receiptFromArg } from './attribution-common.ts'
export { apportion } from './split.ts'

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
  const plans = await planEntries(x, r.modelId, r.modelVersion, r.entries)
  const params = await loadParams(x, genesis, SETTLE_WORDS)
  let bond: ProviderBond | undefined
  if (params.minProviderBond > 0n || params.challengeWindow > 0) {
    bond = await loadProviderBond(x, model.provider)
    if (bond.bond < params.minProviderBond) {
      t.fail('ProviderNotBonded', toHex(model.provider), bond.bond, params.minProviderBond)
    }
  }

  const receiptId = toHex(digest)
  storeReceipt(x, digest, {
    modelId: r.modelId,
    modelVersion: r.modelVersion,
    payer: env.caller,
    settledAtBlock: ctx.block.number,
    fee: r.fee,
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
      fee: r.fee,
      inputHash: a.inputHash,
      outputHash: a.outputHash,
      attributionCommitment: a.attributionCommitment,
      nonce: r.nonce,
    }),
  )
  if (params.challengeWindow === 0) {
    await applySplit(x, { receiptId: digest, model, fee: r.fee, entries: r.entries, plans, params })
    return receiptId
  }
  // With a challenge window the fee waits in the module until the receipt is finalized or a
  // challenge of it is resolved; the provider's bond stays locked at least that long.
  const windowEnds = ctx.block.timestamp + BigInt(params.challengeWindow)
  storeReceiptChallenge(
    x,
    digest,
    {
      state: ReceiptState.Pending,
      windowEnds,
      revealDeadline: 0n,
      creditedAtBlock: 0n,
      signer: model.provider,
      challenger: new Uint8Array(20),
      bond: 0n,
    },
    { signer: true },
  )
  const b = bond as ProviderBond
  if (windowEnds > b.lockedUntil) storeProviderBond(x, model.provider, { ...b, lockedUntil: windowEnds })
  x.emit(t.log('SettlementDeferred', { receiptId, windowEnds }))
  return receiptId
}

export function createAttributionModule(genesis: ModuleParams, deps: ModuleDeps = {}): DefinedModule {
  return defineModule({
    name: 'Attribution',
    address: ATTRIBUTION_ADDRESS,
    abi: attributionAbi,
    handlers: {
      ...challengeHandlers(genesis, deps),
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
