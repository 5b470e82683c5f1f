/**
 * Each transaction's serialized bytes, computed once. EthereumJS 10.1.3 re-encodes a transaction
 * (every field to bytes, then RLP) on each `serialize()`, and the node asks for them four times per
 * transaction on the way from eth_sendRawTransaction to disk: the pool's size check, the builder's
 * block-size check, the transactions trie and the stored block body (profiled at ~15 µs each on the
 * bench's transfers). A frozen transaction cannot change, so, like the library's own `hash()` cache,
 * `serialize()` is cached in the transaction's `cache` object — and seeded with the exact bytes a
 * raw transaction arrived as ({@link rememberSerialized}). Mutable (unfrozen) transactions are never
 * cached. Installed once, globally, on the transaction classes' prototypes (like state/find-path.ts).
 */
import {
  AccessList2930Tx,
  Blob4844Tx,
  EOACode7702Tx,
  FeeMarket1559Tx,
  LegacyTx,
  type TypedTransaction,
} from '@ethereumjs/tx'

interface SerializedCache {
  serialized?: Uint8Array
}

let installed = false

/** Installs the cached `serialize()` on every transaction class (idempotent). */
export function installSerializeCache(): void {
  if (installed) return
  installed = true
  for (const cls of [LegacyTx, AccessList2930Tx, FeeMarket1559Tx, Blob4844Tx, EOACode7702Tx]) {
    const proto = cls.prototype as { serialize(): Uint8Array; cache: SerializedCache }
    const original = proto.serialize
    proto.serialize = function (this: { cache: SerializedCache }) {
      if (!Object.isFrozen(this)) return original.call(this)
      const cache = this.cache
      cache.serialized ??= original.call(this)
      return cache.serialized
    }
  }
}

/**
 * Records `raw` as the serialization of `tx`, which was decoded from exactly these bytes (the RLP
 * decoder accepts only canonical encodings, so re-encoding would give the same bytes). Returns false
 * (nothing recorded) for a mutable transaction, and for a blob transaction, whose bytes on the wire
 * may be the network wrapper rather than its canonical serialization.
 */
export function rememberSerialized(tx: TypedTransaction, raw: Uint8Array): boolean {
  if (!Object.isFrozen(tx) || tx.type === 3) return false
  ;(tx.cache as SerializedCache).serialized = raw
  return true
}
