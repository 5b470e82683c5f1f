/**
 * Address history (Otterscan's "search transactions" index, Erigon's CallFrom/CallTo indices in
 * spirit): for every address, the transactions it appears in, in chain order. Written after each
 * commit by a chain observer (chain/address-index-observer.ts) in its own keyspace (sublevel
 * 'ots'), so the chain store's atomic block batch stays as it is; on open it catches up from the
 * stored blocks and receipts, so a crash between the chain's batch and the index's only delays it,
 * and older datadirs get indexed.
 *
 * Writes are off the commit path: `enqueue` only records the block, and the index writes what
 * accumulated in one LevelDB batch per turn of its queue (several blocks when commits come faster
 * than writes). A commit no longer waits for the index (in automine it waited ~0.35 ms per
 * transaction, 14 % of wall time, for a batch nobody needed yet). Reads wait for every block
 * enqueued before them, so an ots_ query sent after a block was announced still finds it.
 *
 * An address appears in a transaction as its sender, its recipient, the contract it created or
 * the emitter of one of its logs (native modules included). Internal calls that neither create
 * nor log are not indexed: finding them needs a trace of every transaction (see docs/studio.md).
 *
 * Key layout (bucket byte first; big-endian numbers so LevelDB order is chain order):
 *   0x01 address ‖ number u64 ‖ tx index u32 → tx hash           appearances
 *   0x02 sender ‖ nonce u64                  → tx hash           ots_getTransactionBySenderAndNonce
 *   0x03 contract                            → tx hash ‖ creator ots_getContractCreator
 *   0x04 number u64                          → keys written      undo log for dev rollbacks
 *   0x05 'head'                              → number u64        last indexed block
 */
import type { Block } from '@ethereumjs/block'
import type { Logger } from '../logger.ts'
import { bytesEqual } from '../util/bytes.ts'
import type { ChainStore } from './chainStore.ts'
import { readU32, readU64, u32, u64 } from './keys.ts'

const B = { appearance: 0x01, nonce: 0x02, creator: 0x03, undo: 0x04, meta: 0x05 } as const
const HEAD_KEY = Uint8Array.of(B.meta, ...new TextEncoder().encode('head'))

type View = { keyEncoding: 'view'; valueEncoding: 'view' }
const VIEW: View = { keyEncoding: 'view', valueEncoding: 'view' }

/** The part of abstract-level the index uses (a `level.sublevel('ots')` satisfies it). */
export interface IndexDb {
  get(key: Uint8Array, options: View): Promise<Uint8Array | undefined>
  batch(
    operations: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }>,
    options: View,
  ): Promise<void>
  iterator(
    options: View & {
      gte?: Uint8Array
      gt?: Uint8Array
      lt?: Uint8Array
      lte?: Uint8Array
      reverse?: boolean
    },
  ): AsyncIterable<[Uint8Array, Uint8Array]> & { close(): Promise<void> }
  /** A sublevel's key with its full prefix (abstract-level); with `batchDb`, writes go straight
   * to the parent database with keys prefixed once (a sublevel's batch passes every operation
   * through its parent's batch a second time). */
  prefixKey?(key: Uint8Array, keyFormat: 'view', local: false): Uint8Array
}

type WriteOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

/** The LevelDB the index's sublevel belongs to (ChainStore's `batchDb`). */
export interface IndexBatchDb {
  batch(operations: WriteOp[], options: View): Promise<void>
}

/** One transaction an address appears in. */
export interface Appearance {
  blockNumber: bigint
  index: number
  hash: Uint8Array
}

/** A page of appearances: whole blocks only, so a page may hold more than the size asked for. */
export interface AppearancePage {
  txs: Appearance[]
  /** No more appearances beyond this page in the direction searched. */
  exhausted: boolean
}

/** What the index needs of one transaction (from an executed block or stored receipts). */
export interface IndexedTx {
  hash: Uint8Array
  sender: Uint8Array
  nonce: bigint
  to: Uint8Array | undefined | null
  contractAddress?: Uint8Array | null
  logs: ReadonlyArray<{ address: Uint8Array }>
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

function appearanceKey(addr: Uint8Array, nb: Uint8Array, index: number): Uint8Array {
  const k = new Uint8Array(1 + addr.length + 12)
  k[0] = B.appearance
  k.set(addr, 1)
  k.set(nb, 1 + addr.length)
  new DataView(k.buffer).setUint32(1 + addr.length + 8, index)
  return k
}

/** Largest page a caller may ask for (Otterscan asks for 25). */
export const MAX_PAGE_SIZE = 1000

export class AddressIndex {
  #head = -1n
  /** Highest block enqueued (written or not). */
  #queuedHead = -1n
  /** Blocks enqueued for the next scheduled write (undefined: no write scheduled). Each write
   * owns its array, so blocks enqueued after an unwind never go into a write queued before it. */
  #batch: Array<{ number: bigint; txs: readonly IndexedTx[] }> | undefined
  /** Every write and unwind, in order; never rejects (failures are logged). */
  #tail: Promise<void> = Promise.resolve()

  private constructor(
    private readonly db: IndexDb,
    private readonly log?: Logger,
    private readonly batchDb?: IndexBatchDb,
  ) {}

  /** Opens the index and indexes the stored blocks it has not seen (or unwinds ones it has that
   * the chain no longer has). `batchDb`: `db`'s parent database, written with prefixed keys. */
  static async open(
    db: IndexDb,
    store: ChainStore,
    log?: Logger,
    batchDb?: IndexBatchDb,
  ): Promise<AddressIndex> {
    const index = new AddressIndex(db, log, batchDb)
    const head = await db.get(HEAD_KEY, VIEW)
    index.#head = head ? readU64(head) : -1n
    index.#queuedHead = index.#head
    const chainHead = store.headNumber()
    if (index.#head > chainHead) await index.unwindTo(chainHead)
    if (index.#head < chainHead) {
      // A forked dev chain's first block is the remote's fork block: nothing before it is ours.
      const from = index.#head + 1n > store.genesisNumber ? index.#head + 1n : store.genesisNumber
      for (let n = from; n <= chainHead; n++) {
        const block = await store.getBlockByNumber(n)
        if (!block) throw new Error(`address index: block ${n} missing from the chain store`)
        const receipts = (await store.getReceipts(block.hash())) ?? []
        index.enqueue(
          block.header.number,
          receipts.map((r, i) => ({
            hash: r.transactionHash,
            sender: r.from,
            nonce: block.transactions[i]!.nonce,
            to: r.to,
            contractAddress: r.contractAddress,
            logs: r.logs,
          })),
        )
        // Bounded memory on a long catch-up: write every 256 blocks.
        if ((n - from) % 256n === 255n) await index.settled()
      }
      await index.settled()
      log?.info({ from: from.toString(), to: chainHead.toString() }, 'address index caught up')
    }
    return index
  }

  /** Last indexed (written) block number (-1 before genesis is indexed). */
  get head(): bigint {
    return this.#head
  }

  /** Resolves once everything enqueued or unwound before the call is written (never rejects). */
  settled(): Promise<void> {
    return this.#tail
  }

  /** Indexes one block and waits for its write. */
  async indexBlock(block: Block, txs: readonly IndexedTx[]): Promise<void> {
    this.enqueue(block.header.number, txs)
    await this.settled()
  }

  /**
   * Queues block `number`'s transactions for writing (in the order blocks are committed; a block
   * at or below the last one enqueued is ignored). Returns at once: the write happens in the
   * next batch, together with whatever else is enqueued until that batch starts.
   */
  enqueue(number: bigint, txs: readonly IndexedTx[]): void {
    if (number <= this.#queuedHead) return
    this.#queuedHead = number
    if (this.#batch === undefined) {
      const batch: Array<{ number: bigint; txs: readonly IndexedTx[] }> = []
      this.#batch = batch
      // After this turn: the commit that enqueued the block (and automine's answer) goes first,
      // and blocks committed meanwhile join the batch.
      void this.#serial(async () => {
        await new Promise((resolve) => setImmediate(resolve))
        if (this.#batch === batch) this.#batch = undefined
        return this.#write(batch)
      }).catch(() => undefined)
    }
    this.#batch.push({ number, txs })
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(fn)
    this.#tail = run.catch((err: unknown) => {
      this.log?.error({ err }, 'address index write failed')
    })
    return run
  }

  /** Writes `blocks` in one batch: appearances, nonces, creators, the undo list of each block
   * with transactions, and the new head. */
  async #write(blocks: ReadonlyArray<{ number: bigint; txs: readonly IndexedTx[] }>): Promise<void> {
    if (blocks.length === 0) return
    const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = []
    for (const { number, txs } of blocks) {
      // Nothing to undo for a block without transactions (most of a synced idle chain).
      if (txs.length === 0) continue
      const nb = u64(number)
      const first = ops.length
      let undoBytes = 0
      const put = (k: Uint8Array, value: Uint8Array) => {
        ops.push({ type: 'put', key: k, value })
        undoBytes += 1 + k.length
      }
      for (let i = 0; i < txs.length; i++) {
        const tx = txs[i]!
        // At most a handful of distinct addresses per transaction: a linear scan beats a set.
        const seen: Uint8Array[] = []
        const appear = (addr: Uint8Array | null | undefined) => {
          if (!addr) return
          for (const a of seen) if (bytesEqual(a, addr)) return
          seen.push(addr)
          put(appearanceKey(addr, nb, i), tx.hash)
        }
        appear(tx.sender)
        appear(tx.to)
        appear(tx.contractAddress)
        for (const l of tx.logs) appear(l.address)
        put(cat(Uint8Array.of(B.nonce), tx.sender, u64(tx.nonce)), tx.hash)
        if (tx.contractAddress)
          put(cat(Uint8Array.of(B.creator), tx.contractAddress), cat(tx.hash, tx.sender))
      }
      const undo = new Uint8Array(undoBytes)
      let o = 0
      for (let j = first; j < ops.length; j++) {
        const k = ops[j]!.key
        undo[o] = k.length
        undo.set(k, o + 1)
        o += 1 + k.length
      }
      ops.push({ type: 'put', key: cat(Uint8Array.of(B.undo), nb), value: undo })
    }
    const last = blocks[blocks.length - 1]!.number
    ops.push({ type: 'put', key: HEAD_KEY, value: u64(last) })
    await this.#writeBatch(ops)
    this.#head = last
  }

  /** Removes what blocks above `number` wrote (dev rollback), after every earlier write. */
  unwindTo(number: bigint): Promise<void> {
    if (number < this.#queuedHead) this.#queuedHead = number
    this.#batch = undefined
    return this.#serial(async () => {
      if (number >= this.#head) return
      await this.#unwind(cat(Uint8Array.of(B.undo), u64(number)), number)
    })
  }

  /** Removes everything (dev reset: the chain starts over from `first`, its new first block,
   * which has no transactions). */
  restart(first: bigint): Promise<void> {
    this.#queuedHead = first
    this.#batch = undefined
    return this.#serial(() => this.#unwind(Uint8Array.of(B.undo), first))
  }

  /** Deletes what the undo records after `after` list, and the records; the head becomes `head`. */
  async #unwind(after: Uint8Array, head: bigint): Promise<void> {
    const ops: Array<{ type: 'del'; key: Uint8Array } | { type: 'put'; key: Uint8Array; value: Uint8Array }> =
      []
    const it = this.db.iterator({
      ...VIEW,
      gt: after,
      lt: Uint8Array.of(B.undo + 1),
    })
    try {
      for await (const [k, v] of it) {
        ops.push({ type: 'del', key: k })
        for (let o = 0; o < v.length; ) {
          const len = v[o]!
          ops.push({ type: 'del', key: v.slice(o + 1, o + 1 + len) })
          o += 1 + len
        }
      }
    } finally {
      await it.close()
    }
    ops.push({ type: 'put', key: HEAD_KEY, value: u64(head) })
    await this.#writeBatch(ops)
    this.#head = head
  }

  /** One LevelDB batch of the index's operations (keys local to its keyspace). */
  #writeBatch(ops: WriteOp[]): Promise<void> {
    const prefixKey = this.db.prefixKey
    if (this.batchDb === undefined || prefixKey === undefined) return this.db.batch(ops, VIEW)
    for (const op of ops) op.key = prefixKey.call(this.db, op.key, 'view', false)
    return this.batchDb.batch(ops, VIEW)
  }

  /**
   * Appearances of `address` in blocks before `block` (exclusive), newest first, or after it
   * (exclusive), oldest first: whole blocks until at least `pageSize` transactions.
   */
  async page(
    address: Uint8Array,
    direction: 'before' | 'after',
    block: bigint,
    pageSize: number,
  ): Promise<AppearancePage> {
    const prefix = cat(Uint8Array.of(B.appearance), address)
    const range =
      direction === 'before'
        ? { gte: prefix, lt: cat(prefix, u64(block)), reverse: true }
        : {
            gt: cat(prefix, u64(block), u32(0xffffffff)),
            lt: cat(prefix, new Uint8Array(8).fill(0xff), u32(0xffffffff)),
          }
    await this.#tail
    const txs: Appearance[] = []
    const it = this.db.iterator({ ...VIEW, ...range })
    try {
      for await (const [k, v] of it) {
        const blockNumber = readU64(k, 21)
        if (txs.length >= pageSize && blockNumber !== txs[txs.length - 1]!.blockNumber)
          return { txs, exhausted: false }
        txs.push({ blockNumber, index: readU32(k, 29), hash: v })
      }
    } finally {
      await it.close()
    }
    return { txs, exhausted: true }
  }

  /** The transaction `sender` sent with `nonce`, if mined. */
  async bySenderAndNonce(sender: Uint8Array, nonce: bigint): Promise<Uint8Array | undefined> {
    await this.#tail
    return this.db.get(cat(Uint8Array.of(B.nonce), sender, u64(nonce)), VIEW)
  }

  /** The transaction that deployed `contract` at top level, and its sender. */
  async creator(contract: Uint8Array): Promise<{ hash: Uint8Array; creator: Uint8Array } | undefined> {
    await this.#tail
    const v = await this.db.get(cat(Uint8Array.of(B.creator), contract), VIEW)
    return v ? { hash: v.slice(0, 32), creator: v.slice(32, 52) } : undefined
  }
}
