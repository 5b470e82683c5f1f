/**
 * The JSON-RPC server's events (newHeads, logs and newPendingTransactions subscriptions, filters),
 * fed by a chain observer and the pool's `added` event. RPC log shapes are built here, on the RPC
 * side of the node, not by the chain.
 */
import { EventEmitter } from 'node:events'
import type { Block } from '@ethereumjs/block'
import type { ExecutedTx } from '@openledger/evm-runtime'
import type { BackendEvents, RpcLog } from '@openledger/rpc'
import type { Chain } from '../chain/chain.ts'
import type { TxPool } from '../txpool/index.ts'

interface EventMap {
  block: [block: Block, logs: RpcLog[]]
  pendingTransaction: [hash: Uint8Array]
}

export class RpcEvents implements BackendEvents {
  readonly #emitter = new EventEmitter<EventMap>()
  readonly #unsubscribe: () => void
  readonly #onAdded = (hash: Uint8Array) => this.#emitter.emit('pendingTransaction', hash)

  constructor(
    chain: Chain,
    private readonly pool: TxPool,
  ) {
    this.#emitter.setMaxListeners(1000)
    this.#unsubscribe = chain.subscribe({
      name: 'rpc events',
      onCommit: (blocks) => {
        for (const { block, executed } of blocks)
          this.#emitter.emit('block', block, blockLogs(block, executed))
      },
    })
    // newPendingTransactions semantics: a transaction is announced once it becomes executable.
    pool.on('added', this.#onAdded)
  }

  on(event: 'block', listener: (block: Block, logs: RpcLog[]) => void): void
  on(event: 'pendingTransaction', listener: (hash: Uint8Array) => void): void
  on(event: keyof EventMap, listener: (...args: never[]) => void): void {
    this.#emitter.on(event, listener as () => void)
  }

  off(event: 'block', listener: (block: Block, logs: RpcLog[]) => void): void
  off(event: 'pendingTransaction', listener: (hash: Uint8Array) => void): void
  off(event: keyof EventMap, listener: (...args: never[]) => void): void {
    this.#emitter.off(event, listener as () => void)
  }

  /** Stops following the chain and the pool. */
  close(): void {
    this.#unsubscribe()
    this.pool.off('added', this.#onAdded)
  }
}

/** A block's logs in their RPC shape, numbered across the block. */
export function blockLogs(block: Block, executed: readonly ExecutedTx[]): RpcLog[] {
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
