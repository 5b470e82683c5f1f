/**
 * Bonded providers and optimistic challenges of the Attribution module.
 *
 * A provider bonds OPEN (`bondProvider`); with `minProviderBond` > 0 a model's receipts settle only
 * while its provider holds that much. With `challengeWindow` > 0 a settled receipt's fee waits in
 * the module: anyone may `challenge` it within the window (with `challengerBond`), after which
 * anyone holding the output may `reveal` it by `revealDeadline`. The chain re-runs attribution over
 * the model version's corpus (judge.ts), identically on every node:
 *   - the revealed output gives exactly the signed entries and commitment → the fee is credited as
 *     signed and the challenger's bond goes to the provider;
 *   - otherwise, or with no reveal by the deadline (`resolveUnrevealed`) → the provider is at fault:
 *     `slashBps` of its bond is slashed, `challengerRewardBps` of that to the challenger (with its
 *     bond back) and the rest, with the provider's part of the fee, to the contributors; the fee
 *     goes by the recomputed entries (by the corpus's fallback weights when nothing was revealed).
 * An unchallenged receipt is credited as signed by `finalize` after the window. The provider's
 * bond stays locked until its receipts' windows close and no challenge of them is open.
 */
import type { CallEnv, Handler } from '@openledger/module-kit'
import { equalBytes, fromHex, keccak, toHex } from '@openledger/module-kit'
import { type ReceiptArg, receiptFromArg, t } from './attribution-common.ts'
import { type Receipt, receiptDigest, receiptHashWords } from './eip712.ts'
import { GAS, keccakGas } from './gas.ts'
import {
  fallbackEntries,
  modelCorpus,
  recompute,
  resolutionGasBound,
  sameEntries,
  unrecomputable,
} from './judge.ts'
import { ATTRIBUTION_ADDRESS } from './layout.ts'
import type { ModuleDeps } from './module-history.ts'
import { CHALLENGE_WORDS, loadParams } from './param-store.ts'
import { BPS_DENOMINATOR, type ModuleParams } from './params.ts'
import {
  loadModel,
  loadProviderBond,
  loadReceipt,
  loadReceiptChallenge,
  type ReceiptChallenge,
  ReceiptState,
  storeProviderBond,
  storeReceiptChallenge,
} from './records.ts'
import { credit } from './rewards.ts'
import { applySplit, planEntries } from './split.ts'

const BPS = BigInt(BPS_DENOMINATOR)
const ZERO32 = new Uint8Array(32)
const outputText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The receipt a call names by its full contents (the digest of which is its id), with its
 * challenge record; `want` lists the states it may be in. */
async function receiptIn(
  env: CallEnv,
  arg: ReceiptArg,
  want: readonly number[],
  error: 'ReceiptNotPending' | 'NotChallenged',
): Promise<{ r: Receipt; id: Uint8Array; c: ReceiptChallenge }> {
  const r = receiptFromArg(arg)
  const id = receiptDigest(r, env.ctx.chainId, ATTRIBUTION_ADDRESS)
  if ((await loadReceipt(env.x, id)) === undefined) t.fail('ReceiptNotFound', toHex(id))
  const c = await loadReceiptChallenge(env.x, id)
  if (!want.includes(c.state)) t.fail(error, toHex(id), c.state)
  return { r, id, c }
}

/** Credits the fee (as signed, or by corrected entries on a fault) and records the outcome. */
async function credit_(
  env: CallEnv,
  genesis: ModuleParams,
  r: Receipt,
  id: Uint8Array,
  c: ReceiptChallenge,
  outcome: { state: number; entries?: Receipt['entries']; extra?: bigint },
): Promise<void> {
  const { x } = env
  const model = await loadModel(x, r.modelId)
  if (model === undefined) throw new Error(`settled receipt names missing model ${r.modelId}`)
  const entries = outcome.entries ?? r.entries
  const plans = await planEntries(x, r.modelId, r.modelVersion, entries)
  const params = await loadParams(x, genesis, CHALLENGE_WORDS)
  // The signer (not a provider the model may have switched to since) answered for this receipt.
  const m = { ...model, provider: c.signer }
  const fault = outcome.entries === undefined ? undefined : { extra: outcome.extra ?? 0n }
  await applySplit(x, { receiptId: id, model: m, fee: r.fee, entries, plans, params, fault })
  storeReceiptChallenge(x, id, { ...c, state: outcome.state, creditedAtBlock: env.ctx.block.number })
}

/** The provider was at fault: slash its bond, reward the challenger, credit by `entries`. */
async function convict(
  env: CallEnv,
  genesis: ModuleParams,
  r: Receipt,
  id: Uint8Array,
  c: ReceiptChallenge,
  entries: Receipt['entries'],
  revealed: boolean,
  recomputedCommitment: Uint8Array,
): Promise<void> {
  const { x } = env
  const params = await loadParams(x, genesis, CHALLENGE_WORDS)
  const b = await loadProviderBond(x, c.signer)
  const slashed = (b.bond * BigInt(params.slashBps)) / BPS
  const reward = (slashed * BigInt(params.challengerRewardBps)) / BPS
  storeProviderBond(x, c.signer, { ...b, bond: b.bond - slashed, openChallenges: b.openChallenges - 1 })
  await credit(x, c.challenger, c.bond + reward)
  await credit_(env, genesis, r, id, c, { state: ReceiptState.Corrected, entries, extra: slashed - reward })
  x.emit(
    t.log('ChallengeResolved', {
      receiptId: toHex(id),
      providerAtFault: true,
      revealed,
      recomputedCommitment: toHex(recomputedCommitment),
      slashed,
      challengerReward: reward,
    }),
  )
}

function receiptIntrinsic(args: readonly unknown[]): bigint {
  return keccakGas(Number(receiptHashWords(receiptFromArg(args[0] as ReceiptArg))) * 32)
}

export function challengeHandlers(genesis: ModuleParams, deps: ModuleDeps): Record<string, Handler> {
  return {
    bondProvider: {
      mutating: true,
      payable: true,
      async run(env) {
        const b = await loadProviderBond(env.x, env.caller)
        const bond = b.bond + env.ctx.value
        if (bond >= 1n << 128n) t.fail('InsufficientBond', toHex(env.caller), b.bond, env.ctx.value)
        storeProviderBond(env.x, env.caller, { ...b, bond })
        env.x.emit(t.log('ProviderBonded', { provider: toHex(env.caller), amount: env.ctx.value, bond }))
        return bond
      },
    },

    unbondProvider: {
      mutating: true,
      async run(env, args) {
        const [amount] = args as [bigint]
        const b = await loadProviderBond(env.x, env.caller)
        if (env.ctx.block.timestamp < b.lockedUntil || b.openChallenges > 0) {
          t.fail('BondLocked', toHex(env.caller), b.lockedUntil, b.openChallenges)
        }
        if (amount > b.bond) t.fail('InsufficientBond', toHex(env.caller), b.bond, amount)
        storeProviderBond(env.x, env.caller, { ...b, bond: b.bond - amount })
        env.x.pay(ATTRIBUTION_ADDRESS, env.caller, amount)
        env.x.emit(t.log('ProviderUnbonded', { provider: toHex(env.caller), amount, bond: b.bond - amount }))
        return b.bond - amount
      },
    },

    providerBond: {
      mutating: false,
      async run(env, args) {
        const b = await loadProviderBond(env.x, fromHex(args[0] as string))
        return [b.bond, b.lockedUntil, b.openChallenges]
      },
    },

    finalize: {
      mutating: true,
      intrinsic: receiptIntrinsic,
      async run(env, args) {
        const { r, id, c } = await receiptIn(
          env,
          args[0] as ReceiptArg,
          [ReceiptState.Pending],
          'ReceiptNotPending',
        )
        if (env.ctx.block.timestamp <= c.windowEnds) t.fail('ChallengeWindowOpen', toHex(id), c.windowEnds)
        await credit_(env, genesis, r, id, c, { state: ReceiptState.Finalized })
        return toHex(id)
      },
    },

    challenge: {
      mutating: true,
      payable: true,
      async run(env, args) {
        const { x, ctx } = env
        const idHex = args[0] as string
        const id = fromHex(idHex)
        const rec = await loadReceipt(x, id)
        if (rec === undefined) return t.fail('ReceiptNotFound', idHex)
        const c = await loadReceiptChallenge(x, id)
        if (c.state !== ReceiptState.Pending) t.fail('ReceiptNotPending', idHex, c.state)
        if (ctx.block.timestamp > c.windowEnds) t.fail('ChallengeWindowClosed', idHex, c.windowEnds)
        const params = await loadParams(x, genesis, CHALLENGE_WORDS)
        if (ctx.value !== params.challengerBond) t.fail('WrongBond', ctx.value, params.challengerBond)
        // Only what the chain can recompute can be challenged.
        const corpus = await modelCorpus(x, rec.modelId, BigInt(rec.modelVersion))
        const why = unrecomputable(corpus, BigInt(params.maxResolvableBytes))
        if (why?.reason === 'version') t.fail('NotRecomputable', why.datanetId, why.version)
        if (why?.reason === 'size') t.fail('CorpusTooLarge', why.bytes, BigInt(params.maxResolvableBytes))
        const gasBound = resolutionGasBound(corpus)
        if (gasBound > GAS.JUDGE_BUDGET) t.fail('ResolutionTooExpensive', gasBound, GAS.JUDGE_BUDGET)
        const revealDeadline = ctx.block.timestamp + BigInt(params.revealWindow)
        storeReceiptChallenge(
          x,
          id,
          { ...c, state: ReceiptState.Challenged, revealDeadline, challenger: env.caller, bond: ctx.value },
          { challenger: true },
        )
        const b = await loadProviderBond(x, c.signer)
        storeProviderBond(x, c.signer, { ...b, openChallenges: b.openChallenges + 1 })
        x.emit(
          t.log('ReceiptChallenged', {
            receiptId: idHex,
            challenger: toHex(env.caller),
            bond: ctx.value,
            revealDeadline,
          }),
        )
      },
    },

    reveal: {
      mutating: true,
      intrinsic(args) {
        const outputBytes = ((args[1] as string).length - 2) / 2
        return receiptIntrinsic(args) + keccakGas(outputBytes) + GAS.JUDGE_OUTPUT_BYTE * BigInt(outputBytes)
      },
      async run(env, args) {
        const { x, ctx } = env
        const { r, id, c } = await receiptIn(
          env,
          args[0] as ReceiptArg,
          [ReceiptState.Challenged],
          'NotChallenged',
        )
        if (ctx.block.timestamp > c.revealDeadline) t.fail('RevealTooLate', toHex(id), c.revealDeadline)
        const bytes = fromHex(args[1] as string)
        const actual = keccak(bytes)
        if (!equalBytes(actual, r.outputHash)) t.fail('OutputMismatch', toHex(r.outputHash), toHex(actual))
        let output: string
        try {
          output = outputText.decode(bytes)
        } catch {
          return t.fail('OutputNotText')
        }
        const params = await loadParams(x, genesis, CHALLENGE_WORDS)
        const corpus = await modelCorpus(x, r.modelId, BigInt(r.modelVersion))
        const again = await recompute(x, deps.history, corpus, output, params.spanK, ctx.block.number)
        const honest =
          equalBytes(again.result.commitment, r.attributionCommitment) &&
          sameEntries(again.entries, r.entries)
        if (!honest) {
          await convict(env, genesis, r, id, c, again.entries, true, again.result.commitment)
          return true
        }
        const b = await loadProviderBond(x, c.signer)
        storeProviderBond(x, c.signer, { ...b, openChallenges: b.openChallenges - 1 })
        await credit(x, c.signer, c.bond)
        await credit_(env, genesis, r, id, c, { state: ReceiptState.Finalized })
        x.emit(
          t.log('ChallengeResolved', {
            receiptId: toHex(id),
            providerAtFault: false,
            revealed: true,
            recomputedCommitment: toHex(again.result.commitment),
            slashed: 0n,
            challengerReward: 0n,
          }),
        )
        return false
      },
    },

    resolveUnrevealed: {
      mutating: true,
      intrinsic: receiptIntrinsic,
      async run(env, args) {
        const { r, id, c } = await receiptIn(
          env,
          args[0] as ReceiptArg,
          [ReceiptState.Challenged],
          'NotChallenged',
        )
        if (env.ctx.block.timestamp <= c.revealDeadline)
          t.fail('RevealWindowOpen', toHex(id), c.revealDeadline)
        const corpus = await modelCorpus(env.x, r.modelId, BigInt(r.modelVersion))
        await convict(env, genesis, r, id, c, fallbackEntries(corpus), false, ZERO32)
      },
    },

    getChallenge: {
      mutating: false,
      async run(env, args) {
        const id = args[0] as string
        if ((await loadReceipt(env.x, fromHex(id))) === undefined) return t.fail('ReceiptNotFound', id)
        const c = await loadReceiptChallenge(env.x, fromHex(id))
        return { ...c, signer: toHex(c.signer), challenger: toHex(c.challenger) }
      },
    },
  }
}
