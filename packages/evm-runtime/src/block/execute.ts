/**
 * The one transaction loop shared by block building (proposer) and block re-execution
 * (validators/import), so both derive state, receipts and fees identically.
 */
import type { Block } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { Capability, isBlob4844Tx, type TypedTransaction } from '@ethereumjs/tx'
import { Account, Address } from '@ethereumjs/util'
import { encodeReceipt, type RunTxResult, runTx, type TxReceipt, type VM } from '@ethereumjs/vm'
import type { ExecutedTx, LogEntry } from '../api.ts'
import type { Budget } from '../budget.ts'
import { minBig } from '../bytes.ts'
import { isBoundSender, keccak256, recoverSender } from '../crypto.ts'
import { ExecutionFault, isRequestStop } from '../errors.ts'
import { installEvmFastPaths } from '../evm-fastpath.ts'
import { checkpointDepth, rollbackTo } from '../isolation.ts'
import { orderedTrieRootFast } from './ordered-trie.ts'
import { applyPlainTransfer } from './transfer.ts'

export interface TxLoopOptions {
  /** build: skip and report invalid txs. validate: any invalid tx aborts (throws TxInvalid). */
  mode: 'build' | 'validate'
  /** performance.now() value after which no further tx is started (build only). */
  deadline?: number
  /** Account credited with the base fee; undefined burns it. */
  treasury?: Uint8Array
  /** Let the event loop run after this many ms of execution (default 25; Infinity: never). */
  yieldEveryMs?: number
  /** Execute blob (type 3) transactions instead of refusing them: only for a fixture's mainnet
   * fork env (statetest); this chain has no blob data availability (docs/decisions.md). */
  allowBlobs?: boolean
  /** RPC work only (a trace's prefix replay): checked before each transaction, so plain transfers
   * (which skip the interpreter) are bounded too. Never set for blocks. */
  budget?: Budget
}

export interface Rejection {
  tx: TypedTransaction
  reason: string
  retry: boolean
  /** Set when execution threw (a fault of the node or a module, not of the transaction). */
  fault?: ExecutionFault
}

export interface TxLoopResult {
  executed: ExecutedTx[]
  receipts: TxReceipt[]
  rejected: Rejection[]
  gasUsed: bigint
  /** Time spent recovering senders (a part of executionMs). */
  senderMs: number
  /** Wall time of the whole tx loop: checks, sender recovery, EVM, receipts. */
  executionMs: number
  /** Time spent in block hooks' beginBlock and endBlock (a part of executionMs; body.ts). */
  hooksMs?: number
}

/** Thrown in validate mode when a tx of a received block cannot be applied. */
export class TxInvalid extends Error {
  constructor(
    readonly index: number,
    readonly tx: TypedTransaction,
    reason: string,
    readonly fault?: ExecutionFault,
  ) {
    super(`tx ${index} (0x${Buffer.from(tx.hash()).toString('hex')}) is invalid: ${reason}`, { cause: fault })
  }
}

const INTRINSIC_MIN = 21_000n

function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint): bigint {
  if (tx.supports(Capability.EIP1559FeeMarket)) {
    const t = tx as TypedTransaction & { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
    return baseFee + minBig(t.maxFeePerGas - baseFee, t.maxPriorityFeePerGas)
  }
  return (tx as TypedTransaction & { gasPrice: bigint }).gasPrice
}

/** EIP-7825 (Osaka): no transaction may carry a gas limit above 2^24. */
export const TX_GAS_LIMIT_CAP = 16_777_216n
/** EIP-7934 (Osaka): MAX_BLOCK_SIZE − SAFETY_MARGIN, the largest RLP-encoded block. */
export const MAX_RLP_BLOCK_SIZE = 10_485_760 - 2_097_152
/** Room left for the header and list overhead when the block builder sums transaction sizes. */
const BLOCK_RLP_OVERHEAD = 2048

/** The transaction gas cap of the fork `common` is on (EIP-7825), or undefined before Osaka. */
export function txGasCap(common: Common): bigint | undefined {
  return common.isActivatedEIP(7825) ? TX_GAS_LIMIT_CAP : undefined
}

/** Whether EIP-7934's block size limit applies (Osaka; EthereumJS 10.1.3 leaves it out of its
 * Osaka EIP list, so the fork decides). */
export function blockSizeLimited(common: Common): boolean {
  return common.gteHardfork('osaka')
}

/** Pre-checks that do not need state; returns a reason or undefined. */
function statelessCheck(
  tx: TypedTransaction,
  block: Block,
  gasUsed: bigint,
  chainId: bigint,
  gasCap: bigint | undefined,
  allowBlobs: boolean,
): Rejection | undefined {
  const h = block.header
  if (isBlob4844Tx(tx) && !allowBlobs)
    return { tx, reason: 'blob transactions are not supported on this chain', retry: false }
  if (tx.common.chainId() !== chainId)
    return { tx, reason: `wrong chain id ${tx.common.chainId()}`, retry: false }
  // Checked here, not only when decoding: a transaction made under an earlier fork (or by a
  // library that skips the check) must not enter an Osaka block.
  if (gasCap !== undefined && tx.gasLimit > gasCap)
    return {
      tx,
      reason: `gas limit ${tx.gasLimit} exceeds the transaction gas limit cap ${gasCap} (EIP-7825)`,
      retry: false,
    }
  if (tx.gasLimit > h.gasLimit)
    return { tx, reason: `gas limit ${tx.gasLimit} exceeds the block gas limit ${h.gasLimit}`, retry: false }
  if (tx.gasLimit > h.gasLimit - gasUsed)
    return { tx, reason: 'not enough gas left in the block', retry: true }
  const maxFee = tx.supports(Capability.EIP1559FeeMarket)
    ? (tx as unknown as { maxFeePerGas: bigint }).maxFeePerGas
    : (tx as unknown as { gasPrice: bigint }).gasPrice
  if (maxFee < (h.baseFeePerGas ?? 0n))
    return { tx, reason: `fee cap ${maxFee} below the base fee ${h.baseFeePerGas}`, retry: true }
  return undefined
}

/** Maps an EthereumJS runTx validation error to a short reason and whether retrying later makes sense. */
async function classify(
  vm: VM,
  tx: TypedTransaction,
  sender: Uint8Array | undefined,
  e: unknown,
): Promise<Rejection> {
  const msg = (e as Error)?.message ?? String(e)
  const short = msg.replace(/ \(vm hf=.*$/s, '').replace(/ \(.*-> tx.*$/s, '')
  if (sender !== undefined && /nonce/i.test(msg)) {
    const acct = await vm.stateManager.getAccount(new Address(sender))
    const nonce = acct?.nonce ?? 0n
    return tx.nonce > nonce
      ? { tx, reason: `nonce too high: tx ${tx.nonce}, account ${nonce}`, retry: true }
      : { tx, reason: `nonce too low: tx ${tx.nonce}, account ${nonce}`, retry: false }
  }
  if (/enough funds|insufficient/i.test(msg))
    return { tx, reason: `insufficient funds: ${short}`, retry: true }
  if (/baseFeePerGas/.test(msg)) return { tx, reason: short, retry: true }
  return { tx, reason: short, retry: false }
}

/** runTx refused the transaction before executing it (nonce, funds, fee, intrinsic gas …). */
class TxRejected extends Error {
  constructor(readonly reason: unknown) {
    super((reason as Error)?.message ?? String(reason))
  }
}

interface Applied {
  gasUsed: bigint
  receipt: TxReceipt
  err?: NonNullable<RunTxResult['execResult']['exceptionError']>
  returnData?: Uint8Array
  createdAddress?: Uint8Array
}

/** One transaction's state changes: the transfer fast path or runTx, then the base-fee credit. */
async function applyTx(
  vm: VM,
  tx: TypedTransaction,
  sender: Uint8Array,
  block: Block,
  blockGasUsed: bigint,
  baseFee: bigint,
  treasury: Address | undefined,
): Promise<Applied> {
  let applied: Applied
  const transfer = await applyPlainTransfer(vm, tx, sender, block, blockGasUsed)
  if (transfer !== undefined) applied = transfer
  else {
    let result: RunTxResult
    try {
      result = await runTx(vm, {
        tx,
        block,
        skipHardForkValidation: true,
        blockGasUsed,
        // Impersonated senders (dev mode) may have code, as on Hardhat and anvil (EIP-3607 off).
        allowSenderCode: isBoundSender(tx),
      })
    } catch (e) {
      // Thrown inside a message: execution broke. Anything else: runTx refused the tx.
      throw e instanceof ExecutionFault || isRequestStop(e) ? e : new TxRejected(e)
    }
    applied = {
      gasUsed: result.totalGasSpent,
      receipt: result.receipt,
      err: result.execResult.exceptionError,
      returnData: result.execResult.returnValue,
      createdAddress: result.createdAddress?.bytes,
    }
  }
  if (treasury !== undefined && baseFee > 0n) {
    // Base fee goes to the treasury instead of being burnt, credited right after each tx.
    const acct = (await vm.stateManager.getAccount(treasury)) ?? new Account()
    acct.balance += baseFee * applied.gasUsed
    await vm.stateManager.putAccount(treasury, acct)
  }
  return applied
}

/** How often block work lets the event loop run, unless the runtime is told otherwise. */
export const YIELD_EVERY_MS = 25

export async function runTransactions(
  vm: VM,
  block: Block,
  txs: Iterable<TypedTransaction>,
  chainId: bigint,
  opts: TxLoopOptions,
): Promise<TxLoopResult> {
  installEvmFastPaths()
  const executed: ExecutedTx[] = []
  const receipts: TxReceipt[] = []
  const rejected: Rejection[] = []
  const baseFee = block.header.baseFeePerGas ?? 0n
  const treasury = opts.treasury ? new Address(opts.treasury) : undefined
  let gasUsed = 0n
  let senderMs = 0
  const loopStart = performance.now()
  let lastYield = loopStart
  let yieldedMs = 0
  let index = 0
  const gasCap = txGasCap(vm.common)
  // EIP-7934 in build mode: stop adding transactions that would take the block over the limit
  // (validation checks the encoded block itself).
  const sizeLimit =
    opts.mode === 'build' && blockSizeLimited(vm.common) ? MAX_RLP_BLOCK_SIZE - BLOCK_RLP_OVERHEAD : 0
  let txBytes = 0
  for (const tx of txs) {
    const i = index++
    if (sizeLimit > 0) {
      const size = tx.serialize().length
      if (txBytes + size > sizeLimit) {
        rejected.push({ tx, reason: 'block size limit reached (EIP-7934)', retry: true })
        continue
      }
      txBytes += size
    }
    // A large block executes for seconds: give the event loop a turn now and then so the node
    // keeps answering RPC and its keep-alive connections do not time out meanwhile. State reads
    // elsewhere use persisted roots or their own VM, and the runtime's lock keeps writers out.
    const before = performance.now()
    if (before - lastYield > (opts.yieldEveryMs ?? YIELD_EVERY_MS)) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      lastYield = performance.now()
      yieldedMs += lastYield - before // others' work: not this block's execution time
    }
    if (opts.budget !== undefined) {
      const pause = opts.budget.tick()
      if (pause !== undefined) await pause
    }
    if (opts.mode === 'build') {
      if (opts.deadline !== undefined && performance.now() > opts.deadline) break
      if (block.header.gasLimit - gasUsed < INTRINSIC_MIN) break
    }
    const pre = statelessCheck(tx, block, gasUsed, chainId, gasCap, opts.allowBlobs === true)
    if (pre !== undefined) {
      if (opts.mode === 'validate') throw new TxInvalid(i, tx, pre.reason)
      rejected.push(pre)
      continue
    }
    let sender: Uint8Array | undefined
    const t0 = performance.now()
    try {
      sender = recoverSender(tx)
    } catch (e) {
      if (opts.mode === 'validate') throw new TxInvalid(i, tx, `invalid signature: ${(e as Error).message}`)
      rejected.push({ tx, reason: 'invalid signature', retry: false })
      continue
    }
    const t1 = performance.now()
    senderMs += t1 - t0
    // Each transaction runs in its own checkpoint: whatever throws inside it (EthereumJS, a
    // precompile, a native module, the transfer fast path, the fee credit), the state is put back
    // exactly as before it, and the block goes on without it (build) or is rejected (validate).
    const depth = checkpointDepth(vm)
    await vm.stateManager.checkpoint()
    let applied: Applied
    try {
      applied = await applyTx(vm, tx, sender, block, gasUsed, baseFee, treasury)
    } catch (e) {
      await rollbackTo(vm, depth)
      // The request's time or client ran out: that ends the replay, it says nothing of the tx.
      if (isRequestStop(e)) throw e
      let r: Rejection
      if (e instanceof TxRejected) r = await classify(vm, tx, sender, e.reason)
      else {
        const fault = ExecutionFault.of(e)
        r = { tx, reason: fault.message, retry: false, fault }
      }
      if (opts.mode === 'validate') throw new TxInvalid(i, tx, r.reason, r.fault)
      rejected.push(r)
      continue
    }
    // Outside the try: a failure to merge the checkpoint abandons the whole block (the runtime
    // then resets the VM to the parent's root), it cannot be pinned on this transaction.
    await vm.stateManager.commit()
    const { gasUsed: txGas, receipt, err, returnData, createdAddress } = applied
    gasUsed += txGas
    receipts.push(receipt)
    const logs: LogEntry[] = receipt.logs.map(([address, topics, data]) => ({ address, topics, data }))
    executed.push({
      tx,
      hash: tx.hash(),
      sender,
      status: err === undefined ? 1 : 0,
      gasUsed: txGas,
      cumulativeGasUsed: gasUsed,
      effectiveGasPrice: effectiveGasPrice(tx, baseFee),
      logs,
      logsBloom: receipt.bitvector,
      contractAddress: createdAddress,
      error:
        err === undefined ? undefined : { message: err.error, returnData: returnData ?? new Uint8Array(0) },
    })
  }
  return {
    executed,
    receipts,
    rejected,
    gasUsed,
    senderMs,
    executionMs: performance.now() - loopStart - yieldedMs,
  }
}

/** Root of an ordered trie (key = rlp(index)), as used for transactions and receipts. */
export async function orderedTrieRoot(common: Common, values: Uint8Array[]): Promise<Uint8Array> {
  return orderedTrieRootFast(values, common.customCrypto.keccak256 ?? keccak256)
}

export function receiptsRootInputs(executed: ExecutedTx[], receipts: TxReceipt[]): Uint8Array[] {
  return receipts.map((r, i) => encodeReceipt(r, executed[i].tx.type))
}

export function combineBlooms(executed: ExecutedTx[]): Uint8Array {
  const out = new Uint8Array(256)
  for (const e of executed) for (let i = 0; i < 256; i++) out[i] |= e.logsBloom[i]
  return out
}
