/**
 * The node's implementation of the JSON-RPC backend: resolves block selectors against the chain
 * store, reads state through the execution runtime, admits transactions to the pool, and turns
 * the chain's commits into RPC events (events.ts). Everything it uses is passed in.
 * Long file: the RpcBackend interface is implemented by one class; parts with a job of their own are apart.
 */
import type { Block, BlockHeader } from '@ethereumjs/block'
import { createTx, type FeeMarket1559Tx, type LegacyTx, type TypedTransaction } from '@ethereumjs/tx'
import { Address } from '@ethereumjs/util'
import type { ExecutionLimits, ExecutionRuntime } from '@openledger/evm-runtime'
import { bindSender, ExecutionError } from '@openledger/evm-runtime'
import {
  type AccessListOutcome,
  type BlockRef,
  type CallOutcome,
  type CallRequest,
  type DevBackend,
  ErrorCode,
  type ExecOptions,
  type FeeHistory,
  type ForkedHistory,
  invalidInput,
  type LogQuery,
  type ProofResult,
  type RpcBackend,
  RpcError,
  type RpcLog,
  type RpcReceipt,
  resourceNotFound,
  revertError,
  type StateOverride,
  type SyncStatus,
  type TxLocation,
  type TxPoolSnapshot,
  transactionFailedError,
} from '@openledger/rpc'
import type { Chain } from '../chain/chain.ts'
import type { RuntimeSpec } from '../chain/runtime-spec.ts'
import { IntakeError, type TxIntake } from '../intake/tx-intake.ts'
import type { NodeMetrics } from '../metrics.ts'
import { defaultNextEnv, type NextBlockEnv, PendingBlock } from '../miner/pending-block.ts'
import type { ChainStore } from '../store/index.ts'
import type { SyncProgress } from '../sync/range-sync.ts'
import type { TxPool } from '../txpool/index.ts'
import { bytesEqual, key } from '../util/bytes.ts'
import { RpcEvents } from './events.ts'
import {
  callErrorAsRpc,
  DEFAULT_EXECUTION,
  type ExecutionConfig,
  executionErrorAsRpc,
  requestLimits,
  traceOptions,
} from './exec-limits.ts'
import { ExecPool, PoolUnavailable } from './exec-pool.ts'
import type { JobBody, JobSpec } from './exec-protocol.ts'
import { rewardPercentiles, suggestTip } from './fees.ts'
import type { RecoverPool } from './recover-pool.ts'

export interface NodeBackendOptions {
  chain: Chain
  /** The one way transactions enter the pool (shared with gossip on network nodes). */
  intake: TxIntake
  store: ChainStore
  runtime: ExecutionRuntime
  pool: TxPool
  metrics?: NodeMetrics
  clientVersion: string
  /** Unlocked accounts (dev mode): address → private key. */
  keys: Map<string, { address: Uint8Array; privateKey: Uint8Array }>
  /** Addresses that eth_sendTransaction may use without a key (anvil_impersonateAccount). */
  impersonated?: Set<string>
  dev?: DevBackend
  /** Called after a tx is admitted; resolves when the node wants the RPC answer to go out
   * (automine: after the block that includes it, with what became of the transaction). */
  afterAdmit?: (hash: Uint8Array) => Promise<AdmitOutcome | undefined | void>
  /** Answer a send whose automined transaction failed with Hardhat's error (its
   * `throwOnTransactionFailures`); the transaction is mined all the same. Read per send. */
  throwOnTransactionFailures?: () => boolean
  /** Environment of the next block on `parent` (dev: the sealer's, with its time controls);
   * default: wall-clock time and the next base fee. */
  nextBlockEnv?: (parent: BlockHeader) => NextBlockEnv
  /** Build the pending block from the pool's transactions (dev). Default false: the pending block
   * is the next block's environment on the head's state, so reads never take the execution lock
   * that a validator's consensus work waits on. */
  pendingFromPool?: boolean
  peerCount?: () => number
  syncing?: () => SyncProgress | false
  /** Worker threads recovering eth_sendRawTransaction senders off the main thread (see
   * RecoverPool); absent: recovery in-thread. Owned (and closed) by the caller. */
  recovery?: RecoverPool
  /** Bounds of RPC-requested execution (gas cap, time limit, time slices, trace memory, threads). */
  execution?: Partial<ExecutionConfig>
  /** Where execution workers find the chain (needed when execution.threads > 0). */
  execWorkers?: { dbPath: string; spec: RuntimeSpec }
  /** A dev chain that may be forked: the remote history it continues now, if any (read per
   * request; hardhat_reset forks and un-forks). */
  fork?: () => ForkedHistory | undefined
}

/** What became of an admitted transaction by the time its send is answered (automine). */
export type AdmitOutcome =
  | { kind: 'mined'; failure?: { message: string; returnData: Uint8Array } }
  | { kind: 'dropped'; reason: string }

const MAX_FEE_HISTORY_BLOCKS = 1024

export class NodeBackend implements RpcBackend {
  readonly chainId: bigint
  readonly clientVersion: string
  readonly events: RpcEvents
  readonly dev?: DevBackend
  private readonly chain: Chain
  private readonly store: ChainStore
  private readonly runtime: ExecutionRuntime
  private readonly pool: TxPool
  private readonly intake: TxIntake
  private readonly keys: NodeBackendOptions['keys']
  private readonly impersonated: Set<string>
  /** The pending block (see PendingBlock); also the next block's environment for estimates. */
  readonly pendingBlock: PendingBlock
  readonly execution: ExecutionConfig
  private readonly execPool: ExecPool | undefined

  /** The remote chain a forked dev chain continues (rpc/src/fork.ts forwards its history). */
  get fork(): ForkedHistory | undefined {
    return this.opts.fork?.()
  }

  constructor(private readonly opts: NodeBackendOptions) {
    this.chain = opts.chain
    this.store = opts.store
    this.runtime = opts.runtime
    this.pool = opts.pool
    this.intake = opts.intake
    this.chainId = this.runtime.chainId
    this.clientVersion = opts.clientVersion
    this.events = new RpcEvents(opts.chain, opts.pool)
    this.dev = opts.dev
    this.keys = opts.keys
    this.impersonated = opts.impersonated ?? new Set()
    this.execution = { ...DEFAULT_EXECUTION, ...opts.execution }
    if (this.execution.threads > 0 && opts.execWorkers !== undefined) {
      this.execPool = new ExecPool({
        threads: this.execution.threads,
        ...opts.execWorkers,
        onError: (err) =>
          process.emitWarning(`RPC execution workers failed, executing on the main thread: ${err.message}`),
      })
      // Asked for explicitly: have them ready before the first request rather than start under it.
      this.execPool.start()
    }
    this.pendingBlock = new PendingBlock({
      chain: opts.chain,
      runtime: opts.runtime,
      pool: opts.pool,
      env: opts.nextBlockEnv ?? defaultNextEnv,
      fromPool: opts.pendingFromPool ?? false,
    })
  }

  /** Stops following the chain and the pool (no more RPC events). */
  async close(): Promise<void> {
    this.events.close()
    await this.execPool?.close()
  }

  headNumber(): bigint {
    return this.chain.head.header.number
  }

  async getBlock(ref: BlockRef): Promise<Block | undefined> {
    const store = this.store
    if ('tag' in ref && ref.tag === 'pending') return (await this.pendingBlock.get()).block
    if ('tag' in ref) return ref.tag === 'earliest' ? store.getBlockByNumber(0n) : this.chain.head
    if ('number' in ref) return store.getBlockByNumber(ref.number)
    const block = await store.getBlockByHash(ref.hash)
    if (block && ref.requireCanonical) {
      const canonical = await store.getCanonicalHash(block.header.number)
      if (!canonical || !bytesEqual(canonical, ref.hash)) return undefined
    }
    return block
  }

  private async blockOrThrow(ref: BlockRef): Promise<Block> {
    const block = await this.getBlock(ref)
    if (!block) {
      if ('hash' in ref) throw resourceNotFound(`block ${key(ref.hash)} not found`)
      throw resourceNotFound(`header not found`)
    }
    return block
  }

  /** State root behind a selector: the head's working root covers dev-mode state edits. */
  private async stateAt(ref: BlockRef): Promise<{ block: Block; root: Uint8Array }> {
    if ('tag' in ref && ref.tag === 'pending') {
      const pending = await this.pendingBlock.get()
      return { block: pending.block, root: pending.stateRoot }
    }
    const block = await this.blockOrThrow(ref)
    const head = this.chain.head
    const isHead = block.header.number === head.header.number && bytesEqual(block.hash(), head.hash())
    return { block, root: isHead ? this.chain.workingStateRoot : this.chain.stateRootOf(block) }
  }

  private async executionContext(ref: BlockRef): Promise<{ header: BlockHeader; root: Uint8Array }> {
    const { block, root } = await this.stateAt(ref)
    return { header: block.header, root }
  }

  /** The block a transaction sent now would land in, on the head's working state (without the
   * pool's transactions): number head+1, the next base fee, the next timestamp. Estimates for
   * `latest` run in it, as on anvil and Hardhat, so code reading block.number or block.timestamp
   * (the attribution modules stamp records with them) is priced as it will execute. */
  private nextBlockContext(): { header: BlockHeader; root: Uint8Array } {
    return { header: this.pendingBlock.nextHeader(), root: this.chain.workingStateRoot }
  }

  // The store keeps receipts in their RPC shape (with senders), so nothing is recovered here.
  getReceipts(blockHash: Uint8Array): Promise<RpcReceipt[] | undefined> {
    return this.store.getReceipts(blockHash)
  }

  async getTransaction(hash: Uint8Array): Promise<TxLocation | undefined> {
    const mined = await this.store.getTransaction(hash)
    if (mined) return mined
    const pooled = this.pool.get(hash)
    return pooled ? { tx: pooled.tx, sender: pooled.sender } : undefined
  }

  getReceipt(hash: Uint8Array): Promise<RpcReceipt | undefined> {
    return this.store.getReceipt(hash)
  }

  async getLogs(query: LogQuery): Promise<RpcLog[]> {
    const head = this.headNumber()
    const to = query.toBlock > head ? head : query.toBlock
    if (query.fromBlock > to) return []
    try {
      return await this.store.getLogs({ ...query, toBlock: to })
    } catch (err) {
      if (err instanceof Error && (err as { code?: string }).code === 'LOG_LIMIT') {
        throw new RpcError(ErrorCode.LIMIT_EXCEEDED, err.message)
      }
      throw err
    }
  }

  async getBalance(address: Uint8Array, ref: BlockRef): Promise<bigint> {
    const { root } = await this.stateAt(ref)
    return (await this.runtime.getAccount(root, address))?.balance ?? 0n
  }

  async getNonce(address: Uint8Array, ref: BlockRef): Promise<bigint> {
    if ('tag' in ref && ref.tag === 'pending') return this.pendingNonce(address)
    const { root } = await this.stateAt(ref)
    return (await this.runtime.getAccount(root, address))?.nonce ?? 0n
  }

  /** Next nonce counting the sender's executable pool transactions (geth's pending nonce). */
  private async pendingNonce(address: Uint8Array): Promise<bigint> {
    const state = (await this.runtime.getAccount(this.chain.workingStateRoot, address))?.nonce ?? 0n
    return this.pool.pendingNonce(address, state)
  }

  async getCode(address: Uint8Array, ref: BlockRef): Promise<Uint8Array> {
    const { root } = await this.stateAt(ref)
    return this.runtime.getCode(root, address)
  }

  async getStorageAt(address: Uint8Array, slot: Uint8Array, ref: BlockRef): Promise<Uint8Array> {
    const { root } = await this.stateAt(ref)
    return this.runtime.getStorage(root, address, slot)
  }

  async getProof(address: Uint8Array, slots: Uint8Array[], ref: BlockRef): Promise<ProofResult> {
    const { root } = await this.stateAt(ref)
    return this.runtime.getProof(root, address, slots)
  }

  async call(
    req: CallRequest,
    ref: BlockRef,
    overrides?: StateOverride,
    exec?: ExecOptions,
  ): Promise<CallOutcome> {
    const { header, root } = await this.executionContext(ref)
    try {
      const limits = requestLimits(this.execution, exec)
      const job = (): JobBody => ({
        kind: 'call',
        params: req,
        header: header.serialize(),
        stateRoot: root,
        overrides,
      })
      const r = await this.execute(job, limits, () =>
        this.runtime.call(req, header, { stateRoot: root, overrides, limits }),
      )
      return { returnData: r.returnData, gasUsed: r.gasUsed, error: r.error }
    } catch (err) {
      return callErrorAsRpc(err)
    }
  }

  async estimateGas(
    req: CallRequest,
    ref: BlockRef,
    overrides?: StateOverride,
    exec?: ExecOptions,
  ): Promise<bigint> {
    // Estimates for the head are made in the next block: that is where the transaction goes;
    // `pending` also sees the pool's transactions before it.
    const isHead = 'tag' in ref && ref.tag !== 'earliest' && ref.tag !== 'pending'
    const { header, root } = isHead ? this.nextBlockContext() : await this.executionContext(ref)
    try {
      const limits = requestLimits(this.execution, exec)
      const job = (): JobBody => ({
        kind: 'estimate',
        params: req,
        header: header.serialize(),
        stateRoot: root,
        overrides,
      })
      return await this.execute(job, limits, () =>
        this.runtime.estimateGas(req, header, { stateRoot: root, overrides, limits }),
      )
    } catch (err) {
      if (err instanceof ExecutionError) {
        if (err.reverted) throw revertError(err.revertData)
        throw invalidInput(err.message)
      }
      return executionErrorAsRpc(err)
    }
  }

  async createAccessList(
    req: CallRequest,
    ref: BlockRef,
    overrides?: StateOverride,
    exec?: ExecOptions,
  ): Promise<AccessListOutcome> {
    const { header, root } = await this.executionContext(ref)
    try {
      const limits = requestLimits(this.execution, exec)
      const job = (): JobBody => ({
        kind: 'accessList',
        params: req,
        header: header.serialize(),
        stateRoot: root,
        overrides,
      })
      const r = await this.execute(job, limits, () =>
        this.runtime.createAccessList(req, header, { stateRoot: root, overrides, limits }),
      )
      return { accessList: r.accessList, gasUsed: r.gasUsed, error: r.error }
    } catch (err) {
      return callErrorAsRpc(err)
    }
  }

  async traceCall(
    req: CallRequest,
    ref: BlockRef,
    options: Record<string, unknown>,
    overrides?: StateOverride,
    exec?: ExecOptions,
  ): Promise<unknown> {
    const { opts, timeoutMs } = traceOptions(options, this.execution)
    const { header, root } = await this.executionContext(ref)
    try {
      const limits = requestLimits(this.execution, exec, timeoutMs)
      const job = (): JobBody => ({
        kind: 'traceCall',
        params: req,
        header: header.serialize(),
        stateRoot: root,
        overrides,
        opts,
      })
      return await this.execute(job, limits, () =>
        this.runtime.traceCall(req, header, { stateRoot: root, overrides, limits }, opts),
      )
    } catch (err) {
      return callErrorAsRpc(err)
    }
  }

  private async recentBlocks(count: number): Promise<Block[]> {
    const out: Block[] = []
    let n = this.headNumber()
    while (out.length < count && n >= 0n) {
      const b = await this.store.getBlockByNumber(n)
      if (b) out.push(b)
      n--
    }
    return out
  }

  async maxPriorityFeePerGas(): Promise<bigint> {
    return suggestTip(await this.recentBlocks(20))
  }

  async gasPrice(): Promise<bigint> {
    const base = this.chain.head.header.calcNextBaseFee()
    return base + (await this.maxPriorityFeePerGas())
  }

  async feeHistory(blockCount: number, newest: BlockRef, percentiles: number[]): Promise<FeeHistory> {
    // The pending block has no fee history of its own yet: it ends at the head, as on geth.
    const last = await this.blockOrThrow(
      'tag' in newest && newest.tag === 'pending' ? { tag: 'latest' } : newest,
    )
    const count = BigInt(Math.min(Math.max(blockCount, 0), MAX_FEE_HISTORY_BLOCKS))
    let first = last.header.number - count + 1n
    if (first < 0n) first = 0n
    const baseFeePerGas: bigint[] = []
    const gasUsedRatio: number[] = []
    const reward: bigint[][] = []
    for (let n = first; n <= last.header.number && count > 0n; n++) {
      const b = await this.store.getBlockByNumber(n)
      if (!b) break
      baseFeePerGas.push(b.header.baseFeePerGas ?? 0n)
      gasUsedRatio.push(Number(b.header.gasUsed) / Number(b.header.gasLimit))
      if (percentiles.length > 0) {
        const receipts = (await this.store.getReceipts(b.hash())) ?? []
        reward.push(
          rewardPercentiles(
            b,
            receipts.map((r) => r.gasUsed),
            percentiles,
          ),
        )
      }
    }
    baseFeePerGas.push(
      last.header.number === this.headNumber() || count === 0n
        ? last.header.calcNextBaseFee()
        : ((await this.store.getBlockByNumber(last.header.number + 1n))?.header.baseFeePerGas ?? 0n),
    )
    return {
      oldestBlock: count === 0n ? last.header.number : first,
      baseFeePerGas,
      gasUsedRatio,
      reward: percentiles.length > 0 ? reward : undefined,
    }
  }

  async sendRawTransaction(raw: Uint8Array): Promise<Uint8Array> {
    const intake = this.intake
    // Counted until the pool has answered (automine groups what is on its way into one block).
    intake.enter()
    let counted = true
    const admitted = () => {
      if (counted) intake.leave()
      counted = false
    }
    // Posted before decoding, so the worker recovers while this thread decodes.
    const offloaded = this.opts.recovery?.submit(raw)
    try {
      const tx = intake.decode(raw)
      // Computed from the same bytes that decoded into `tx`; undefined: recover here.
      const sender = intake.recover(tx, offloaded && (await offloaded))
      return await this.admit(tx, sender, admitted)
    } catch (err) {
      throw err instanceof IntakeError ? invalidInput(err.message) : err
    } finally {
      admitted()
    }
  }

  private async admit(tx: TypedTransaction, sender: Uint8Array, admitted?: () => void): Promise<Uint8Array> {
    try {
      await this.intake.admit(tx, sender)
    } catch (err) {
      throw err instanceof IntakeError ? invalidInput(err.message) : err
    } finally {
      admitted?.()
    }
    const hash = tx.hash()
    const outcome = await this.opts.afterAdmit?.(hash)
    // Never answer a hash for a transaction the node dropped instead of mining.
    if (outcome?.kind === 'dropped')
      throw invalidInput(`transaction ${key(hash)} was not mined: ${outcome.reason}`)
    if (outcome?.kind === 'mined' && outcome.failure && this.opts.throwOnTransactionFailures?.())
      throw transactionFailedError(hash, outcome.failure)
    return hash
  }

  async sendTransaction(req: CallRequest): Promise<Uint8Array> {
    if (!req.from) throw invalidParams('missing "from"')
    const fromKey = key(req.from)
    const account = this.keys.get(fromKey)
    if (!account && !this.impersonated.has(fromKey)) {
      throw new RpcError(ErrorCode.INVALID_INPUT, `unknown account ${fromKey}: not unlocked or impersonated`)
    }
    // Unfrozen so that an impersonated transaction can carry its sender (see impersonatedTx).
    const txOpts = { ...this.intake.txOptions(), freeze: false }
    const nonce = req.nonce ?? (await this.pendingNonce(req.from))
    const gasLimit = req.gas ?? (await this.estimateGas({ ...req, nonce }, { tag: 'pending' }))
    const base = this.chain.head.header.calcNextBaseFee()
    const legacy = req.gasPrice !== undefined || req.type === 0 || req.type === 1
    const data = {
      nonce,
      gasLimit,
      to: req.to,
      value: req.value ?? 0n,
      data: req.data ?? new Uint8Array(),
      accessList: req.accessList?.map((a) => [a.address, a.storageKeys] as [Uint8Array, Uint8Array[]]),
      chainId: this.chainId,
    }
    const cap = this.runtime.txGasCapAt(this.chain.head.header.number + 1n)
    if (cap !== undefined && gasLimit > cap)
      throw invalidInput(`transaction gas limit too high (cap: ${cap}, tx: ${gasLimit})`)
    let tx: TypedTransaction
    const gasPrice = legacy ? (req.gasPrice ?? (await this.gasPrice())) : undefined
    const tip = legacy ? 0n : (req.maxPriorityFeePerGas ?? (await this.maxPriorityFeePerGas()))
    const maxFee = req.maxFeePerGas ?? base * 2n + tip
    try {
      tx = legacy
        ? createTx({ ...data, type: req.accessList || req.type === 1 ? 1 : 0, gasPrice }, txOpts)
        : createTx(
            { ...data, type: 2, maxFeePerGas: maxFee, maxPriorityFeePerGas: tip < maxFee ? tip : maxFee },
            txOpts,
          )
    } catch (err) {
      // Found by pnpm fuzz:rpc: fees whose product with the gas overflows 256 bits.
      throw invalidInput(`invalid transaction: ${(err as Error).message.split(' (tx type')[0]}`)
    }
    if (account) return this.admit(tx.sign(account.privateKey), account.address)
    return this.admit(impersonatedTx(tx, req.from), req.from)
  }

  accounts(): Uint8Array[] {
    return [...this.keys.values()].map((k) => k.address)
  }

  signingKey(address: Uint8Array): Uint8Array | undefined {
    return this.keys.get(key(address))?.privateKey
  }

  txpool(): TxPoolSnapshot {
    return this.pool.content()
  }

  syncing(): SyncStatus | false {
    return this.opts.syncing?.() ?? false
  }

  peerCount(): number {
    return this.opts.peerCount?.() ?? 0
  }

  async traceTransaction(
    hash: Uint8Array,
    options: Record<string, unknown>,
    exec?: ExecOptions,
  ): Promise<unknown> {
    const { opts, timeoutMs } = traceOptions(options, this.execution)
    const loc = await this.store.getTxLocation(hash)
    if (!loc) throw resourceNotFound(`transaction ${key(hash)} not found`)
    const block = await this.store.getBlockByHash(loc.blockHash)
    if (!block) throw resourceNotFound(`block ${key(loc.blockHash)} not found`)
    const parent = await this.store.getBlockByHash(block.header.parentHash)
    if (!parent) throw resourceNotFound('parent block not found')
    const limits = requestLimits(this.execution, exec, timeoutMs)
    const job = (): JobBody => ({
      kind: 'trace',
      block: block.serialize(),
      parent: parent.header.serialize(),
      txIndex: loc.index,
      opts,
    })
    return this.execute(job, limits, () =>
      this.runtime.traceTransaction(block, parent.header, loc.index, opts, limits),
    ).catch(executionErrorAsRpc)
  }

  /**
   * Runs RPC execution on the worker pool when it is ready, else in-thread (time-sliced). The pool
   * starts on the first request; a job it cannot take (workers starting or given up) runs here.
   */
  // `job` is built only when a worker takes it: serializing the header (and a block for traces)
  // was ~4 % of an in-thread eth_call's main-thread time, for a message that was never sent.
  private async execute<T>(
    job: () => JobBody,
    limits: ExecutionLimits,
    inThread: () => Promise<T>,
  ): Promise<T> {
    // Workers read the database only: a forked chain's state is partly on its remote.
    const pool = this.runtime.fork === undefined ? this.execPool : undefined
    if (pool !== undefined) {
      pool.start()
      if (pool.ready) {
        const { signal, sliceMs: _slices, ...jobLimits } = limits
        try {
          return (await pool.run({ ...job(), limits: jobLimits } as JobSpec, signal)) as T
        } catch (e) {
          if (!(e instanceof PoolUnavailable)) throw e
        }
      }
    }
    return inThread()
  }

  /** Execution workers: running / waiting jobs, undefined without workers. */
  execWorkers(): { ready: boolean; running: number; waiting: number; completed: number } | undefined {
    const pool = this.execPool
    return pool && { ready: pool.ready, ...pool.stats() }
  }
}

function invalidParams(message: string): RpcError {
  return new RpcError(ErrorCode.INVALID_PARAMS, message)
}

/** A transaction from an impersonated account: unsigned, with the sender fixed by the node, as
 * Hardhat's and anvil's impersonation. A fake signature (r = the address) makes it hashable and
 * serialisable; receipts keep the real sender, so nothing recovers it later. */
export function impersonatedTx(tx: TypedTransaction, from: Uint8Array): TypedTransaction {
  const r = BigInt(`0x${Buffer.from(from).toString('hex')}`)
  const fake =
    tx.type === 0
      ? (tx as LegacyTx).addSignature(0n, r, 1n, true)
      : (tx as FeeMarket1559Tx).addSignature(0n, r, 1n)
  const sender = new Address(from)
  // EthereumJS asks the tx itself during execution; the runtime asks bindSender's registry.
  Object.defineProperty(fake, 'getSenderAddress', { value: () => sender })
  bindSender(fake, from)
  return fake
}
