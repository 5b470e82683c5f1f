/**
 * eth_call / eth_estimateGas on a dedicated VM that lives as long as the runtime: it switches
 * state root only when asked for a different one (keeping the trie node cache warm), and wraps
 * every call in a state checkpoint that is always reverted. Writes go to an in-memory buffer that
 * is dropped after each call, so a call can never reach LevelDB.
 */

import type { BlockOptions } from '@ethereumjs/block'
import { type Block, type BlockHeader, createBlock } from '@ethereumjs/block'
import type { EVM, EVMResult } from '@ethereumjs/evm'
import type { MerkleStateManager } from '@ethereumjs/statemanager'
import { Account, Address } from '@ethereumjs/util'
import type { VM } from '@ethereumjs/vm'
import type { CallParams, CallResult, StateOverrides } from './api.ts'
import { txGasCap } from './block/execute.ts'
import { Budget, type ExecutionLimits, withBudget } from './budget.ts'
import { assertLength, equalBytes, fromHex, hexOf, maxBig, minBig, toHex, ZERO_ADDRESS } from './bytes.ts'
import {
  ExecutionError,
  ExecutionFault,
  ForkError,
  InvalidArgumentError,
  isRequestStop,
  MissingStateError,
} from './errors.ts'
import { installEvmFastPaths } from './evm-fastpath.ts'
import { resetTo, rollbackTo } from './isolation.ts'
import { Mutex } from './lock.ts'
import type { CallStateManager } from './state/call-state.ts'
import type { LevelStateDB } from './state/level-db.ts'
import { CallWarmSet } from './warm-set.ts'

const TX_BASE = 21_000n
const TX_CREATE = 32_000n
const DATA_ZERO = 4n
const DATA_NONZERO = 16n
const INITCODE_WORD = 2n
const ACCESS_ADDRESS = 2_400n
const ACCESS_SLOT = 1_900n
const FLOOR_PER_TOKEN = 10n

/** Intrinsic gas of a call as a tx would pay it (Prague: EIP-2028/2930/3860/7623). */
export function intrinsicGas(p: CallParams): { intrinsic: bigint; floor: bigint } {
  const data = p.data ?? new Uint8Array(0)
  let zeros = 0n
  for (const b of data) if (b === 0) zeros++
  const nonZeros = BigInt(data.length) - zeros
  let gas = TX_BASE + zeros * DATA_ZERO + nonZeros * DATA_NONZERO
  if (p.to === undefined) gas += TX_CREATE + INITCODE_WORD * ((BigInt(data.length) + 31n) / 32n)
  for (const item of p.accessList ?? []) gas += ACCESS_ADDRESS + ACCESS_SLOT * BigInt(item.storageKeys.length)
  const floor = TX_BASE + FLOOR_PER_TOKEN * (zeros + nonZeros * 4n)
  return { intrinsic: gas, floor }
}

/** Where a call runs and what bounds it. */
export interface CallOptions {
  stateRoot?: Uint8Array
  overrides?: StateOverrides
  /** Gas cap, time limit, cancellation and time slices of the request (budget.ts). */
  limits?: ExecutionLimits
}

/** The gas a call runs with: the given gas or the block's, lowered to the cap (geth's --rpc.gascap). */
function cappedGas(p: CallParams, header: BlockHeader, limits: ExecutionLimits | undefined): bigint {
  const gas = p.gas ?? header.gasLimit
  const cap = limits?.gasCap
  return cap !== undefined && cap > 0n && gas > cap ? cap : gas
}

const budgetFor = (limits: ExecutionLimits | undefined) => (limits ? new Budget(limits) : undefined)

export interface CallRunResult extends CallResult {
  exec: EVMResult
  gasLimit: bigint
}

/** Attaches an observer (a tracer) to the call VM's EVM for one run; detached however it ends. */
export type AttachTracer = (evm: EVM) => { detach(): void }

export class CallEngine {
  private readonly lock = new Mutex()
  private root: Uint8Array | undefined
  private blockCache: { hash: string; block: Block } | undefined
  private warmPrecompiles: { map: Map<string, unknown>; list: string[] } | undefined
  private readonly warm = new CallWarmSet()

  constructor(
    private readonly vm: VM,
    private readonly db: LevelStateDB,
    private readonly blockOptions: BlockOptions,
    private readonly hasState: (root: Uint8Array) => Promise<boolean>,
    /** Puts the call VM's Common on the fork of a block number (see config.setForkAt). */
    private readonly setFork: (common: VM['common'], blockNumber: bigint) => void = () => {},
  ) {
    installEvmFastPaths()
    db.beginBuffer()
  }

  private get sm(): MerkleStateManager {
    return this.vm.stateManager as MerkleStateManager
  }

  get stateManager(): VM['stateManager'] {
    return this.vm.stateManager
  }

  /** Runs `fn` while no call is running. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn)
  }

  /** Forgets every read and the current root (a fork changed what equal roots read through to). */
  forgetReads(): void {
    ;(this.vm.stateManager as CallStateManager).forgetReads()
    this.root = undefined
  }

  private async useRoot(root: Uint8Array): Promise<void> {
    if (this.root !== undefined && equalBytes(this.root, root)) return
    if (!(await this.hasState(root))) throw new MissingStateError(root)
    await this.sm.setStateRoot(root)
    this.root = root
  }

  /** A Block object for the EVM's block context, cached per header (it is immutable). */
  private blockFor(header: BlockHeader, zeroBaseFee: boolean): Block {
    const hash = `${toHex(header.hash())}${zeroBaseFee ? ':0' : ''}`
    if (this.blockCache?.hash === hash) return this.blockCache.block
    const json = header.toJSON()
    const block = createBlock(
      { header: zeroBaseFee ? { ...json, baseFeePerGas: '0x0' } : json },
      this.blockOptions,
    )
    this.blockCache = { hash, block }
    return block
  }

  /** Precompile addresses (unprefixed hex, the journal's key form), fixed for the VM's lifetime. */
  precompileAddresses(): string[] {
    const map = (this.vm.evm as unknown as { precompiles: Map<string, unknown> }).precompiles
    if (this.warmPrecompiles?.map !== map)
      this.warmPrecompiles = { map, list: [...map.keys()].map((a) => a.replace(/^0x/, '')) }
    return this.warmPrecompiles.list
  }

  private async applyOverrides(overrides: StateOverrides): Promise<void> {
    for (const [addrHex, o] of overrides) {
      let addrBytes: Uint8Array
      try {
        addrBytes = fromHex(addrHex)
        assertLength(`override address ${addrHex}`, addrBytes, 20)
      } catch {
        throw new InvalidArgumentError(`state override: invalid address ${addrHex}`)
      }
      const address = new Address(addrBytes)
      if (o.state !== undefined && o.stateDiff !== undefined) {
        throw new InvalidArgumentError(`state override for ${addrHex}: both state and stateDiff given`)
      }
      const acct = (await this.sm.getAccount(address)) ?? new Account()
      if (o.balance !== undefined) acct.balance = o.balance
      if (o.nonce !== undefined) acct.nonce = o.nonce
      await this.sm.putAccount(address, acct)
      if (o.code !== undefined) await this.sm.putCode(address, o.code)
      if (o.state !== undefined) await this.sm.clearStorage(address)
      for (const [slotHex, value] of o.state ?? o.stateDiff ?? []) {
        let slot: Uint8Array
        try {
          slot = fromHex(slotHex)
          assertLength('slot', slot, 32)
          assertLength('value', value, 32)
        } catch {
          throw new InvalidArgumentError(
            `state override for ${addrHex}: slot ${slotHex} and its value must be 32 bytes`,
          )
        }
        await this.sm.putStorage(address, slot, value)
      }
    }
  }

  private effectivePrice(p: CallParams, baseFee: bigint): bigint {
    if (p.gasPrice !== undefined) return p.gasPrice
    if (p.maxFeePerGas !== undefined) {
      const tip = p.maxPriorityFeePerGas ?? 0n
      return minBig(p.maxFeePerGas, baseFee + tip)
    }
    return 0n
  }

  /** One call; never persists. The gas is capped by `opts.limits.gasCap`; `budget` bounds its time. */
  async run(
    p: CallParams,
    header: BlockHeader,
    opts: CallOptions = {},
    budget?: Budget,
    attach?: AttachTracer,
  ): Promise<CallRunResult> {
    if (p.from !== undefined) assertLength('from', p.from, 20)
    if (p.to !== undefined) assertLength('to', p.to, 20)
    const gasLimit = cappedGas(p, header, opts.limits)
    if (gasLimit < 0n) throw new InvalidArgumentError('gas must not be negative')
    if ((p.value ?? 0n) < 0n) throw new InvalidArgumentError('value must not be negative')
    const root = opts.stateRoot ?? header.stateRoot
    // A call that pays nothing sees BASEFEE 0, as on geth (NoBaseFee), Hardhat and anvil: fee-less
    // calls must not fail on, or compute with, a base fee they do not pay.
    const block = this.blockFor(header, this.effectivePrice(p, header.baseFeePerGas ?? 0n) === 0n)
    return this.lock.run(async () => {
      await this.useRoot(root)
      this.setFork(this.vm.common, header.number)
      const sm = this.sm
      await sm.checkpoint()
      let tracer: { detach(): void } | undefined
      try {
        if (opts.overrides !== undefined) await this.applyOverrides(opts.overrides)
        const from = new Address(p.from ?? ZERO_ADDRESS)
        const price = this.effectivePrice(p, header.baseFeePerGas ?? 0n)
        const value = p.value ?? 0n
        if (price > 0n) {
          // Like geth: with a fee set, the sender must afford gas * price + value.
          const balance = (await sm.getAccount(from))?.balance ?? 0n
          if (balance < gasLimit * price + value) {
            throw new ExecutionError(
              `insufficient funds for gas * price + value: have ${balance} want ${gasLimit * price + value}`,
            )
          }
        }
        const { intrinsic, floor } = intrinsicGas(p)
        if (gasLimit < intrinsic || gasLimit < floor) {
          throw new ExecutionError(
            `intrinsic gas too low: have ${gasLimit}, want ${maxBig(intrinsic, floor)}`,
          )
        }
        const evm = this.vm.evm
        // The previous call's finally left the journal clean (rollbackTo). EIP-2929/2930 warm
        // set, as runTx would prepare it (warm-set.ts: the precompiles' entries are kept).
        const warm = this.warm
        warm.begin(evm.journal, this.precompileAddresses())
        warm.add(evm.journal, hexOf(from.bytes))
        if (p.to !== undefined) warm.add(evm.journal, hexOf(p.to))
        warm.add(evm.journal, hexOf(header.coinbase.bytes))
        for (const item of p.accessList ?? []) {
          const slots = item.storageKeys.map(hexOf)
          warm.addAccessListItem(evm.journal, hexOf(item.address), slots)
        }
        tracer = attach?.(evm as EVM)
        const exec = await withBudget(evm, budget, () =>
          evm.runCall({
            block,
            caller: from,
            origin: from,
            to: p.to !== undefined ? new Address(p.to) : undefined,
            gasLimit: gasLimit - intrinsic,
            gasPrice: price,
            value,
            data: p.data ?? new Uint8Array(0),
            skipBalance: price === 0n,
            // The sender's nonce bump is unobservable in a call; only CREATE derives an address from it.
            skipNonceIncrement: p.to !== undefined,
          }),
        )
        const r = exec.execResult
        let used = intrinsic + r.executionGasUsed
        const refund = r.gasRefund ?? 0n
        if (r.exceptionError === undefined && refund > 0n) used -= refund < used / 5n ? refund : used / 5n
        if (used < floor) used = floor
        const result: CallRunResult = {
          returnData: r.returnValue,
          gasUsed: used,
          logs: (r.logs ?? []).map(([address, topics, data]) => ({ address, topics, data })),
          exec,
          gasLimit,
        }
        if (r.exceptionError !== undefined) {
          const reverted = r.exceptionError.error === 'revert'
          result.error = { reverted, message: reverted ? 'execution reverted' : r.exceptionError.error }
        }
        return result
      } catch (e) {
        // Throws are faults of the node or a module, never an answer about the call.
        // An aborted request (time limit, client gone) is the caller's answer, not a fault.
        // A fork's remote failing is the remote's problem, told as such.
        if (
          e instanceof ExecutionError ||
          e instanceof InvalidArgumentError ||
          e instanceof ForkError ||
          isRequestStop(e)
        )
          throw e
        throw ExecutionFault.of(e)
      } finally {
        tracer?.detach()
        this.warm.end()
        // Every checkpoint a throw left open goes too, so the next call starts from the same clean
        // VM (checkpoint depth 0, empty journal, transient storage and original-storage cache).
        try {
          await rollbackTo(this.vm, 0)
        } catch {
          resetTo(this.vm, this.root ?? (sm as CallStateManager).currentRoot())
        }
        this.db.discardBuffer()
        this.db.beginBuffer()
        // Defensive: a call must leave the trie on the same root; if not, reload it next time.
        if (this.root !== undefined && !equalBytes((sm as CallStateManager).currentRoot(), this.root))
          this.root = undefined
      }
    })
  }

  async call(p: CallParams, header: BlockHeader, opts: CallOptions = {}): Promise<CallResult> {
    const { exec: _e, gasLimit: _g, ...rest } = await this.run(p, header, opts, budgetFor(opts.limits))
    return rest
  }

  /** Every run of the search shares one budget: the time limit covers the whole estimate. */
  async estimateGas(p: CallParams, header: BlockHeader, opts: CallOptions = {}): Promise<bigint> {
    const budget = budgetFor(opts.limits)
    let hi = cappedGas(p, header, opts.limits)
    // Osaka (EIP-7825): no transaction can use more than the cap, so no estimate exceeds it.
    const txCap = await this.lock.run(async () => {
      this.setFork(this.vm.common, header.number)
      return txGasCap(this.vm.common)
    })
    if (txCap !== undefined && p.gas === undefined && hi > txCap) hi = txCap
    const price = this.effectivePrice(p, header.baseFeePerGas ?? 0n)
    if (price > 0n) {
      const from = p.from ?? ZERO_ADDRESS
      const root = opts.stateRoot ?? header.stateRoot
      const balance = await this.lock.run(async () => {
        await this.useRoot(root)
        const override = opts.overrides?.get(toHex(from))?.balance
        return override ?? (await this.sm.getAccount(new Address(from)))?.balance ?? 0n
      })
      const value = p.value ?? 0n
      if (value > balance) throw new ExecutionError('insufficient funds for transfer')
      const allowance = (balance - value) / price
      if (allowance < hi) hi = allowance
    }
    const { intrinsic, floor } = intrinsicGas(p)
    const min = maxBig(intrinsic, floor)
    if (hi < min) throw new ExecutionError(`gas required exceeds allowance (${hi})`)
    const attempt = (gas: bigint) => this.run({ ...p, gas }, header, opts, budget)
    const first = await attempt(hi)
    if (first.error !== undefined) {
      if (first.error.reverted) throw new ExecutionError('execution reverted', first.returnData, true)
      throw new ExecutionError(
        first.error.message === 'out of gas' ? `gas required exceeds allowance (${hi})` : first.error.message,
      )
    }
    let lo = min - 1n
    // Optimistic probe (as geth): most calls succeed with the gas they used plus the 1/64
    // reserve of nested calls, which saves most of the binary search.
    const guess = ((first.gasUsed + 2_300n) * 64n) / 63n
    if (guess < hi) {
      const r = await attempt(guess)
      if (r.error === undefined) hi = guess
      else lo = guess
    }
    if (first.gasUsed - 1n > lo && first.gasUsed - 1n < hi) lo = first.gasUsed - 1n
    while (lo + 1n < hi) {
      const mid = (lo + hi) / 2n
      const r = await attempt(mid)
      if (r.error === undefined) hi = mid
      else lo = mid
    }
    return hi
  }
}
