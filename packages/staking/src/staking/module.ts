/**
 * The Staking module (0x4f50454e…04): handlers of IStaking.sol over the ledger (src/ledger), with the
 * ledger's typed errors turned into the interface's custom errors. Storage: layout.ts; end-of-block
 * work: hook.ts.
 * Long file: one handler per IStaking.sol function, each a few lines over the ledger and error mapping.
 */
import {
  type AbiTools,
  abiTools,
  type CallEnv,
  type DefinedModule,
  defineModule,
  fromHex,
  GAS,
  GOVERNANCE_ADDRESS,
  keccakGas,
  STAKING_ADDRESS,
  toHex,
} from '@openledger/module-kit'
import { equalBytes } from '../core/bytes.ts'
import { StakingError } from '../core/errors.ts'
import { type StakingParams, validateStakingParams } from '../core/params.ts'
import type { BondStatus, Description, Infraction } from '../core/records.ts'
import type { StakingStore } from '../core/store.ts'
import { type Env, mustValidator } from '../ledger/common.ts'
import {
  cancelUnbonding,
  delegate,
  redelegate,
  undelegate,
  withdrawCommission,
  withdrawRewards,
} from '../ledger/delegations.ts'
import { handleDoubleSign, type SlashResult } from '../ledger/slash.ts'
import { createValidator, editValidator, unjail } from '../ledger/validators.ts'
import { stakingAbi } from '../sol/abi.ts'
import { checkEquivocation } from './evidence.ts'
import {
  listValidators,
  paramsView,
  readDelegation,
  readEpoch,
  readPendingRewards,
  readRedelegations,
  readSigningInfo,
  readSupply,
  readUnbonding,
  readValidator,
} from './read.ts'
import { StorageStakingStore } from './storage-store.ts'

const t: AbiTools = abiTools(stakingAbi)

export interface StakingModuleOptions {
  /** Least seconds between blocks (QBFT block period, ≥ 1): bounds maxEvidenceAge vs unbondingTime. */
  minBlockInterval: bigint
}

/** ABI value of a ledger error argument (addresses as hex). */
function abiArg(a: unknown): unknown {
  return a instanceof Uint8Array ? toHex(a) : a
}

function store(env: CallEnv): StakingStore {
  return new StorageStakingStore(env.x, (to, amount) => env.x.pay(STAKING_ADDRESS, to, amount))
}

function blockEnv(env: CallEnv): Env {
  return { height: env.ctx.block.number, time: env.ctx.block.timestamp }
}

/** Runs a ledger operation, turning its StakingError into the interface's revert. */
async function ledger<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    if (e instanceof StakingError) return t.fail(e.error, ...e.args.map(abiArg))
    throw e
  }
}

const addr = (v: unknown) => fromHex(v as string)

function emitJail(env: CallEnv, validator: Uint8Array, reason: Infraction, until: bigint): void {
  env.x.emit(t.log('Jail', { validator: toHex(validator), reason, until }))
}

export function emitSlash(env: CallEnv, s: SlashResult): void {
  env.x.emit(
    t.log('Slash', {
      validator: toHex(s.operator),
      reason: s.reason,
      infractionHeight: s.infractionHeight,
      amount: s.amount,
      burned: s.burned,
    }),
  )
  emitJail(env, s.operator, s.reason, s.jailedUntil)
}

interface ParamsArg extends Omit<StakingParams, never> {}

export function createStakingModule(opts: StakingModuleOptions): DefinedModule {
  return defineModule({
    name: 'Staking',
    address: STAKING_ADDRESS,
    abi: stakingAbi,
    handlers: {
      createValidator: {
        mutating: true,
        payable: true,
        async run(env, args) {
          const [
            description,
            commissionBps,
            maxCommissionBps,
            maxCommissionChangeBps,
            minSelfDelegation,
            consensus,
          ] = args as [Description, number, number, number, bigint, string]
          const r = await ledger(() =>
            createValidator(store(env), blockEnv(env), env.caller, env.ctx.value, {
              description,
              commissionBps,
              maxCommissionBps,
              maxCommissionChangeBps,
              minSelfDelegation,
              consensus: addr(consensus),
            }),
          )
          env.x.emit(
            t.log('CreateValidator', {
              validator: toHex(env.caller),
              consensusAddress: consensus,
              value: env.ctx.value,
            }),
          )
          env.x.emit(
            t.log('Delegate', {
              delegator: toHex(env.caller),
              validator: toHex(env.caller),
              amount: env.ctx.value,
              newShares: r.shares,
            }),
          )
          return true
        },
      },
      editValidator: {
        mutating: true,
        async run(env, args) {
          const [description, commissionBps, minSelfDelegation] = args as [Description, bigint, bigint]
          const v = await ledger(() =>
            editValidator(store(env), blockEnv(env), env.caller, {
              description,
              commissionBps,
              minSelfDelegation,
            }),
          )
          env.x.emit(
            t.log('EditValidator', {
              validator: toHex(env.caller),
              commissionBps: v.commissionBps,
              minSelfDelegation: v.minSelfDelegation,
            }),
          )
          return true
        },
      },
      delegate: {
        mutating: true,
        payable: true,
        async run(env, args) {
          const validator = args[0] as string
          const r = await ledger(() =>
            delegate(store(env), blockEnv(env), env.caller, addr(validator), env.ctx.value),
          )
          env.x.emit(
            t.log('Delegate', {
              delegator: toHex(env.caller),
              validator,
              amount: env.ctx.value,
              newShares: r.shares,
            }),
          )
          if (r.reward > 0n)
            env.x.emit(
              t.log('WithdrawRewards', { delegator: toHex(env.caller), validator, amount: r.reward }),
            )
          return r.shares
        },
      },
      undelegate: {
        mutating: true,
        async run(env, args) {
          const [validator, amount] = args as [string, bigint]
          const r = await ledger(() =>
            undelegate(store(env), blockEnv(env), env.caller, addr(validator), amount),
          )
          env.x.emit(
            t.log('Unbond', {
              delegator: toHex(env.caller),
              validator,
              amount: r.tokens,
              completionTime: r.completionTime,
            }),
          )
          if (r.reward > 0n)
            env.x.emit(
              t.log('WithdrawRewards', { delegator: toHex(env.caller), validator, amount: r.reward }),
            )
          if (r.jailed !== undefined) emitJail(env, addr(validator), r.jailed, env.ctx.block.timestamp)
          return r.completionTime
        },
      },
      redelegate: {
        mutating: true,
        async run(env, args) {
          const [src, dst, amount] = args as [string, string, bigint]
          const r = await ledger(() =>
            redelegate(store(env), blockEnv(env), env.caller, addr(src), addr(dst), amount),
          )
          env.x.emit(
            t.log('Redelegate', {
              delegator: toHex(env.caller),
              validatorSrc: src,
              validatorDst: dst,
              amount: r.tokens,
              completionTime: r.completionTime,
            }),
          )
          if (r.jailed !== undefined) emitJail(env, addr(src), r.jailed, env.ctx.block.timestamp)
          return r.completionTime
        },
      },
      cancelUnbonding: {
        mutating: true,
        async run(env, args) {
          const [validator, amount, creationHeight] = args as [string, bigint, bigint]
          await ledger(() =>
            cancelUnbonding(store(env), blockEnv(env), env.caller, addr(validator), amount, creationHeight),
          )
          env.x.emit(
            t.log('CancelUnbonding', { delegator: toHex(env.caller), validator, amount, creationHeight }),
          )
          return true
        },
      },
      withdrawRewards: {
        mutating: true,
        async run(env, args) {
          const validator = args[0] as string
          const amount = await ledger(() => withdrawRewards(store(env), env.caller, addr(validator)))
          env.x.emit(t.log('WithdrawRewards', { delegator: toHex(env.caller), validator, amount }))
          return amount
        },
      },
      withdrawCommission: {
        mutating: true,
        async run(env) {
          const amount = await ledger(() => withdrawCommission(store(env), env.caller))
          env.x.emit(t.log('WithdrawCommission', { validator: toHex(env.caller), amount }))
          return amount
        },
      },
      submitEvidence: {
        mutating: true,
        intrinsic(args) {
          const [, first, second] = args as [number, string, string]
          const bytes = (first.length + second.length - 4) / 2
          // Two recoveries, two digests of up to a whole block, RLP decoding of both.
          return 2n * GAS.ECRECOVER + 2n * keccakGas(bytes) + 8n * BigInt(bytes)
        },
        async run(env, args) {
          const [code, first, second] = args as [number, string, string]
          const ev = checkEquivocation(code, fromHex(first), fromHex(second), env.ctx.chainId)
          if (!ev.ok) return t.fail('InvalidEvidence', ev.reason)
          const s = store(env)
          const r = await ledger(() =>
            handleDoubleSign(s, blockEnv(env), env.caller, {
              consensus: ev.author,
              height: ev.height,
              hash: ev.hash,
            }),
          )
          env.x.emit(
            t.log('EvidenceSubmitted', {
              evidenceHash: toHex(ev.hash),
              validator: toHex(r.operator),
              reporter: toHex(env.caller),
              code,
              height: ev.height,
              round: ev.round,
              reward: r.reward,
            }),
          )
          emitSlash(env, r)
          return toHex(ev.hash)
        },
      },
      unjail: {
        mutating: true,
        async run(env) {
          await ledger(() => unjail(store(env), blockEnv(env), env.caller))
          env.x.emit(t.log('Unjail', { validator: toHex(env.caller) }))
          return true
        },
      },
      setParams: {
        mutating: true,
        async run(env, args) {
          if (!equalBytes(env.caller, GOVERNANCE_ADDRESS)) t.fail('OnlyGovernance', toHex(env.caller))
          const p = args[0] as ParamsArg
          await ledger(async () => {
            validateStakingParams(p, opts.minBlockInterval)
            await store(env).setParams(p)
          })
          env.x.emit(t.log('ParamsUpdated', {}))
          return true
        },
      },

      // ---- views ----
      validator: {
        mutating: false,
        async run(env, args) {
          const v = await readValidator(store(env), addr(args[0]), env.ctx.block.timestamp)
          return v ?? t.fail('ValidatorNotFound', args[0])
        },
      },
      validators: {
        mutating: false,
        async run(env, args) {
          const [status, offset, limit] = args as [BondStatus, bigint, bigint]
          const r = await listValidators(store(env), status, offset, limit, env.ctx.block.timestamp)
          return [r.page, r.total]
        },
      },
      delegation: {
        mutating: false,
        async run(env, args) {
          const r = await readDelegation(store(env), addr(args[0]), addr(args[1]))
          return [r.shares, r.balance]
        },
      },
      delegatorValidators: {
        mutating: false,
        async run(env, args) {
          return (await store(env).delegatorValidators(addr(args[0]))).map(toHex)
        },
      },
      unbondingDelegations: {
        mutating: false,
        async run(env, args) {
          return readUnbonding(store(env), addr(args[0]), addr(args[1]))
        },
      },
      redelegations: {
        mutating: false,
        async run(env, args) {
          return readRedelegations(store(env), addr(args[0]), addr(args[1]), addr(args[2]))
        },
      },
      pendingRewards: {
        mutating: false,
        async run(env, args) {
          return readPendingRewards(store(env), addr(args[0]), addr(args[1]))
        },
      },
      activeValidatorSet: {
        mutating: false,
        async run(env) {
          return (await store(env).activeSet()).map(toHex)
        },
      },
      epoch: {
        mutating: false,
        async run(env) {
          return readEpoch(store(env))
        },
      },
      signingInfo: {
        mutating: false,
        async run(env, args) {
          const s = store(env)
          await ledger(() => mustValidator(s, addr(args[0])))
          return readSigningInfo(s, addr(args[0]))
        },
      },
      totalBonded: {
        mutating: false,
        async run(env) {
          return (await store(env).rewards()).bondedTokens
        },
      },
      supply: {
        mutating: false,
        async run(env) {
          return readSupply(store(env))
        },
      },
      params: {
        mutating: false,
        async run(env) {
          return paramsView(await store(env).params())
        },
      },
    },
  })
}
