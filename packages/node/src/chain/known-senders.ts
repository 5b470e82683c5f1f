/**
 * A proposal or gossiped block carries transactions this node usually already holds in its pool,
 * where their senders were recovered on admission. Copy the recovered public key onto the block's
 * transaction objects (same hash ⇒ same signed bytes ⇒ same sender) so execution does not run
 * ecrecover a second time. The lookup is injected (the pool's `senderPublicKey`), so the chain
 * layer does not depend on the pool.
 */
import type { Block } from '@ethereumjs/block'

/** Public key of a transaction's sender if this node recovered it before, by transaction hash. */
export type KnownSenderKey = (txHash: Uint8Array) => Uint8Array | undefined

type SenderCache = { senderPubKey?: Uint8Array }

export function reuseKnownSenders(block: Block, known: KnownSenderKey): number {
  let reused = 0
  for (const tx of block.transactions) {
    if (!Object.isFrozen(tx)) continue
    const cache = tx.cache as SenderCache
    if (cache.senderPubKey !== undefined) continue
    const pub = known(tx.hash())
    if (pub !== undefined) {
      cache.senderPubKey = pub
      reused++
    }
  }
  return reused
}
