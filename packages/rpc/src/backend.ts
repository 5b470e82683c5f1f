/**
 * What the JSON-RPC server needs from a node. packages/node implements it; this package owns the
 * wire format (hex quantities, block/tx/receipt JSON), validation, errors, filters and subscriptions.
 * Blocks and transactions are EthereumJS objects so their canonical encodings stay available.
 */
import type { Block } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'

export type Address = Uint8Array
export type Hash = Uint8Array

/** A resolved block selector. 'pending' is the block the node would produce next (see the
 * node's PendingBlock). */
export type BlockRef =
  | { tag: 'latest' | 'pending' | 'safe' | 'finalized' | 'earliest' }
  | { number: bigint }
  | { hash: Hash; requireCanonical?: boolean }

export interface RpcLog {
  address: Address
  topics: Hash[]
  data: Uint8Array
  blockNumber: bigint
  blockHash: Hash
  transactionHash: Hash
  transactionIndex: number
  logIndex: number
  removed: boolean
}

export interface RpcReceipt {
  transactionHash: Hash
  transactionIndex: number
  blockHash: Hash
  blockNumber: bigint
  from: Address
  to: Address | null
  cumulativeGasUsed: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  contractAddress: Address | null
  logs: RpcLog[]
  logsBloom: Uint8Array
  type: number
  status: 0 | 1
  /** EIP-4844 transactions only (geth adds these receipt fields for blob transactions). */
  blobGasUsed?: bigint
  blobGasPrice?: bigint
}

export interface TxLocation {
  tx: TypedTransaction
  sender: Address
  /** Absent for a transaction still in the mempool. */
  block?: { hash: Hash; number: bigint; index: number; baseFeePerGas?: bigint }
}

export interface LogQuery {
  fromBlock: bigint
  toBlock: bigint
  /** Empty: any address. */
  addresses: Address[]
  /** Per position: null = wildcard, array = any of. */
  topics: Array<Hash[] | null>
  /** Stop after this many logs and throw a limit error (the backend enforces it). */
  limit: number
}

export interface CallRequest {
  from?: Address
  to?: Address
  gas?: bigint
  gasPrice?: bigint
  maxFeePerGas?: bigint
  maxPriorityFeePerGas?: bigint
  value?: bigint
  data?: Uint8Array
  nonce?: bigint
  accessList?: Array<{ address: Address; storageKeys: Hash[] }>
  type?: number
  chainId?: bigint
}

export type StateOverride = Map<
  string,
  {
    balance?: bigint
    nonce?: bigint
    code?: Uint8Array
    state?: Map<string, Hash>
    stateDiff?: Map<string, Hash>
  }
>

/** What every executing backend method receives besides its params. */
export interface ExecOptions {
  /** Aborted when the client goes away: execution stops at its next check (within milliseconds). */
  signal?: AbortSignal
}

export interface CallOutcome {
  returnData: Uint8Array
  gasUsed: bigint
  error?: { reverted: boolean; message: string }
}

/** eth_createAccessList's answer (geth): the stable access list, the gas used with it, and the
 * final run's EVM error ("execution reverted" …), if any. */
export interface AccessListOutcome {
  accessList: Array<{ address: Address; storageKeys: Hash[] }>
  gasUsed: bigint
  error?: string
}

export interface FeeHistory {
  oldestBlock: bigint
  baseFeePerGas: bigint[] // count + 1 entries
  gasUsedRatio: number[]
  reward?: bigint[][]
}

export interface ProofResult {
  address: Address
  accountProof: Uint8Array[]
  balance: bigint
  codeHash: Hash
  nonce: bigint
  storageHash: Hash
  storageProof: Array<{ key: Hash; value: bigint; proof: Uint8Array[] }>
}

export interface TxPoolSnapshot {
  pending: Map<string /* 0x sender */, TypedTransaction[]>
  queued: Map<string, TypedTransaction[]>
}

export interface SyncStatus {
  startingBlock: bigint
  currentBlock: bigint
  highestBlock: bigint
}

/** Events the node emits after a block is committed / a tx enters the pool. */
export interface BackendEvents {
  on(event: 'block', listener: (block: Block, logs: RpcLog[]) => void): void
  on(event: 'pendingTransaction', listener: (hash: Hash) => void): void
  off(event: 'block', listener: (block: Block, logs: RpcLog[]) => void): void
  off(event: 'pendingTransaction', listener: (hash: Hash) => void): void
}

/**
 * A forked dev chain (`openledger dev --fork-url`): blocks up to and including `blockNumber` are
 * the remote chain's, and requests about them (blocks, transactions, receipts, logs, state before
 * the fork block, proofs) are answered by the remote (fork.ts routes them).
 */
export interface ForkedHistory {
  readonly blockNumber: bigint
  /** Sends `method` with `params` to the remote; resolves with its result as received. Throws
   * RpcError: the remote's own error, or why it could not be asked. */
  request(method: string, params: unknown[]): Promise<unknown>
}

/** hardhat_reset / anvil_reset: without `forking`, back to genesis; with it, (re-)fork. */
export interface ResetOptions {
  forking?: { url?: string; blockNumber?: bigint }
}

/** hardhat_metadata (Hardhat's shape; anvil_metadata is answered the same). */
export interface DevMetadata {
  clientVersion: string
  chainId: bigint
  /** Random per start and per reset: tools key caches of deployments by it. */
  instanceId: Uint8Array
  latestBlockNumber: bigint
  latestBlockHash: Uint8Array
  forkedNetwork?: { chainId: bigint; forkBlockNumber: bigint; forkBlockHash: Uint8Array }
}

/** Dev-mode controls (anvil / Hardhat Network cheats). Present only in single-node dev mode. */
export interface DevBackend {
  snapshot(): Promise<bigint>
  revert(id: bigint): Promise<boolean>
  /** Mine `blocks` blocks, `interval` seconds apart (hardhat_mine). Stops between two blocks once
   * `signal` aborts (the client left): the blocks mined so far stay, each is complete. */
  mine(blocks?: bigint, interval?: bigint, timestamp?: bigint, signal?: AbortSignal): Promise<void>
  increaseTime(seconds: bigint): bigint
  setNextBlockTimestamp(timestamp: bigint): void
  setAutomine(enabled: boolean): void
  getAutomine(): boolean
  setIntervalMining(ms: number): void
  setBalance(address: Address, value: bigint): Promise<void>
  setCode(address: Address, code: Uint8Array): Promise<void>
  setNonce(address: Address, nonce: bigint): Promise<void>
  setStorageAt(address: Address, slot: Hash, value: Hash): Promise<void>
  impersonate(address: Address): void
  stopImpersonating(address: Address): void
  dropTransaction(hash: Hash): boolean
  setNextBlockBaseFee(fee: bigint): void
  setCoinbase(address: Address): void
  setMinGasPrice(price: bigint): void
  setBlockGasLimit(gasLimit: bigint): void
  setPrevRandao(value: Uint8Array): void
  reset(opts: ResetOptions): Promise<void>
  metadata(): Promise<DevMetadata>
}

export interface RpcBackend {
  readonly chainId: bigint
  readonly clientVersion: string
  readonly events: BackendEvents
  /** undefined outside single-node dev mode: dev methods then answer "method not available". */
  readonly dev?: DevBackend
  /** Set on a forked dev chain (read per request: a reset may fork or un-fork the chain). */
  readonly fork?: ForkedHistory

  headNumber(): bigint
  /** Resolve a selector to a block; undefined if unknown. */
  getBlock(ref: BlockRef): Promise<Block | undefined>
  getReceipts(blockHash: Hash): Promise<RpcReceipt[] | undefined>
  getTransaction(hash: Hash): Promise<TxLocation | undefined>
  getReceipt(hash: Hash): Promise<RpcReceipt | undefined>
  getLogs(query: LogQuery): Promise<RpcLog[]>
  /** Total difficulty is always 0 on a BFT chain; block size in bytes is computed by rpc. */

  getBalance(address: Address, ref: BlockRef): Promise<bigint>
  getNonce(address: Address, ref: BlockRef): Promise<bigint>
  getCode(address: Address, ref: BlockRef): Promise<Uint8Array>
  getStorageAt(address: Address, slot: Hash, ref: BlockRef): Promise<Hash>
  getProof(address: Address, slots: Hash[], ref: BlockRef): Promise<ProofResult>
  call(req: CallRequest, ref: BlockRef, overrides?: StateOverride, exec?: ExecOptions): Promise<CallOutcome>
  estimateGas(req: CallRequest, ref: BlockRef, overrides?: StateOverride, exec?: ExecOptions): Promise<bigint>
  createAccessList(
    req: CallRequest,
    ref: BlockRef,
    overrides?: StateOverride,
    exec?: ExecOptions,
  ): Promise<AccessListOutcome>

  gasPrice(): Promise<bigint>
  maxPriorityFeePerGas(): Promise<bigint>
  feeHistory(blockCount: number, newest: BlockRef, percentiles: number[]): Promise<FeeHistory>

  /** Validates and adds to the pool; throws RpcError (Geth-style messages) on rejection. */
  sendRawTransaction(raw: Uint8Array): Promise<Hash>
  /** Fills missing fields (nonce, gas, fees, chainId), signs with an unlocked/impersonated account. */
  sendTransaction(req: CallRequest): Promise<Hash>
  /** Unlocked dev accounts (empty outside dev mode unless keys were given). */
  accounts(): Address[]
  /** Private key of an unlocked account, for eth_sign / personal_sign / eth_signTypedData_v4. */
  signingKey(address: Address): Uint8Array | undefined

  /** Optional: the address credited for blocks this node proposes (eth_coinbase); else the head's miner. */
  coinbase?(): Address

  txpool(): TxPoolSnapshot
  syncing(): SyncStatus | false
  peerCount(): number
  traceTransaction(hash: Hash, options: Record<string, unknown>, exec?: ExecOptions): Promise<unknown>
  /** debug_traceCall: `options` is geth's TraceConfig (tracer fields, timeout, limit). */
  traceCall(
    req: CallRequest,
    ref: BlockRef,
    options: Record<string, unknown>,
    overrides?: StateOverride,
    exec?: ExecOptions,
  ): Promise<unknown>
}
