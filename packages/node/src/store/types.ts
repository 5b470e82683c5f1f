/**
 * Shapes the chain store reads and writes. `CommittedTx` is the subset of evm-runtime's
 * `ExecutedTx` the store needs (declared structurally so any ExecutedTx is accepted as is);
 * `StoredReceipt` / `StoredLog` match rpc's `RpcReceipt` / `RpcLog` field for field.
 */
import type { Block, BlockOptions } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'

export interface LogEntryLike {
  address: Uint8Array
  topics: Uint8Array[]
  data: Uint8Array
}

/** What commitBlock needs per transaction (a structural subset of evm-runtime's ExecutedTx). */
export interface CommittedTx {
  tx: TypedTransaction
  hash: Uint8Array
  sender: Uint8Array
  status: 0 | 1
  gasUsed: bigint
  cumulativeGasUsed: bigint
  effectiveGasPrice: bigint
  logs: LogEntryLike[]
  contractAddress?: Uint8Array
}

/** A log with its position in the chain (eth_getLogs / receipt logs). */
export interface StoredLog {
  address: Uint8Array
  topics: Uint8Array[]
  data: Uint8Array
  blockNumber: bigint
  blockHash: Uint8Array
  transactionHash: Uint8Array
  transactionIndex: number
  /** Index within the block (not within the transaction), as JSON-RPC defines it. */
  logIndex: number
  removed: boolean
}

/** Everything eth_getTransactionReceipt answers, without re-execution. */
export interface StoredReceipt {
  transactionHash: Uint8Array
  transactionIndex: number
  blockHash: Uint8Array
  blockNumber: bigint
  from: Uint8Array
  /** Same bytes as `from` (the recovered sender), kept under the name the executor uses. */
  sender: Uint8Array
  to: Uint8Array | null
  cumulativeGasUsed: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  contractAddress: Uint8Array | null
  logs: StoredLog[]
  logsBloom: Uint8Array
  type: number
  status: 0 | 1
}

export interface TxLocation {
  blockHash: Uint8Array
  blockNumber: bigint
  index: number
}

/** A mined transaction with its block position (rpc's TxLocation with `block` always set). */
export interface MinedTransaction {
  tx: TypedTransaction
  sender: Uint8Array
  block: { hash: Uint8Array; number: bigint; index: number; baseFeePerGas?: bigint }
}

export interface LogFilter {
  fromBlock: bigint
  toBlock: bigint
  /** Empty: any address. */
  addresses: Uint8Array[]
  /** Per position: null (or empty) = wildcard, array = any of. At most 4 positions. */
  topics: Array<Uint8Array[] | null>
  /** More matching logs than this is an error (LOG_LIMIT), as RPC providers answer. */
  limit: number
}

export type ChainDbOperation =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array }

/**
 * The LevelDB the chain keyspace is a sublevel of, for block batches that carry other keyspaces'
 * writes (the blocks' state): operations on it have keys with their keyspace's full prefix
 * (abstract-level's `sublevel.prefixKey(key, 'view', false)`). Prefixing once also keeps
 * abstract-level from handling every operation twice, as a sublevel's own batch does (once in the
 * sublevel, again in its parent): most of a block batch's main-thread cost.
 */
export interface BatchDb {
  batch(
    operations: ChainDbOperation[],
    options: { keyEncoding: 'view'; valueEncoding: 'view' },
  ): Promise<void>
}

export interface ChainStoreOptions {
  genesisBlock: Block
  /** A forked dev chain's first block is the remote's fork block (number N > 0): allow it. */
  forkedGenesis?: boolean
  /**
   * Decode stored blocks with the hardfork their number/timestamp selects in the genesis block's
   * Common (chains with scheduled forks). Default false: decode with the Common as configured.
   */
  hardforkByBlock?: boolean
  /** Options for decoding stored blocks (the runtime's `blockOptions`: chain params such as the
   * EIP-1559 settings, so decoded headers compute the same next base fee). */
  blockOptions?: BlockOptions
  /** Applied to every block decoded from the database (QBFT chains set the on-chain block hash). */
  decorateBlock?: (block: Block) => Block
  /** The LevelDB this keyspace is a sublevel of, for commits that write other keyspaces in the
   * same batch (`commitBlocks(items, extra)`). */
  batchDb?: BatchDb
  /** Decoded blocks kept in memory (RPC reads the head a lot). Default 256. */
  blockCacheSize?: number
  /** Decoded per-block receipt lists kept in memory. Default 256. */
  receiptCacheSize?: number
}
