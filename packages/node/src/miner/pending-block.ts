/**
 * The `pending` block: what the block producer would mine next, built from the pool on the next
 * block's environment (timestamp with evm_increaseTime / evm_setNextBlockTimestamp, next base fee,
 * coinbase, prevrandao, gas limit). eth_getBlockByNumber, eth_call, eth_estimateGas, eth_getBalance,
 * eth_getCode and eth_getStorageAt at `pending` read it, as on geth, anvil and Hardhat.
 *
 * Built lazily on the first pending read and kept while nothing it depends on changes (head,
 * working state, pooled transactions, environment). With no executable pool transaction it is the
 * head's working state under the next block's header, and nothing executes. Otherwise the pool's
 * transactions run through the runtime's block builder exactly as the sealer would run them; the
 * state it writes is content-addressed trie nodes (never pruned, like every root of this node),
 * one block's worth per change of the pool that a pending read observes.
 */
import { Block, type BlockHeader, createBlockHeader } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'
import { KECCAK256_RLP } from '@ethereumjs/util'
import { type ExecutionRuntime, PRAGUE_EMPTY_FIELDS } from '@openledger/evm-runtime'
import type { Chain } from '../chain/chain.ts'
import type { TxPool } from '../txpool/index.ts'
import { key } from '../util/bytes.ts'

/** Header fields of the next block that the block producer (or dev controls) decides. */
export interface NextBlockEnv {
  timestamp: bigint
  baseFeePerGas: bigint
  coinbase: Uint8Array
  mixHash: Uint8Array
  gasLimit: bigint
}

export interface PendingState {
  block: Block
  /** State after the pending block's transactions (the head's working state when it has none). */
  stateRoot: Uint8Array
}

/** Next-block environment of a node without a dev sealer: wall-clock time, the next base fee. */
export function defaultNextEnv(parent: BlockHeader): NextBlockEnv {
  const now = BigInt(Math.floor(Date.now() / 1000))
  return {
    timestamp: now > parent.timestamp ? now : parent.timestamp + 1n,
    baseFeePerGas: parent.calcNextBaseFee(),
    coinbase: parent.coinbase.bytes,
    mixHash: new Uint8Array(32),
    gasLimit: parent.gasLimit,
  }
}

export interface PendingBlockOptions {
  chain: Chain
  runtime: ExecutionRuntime
  pool: TxPool
  env: (parent: BlockHeader) => NextBlockEnv
  /** false: never execute pool transactions (validators keep the execution lock for consensus). */
  fromPool: boolean
  extraData?: Uint8Array
}

export class PendingBlock {
  private cached: { id: string; state: Promise<PendingState> } | undefined
  private readonly chain: Chain
  private readonly runtime: ExecutionRuntime
  private readonly env: (parent: BlockHeader) => NextBlockEnv
  private readonly fromPool: boolean
  private readonly extraData: Uint8Array

  constructor(private readonly opts: PendingBlockOptions) {
    this.chain = opts.chain
    this.runtime = opts.runtime
    this.env = opts.env
    this.fromPool = opts.fromPool
    this.extraData = opts.extraData ?? new Uint8Array(0)
  }

  /** The environment of the next block on the current head (no execution). */
  nextEnv(): NextBlockEnv {
    return this.env(this.chain.head.header)
  }

  /** A header for the next block on the head's working state, without pool transactions. */
  nextHeader(): BlockHeader {
    return this.header(this.chain.head.header, this.nextEnv(), this.chain.workingStateRoot)
  }

  get(): Promise<PendingState> {
    const chain = this.chain
    const parent = chain.head.header
    const env = this.env(parent)
    const txs: TypedTransaction[] = []
    if (this.fromPool) for (const p of this.opts.pool.pending(env.baseFeePerGas)) txs.push(p.tx)
    const root = chain.workingStateRoot
    const id = [
      key(parent.hash()),
      key(root),
      env.timestamp,
      env.baseFeePerGas,
      key(env.coinbase),
      key(env.mixHash),
      env.gasLimit,
      ...txs.map((t) => key(t.hash())),
    ].join(':')
    if (this.cached?.id !== id) {
      const state = this.build(parent, env, root, txs)
      this.cached = { id, state }
      // A failed build is not kept: the next read tries again.
      state.catch(() => {
        if (this.cached?.state === state) this.cached = undefined
      })
    }
    return this.cached.state
  }

  private async build(
    parent: BlockHeader,
    env: NextBlockEnv,
    root: Uint8Array,
    txs: TypedTransaction[],
  ): Promise<PendingState> {
    if (txs.length === 0) {
      const header = this.header(parent, env, root)
      return { block: new Block(header, [], [], [], this.runtime.blockOptions), stateRoot: root }
    }
    const result = await this.runtime.buildBlock(parent, txs, {
      parentStateRoot: root,
      timestamp: env.timestamp,
      coinbase: env.coinbase,
      extraData: this.extraData,
      baseFeePerGas: env.baseFeePerGas,
      gasLimit: env.gasLimit,
      mixHash: env.mixHash,
      // Nobody commits it, and RPC's execution workers read its state from the disk.
      writeStateNow: true,
    })
    return { block: result.block, stateRoot: result.block.header.stateRoot }
  }

  private header(parent: BlockHeader, env: NextBlockEnv, stateRoot: Uint8Array): BlockHeader {
    return createBlockHeader(
      {
        parentHash: parent.hash(),
        number: parent.number + 1n,
        timestamp: env.timestamp,
        gasLimit: env.gasLimit,
        gasUsed: 0n,
        baseFeePerGas: env.baseFeePerGas,
        coinbase: env.coinbase,
        mixHash: env.mixHash,
        extraData: this.extraData,
        stateRoot,
        transactionsTrie: KECCAK256_RLP,
        receiptTrie: KECCAK256_RLP,
        difficulty: 0n,
        nonce: new Uint8Array(8),
        ...PRAGUE_EMPTY_FIELDS,
      },
      this.runtime.blockOptions,
    )
  }
}
