/**
 * The pool follows the chain (as reth's transaction-pool `maintain.rs`): a chain observer that,
 * for every committed block, drops the mined transactions, re-reads the state of their senders
 * (promoting queued transactions whose gap is now filled) and takes the next base fee for its
 * eviction order; after a dev rollback it re-reads every sender. Registered first, so that every
 * later observer (RPC events, automine's answer) sees the pool already updated.
 */
import type { ChainObserver } from '../chain/chain.ts'
import type { NodeMetrics } from '../metrics.ts'
import type { TxPool } from './txPool.ts'

export function maintainPool(pool: TxPool, metrics?: NodeMetrics): ChainObserver {
  return {
    name: 'txpool',
    async onCommit(blocks) {
      const t0 = performance.now()
      for (let i = 0; i < blocks.length; i++) {
        const { block, executed } = blocks[i]!
        const isLast = i === blocks.length - 1
        // Runs of empty blocks (sync of an idle chain) only move the base fee.
        if (executed.length === 0 && !isLast) continue
        await pool.onBlockCommitted(
          executed.map((e) => ({ sender: e.sender, nonce: e.tx.nonce, hash: e.hash })),
          undefined,
          isLast ? block.header.calcNextBaseFee() : undefined,
        )
      }
      if (metrics) {
        metrics.phaseSeconds.inc({ phase: 'txpool' }, (performance.now() - t0) / 1000)
        const { pending, queued } = pool.status()
        metrics.txpoolPending.set(pending)
        metrics.txpoolQueued.set(queued)
      }
    },
    async onRollback() {
      // Nonces and balances went back: every sender's transactions may have changed state.
      await pool.revalidate()
    },
  }
}
