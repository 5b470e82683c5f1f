/**
 * Transaction gossip carries batches: a msgpackr array of raw signed transactions (each keeps its
 * canonical RLP bytes). Under load a node admits hundreds of transactions per second by RPC;
 * one gossip message per transaction would cost every peer a full gossipsub round (message id,
 * encryption, validation) per transaction. Batches are flushed FLUSH_MS after their first
 * transaction or when full. At 10 ms a devnet node taking ~100 transactions/s by RPC sent one
 * transaction per batch, so nearly every transaction still cost nine gossipsub transmissions
 * across four validators (three sends, six redundant forwards or IDONTWANTs). What a batch costs
 * on the wire is per message, not per byte, so under load a batch waits up to FLUSH_MS = 100 ms
 * (~17 transactions per node at 700 tx/s over four nodes, twice the 50 ms batch) unless it reaches
 * FLUSH_TXS first; a proposer sees a transaction at most 100 ms later, against a 1 s block period.
 */
import { Packr } from 'msgpackr'

const packr = new Packr({ useRecords: false })

export const MAX_BATCH_TXS = 512
/** Stays under the tx topic's 128 KiB message limit with room for framing. */
export const MAX_BATCH_BYTES = 120 * 1024
export const FLUSH_MS = 100
/** A batch this full goes out at once: waiting longer saves little and delays more transactions. */
export const FLUSH_TXS = 64

export class TxBatchError extends Error {}

export function encodeTxBatch(raws: readonly Uint8Array[]): Uint8Array {
  return packr.pack(raws)
}

export function decodeTxBatch(data: Uint8Array): Uint8Array[] {
  let v: unknown
  try {
    v = packr.unpack(data)
  } catch {
    throw new TxBatchError('not a msgpack transaction batch')
  }
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_BATCH_TXS)
    throw new TxBatchError(`a transaction batch holds 1..${MAX_BATCH_TXS} transactions`)
  for (const x of v)
    if (!(x instanceof Uint8Array)) throw new TxBatchError('batch entries must be byte strings')
  return v as Uint8Array[]
}

/** Collects raw transactions and publishes them in batches. */
export class TxBatcher {
  #raws: Uint8Array[] = []
  #bytes = 0
  #timer: NodeJS.Timeout | undefined

  constructor(private readonly publish: (data: Uint8Array) => void) {}

  add(raw: Uint8Array): void {
    if (this.#bytes + raw.length > MAX_BATCH_BYTES || this.#raws.length >= MAX_BATCH_TXS) this.flush()
    this.#raws.push(raw)
    this.#bytes += raw.length
    if (this.#raws.length >= FLUSH_TXS) this.flush()
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS)
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#raws.length === 0) return
    const raws = this.#raws
    this.#raws = []
    this.#bytes = 0
    this.publish(encodeTxBatch(raws))
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#raws = []
  }
}
