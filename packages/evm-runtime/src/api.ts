/**
 * Public API of evm-runtime: what packages/node builds on. The implementation lives in the
 * sibling modules (genesis.ts, config.ts, state/, block/, call/, precompiles/); this file is the
 * contract and must stay stable. Amounts and gas are bigint, bytes are Uint8Array.
 */
import type { Block, BlockHeader, BlockOptions } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import type { TypedTransaction } from '@ethereumjs/tx'
import type { ForkPoint } from './state/fork.ts'
import type { TakenStateWrites } from './state/level-db.ts'

export type Address = Uint8Array // 20 bytes
export type Hash = Uint8Array // 32 bytes

/** A log as stored in receipts: [address, topics, data]. */
export interface LogEntry {
  address: Address
  topics: Hash[]
  data: Uint8Array
}

/** The receipt fields that consensus covers (receiptsRoot) plus what JSON-RPC needs. */
export interface ExecutedTx {
  tx: TypedTransaction
  hash: Hash
  sender: Address
  /** 1 success, 0 failure (post-Byzantium). */
  status: 0 | 1
  gasUsed: bigint
  cumulativeGasUsed: bigint
  effectiveGasPrice: bigint
  logs: LogEntry[]
  logsBloom: Uint8Array // 256 bytes
  contractAddress?: Address
  /** Revert data or EVM error message of a failed tx, for logs and traces (not consensus). */
  error?: { message: string; returnData: Uint8Array }
}

export interface BuildBlockOptions {
  /** State root to build on: normally parent.stateRoot; in dev mode the working root after cheats. */
  parentStateRoot?: Hash
  timestamp: bigint
  coinbase: Address
  extraData?: Uint8Array
  gasLimit?: bigint
  mixHash?: Hash
  /** Only when a block hook claims the field (BlockHook.claimsParentBeaconBlockRoot): the L1 bridge's
   * L1 origin. Default 32 zero bytes. */
  parentBeaconBlockRoot?: Hash
  /** Override the EIP-1559 base fee for this block (dev: hardhat_setNextBlockBaseFeePerGas). */
  baseFeePerGas?: bigint
  /** Stop adding transactions once this many ms have been spent (interval mining). */
  deadlineMs?: number
  /** Write the block's state at once even with `deferStateWrites`: a block nobody commits whose
   * state is read, possibly by other threads from the disk (the pending block). */
  writeStateNow?: boolean
}

export interface BuildBlockResult {
  block: Block
  executed: ExecutedTx[]
  /** Transactions that could not be included (invalid nonce, fee below base fee, too much gas …). */
  rejected: Array<{
    tx: TypedTransaction
    reason: string /** true: may become valid later (e.g. block full) */
    retry: boolean
    /**
     * Set when executing the transaction threw (a precompile, a native module or the node itself
     * failed, not the transaction): it was rolled back and left out, `retry` is false, and the
     * node should log it. The cause is `fault.cause`.
     */
    fault?: Error
  }>
  /** Milliseconds spent in each phase, for logs and the benchmark's "where the time goes". */
  timings: {
    /** The tx loop: validity checks, sender recovery, EVM execution, receipts (ms). */
    execution: number
    /** Flushing state into the trie, state/tx/receipt roots, and the LevelDB batch (ms). */
    roots: number
    total: number
    /** Part of `execution` spent recovering senders from signatures (ms). */
    senderRecovery?: number
    /** Part of `execution` spent in block hooks (system work such as an epoch transition, ms). */
    hooks?: number
  }
}

export interface CallParams {
  from?: Address
  to?: Address
  gas?: bigint
  gasPrice?: bigint
  maxFeePerGas?: bigint
  maxPriorityFeePerGas?: bigint
  value?: bigint
  data?: Uint8Array
  accessList?: Array<{ address: Address; storageKeys: Hash[] }>
  nonce?: bigint
}

/** eth_call / eth_estimateGas state overrides (geth's "stateOverride" object). */
export type StateOverrides = Map<
  string /* lowercase 0x address */,
  {
    balance?: bigint
    nonce?: bigint
    code?: Uint8Array
    state?: Map<string, Hash>
    stateDiff?: Map<string, Hash>
  }
>

/**
 * Bounds of execution requested over RPC (budget.ts enforces them inside the interpreter); every
 * field is optional (absent: no bound). Block building and import never take any.
 */
export interface ExecutionLimits {
  /** Wall-clock limit (ms) of the whole request: every run of an estimate, a trace's replay. */
  timeoutMs?: number
  /** Aborting stops the execution at its next check (an AbortSignal, or a flag shared with the
   * thread that started the work). */
  signal?: { readonly aborted: boolean }
  /** Gas cap (geth's --rpc.gascap): a call's gas, given or default, is lowered to it. 0n: none. */
  gasCap?: bigint
  /** Let the event loop run after this many ms of uninterrupted execution (in-thread only). */
  sliceMs?: number
}

export interface CallResult {
  returnData: Uint8Array
  gasUsed: bigint
  logs: LogEntry[]
  /** Set when execution failed; `reverted` means REVERT (returnData is the revert payload). */
  error?: { reverted: boolean; message: string }
}

export interface AccessListResult {
  /** Sorted by address, each entry's keys sorted (geth's order). */
  accessList: Array<{ address: Address; storageKeys: Hash[] }>
  /** Gas of the call with that access list (its intrinsic cost included). */
  gasUsed: bigint
  /** The EVM error of the final run ("execution reverted", "out of gas" …); absent on success. */
  error?: string
  /** Revert payload when the final run reverted. */
  returnData?: Uint8Array
}

export interface AccountState {
  nonce: bigint
  balance: bigint
  codeHash: Hash
  storageRoot: Hash
}

/** EIP-1186 proof (eth_getProof), all byte fields raw. */
export interface AccountProof {
  address: Address
  accountProof: Uint8Array[]
  balance: bigint
  codeHash: Hash
  nonce: bigint
  storageHash: Hash
  storageProof: Array<{ key: Hash; value: bigint; proof: Uint8Array[] }>
}

export interface TraceOptions {
  tracer?: 'callTracer' | 'structLogger'
  /** struct logger: geth's disableStorage / disableStack / enableMemory / enableReturnData */
  disableStorage?: boolean
  disableStack?: boolean
  enableMemory?: boolean
  enableReturnData?: boolean
  /** callTracer: { onlyTopCall, withLog } */
  onlyTopCall?: boolean
  withLog?: boolean
  /** struct logger: geth's `limit`, the size of the output (bytes of JSON) after which no further
   * steps are recorded; execution goes on. 0 or absent: none. */
  limit?: number
  /** The node's memory budget for one trace result (bytes of JSON, any tracer): beyond it the
   * trace fails with TraceTooLargeError instead of holding more. Absent: none. */
  maxBytes?: number
}

/** The execution engine over one state database. Serialises state-mutating work internally. */
export interface ExecutionRuntime {
  readonly common: Common
  readonly chainId: bigint
  /** The genesis block (state root from the genesis alloc). Its state is written on first open. */
  readonly genesisBlock: Block
  /** Options for createBlock / createBlockFromRLP / createBlockHeader on this chain: keeps the
   * genesis EIP-1559 parameters and allows QBFT extraData (> 32 bytes). Always set by
   * createExecutionRuntime. */
  readonly blockOptions?: BlockOptions
  /** Dev option: EIP-170 (code size) and EIP-3860 (initcode size) limits are off. Transactions
   * must then be created with `allowUnlimitedInitCodeSize` (see {@link txOptions}). */
  readonly allowUnlimitedContractSize?: boolean

  /** Proposer path: execute `txs` in the given order on the parent state, skipping invalid ones,
   * and return a complete block (roots, bloom, gasUsed, baseFee). State is persisted. */
  buildBlock(
    parent: BlockHeader,
    txs: Iterable<TypedTransaction>,
    opts: BuildBlockOptions,
  ): Promise<BuildBlockResult>
  /** The base fee of `parent`'s child: EIP-1559's formula, raised to the chain's floor (the
   * baseFeeFloor storage word of `parent`'s state) when one is configured. */
  nextBaseFee(parent: BlockHeader): Promise<bigint>
  /** Import/validator path: re-execute `block` on `parent`'s state and check stateRoot,
   * receiptsRoot, bloom and gasUsed; throws BlockValidationError naming the mismatch. */
  executeBlock(block: Block, parent: BlockHeader): Promise<ExecutedTx[]>
  /**
   * Block sync: until `flushStateWrites(true)`, the state that executed (or built) blocks write
   * stays in memory, readable like persisted state, and `flushStateWrites()` puts all of it on
   * disk in one batch. The caller must flush before it commits a block whose state is held.
   */
  holdStateWrites(): void
  flushStateWrites(release?: boolean): Promise<void>
  /**
   * With `deferStateWrites`: the state built and executed blocks wrote since the last take, as
   * batch operations of the state keyspace (undefined: nothing new). The caller writes them in
   * its block batch and then calls `landed()`, or `failed()` when that batch failed (they are
   * held again). Until then they stay readable like persisted state.
   */
  takeStateWrites(): TakenStateWrites | undefined

  /** Read-only execution at a state root (eth_call). Never persists. Throws ExecutionAborted when
   * `limits` stop it (time, cancellation). */
  call(
    params: CallParams,
    header: BlockHeader,
    opts?: { stateRoot?: Hash; overrides?: StateOverrides; limits?: ExecutionLimits },
  ): Promise<CallResult>
  /** Binary search for the lowest gas that succeeds (eth_estimateGas). Throws ExecutionError with
   * the revert data when the call fails even at the cap. */
  estimateGas(
    params: CallParams,
    header: BlockHeader,
    opts?: { stateRoot?: Hash; overrides?: StateOverrides; limits?: ExecutionLimits },
  ): Promise<bigint>

  /** eth_createAccessList (geth's semantics, see access-list.ts): the call re-run with the slots
   * and addresses it touches until the list is stable; gasUsed with that list, the final run's
   * EVM error. Same bounds and isolation as `call`. */
  createAccessList(
    params: CallParams,
    header: BlockHeader,
    opts?: { stateRoot?: Hash; overrides?: StateOverrides; limits?: ExecutionLimits },
  ): Promise<AccessListResult>
  /** debug_traceCall: `call` with a tracer (traceTransaction's output shapes). */
  traceCall(
    params: CallParams,
    header: BlockHeader,
    opts: { stateRoot?: Hash; overrides?: StateOverrides; limits?: ExecutionLimits },
    traceOpts: TraceOptions,
  ): Promise<unknown>

  /** The fork in force at block `blockNumber` (genesis `hardfork` and `hardforks`). */
  hardforkAt(blockNumber: bigint): 'prague' | 'osaka'
  /** EIP-7825's per-transaction gas cap at that block (Osaka), or undefined. */
  txGasCapAt(blockNumber: bigint): bigint | undefined

  hasState(stateRoot: Hash): Promise<boolean>
  getAccount(stateRoot: Hash, address: Address): Promise<AccountState | undefined>
  getCode(stateRoot: Hash, address: Address): Promise<Uint8Array>
  getStorage(stateRoot: Hash, address: Address, slot: Hash): Promise<Hash>
  getProof(stateRoot: Hash, address: Address, slots: Hash[]): Promise<AccountProof>

  /** Re-execute block up to tx `txIndex` and trace that tx; `limits` bound the replay and the
   * traced transaction together (throws ExecutionAborted). */
  traceTransaction(
    block: Block,
    parent: BlockHeader,
    txIndex: number,
    opts: TraceOptions,
    limits?: ExecutionLimits,
  ): Promise<unknown>

  /** Dev-mode state edits applied on top of `stateRoot`; returns the new root (persisted). */
  editState(
    stateRoot: Hash,
    edits: Array<
      | { kind: 'balance'; address: Address; value: bigint }
      | { kind: 'nonce'; address: Address; value: bigint }
      | { kind: 'code'; address: Address; value: Uint8Array }
      | { kind: 'storage'; address: Address; slot: Hash; value: Hash }
    >,
  ): Promise<Hash>

  /** The remote chain this one continues from (a forked dev chain, state/fork.ts), if any. */
  readonly fork?: ForkPoint
  /**
   * Dev (hardhat_reset): start the chain over — from a remote chain's block with `fork`, else from
   * the genesis configuration, at `timestamp` when given. Returns the new genesis block (for the
   * chain store); every cache is dropped. Persisted state stays (content-addressed).
   */
  reset?(opts: { fork?: ForkPoint; timestamp?: bigint }): Promise<Block>

  close(): Promise<void>
}
