/**
 * Address history (Otterscan's "search transactions" index, Erigon's CallFrom/CallTo indices in
 * spirit): for every address, the transactions it appears in, in chain order. Written after each
 * commit by a chain observer (chain/address-index-observer.ts) in its own keyspace (sublevel
 * 'ots'), so the chain store's atomic block batch stays as it is; on open it catches up from the stored blocks and receipts, so a
 * crash between the chain's batch and the index's only delays it, and older datadirs get indexed.
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
import { key as hexKey } from '../util/bytes.ts'
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

/** Largest page a caller may ask for (Otterscan asks for 25). */
export const MAX_PAGE_SIZE = 1000

export class AddressIndex {
  #head = -1n

  private constructor(private readonly db: IndexDb) {}

  /** Opens the index and indexes the stored blocks it has not seen (or unwinds ones it has that
   * the chain no longer has). */
  static async open(db: IndexDb, store: ChainStore, log?: Logger): Promise<AddressIndex> {
    const index = new AddressIndex(db)
    const head = await db.get(HEAD_KEY, VIEW)
    index.#head = head ? readU64(head) : -1n
    const chainHead = store.headNumber()
    if (index.#head > chainHead) await index.unwindTo(chainHead)
    if (index.#head < chainHead) {
      // A forked dev chain's first block is the remote's fork block: nothing before it is ours.
      const from = index.#head + 1n > store.genesisNumber ? index.#head + 1n : store.genesisNumber
      for (let n = from; n <= chainHead; n++) {
        const block = await store.getBlockByNumber(n)
        if (!block) throw new Error(`address index: block ${n} missing from the chain store`)
        const receipts = (await store.getReceipts(block.hash())) ?? []
        await index.indexBlock(
          block,
          receipts.map((r, i) => ({
            hash: r.transactionHash,
            sender: r.from,
            nonce: block.transactions[i]!.nonce,
            to: r.to,
            contractAddress: r.contractAddress,
            logs: r.logs,
          })),
        )
      }
      log?.info({ from: from.toString(), to: chainHead.toString() }, 'address index caught up')
    }
    return index
  }

  /** Last indexed block number (-1 before genesis is indexed). */
  get head(): bigint {
    return this.#head
  }

  /** One block (see indexBlocks). */
  indexBlock(block: Block, txs: readonly IndexedTx[]): Promise<void> {
    return this.indexBlocks([{ block, txs }])
  }

  /**
   * Consecutive blocks in one batch (a synced range is committed at once): appearances, nonces,
   * creators, each block's undo list and the new head. A block without transactions writes no
   * undo list (there is nothing to undo), so a run of empty blocks costs one small batch.
   */
  async indexBlocks(blocks: ReadonlyArray<{ block: Block; txs: readonly IndexedTx[] }>): Promise<void> {
    if (blocks.length === 0) return
    const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = []
    let number = this.#head
    for (const { block, txs } of blocks) {
      number = block.header.number
      if (txs.length === 0) continue
      const nb = u64(number)
      const puts: Array<{ key: Uint8Array; value: Uint8Array }> = []
      txs.forEach((tx, i) => {
        const seen = new Set<string>()
        const appear = (addr: Uint8Array | null | undefined) => {
          if (!addr) return
          const k = hexKey(addr)
          if (seen.has(k)) return
          seen.add(k)
          puts.push({ key: cat(Uint8Array.of(B.appearance), addr, nb, u32(i)), value: tx.hash })
        }
        appear(tx.sender)
        appear(tx.to)
        appear(tx.contractAddress)
        for (const l of tx.logs) appear(l.address)
        puts.push({ key: cat(Uint8Array.of(B.nonce), tx.sender, u64(tx.nonce)), value: tx.hash })
        if (tx.contractAddress)
          puts.push({
            key: cat(Uint8Array.of(B.creator), tx.contractAddress),
            value: cat(tx.hash, tx.sender),
          })
      })
      const undo = cat(...puts.map((p) => cat(Uint8Array.of(p.key.length), p.key)))
      for (const p of puts) ops.push({ type: 'put', ...p })
      ops.push({ type: 'put', key: cat(Uint8Array.of(B.undo), nb), value: undo })
    }
    ops.push({ type: 'put', key: HEAD_KEY, value: u64(number) })
    await this.db.batch(ops, VIEW)
    this.#head = number
  }

  /** Removes what blocks above `number` wrote (dev rollback). */
  async unwindTo(number: bigint): Promise<void> {
    if (number >= this.#head) return
    await this.#unwind(cat(Uint8Array.of(B.undo), u64(number)), number)
  }

  /** Removes everything (dev reset: the chain starts over from `first`, its new first block,
   * which has no transactions). */
  restart(first: bigint): Promise<void> {
    return this.#unwind(Uint8Array.of(B.undo), first)
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
    await this.db.batch(ops, VIEW)
    this.#head = head
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
  bySenderAndNonce(sender: Uint8Array, nonce: bigint): Promise<Uint8Array | undefined> {
    return this.db.get(cat(Uint8Array.of(B.nonce), sender, u64(nonce)), VIEW)
  }

  /** The transaction that deployed `contract` at top level, and its sender. */
  async creator(contract: Uint8Array): Promise<{ hash: Uint8Array; creator: Uint8Array } | undefined> {
    const v = await this.db.get(cat(Uint8Array.of(B.creator), contract), VIEW)
    return v ? { hash: v.slice(0, 32), creator: v.slice(32, 52) } : undefined
  }
}
