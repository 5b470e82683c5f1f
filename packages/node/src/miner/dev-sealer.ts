/**
 * Single-node block producer for `openledger dev`. Three modes, as anvil and Hardhat Network:
 * - auto: a block is mined as soon as transactions are pending. Transactions that arrive while a
 *   block is being built go into the next one (group commit), so throughput scales with
 *   concurrency while each eth_sendRawTransaction still returns after its block is committed.
 *   The next block is built while the previous one's database batch is written (its state is
 *   readable from memory meanwhile); it is committed only once that batch landed, and the senders
 *   are answered only when every block of the pass is on disk (see `runAutoPass`).
 * - interval: one block every `blockTimeMs`, empty or not.
 * - manual: only evm_mine / hardhat_mine produce blocks.
 * Long file: the three modes share one serialised queue, and automine pipelines its commits.
 * All block production is serialised through one promise chain, so cheats, snapshots and mining
 * never interleave.
 */
import type { Block, BlockHeader } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'
import type { BuildBlockResult, ExecutedTx, ExecutionRuntime } from '@openledger/evm-runtime'
import type { Chain } from '../chain/chain.ts'
import type { Logger } from '../logger.ts'
import type { NodeMetrics } from '../metrics.ts'
import type { PooledTx, TxPool } from '../txpool/index.ts'
import { bytesEqual, hex, key } from '../util/bytes.ts'
import { SealerError } from './errors.ts'
import type { NextBlockEnv } from './pending-block.ts'

/** What became of a transaction in an automine pass, for the sender still waiting on it. */
export type TxOutcome =
  | { kind: 'mined'; failure?: { message: string; returnData: Uint8Array } }
  | { kind: 'dropped'; reason: string }

/** Longest an automine block waits for transactions already received to reach the pool (ms). */
const GATHER_MAX_MS = 20

/** Outcomes kept for senders that have not collected theirs (bounded; oldest go first). */
const MAX_OUTCOMES = 10_000

export type MiningMode = { kind: 'auto' } | { kind: 'interval'; blockTimeMs: number } | { kind: 'manual' }

export interface SealerOptions {
  chain: Chain
  runtime: ExecutionRuntime
  pool: TxPool
  metrics?: NodeMetrics
  mode: MiningMode
  coinbase: Uint8Array
  extraData?: Uint8Array
  /** Called after each committed block (console output). */
  onBlock?: (
    block: Block,
    executed: ExecutedTx[],
    rejected: Array<{ hash: Uint8Array; reason: string }>,
  ) => void
  log: Logger
  /** Automine: resolves once the raw transactions already received have reached the pool, so
   * that a block takes everything that arrived together (group commit). */
  admissionsSettled?: () => Promise<void>
  /** Header fields a block hook gives a meaning to (the L1 bridge's origin), for a block built on
   * `parentStateRoot`. */
  proposalHeader?: (parentStateRoot: Uint8Array) => Promise<{ parentBeaconBlockRoot?: Uint8Array }>
}

export class DevSealer {
  private mode: MiningMode
  private queue: Promise<unknown> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  /** An interval block is queued or being mined. */
  private intervalQueued = false
  /** A mining pass is scheduled or running for automine. */
  private autoPass: Promise<void> | undefined
  private autoAgain = false
  private stopped = false
  /** Seconds added to wall-clock time (evm_increaseTime; moved by blocks mined at a set time). */
  timeOffset = 0n
  /** Exact timestamp for the next block (evm_setNextBlockTimestamp). */
  nextTimestamp: bigint | undefined
  nextBaseFee: bigint | undefined
  /** prevrandao (mixHash) of the next block (hardhat_setPrevRandao); zero otherwise. */
  nextPrevRandao: Uint8Array | undefined
  /** Gas limit of every later block (evm_setBlockGasLimit); the parent's when undefined. */
  gasLimit: bigint | undefined
  coinbase: Uint8Array
  /** Automine: outcome per transaction hash (hex), collected once by {@link waitForOutcome}. */
  private readonly outcomes = new Map<string, TxOutcome>()
  /** Automine pipeline: the commit (batch, then observers) of the last block handed to the chain;
   * never rejects (a failure is logged where it happens). */
  private inflight: Promise<void> = Promise.resolve()
  /** The block built last whose commit has not finished: the parent of the next automine block
   * (the chain's head moves only once its batch is on disk). */
  private tip: Block | undefined
  /** Transactions of built blocks whose commit has not finished: still in the pool (its observer
   * drops them after the batch), so the next block must skip them. */
  private readonly inflightTxs = new Set<TypedTransaction>()

  private readonly chain: Chain
  private readonly pool: TxPool

  constructor(private readonly opts: SealerOptions) {
    this.chain = opts.chain
    this.pool = opts.pool
    this.mode = opts.mode
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
    await this.inflight
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
        // At most one interval block waits in the queue. Ticks faster than blocks can be built
        // (evm_setIntervalMining 1 under load) queued a block per tick without bound before, and
        // every cheat, snapshot and send waited behind that backlog (minutes: the RPC fuzzer's hangs).
        if (this.intervalQueued) return
        this.intervalQueued = true
        this.mine()
          .catch((err) => this.opts.log.error({ err }, 'interval mining failed'))
          .finally(() => {
            this.intervalQueued = false
          })
      }, this.mode.blockTimeMs)
      this.timer.unref?.()
    } else if (this.mode.kind === 'auto' && this.pool.status().pending > 0) {
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
        let progress = true
        while (progress && !this.stopped) {
          while (this.pendingBeyondInflight() > 0 && !this.stopped) {
            await this.gatherArrivals()
            const before = this.pendingBeyondInflight()
            // Builds on the previous block while its batch is still being written.
            await this.exclusiveNow(() => this.mineNow(undefined, true, true))
            // Nothing could be included (e.g. all below the base fee): stop rather than spin.
            if (this.pendingBeyondInflight() >= before) {
              progress = false
              break
            }
          }
          // Every block of the pass on disk (and seen by the pool) before anyone is answered.
          await this.waitInflight()
          if (this.pool.status().pending === 0) break
        }
      }
    } catch (err) {
      this.opts.log.error({ err }, 'automine failed')
    } finally {
      // Runs synchronously after the last check, so no arrival can slip between them.
      this.autoPass = undefined
    }
  }

  /** Waits for the in-flight commit; the time is the part of storage and observers that the
   * next block's build did not hide (phase commit_wait). */
  private async waitInflight(): Promise<void> {
    const t0 = performance.now()
    await this.inflight
    this.opts.metrics?.phaseSeconds.inc({ phase: 'commit_wait' }, (performance.now() - t0) / 1000)
  }

  /** Pending transactions not in a block whose commit is under way. */
  private pendingBeyondInflight(): number {
    let n = this.pool.status().pending
    for (const tx of this.inflightTxs) if (this.pool.has(tx.hash())) n--
    return n
  }

  /**
   * Automine's group commit: before building, wait (at most GATHER_MAX_MS) for the transactions
   * already received to reach the pool. Under concurrent sends a block then takes every one of
   * them instead of the few admitted first, and the per-block cost (roots, storage) is shared by
   * more transactions. A lone sender waits one event-loop turn: its transaction is the only one
   * under way.
   */
  private async gatherArrivals(): Promise<void> {
    if (this.opts.admissionsSettled === undefined) return
    // First let this turn's I/O run: requests already read off their sockets enter the intake.
    await new Promise((resolve) => setImmediate(resolve))
    const settled = this.opts.admissionsSettled()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      settled,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, GATHER_MAX_MS))),
    ])
    clearTimeout(timer)
  }

  /**
   * Automine: resolves once a pass has mined everything pending now, with what became of `hash`
   * (undefined when it is still pooled, e.g. a nonce gap, or the node is not automining).
   */
  async waitForOutcome(hash: Uint8Array): Promise<TxOutcome | undefined> {
    await this.onTransactionAdded()
    const k = key(hash)
    const outcome = this.outcomes.get(k)
    this.outcomes.delete(k)
    return outcome
  }

  private recordOutcome(hash: Uint8Array, outcome: TxOutcome): void {
    if (this.mode.kind !== 'auto') return
    this.outcomes.set(key(hash), outcome)
    if (this.outcomes.size > MAX_OUTCOMES) this.outcomes.delete(this.outcomes.keys().next().value!)
  }

  /** Run `fn` after every block production and state edit queued before it, with every block
   * committed (none in flight: `fn` sees the head that automine built last). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.exclusiveNow(async () => {
      await this.inflight
      return fn()
    })
  }

  /** As `exclusive`, but `fn` may start while the last block's commit is still in flight. */
  private exclusiveNow<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  /** Mine one block with what is pending; `timestamp` overrides the clock for this block. */
  mine(timestamp?: bigint): Promise<Block> {
    return this.exclusive(() => this.mineNow(timestamp))
  }

  /**
   * The environment of the block the sealer would mine next on `parent` (without consuming the
   * one-shot settings): what the pending block, eth_call and eth_estimateGas at `pending` see.
   */
  nextEnv(parent: BlockHeader, explicitTimestamp?: bigint): NextBlockEnv {
    return {
      timestamp: explicitTimestamp ?? this.nextTimestamp ?? this.clockTimestamp(parent.timestamp),
      baseFeePerGas: this.nextBaseFee ?? parent.calcNextBaseFee(),
      coinbase: this.coinbase,
      mixHash: this.nextPrevRandao ?? new Uint8Array(32),
      gasLimit: this.gasLimit ?? parent.gasLimit,
    }
  }

  private clockTimestamp(parentTs: bigint): bigint {
    const now = nowSeconds() + this.timeOffset
    return now > parentTs ? now : parentTs + 1n
  }

  /**
   * Builds and commits the next block. `auto`: an automine pass, which commits nothing when the
   * block would hold no transaction and change no state (everything pending was dropped, e.g. its
   * execution faulted): the chain then looks exactly as if those transactions had never arrived.
   */
  private async mineNow(timestamp?: bigint, auto?: false): Promise<Block>
  private async mineNow(
    timestamp: bigint | undefined,
    auto: true,
    pipelined?: boolean,
  ): Promise<Block | undefined>
  private async mineNow(timestamp?: bigint, auto = false, pipelined = false): Promise<Block | undefined> {
    const chain = this.chain
    // Pipelined: on the block built last, whose batch may still be in flight (its state is in the
    // runtime's memory until it lands). Otherwise nothing is in flight and that is the head.
    const tip = pipelined ? this.tip : undefined
    const parent = tip ?? chain.head
    const parentRoot = tip?.header.stateRoot ?? chain.workingStateRoot
    const fixed = timestamp ?? this.nextTimestamp
    const env = this.nextEnv(parent.header, timestamp)
    if (fixed !== undefined && fixed <= parent.header.timestamp) {
      this.nextTimestamp = undefined
      throw new SealerError(
        'TIMESTAMP_NOT_AFTER_PARENT',
        `timestamp ${fixed} is lower than or equal to the previous block's timestamp ${parent.header.timestamp}`,
      )
    }
    const baseFee = env.baseFeePerGas
    const pending = this.pool.pending(baseFee)
    // A copy: a parent's commit may finish during this build, after the pool's iteration began
    // with its transactions still in it.
    const skip = this.inflightTxs.size === 0 ? undefined : new Set(this.inflightTxs)
    const extra = await this.opts.proposalHeader?.(parentRoot)
    const result = await this.opts.runtime.buildBlock(parent.header, txIterator(pending, skip), {
      parentStateRoot: parentRoot,
      timestamp: env.timestamp,
      coinbase: env.coinbase,
      extraData: this.opts.extraData,
      baseFeePerGas: this.nextBaseFee,
      gasLimit: env.gasLimit,
      mixHash: env.mixHash,
      parentBeaconBlockRoot: extra?.parentBeaconBlockRoot,
    })
    if (auto && result.executed.length === 0 && bytesEqual(result.block.header.stateRoot, parentRoot)) {
      this.dropRejected(result.rejected)
      return undefined
    }
    this.nextBaseFee = undefined
    this.nextPrevRandao = undefined
    this.nextTimestamp = undefined
    // A block mined at a set time moves the clock there, so time flows on from it (Hardhat).
    if (fixed !== undefined) this.timeOffset = fixed - nowSeconds()
    const m = this.opts.metrics
    if (m) {
      m.phaseSeconds.inc({ phase: 'execution' }, result.timings.execution / 1000)
      m.phaseSeconds.inc({ phase: 'roots' }, result.timings.roots / 1000)
    }
    const dropped = this.dropRejected(result.rejected)
    const block = result.block
    if (!pipelined) {
      const started = performance.now()
      await chain.commit(result, 'local')
      this.committed(result, dropped, started)
      return block
    }
    this.tip = block
    for (const e of result.executed) this.inflightTxs.add(e.tx)
    // One commit at a time, in chain order: the previous block's batch and observers first.
    if (tip !== undefined) this.opts.metrics?.pipelinedBlocks.inc()
    await this.waitInflight()
    if (!bytesEqual(chain.head.hash(), block.header.parentHash)) {
      // The parent's commit failed (logged there): this block has no parent on disk.
      this.forget(block, result.executed)
      throw new SealerError('PARENT_NOT_COMMITTED', `block ${block.header.number}'s parent was not committed`)
    }
    const started = performance.now()
    this.inflight = chain.commit(result, 'local').then(
      () => {
        this.forget(block, result.executed)
        this.committed(result, dropped, started)
      },
      (err) => {
        this.forget(block, result.executed)
        this.tip = undefined // a block built on it has no parent either
        this.opts.log.error({ err, block: block.header.number.toString() }, 'automine commit failed')
      },
    )
    return block
  }

  /** A built block's commit finished (or failed): it is no longer the pipeline's tip. */
  private forget(block: Block, executed: readonly ExecutedTx[]): void {
    if (this.tip === block) this.tip = undefined
    for (const e of executed) this.inflightTxs.delete(e.tx)
  }

  /** After a block is on disk and its observers ran: outcomes, metrics, the console line. */
  private committed(
    result: BuildBlockResult,
    dropped: Array<{ hash: Uint8Array; reason: string }>,
    started: number,
  ): void {
    for (const e of result.executed)
      this.recordOutcome(e.hash, { kind: 'mined', failure: e.status === 0 ? e.error : undefined })
    this.opts.metrics?.blockImport.observe((performance.now() - started + result.timings.total) / 1000)
    // The block is committed: an observer's failure (a log line) must not turn it into an error.
    try {
      this.opts.onBlock?.(result.block, result.executed, dropped)
    } catch (err) {
      this.opts.log.error({ err }, 'block observer failed')
    }
  }

  /** Removes what the builder refused for good from the pool and records why. */
  private dropRejected(rejected: BuildBlockResult['rejected']): Array<{ hash: Uint8Array; reason: string }> {
    const dropped: Array<{ hash: Uint8Array; reason: string }> = []
    for (const r of rejected) {
      if (r.retry) continue
      const hash = r.tx.hash()
      this.pool.remove(hash)
      dropped.push({ hash, reason: r.reason })
      this.recordOutcome(hash, { kind: 'dropped', reason: r.reason })
      // Execution threw (rolled back by the runtime): not the sender's doing, so say it loudly.
      if (r.fault)
        this.opts.log.warn({ tx: hex(hash), err: r.fault.message }, 'transaction dropped: execution fault')
    }
    return dropped
  }
}

function nowSeconds(): bigint {
  return BigInt(Math.floor(Date.now() / 1000))
}

/** The pooled transactions in order, without those of blocks still being committed. */
function* txIterator(
  pending: Iterable<PooledTx>,
  skip: ReadonlySet<TypedTransaction> | undefined,
): Generator<TypedTransaction> {
  for (const p of pending) if (skip === undefined || !skip.has(p.tx)) yield p.tx
}
