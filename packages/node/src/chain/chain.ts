/**
 * The committed chain as the rest of the node sees it: head block, the state root that "latest"
 * reads use, and one commit path (store batch → txpool prune → events) shared by every block
 * source (dev sealer today, QBFT and sync later).
 */
import { EventEmitter } from 'node:events'
import type { Block } from '@ethereumjs/block'
import type { BuildBlockResult, ExecutedTx, ExecutionRuntime } from '@openledger/evm-runtime'
import type { RpcLog } from '@openledger/rpc'
import type { NodeMetrics } from '../metrics.ts'
import type { ChainStore } from '../store/index.ts'
import type { TxPool } from '../txpool/index.ts'
import { bytesEqual, key } from '../util/bytes.ts'

export interface ChainEventMap {
  block: [block: Block, logs: RpcLog[], executed: ExecutedTx[]]
  pendingTransaction: [hash: Uint8Array]
}

export class Chain {
  readonly events = new EventEmitter<ChainEventMap>()
  /** State root that "latest" reads and the next block build on. Equals head.stateRoot except in
   * dev mode after a state cheat (setBalance, setCode …), which edits state between blocks. */
  private working: Uint8Array

  constructor(
    readonly store: ChainStore,
    readonly runtime: ExecutionRuntime,
    readonly txpool: TxPool,
    readonly metrics?: NodeMetrics,
  ) {
    this.working = store.head().header.stateRoot
    this.events.setMaxListeners(1000)
    // newPendingTransactions semantics: a transaction is announced once it becomes executable.
    txpool.on('added', (hash) => this.events.emit('pendingTransaction', hash))
  }

  get head(): Block {
    return this.store.head()
  }

  get workingStateRoot(): Uint8Array {
    return this.working
  }

  /** Dev mode: block hash → the state its reads see when cheats (setBalance …) edited it after
   * it became the head and a block was then built on the edited state — Hardhat's "irregular
   * state": `eth_getBalance(addr, n)` keeps answering the edited value once n is no longer the head. */
  private readonly edited = new Map<string, Uint8Array>()

  /** The state root reads at `block` use (its header's, unless dev cheats edited it). */
  stateRootOf(block: Block): Uint8Array {
    return (this.edited.size > 0 && this.edited.get(key(block.hash()))) || block.header.stateRoot
  }

  setWorkingStateRoot(root: Uint8Array): void {
    this.working = root
  }

  /** Persist a block built or validated by this node, then update the pool and notify. */
  commit(result: Pick<BuildBlockResult, 'block' | 'executed'>, seals?: Uint8Array): Promise<void> {
    return this.commitMany([{ block: result.block, executed: result.executed, seals }])
  }

  /** Persist consecutive blocks in one database batch (block sync), then pool updates and events. */
  async commitMany(
    results: ReadonlyArray<Pick<BuildBlockResult, 'block' | 'executed'> & { seals?: Uint8Array }>,
  ): Promise<void> {
    if (results.length === 0) return
    const t0 = performance.now()
    const parent = this.store.head()
    if (!bytesEqual(this.working, parent.header.stateRoot)) this.edited.set(key(parent.hash()), this.working)
    await this.store.commitBlocks(results)
    const t1 = performance.now()
    const last = results[results.length - 1]!.block
    this.working = last.header.stateRoot
    for (let i = 0; i < results.length; i++) {
      const { executed } = results[i]!
      const isLast = i === results.length - 1
      // Runs of empty blocks (sync of an idle chain) only move the base fee.
      if (executed.length === 0 && !isLast) continue
      await this.txpool.onBlockCommitted(
        executed.map((e) => ({ sender: e.sender, nonce: e.tx.nonce, hash: e.hash })),
        undefined,
        isLast ? last.header.calcNextBaseFee() : undefined,
      )
    }
    const m = this.metrics
    if (m) {
      m.phaseSeconds.inc({ phase: 'storage' }, (t1 - t0) / 1000)
      m.phaseSeconds.inc({ phase: 'txpool' }, (performance.now() - t1) / 1000)
      m.headBlock.set(Number(last.header.number))
      for (const { executed } of results) m.blockTxs.observe(executed.length)
      const { pending, queued } = this.txpool.status()
      m.txpoolPending.set(pending)
      m.txpoolQueued.set(queued)
    }
    for (const { block, executed } of results)
      this.events.emit('block', block, blockLogs(block, executed), executed)
  }

  /** Dev rollback (evm_revert): drop blocks above `number` and return to their parent's state. */
  async rollbackTo(number: bigint, workingStateRoot: Uint8Array): Promise<void> {
    await this.store.truncateAfter(number)
    if (number === 0n) this.edited.clear()
    this.working = workingStateRoot
  }
}

export function blockLogs(block: Block, executed: ExecutedTx[]): RpcLog[] {
  const logs: RpcLog[] = []
  const blockHash = block.hash()
  let logIndex = 0
  executed.forEach((e, txIndex) => {
    for (const l of e.logs) {
      logs.push({
        address: l.address,
        topics: l.topics,
        data: l.data,
        blockNumber: block.header.number,
        blockHash,
        transactionHash: e.hash,
        transactionIndex: txIndex,
        logIndex: logIndex++,
        removed: false,
      })
    }
  })
  return logs
}
