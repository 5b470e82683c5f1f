/**
 * A proposal or gossiped block carries transactions this node usually already holds in its pool,
 * where their senders were recovered on admission. Copy the recovered public key onto the block's
 * transaction objects (same hash ⇒ same signed bytes ⇒ same sender) so execution does not run
 * ecrecover a second time.
 */
import type { Block } from '@ethereumjs/block'
import type { TxPool } from '../txpool/index.ts'

type SenderCache = { senderPubKey?: Uint8Array }

export function reuseKnownSenders(block: Block, pool: TxPool): number {
  let reused = 0
  for (const tx of block.transactions) {
    if (!Object.isFrozen(tx)) continue
    const cache = tx.cache as SenderCache
    if (cache.senderPubKey !== undefined) continue
    const pooled = pool.get(tx.hash())
    const pub = (pooled?.tx.cache as SenderCache | undefined)?.senderPubKey
    if (pub !== undefined) {
      cache.senderPubKey = pub
      reused++
    }
  }
  return reused
}
