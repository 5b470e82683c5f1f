/**
 * Chain data on LevelDB: blocks, canonical index, receipts, tx lookup, log index, seals, head.
 * Every block is committed with ONE atomic batch, so a crash at any instant leaves the store at
 * the last committed block. Writes are serialised; reads run concurrently against LevelDB's
 * snapshot-free but batch-atomic view (a reader sees a block either entirely or not at all,
 * because the head pointer moves in the same batch as the data).
 * Long file: every write goes through one atomic batch; reads and writes share the key layout and caches.
 */
import { type Block, type BlockOptions, createBlockFromRLP } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { bytesToHex, equalsBytes } from '@ethereumjs/util'
import { BloomFilterQuery, logsBloom } from './bloom.ts'
import { decodeReceipts, encodeReceipts, type ReceiptRecord, recordFromExecuted } from './codec.ts'
import { ChainStoreError } from './errors.ts'
import { Bucket, key, metaKey, numberRange, readU32, readU64, u32, u64 } from './keys.ts'
import { Lru } from './lru.ts'
import type {
  BatchDb,
  ChainDbOperation,
  ChainStoreOptions,
  CommittedTx,
  LogFilter,
  MinedTransaction,
  StoredLog,
  StoredReceipt,
  TxLocation,
} from './types.ts'

/** On-disk layout version of the chain keyspace. */
export const STORE_SCHEMA_VERSION = 1

export type { BatchDb, ChainDbOperation }

type View = { keyEncoding: 'view'; valueEncoding: 'view' }
const VIEW: View = { keyEncoding: 'view', valueEncoding: 'view' }

/**
 * The part of abstract-level the store uses: satisfied by `new Level(dir)` and by a sublevel
 * (`level.sublevel('chain')`), so the integrator can share one LevelDB with other keyspaces.
 * Encodings are passed per call, whatever the database's defaults are.
 */
export interface ChainDb {
  readonly status: 'opening' | 'open' | 'closing' | 'closed'
  open(): Promise<void>
  get(key: Uint8Array, options: View): Promise<Uint8Array | undefined>
  getMany(keys: Uint8Array[], options: View): Promise<Array<Uint8Array | undefined>>
  batch(operations: ChainDbOperation[], options: View): Promise<void>
  /** A sublevel's key with its full prefix (abstract-level); needed with `batchDb`. */
  prefixKey?(key: Uint8Array, keyFormat: 'view', local: false): Uint8Array
  iterator(
    options: View & { gte: Uint8Array; lt: Uint8Array },
  ): AsyncIterable<[Uint8Array, Uint8Array]> & { close(): Promise<void> }
}

const MAX_TOPICS = 4

/** Receipt with the bloom computed on first access (getLogs never needs it). */
class ReceiptView implements StoredReceipt {
  #bloom: Uint8Array | undefined
  readonly sender: Uint8Array
  constructor(
    readonly transactionHash: Uint8Array,
    readonly transactionIndex: number,
    readonly blockHash: Uint8Array,
    readonly blockNumber: bigint,
    readonly from: Uint8Array,
    readonly to: Uint8Array | null,
    readonly cumulativeGasUsed: bigint,
    readonly gasUsed: bigint,
    readonly effectiveGasPrice: bigint,
    readonly contractAddress: Uint8Array | null,
    readonly logs: StoredLog[],
    readonly type: number,
    readonly status: 0 | 1,
  ) {
    this.sender = from
  }

  get logsBloom(): Uint8Array {
    this.#bloom ??= logsBloom(this.logs)
    return this.#bloom
  }

  toJSON(): StoredReceipt {
    return { ...this, logsBloom: this.logsBloom }
  }
}

function hex(b: Uint8Array): string {
  return bytesToHex(b)
}

// Some abstract-level stacks (e.g. sublevels) hand back Buffers even with 'view' encoding;
// callers get plain Uint8Array views (no copy) so equality checks behave the same everywhere.
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

function plainOrUndefined(b: Uint8Array | undefined): Uint8Array | undefined {
  return b === undefined ? undefined : plain(b)
}

function withBlockContext(
  blockHash: Uint8Array,
  blockNumber: bigint,
  records: ReceiptRecord[],
): ReceiptView[] {
  let logIndex = 0
  return records.map((r, i) => {
    const logs: StoredLog[] = r.logs.map((l) => ({
      address: l.address,
      topics: l.topics,
      data: l.data,
      blockNumber,
      blockHash,
      transactionHash: r.txHash,
      transactionIndex: i,
      logIndex: logIndex++,
      removed: false,
    }))
    return new ReceiptView(
      r.txHash,
      i,
      blockHash,
      blockNumber,
      r.from,
      r.to,
      r.cumulativeGasUsed,
      r.gasUsed,
      r.effectiveGasPrice,
      r.contractAddress,
      logs,
      r.type,
      r.status,
    )
  })
}

function matchesAny(value: Uint8Array, candidates: readonly Uint8Array[]): boolean {
  for (const c of candidates) if (equalsBytes(value, c)) return true
  return false
}

export class ChainStore {
  readonly #db: ChainDb
  readonly #batchDb: BatchDb | undefined
  readonly #common: Common
  #genesisHash: Uint8Array
  #genesisNumber: bigint
  readonly #hardforkByBlock: boolean
  readonly #blockOptions: BlockOptions | undefined
  readonly #decorate: ((block: Block) => Block) | undefined
  #head: Block
  readonly #blocks: Lru<string, Block>
  readonly #receipts: Lru<string, ReceiptView[]>
  #writeQueue: Promise<unknown> = Promise.resolve()
  #closed = false
  /** Hashes of blocks handed to commitBlocks whose batch has not landed, by number. */
  readonly #landing = new Map<bigint, Uint8Array>()

  private constructor(db: ChainDb, genesis: Block, head: Block, opts: ChainStoreOptions) {
    this.#db = db
    this.#batchDb = opts.batchDb
    this.#common = genesis.common
    this.#genesisHash = genesis.hash()
    this.#genesisNumber = genesis.header.number
    this.#hardforkByBlock = opts.hardforkByBlock ?? false
    this.#blockOptions = opts.blockOptions
    this.#decorate = opts.decorateBlock
    this.#head = head
    this.#blocks = new Lru(opts.blockCacheSize ?? 256)
    this.#receipts = new Lru(opts.receiptCacheSize ?? 256)
    this.#blocks.set(hex(head.hash()), head)
  }

  /**
   * Canonical block hashes read straight from the chain keyspace, usable before the store is
   * opened: the execution runtime needs them (BLOCKHASH) and is created first, because the store
   * needs the genesis block the runtime computes. Blocks above the head have no canonical entry
   * (commits write it, truncation deletes it), so this answers like getCanonicalHash.
   */
  static canonicalHashReader(db: ChainDb): (n: bigint) => Promise<Uint8Array | undefined> {
    return async (n) => {
      if (n < 0n || n >= 1n << 64n) return undefined
      return plainOrUndefined(await db.get(key(Bucket.canonical, u64(n)), VIEW))
    }
  }

  /**
   * Open the chain keyspace. A fresh database gets the genesis block (number 0, canonical, head;
   * on a forked dev chain the fork block, number N); an existing one must have been created for
   * the same genesis hash and schema version.
   */
  static async open(db: ChainDb, opts: ChainStoreOptions): Promise<ChainStore> {
    const genesis = opts.genesisBlock
    checkGenesis(genesis, opts.forkedGenesis === true)
    if (db.status !== 'open') await db.open()
    const genesisHash = genesis.hash()
    const [schema, storedGenesis, headHash] = await db.getMany(
      [metaKey('schema'), metaKey('genesis'), metaKey('head')],
      VIEW,
    )

    if (schema === undefined) {
      if (storedGenesis !== undefined || headHash !== undefined) {
        throw new ChainStoreError('CORRUPT', 'chain database has a genesis or head but no schema version')
      }
      await db.batch(
        [
          ...genesisOps(genesis),
          // Schema last in the list; the batch is atomic anyway, so a crash leaves all or nothing.
          { type: 'put', key: metaKey('schema'), value: u32(STORE_SCHEMA_VERSION) },
        ],
        VIEW,
      )
      return new ChainStore(db, genesis, genesis, opts)
    }

    const version = schema.length === 4 ? readU32(schema) : -1
    if (version !== STORE_SCHEMA_VERSION) {
      throw new ChainStoreError(
        'SCHEMA_MISMATCH',
        `chain database schema version ${version} is not supported (expected ${STORE_SCHEMA_VERSION})`,
      )
    }
    if (storedGenesis === undefined || headHash === undefined) {
      throw new ChainStoreError('CORRUPT', 'chain database is missing its genesis hash or head pointer')
    }
    if (!equalsBytes(storedGenesis, genesisHash)) {
      throw new ChainStoreError(
        'GENESIS_MISMATCH',
        `data directory belongs to another chain: its genesis hash is ${hex(storedGenesis)} but the ` +
          `configured genesis hash is ${hex(genesisHash)}. Use the genesis file this directory was ` +
          'created with, or a different data directory.',
      )
    }
    const headRlp = await db.get(key(Bucket.block, headHash), VIEW)
    if (headRlp === undefined) {
      throw new ChainStoreError('CORRUPT', `head block ${hex(headHash)} is missing from the chain database`)
    }
    const store = new ChainStore(db, genesis, genesis, opts)
    store.#head = store.#decodeBlock(headRlp, headHash)
    store.#blocks.set(hex(headHash), store.#head)
    return store
  }

  get genesisHash(): Uint8Array {
    return this.#genesisHash
  }

  /** Number of the first stored block: 0, or the fork block of a forked dev chain. */
  get genesisNumber(): bigint {
    return this.#genesisNumber
  }

  /**
   * Dev (hardhat_reset): start over from another first block — the chain's genesis again, or a
   * fork block of a remote chain. Every stored block goes (as truncation removes them), then the
   * new first block is written as genesis and head, in one batch.
   */
  restart(genesis: Block, opts: { forkedGenesis?: boolean } = {}): Promise<void> {
    checkGenesis(genesis, opts.forkedGenesis === true)
    return this.#exclusive(async () => {
      const ops = await this.#removeAfter(this.#genesisNumber)
      const old = this.#genesisHash
      ops.push(
        { type: 'del', key: key(Bucket.block, old) },
        { type: 'del', key: key(Bucket.receipts, old) },
        { type: 'del', key: key(Bucket.canonical, u64(this.#genesisNumber)) },
        ...genesisOps(genesis),
      )
      await this.#db.batch(ops, VIEW)
      this.#genesisHash = genesis.hash()
      this.#genesisNumber = genesis.header.number
      this.#head = genesis
      this.#blocks.clear()
      this.#receipts.clear()
      this.#blocks.set(hex(this.#genesisHash), genesis)
    })
  }

  /** The last committed block (cached, never touches the disk). */
  head(): Block {
    return this.#head
  }

  headNumber(): bigint {
    return this.#head.header.number
  }

  async getBlockByHash(hash: Uint8Array): Promise<Block | undefined> {
    if (hash.length !== 32) return undefined
    const h = hex(hash)
    const cached = this.#blocks.get(h)
    if (cached !== undefined) return cached
    const rlp = await this.#db.get(key(Bucket.block, hash), VIEW)
    if (rlp === undefined) return undefined
    const block = this.#decodeBlock(rlp, hash)
    this.#blocks.set(h, block)
    return block
  }

  async getBlockByNumber(n: bigint): Promise<Block | undefined> {
    if (n === this.#head.header.number) return this.#head
    const hash = await this.getCanonicalHash(n)
    return hash === undefined ? undefined : this.getBlockByHash(hash)
  }

  /**
   * Encoded canonical blocks `from`, `from + 1`, … (at most `count`, stopping at the head or the
   * first gap), as stored: what a peer's blocks_by_range asks for, without decoding blocks only to
   * encode them again. Two database round trips for the whole range.
   */
  async getRawBlocks(from: bigint, count: number): Promise<Uint8Array[]> {
    const headBlock = this.#head // a commit during the reads below must not change which head we meant
    const head = headBlock.header.number
    if (from < 0n || from > head || count <= 0) return []
    const last = from + BigInt(count) - 1n < head ? from + BigInt(count) - 1n : head
    const numbers: bigint[] = []
    for (let n = from; n <= last; n++) numbers.push(n)
    // The head's canonical entry is in the same batch as the head pointer, but it is known here.
    const stored = await this.#db.getMany(
      numbers.filter((n) => n !== head).map((n) => key(Bucket.canonical, u64(n))),
      VIEW,
    )
    const hashes: Uint8Array[] = []
    for (const h of stored) {
      if (h === undefined) break
      hashes.push(plain(h))
    }
    if (hashes.length === numbers.length - 1 && last === head) hashes.push(headBlock.hash())
    const blocks = await this.#db.getMany(
      hashes.map((h) => key(Bucket.block, h)),
      VIEW,
    )
    const out: Uint8Array[] = []
    for (const b of blocks) {
      if (b === undefined) break
      out.push(plain(b))
    }
    return out
  }

  /**
   * The hash of block `n` while its commit is queued or being written (not yet readable: the head
   * has not moved). BLOCKHASH of a block built on it needs it: dev automine builds the next block
   * while the previous one's batch is in flight.
   */
  unlandedHash(n: bigint): Uint8Array | undefined {
    return this.#landing.size === 0 ? undefined : this.#landing.get(n)
  }

  async getCanonicalHash(n: bigint): Promise<Uint8Array | undefined> {
    if (n < 0n || n > this.#head.header.number) return undefined
    if (n === this.#head.header.number) return this.#head.hash()
    return plainOrUndefined(await this.#db.get(key(Bucket.canonical, u64(n)), VIEW))
  }

  /** Receipts of a stored block in transaction order; undefined for an unknown block. */
  async getReceipts(blockHash: Uint8Array): Promise<StoredReceipt[] | undefined> {
    return this.#receiptViews(blockHash)
  }

  async getTxLocation(txHash: Uint8Array): Promise<TxLocation | undefined> {
    if (txHash.length !== 32) return undefined
    const v = await this.#db.get(key(Bucket.txLookup, txHash), VIEW)
    if (v === undefined) return undefined
    if (v.length !== 44)
      throw new ChainStoreError('CORRUPT', `tx lookup entry of ${hex(txHash)} is malformed`)
    return { blockHash: plain(v).slice(0, 32), blockNumber: readU64(v, 32), index: readU32(v, 40) }
  }

  /** A mined transaction with its sender (from the receipt, no signature recovery) and position. */
  async getTransaction(txHash: Uint8Array): Promise<MinedTransaction | undefined> {
    const loc = await this.getTxLocation(txHash)
    if (loc === undefined) return undefined
    const [block, receipts] = await Promise.all([
      this.getBlockByHash(loc.blockHash),
      this.#receiptViews(loc.blockHash),
    ])
    const tx = block?.transactions[loc.index]
    const receipt = receipts?.[loc.index]
    if (block === undefined || tx === undefined || receipt === undefined) {
      throw new ChainStoreError('CORRUPT', `tx lookup of ${hex(txHash)} points at missing block data`)
    }
    return {
      tx,
      sender: receipt.from,
      block: {
        hash: loc.blockHash,
        number: loc.blockNumber,
        index: loc.index,
        baseFeePerGas: block.header.baseFeePerGas,
      },
    }
  }

  async getReceipt(txHash: Uint8Array): Promise<StoredReceipt | undefined> {
    const loc = await this.getTxLocation(txHash)
    if (loc === undefined) return undefined
    const receipt = (await this.#receiptViews(loc.blockHash))?.[loc.index]
    if (receipt === undefined) {
      throw new ChainStoreError('CORRUPT', `tx lookup of ${hex(txHash)} points at a missing receipt`)
    }
    return receipt
  }

  /** Seals / commit certificate stored with a block (opaque bytes), if any. */
  async getSeals(blockHash: Uint8Array): Promise<Uint8Array | undefined> {
    if (blockHash.length !== 32) return undefined
    return plainOrUndefined(await this.#db.get(key(Bucket.seals, blockHash), VIEW))
  }

  /**
   * eth_getLogs. Blocks are found through the address index when addresses are given, otherwise
   * by scanning the bloom index (which only holds blocks that have logs); each candidate's header
   * bloom is tested against the filter before its receipts are read.
   */
  async getLogs(filter: LogFilter): Promise<StoredLog[]> {
    const { fromBlock, addresses, topics, limit } = filter
    if (fromBlock < 0n || filter.toBlock < 0n || fromBlock > filter.toBlock) {
      throw new ChainStoreError('INVALID_RANGE', 'invalid block range params')
    }
    if (topics.length > MAX_TOPICS) throw new ChainStoreError('INVALID_QUERY', 'exceed max topics')
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new ChainStoreError('INVALID_ARGUMENT', `log limit must be a non-negative integer, got ${limit}`)
    }
    for (const a of addresses) {
      if (a.length !== 20) throw new ChainStoreError('INVALID_QUERY', `log filter address must be 20 bytes`)
    }
    const topicAlternatives = topics.map((alt) => (alt === null || alt.length === 0 ? null : alt))
    for (const alt of topicAlternatives) {
      for (const t of alt ?? []) {
        if (t.length !== 32) throw new ChainStoreError('INVALID_QUERY', 'log filter topic must be 32 bytes')
      }
    }
    const toBlock = filter.toBlock < this.#head.header.number ? filter.toBlock : this.#head.header.number
    if (fromBlock > toBlock) return []

    const bloomQuery = new BloomFilterQuery(addresses, topicAlternatives)
    const candidates =
      addresses.length > 0
        ? await this.#candidatesByAddress(addresses, fromBlock, toBlock, topicAlternatives, bloomQuery)
        : await this.#candidatesByBloom(fromBlock, toBlock, bloomQuery)

    const out: StoredLog[] = []
    for (const [number, blockHash] of candidates) {
      const receipts = await this.#receiptViews(blockHash)
      if (receipts === undefined) {
        throw new ChainStoreError('CORRUPT', `log index points at block ${number} without receipts`)
      }
      for (const r of receipts) {
        for (const log of r.logs) {
          if (addresses.length > 0 && !matchesAny(log.address, addresses)) continue
          let ok = true
          for (let i = 0; i < topicAlternatives.length; i++) {
            const alt = topicAlternatives[i]
            if (alt === null || alt === undefined) continue
            const t = log.topics[i]
            if (t === undefined || !matchesAny(t, alt)) {
              ok = false
              break
            }
          }
          if (!ok) continue
          out.push(log)
          if (out.length > limit) {
            throw new ChainStoreError('LOG_LIMIT', `query returned more than ${limit} results`)
          }
        }
      }
    }
    return out
  }

  /**
   * Append `block` (its parent must be the head) with its execution results: block, canonical
   * entry, receipts, tx lookups, log index and head pointer go to disk in one atomic batch.
   */
  commitBlock(block: Block, executed: readonly CommittedTx[], seals?: Uint8Array): Promise<void> {
    return this.commitBlocks([{ block, executed, seals }])
  }

  /**
   * Append consecutive blocks (the first extends the head) in ONE atomic batch: block sync writes
   * runs of blocks at once instead of paying a database round trip per block. `extra`: other
   * keyspaces' writes that belong to these blocks (their state), in the same batch, so that the
   * head never lands without them: operations on `batchDb` (ChainStoreOptions), keys prefixed.
   */
  commitBlocks(
    items: ReadonlyArray<{ block: Block; executed: readonly CommittedTx[]; seals?: Uint8Array }>,
    extra: readonly ChainDbOperation[] = [],
  ): Promise<void> {
    if (extra.length > 0 && this.#batchDb === undefined)
      return Promise.reject(
        new ChainStoreError('INVALID_ARGUMENT', 'other keyspaces need the batchDb option'),
      )
    const landing = this.#landing
    const hashes = items.map(({ block }) => block.hash())
    for (let i = 0; i < items.length; i++) landing.set(items[i]!.block.header.number, hashes[i]!)
    const landed = () => {
      for (let i = 0; i < items.length; i++) {
        const n = items[i]!.block.header.number
        if (landing.get(n) === hashes[i]) landing.delete(n)
      }
    }
    const run = this.#exclusive(async () => {
      if (items.length === 0) return
      const ops: ChainDbOperation[] = []
      const done: Array<{ block: Block; hash: Uint8Array; records: ReceiptRecord[] }> = []
      let head = this.#head
      for (const { block, executed, seals } of items) {
        const r = this.#blockOps(head, block, executed, seals, ops)
        done.push({ block, hash: r.hash, records: r.records })
        head = block
      }
      ops.push({ type: 'put', key: metaKey('head'), value: done[done.length - 1]!.hash })
      const batchDb = this.#batchDb
      if (batchDb === undefined) await this.#db.batch(ops, VIEW)
      else {
        const prefixKey = this.#db.prefixKey?.bind(this.#db)
        if (prefixKey !== undefined) for (const op of ops) op.key = prefixKey(op.key, 'view', false)
        for (const op of extra) ops.push(op)
        await batchDb.batch(ops, VIEW)
      }
      for (const d of done) {
        const h = hex(d.hash)
        this.#blocks.set(h, d.block)
        this.#receipts.set(h, withBlockContext(d.hash, d.block.header.number, d.records))
      }
      this.#head = head
    })
    run.then(landed, landed)
    return run
  }

  #blockOps(
    head: Block,
    block: Block,
    executed: readonly CommittedTx[],
    seals: Uint8Array | undefined,
    ops: ChainDbOperation[],
  ): { hash: Uint8Array; records: ReceiptRecord[] } {
    const number = block.header.number
    if (number !== head.header.number + 1n || !equalsBytes(block.header.parentHash, head.hash())) {
      throw new ChainStoreError(
        'NOT_NEXT_BLOCK',
        `block ${number} (parent ${hex(block.header.parentHash)}) does not extend the head ` +
          `${head.header.number} (${hex(head.hash())})`,
      )
    }
    const txs = block.transactions
    if (executed.length !== txs.length) {
      throw new ChainStoreError(
        'RECEIPTS_MISMATCH',
        `block ${number} has ${txs.length} transactions but ${executed.length} execution results`,
      )
    }
    for (let i = 0; i < txs.length; i++) {
      if (!equalsBytes(executed[i]!.hash, txs[i]!.hash())) {
        throw new ChainStoreError(
          'RECEIPTS_MISMATCH',
          `execution result ${i} of block ${number} is for another tx`,
        )
      }
    }
    const hash = block.hash()
    const num = u64(number)
    const records = executed.map(recordFromExecuted)
    ops.push(
      { type: 'put', key: key(Bucket.block, hash), value: block.serialize() },
      { type: 'put', key: key(Bucket.canonical, num), value: hash },
      { type: 'put', key: key(Bucket.receipts, hash), value: encodeReceipts(number, records) },
    )
    for (let i = 0; i < records.length; i++) {
      const loc = new Uint8Array(44)
      loc.set(hash, 0)
      loc.set(num, 32)
      loc.set(u32(i), 40)
      ops.push({ type: 'put', key: key(Bucket.txLookup, records[i]!.txHash), value: loc })
    }
    const emitters = uniqueLogAddresses(records)
    if (emitters.length > 0) {
      const bloomEntry = new Uint8Array(256 + 32)
      bloomEntry.set(block.header.logsBloom, 0)
      bloomEntry.set(hash, 256)
      ops.push({ type: 'put', key: key(Bucket.bloom, num), value: bloomEntry })
      for (const a of emitters) ops.push({ type: 'put', key: key(Bucket.addressIndex, a, num), value: hash })
    }
    if (seals !== undefined) ops.push({ type: 'put', key: key(Bucket.seals, hash), value: seals })
    return { hash, records }
  }

  /**
   * Roll the chain back so that block `n` is the head (dev-mode evm_revert). Everything stored for
   * the removed blocks goes, in one atomic batch with the head move. No-op if n >= head.
   */
  truncateAfter(n: bigint): Promise<void> {
    return this.#exclusive(async () => {
      if (n < this.#genesisNumber)
        throw new ChainStoreError('INVALID_ARGUMENT', `cannot truncate to block ${n}, before the first block`)
      if (n >= this.#head.header.number) return
      const newHeadHash = await this.#db.get(key(Bucket.canonical, u64(n)), VIEW)
      if (newHeadHash === undefined) throw new ChainStoreError('CORRUPT', `canonical block ${n} is missing`)
      const newHead = await this.getBlockByHash(newHeadHash)
      if (newHead === undefined) throw new ChainStoreError('CORRUPT', `block ${n} is missing`)
      const ops = await this.#removeAfter(n)
      ops.push({ type: 'put', key: metaKey('head'), value: newHeadHash })
      await this.#db.batch(ops, VIEW)
      this.#head = newHead
      this.#blocks.clear()
      this.#receipts.clear()
      this.#blocks.set(hex(newHeadHash), newHead)
    })
  }

  /** The deletions that remove every block above `n` (and all that is indexed for them). */
  async #removeAfter(n: bigint): Promise<ChainDbOperation[]> {
    const headNumber = this.#head.header.number
    const ops: ChainDbOperation[] = []
    for (let k = n + 1n; k <= headNumber; k++) {
      const num = u64(k)
      const hash = await this.#db.get(key(Bucket.canonical, num), VIEW)
      if (hash === undefined) throw new ChainStoreError('CORRUPT', `canonical block ${k} is missing`)
      const rawReceipts = await this.#db.get(key(Bucket.receipts, hash), VIEW)
      const records = rawReceipts === undefined ? [] : decodeReceipts(rawReceipts).records
      for (const r of records) ops.push({ type: 'del', key: key(Bucket.txLookup, r.txHash) })
      for (const a of uniqueLogAddresses(records))
        ops.push({ type: 'del', key: key(Bucket.addressIndex, a, num) })
      ops.push(
        { type: 'del', key: key(Bucket.bloom, num) },
        { type: 'del', key: key(Bucket.canonical, num) },
        { type: 'del', key: key(Bucket.block, hash) },
        { type: 'del', key: key(Bucket.receipts, hash) },
        { type: 'del', key: key(Bucket.seals, hash) },
      )
    }
    return ops
  }

  /** Wait for queued writes and refuse new ones. The database itself stays open (the caller owns it). */
  async close(): Promise<void> {
    this.#closed = true
    await this.#writeQueue.catch(() => undefined)
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ChainStoreError('CLOSED', 'chain store is closed'))
    const run = this.#writeQueue.then(fn, fn)
    this.#writeQueue = run.catch(() => undefined)
    return run
  }

  #decodeBlock(rlp: Uint8Array, hash: Uint8Array): Block {
    try {
      // Consensus format checks (e.g. extraData length) belong to block import, not to reading
      // back what was already accepted; QBFT extraData would fail them.
      const block = createBlockFromRLP(rlp, {
        ...this.#blockOptions,
        common: this.#common,
        setHardfork: this.#hardforkByBlock,
        skipConsensusFormatValidation: true,
      })
      return this.#decorate ? this.#decorate(block) : block
    } catch (cause) {
      throw new ChainStoreError('CORRUPT', `stored block ${hex(hash)} cannot be decoded`, { cause })
    }
  }

  async #receiptViews(blockHash: Uint8Array): Promise<ReceiptView[] | undefined> {
    if (blockHash.length !== 32) return undefined
    const h = hex(blockHash)
    const cached = this.#receipts.get(h)
    if (cached !== undefined) return cached
    const raw = await this.#db.get(key(Bucket.receipts, blockHash), VIEW)
    if (raw === undefined) return undefined
    const { blockNumber, records } = decodeReceipts(raw)
    const views = withBlockContext(blockHash, blockNumber, records)
    this.#receipts.set(h, views)
    return views
  }

  async #candidatesByBloom(
    from: bigint,
    to: bigint,
    query: BloomFilterQuery,
  ): Promise<Array<[bigint, Uint8Array]>> {
    const out: Array<[bigint, Uint8Array]> = []
    const range = numberRange(Bucket.bloom, new Uint8Array(0), from, to)
    for await (const [k, v] of this.#db.iterator({ ...VIEW, ...range })) {
      if (v.length !== 288) throw new ChainStoreError('CORRUPT', 'bloom index entry is malformed')
      if (query.mayMatch(v.subarray(0, 256))) out.push([readU64(k, 1), plain(v.slice(256))])
    }
    return out
  }

  async #candidatesByAddress(
    addresses: readonly Uint8Array[],
    from: bigint,
    to: bigint,
    topics: ReadonlyArray<Uint8Array[] | null>,
    query: BloomFilterQuery,
  ): Promise<Array<[bigint, Uint8Array]>> {
    const byNumber = new Map<bigint, Uint8Array>()
    for (const a of addresses) {
      const range = numberRange(Bucket.addressIndex, a, from, to)
      for await (const [k, v] of this.#db.iterator({ ...VIEW, ...range })) {
        byNumber.set(readU64(k, 21), plain(v))
      }
    }
    let candidates = [...byNumber].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    // The address index is exact for addresses; the bloom only helps when topics are constrained.
    if (topics.some((t) => t !== null) && candidates.length > 0) {
      const blooms = await this.#db.getMany(
        candidates.map(([n]) => key(Bucket.bloom, u64(n))),
        VIEW,
      )
      candidates = candidates.filter((_, i) => {
        const b = blooms[i]
        return b !== undefined && query.mayMatch(b.subarray(0, 256))
      })
    }
    return candidates
  }
}

function uniqueLogAddresses(records: readonly ReceiptRecord[]): Uint8Array[] {
  const seen = new Map<string, Uint8Array>()
  for (const r of records) for (const l of r.logs) seen.set(hex(l.address), l.address)
  return [...seen.values()]
}

function checkGenesis(genesis: Block, forked: boolean): void {
  if (genesis.header.number !== 0n && !forked) {
    throw new ChainStoreError(
      'INVALID_ARGUMENT',
      `genesis block must have number 0, got ${genesis.header.number}`,
    )
  }
  if (genesis.transactions.length > 0) {
    throw new ChainStoreError('INVALID_ARGUMENT', 'genesis block must not contain transactions')
  }
}

/** Writes `genesis` as the first canonical block and the head. */
function genesisOps(genesis: Block): ChainDbOperation[] {
  const hash = genesis.hash()
  const n = genesis.header.number
  return [
    { type: 'put', key: key(Bucket.block, hash), value: genesis.serialize() },
    { type: 'put', key: key(Bucket.canonical, u64(n)), value: hash },
    { type: 'put', key: key(Bucket.receipts, hash), value: encodeReceipts(n, []) },
    { type: 'put', key: metaKey('genesis'), value: hash },
    { type: 'put', key: metaKey('head'), value: hash },
  ]
}
