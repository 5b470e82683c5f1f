/**
 * Transaction intake: the one way a transaction enters the pool, whether it arrives by JSON-RPC
 * (eth_sendRawTransaction, eth_sendTransaction) or by gossip. Three steps, each with a stable error
 * code: `decode` (RLP, chain id, EIP-155 replay protection), `recover` (the sender; on a recovery
 * worker when one already has it), `admit` (node policy, then the pool's own checks). The RPC
 * backend runs them back to back and maps IntakeError to JSON-RPC errors; the gossip rule decodes
 * and recovers a whole batch before admitting any of it, so one bad entry rejects the batch.
 */
import { Capability, createTxFromRLP, type LegacyTx, type TypedTransaction } from '@ethereumjs/tx'
import {
  adoptRecovery,
  type ExecutionRuntime,
  type RawTxRecovery,
  recoverSender,
  rememberSerialized,
} from '@openledger/evm-runtime'
import type { Chain } from '../chain/chain.ts'
import type { NodeMetrics } from '../metrics.ts'
import { type TxPool, TxPoolError, type TxPoolErrorCode } from '../txpool/index.ts'
import { key } from '../util/bytes.ts'

export type IntakeErrorCode =
  /** Not a well-formed transaction of this chain (RLP, fields, chain id). */
  | 'DECODE'
  /** A legacy transaction without EIP-155 replay protection. */
  | 'NOT_REPLAY_PROTECTED'
  /** The signature does not recover a sender. */
  | 'BAD_SIGNATURE'
  /** Node policy (dev automine): the fee cap cannot pay the next block's base fee. */
  | 'BELOW_BASE_FEE'
  /** The pool refused it (`poolCode` says why: known, nonce too low, underpriced, full …). */
  | 'POOL'

/** Why a transaction was not taken; `message` is what geth or Hardhat would answer. */
export class IntakeError extends Error {
  constructor(
    readonly code: IntakeErrorCode,
    message: string,
    readonly poolCode?: TxPoolErrorCode,
  ) {
    super(message)
    this.name = 'IntakeError'
  }
}

export interface TxIntakeOptions {
  chain: Chain
  runtime: ExecutionRuntime
  pool: TxPool
  metrics?: NodeMetrics
  /** Refuse transactions that cannot pay the next block's base fee instead of pooling them
   * (dev automine, as anvil and Hardhat do: such a transaction would never be mined). */
  rejectBelowBaseFee?: () => boolean
}

export class TxIntake {
  #inFlight = 0
  #idle: Array<() => void> = []

  constructor(private readonly o: TxIntakeOptions) {}

  /** A raw transaction was received and is on its way to the pool (decode, recover, admit);
   * `leave` once the pool has answered. Automine waits for these before building a block. */
  enter(): void {
    this.#inFlight++
  }

  leave(): void {
    if (this.#inFlight > 0 && --this.#inFlight === 0) {
      const idle = this.#idle
      this.#idle = []
      for (const resolve of idle) resolve()
    }
  }

  /** Resolves once no received transaction is still on its way to the pool. */
  settled(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /** Options every transaction of this chain is decoded or built with. */
  txOptions(): { common: ExecutionRuntime['common']; allowUnlimitedInitCodeSize: boolean } {
    return {
      common: this.o.runtime.common,
      allowUnlimitedInitCodeSize: this.o.runtime.allowUnlimitedContractSize === true,
    }
  }

  decode(raw: Uint8Array): TypedTransaction {
    let tx: TypedTransaction
    try {
      tx = createTxFromRLP(raw, this.txOptions())
    } catch (err) {
      throw new IntakeError('DECODE', describeDecodeError(err))
    }
    if (tx.type === 0 && !tx.supports(Capability.EIP155ReplayProtection))
      throw new IntakeError(
        'NOT_REPLAY_PROTECTED',
        'only replay-protected (EIP-155) transactions allowed over RPC',
      )
    // The pool, the builder, the transactions trie and the stored body reuse these bytes.
    rememberSerialized(tx, raw)
    return tx
  }

  /** The sender of `tx`; `recovered` is a worker's recovery from the same bytes, if any. */
  recover(tx: TypedTransaction, recovered?: RawTxRecovery): Uint8Array {
    const t0 = performance.now()
    try {
      if (recovered) adoptRecovery(tx, recovered)
      return recoverSender(tx)
    } catch {
      throw new IntakeError('BAD_SIGNATURE', 'invalid sender: signature does not recover a public key')
    } finally {
      this.o.metrics?.phaseSeconds.inc({ phase: 'recovery' }, (performance.now() - t0) / 1000)
    }
  }

  /** Node policy, then the pool. Resolves to where the transaction went. */
  async admit(tx: TypedTransaction, sender: Uint8Array): Promise<'pending' | 'queued'> {
    if (this.o.rejectBelowBaseFee?.()) {
      const baseFee = this.o.chain.head.header.calcNextBaseFee()
      const feeCap = 'maxFeePerGas' in tx ? (tx.maxFeePerGas as bigint) : (tx as LegacyTx).gasPrice
      if (feeCap < baseFee) {
        throw new IntakeError(
          'BELOW_BASE_FEE',
          `max fee per gas less than block base fee: address ${key(sender)}, maxFeePerGas: ${feeCap}, baseFee: ${baseFee}`,
        )
      }
    }
    try {
      return await this.o.pool.add(tx, sender)
    } catch (err) {
      if (!(err instanceof TxPoolError)) throw err
      this.o.metrics?.txpoolRejected.inc({ reason: err.code })
      throw new IntakeError('POOL', err.message, err.code)
    }
  }
}

function describeDecodeError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err)
  if (/chain ?id/i.test(msg)) return `invalid chain id for signer: ${msg}`
  return `rlp: invalid transaction: ${msg.split('\n')[0]}`
}
