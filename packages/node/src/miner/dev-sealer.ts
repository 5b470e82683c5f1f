/**
 * Single-node block producer for `openledger dev`. Three modes, as anvil and Hardhat Network:
 * - auto: a block is mined as soon as transactions are pending. Transactions that arrive while a
 *   block is being built go into the next one (group commit), so throughput scales with
 *   concurrency while each eth_sendRawTransaction still returns after its block is committed.
 * - interval: one block every `blockTimeMs`, empty or not.
 * - manual: only evm_mine / hardhat_mine produce blocks.
 * All block production is serialised through one promise chain, so cheats, snapshots and mining
 * never interleave.
 */
import type { Block } from '@ethereumjs/block'
import type { ExecutedTx } from '@openledger/evm-runtime'
import { invalidInput } from '@openledger/rpc'
import type { Chain } from '../chain/chain.ts'
import type { Logger } from '../logger.ts'
import { hex } from '../util/bytes.ts'

export type MiningMode = { kind: 'auto' } | { kind: 'interval'; blockTimeMs: number } | { kind: 'manual' }

export interface SealerOptions {
  coinbase: Uint8Array
  extraData?: Uint8Array
  /** Called after each committed block (console output). */
  onBlock?: (
    block: Block,
    executed: ExecutedTx[],
    rejected: Array<{ hash: Uint8Array; reason: string }>,
  ) => void
  log: Logger
}

export class DevSealer {
  private mode: MiningMode
  private queue: Promise<unknown> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  /** A mining pass is scheduled or running for automine. */
  private autoPass: Promise<void> | undefined
  private autoAgain = false
  private stopped = false
  /** Seconds added to wall-clock time (evm_increaseTime). */
  timeOffset = 0n
  /** Exact timestamp for the next block (evm_setNextBlockTimestamp). */
  nextTimestamp: bigint | undefined
  nextBaseFee: bigint | undefined
  coinbase: Uint8Array

  constructor(
    private readonly chain: Chain,
    mode: MiningMode,
    private readonly opts: SealerOptions,
  ) {
    this.mode = mode
    this.coinbase = opts.coinbase
  }

  start(): void {
    this.applyMode()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.queue.catch(() => {})
  }

  get miningMode(): MiningMode {
    return this.mode
  }

  setMode(mode: MiningMode): void {
    this.mode = mode
    this.applyMode()
  }

  private applyMode(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    if (this.stopped) return
    if (this.mode.kind === 'interval') {
      this.timer = setInterval(() => {
        this.mine().catch((err) => this.opts.log.error({ err }, 'interval mining failed'))
      }, this.mode.blockTimeMs)
      this.timer.unref?.()
    } else if (this.mode.kind === 'auto' && this.chain.txpool.status().pending > 0) {
      void this.onTransactionAdded()
    }
  }

  /** Automine hook: resolves once a block containing everything pending now has been built. */
  onTransactionAdded(): Promise<void> {
    if (this.mode.kind !== 'auto' || this.stopped) return Promise.resolve()
    this.autoAgain = true
    if (!this.autoPass) this.autoPass = this.runAutoPass()
    return this.autoPass
  }

  private async runAutoPass(): Promise<void> {
    // Yield once so the caller has stored this promise before `finally` can clear it.
    await Promise.resolve()
    try {
      while (this.autoAgain && !this.stopped) {
        this.autoAgain = false
        while (this.chain.txpool.status().pending > 0 && !this.stopped) {
          const before = this.chain.txpool.status().pending
          await this.mine()
          // Nothing could be included (e.g. all below the base fee): stop rather than spin.
          if (this.chain.txpool.status().pending >= before) break
        }
      }
    } catch (err) {
      this.opts.log.error({ err }, 'automine failed')
    } finally {
      // Runs synchronously after the last check, so no arrival can slip between them.
      this.autoPass = undefined
    }
  }

  /** Run `fn` after every block production and state edit queued before it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  /** Mine one block with what is pending; `timestamp` overrides the clock for this block. */
  mine(timestamp?: bigint): Promise<Block> {
    return this.exclusive(() => this.mineNow(timestamp))
  }

  private nextBlockTimestamp(parentTs: bigint, explicit?: bigint): bigint {
    const requested = explicit ?? this.nextTimestamp
    if (requested !== undefined) {
      this.nextTimestamp = undefined
      if (requested <= parentTs) {
        throw invalidInput(
          `timestamp ${requested} is lower than or equal to the previous block's timestamp ${parentTs}`,
        )
      }
      return requested
    }
    const now = BigInt(Math.floor(Date.now() / 1000)) + this.timeOffset
    return now > parentTs ? now : parentTs + 1n
  }

  private async mineNow(timestamp?: bigint): Promise<Block> {
    const chain = this.chain
    const parent = chain.head
    const ts = this.nextBlockTimestamp(parent.header.timestamp, timestamp)
    const baseFee = this.nextBaseFee ?? parent.header.calcNextBaseFee()
    const pending = chain.txpool.pending(baseFee)
    const result = await chain.runtime.buildBlock(parent.header, txIterator(pending), {
      parentStateRoot: chain.workingStateRoot,
      timestamp: ts,
      coinbase: this.coinbase,
      extraData: this.opts.extraData,
      baseFeePerGas: this.nextBaseFee,
    })
    this.nextBaseFee = undefined
    const m = chain.metrics
    if (m) {
      m.phaseSeconds.inc({ phase: 'execution' }, result.timings.execution / 1000)
      m.phaseSeconds.inc({ phase: 'roots' }, result.timings.roots / 1000)
    }
    const started = performance.now()
    const dropped: Array<{ hash: Uint8Array; reason: string }> = []
    for (const r of result.rejected) {
      if (r.retry) continue
      const hash = r.tx.hash()
      chain.txpool.remove(hash)
      dropped.push({ hash, reason: r.reason })
      // Execution threw (rolled back by the runtime): not the sender's doing, so say it loudly.
      if (r.fault)
        this.opts.log.warn({ tx: hex(hash), err: r.fault.message }, 'transaction dropped: execution fault')
    }
    await chain.commit(result)
    m?.blockImport.observe((performance.now() - started + result.timings.total) / 1000)
    this.opts.onBlock?.(result.block, result.executed, dropped)
    return result.block
  }
}

function* txIterator(pending: Iterable<{ tx: import('@ethereumjs/tx').TypedTransaction }>) {
  for (const p of pending) yield p.tx
}
