/**
 * Adapter from a `level` (sub)database with Uint8Array keys and values to the `DB` interface of
 * @ethereumjs/util that the Merkle Patricia trie writes through.
 *
 * Writes can be buffered (`beginBuffer`) and then written in ONE LevelDB batch (`commitBuffer`)
 * or dropped (`discardBuffer`): a block's state either lands completely or not at all, and a block
 * that fails validation leaves nothing behind. Reads see the buffer first. Reads use LevelDB's
 * synchronous `getSync` when the backend supports it: trie walks issue many small reads, and
 * skipping the thread-pool round-trip per node is the single largest win for eth_call latency.
 */
import type { BatchDBOp, DB, EncodingOpts } from '@ethereumjs/util'
import { BoundedMap } from './bounded-map.ts'

/** The subset of abstract-level's API this adapter needs (a `Level` or a sublevel, 'view' encodings). */
export interface LevelLike {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  getSync?(key: Uint8Array): Uint8Array | undefined
  put(key: Uint8Array, value: Uint8Array): Promise<void>
  del(key: Uint8Array): Promise<void>
  batch(
    ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }>,
  ): Promise<void>
  /** abstract-level's manifest; `getSync: true` enables synchronous reads. */
  readonly supports?: unknown
  readonly status?: string
  open?(): Promise<void>
}

type Key = string | Uint8Array | number
type Value = string | Uint8Array

function keyBytes(key: Key): Uint8Array {
  if (key instanceof Uint8Array) return key
  if (typeof key === 'string') {
    // The trie always passes unprefixed hex strings (KeyEncoding.String).
    return Buffer.from(key.startsWith('0x') ? key.slice(2) : key, 'hex')
  }
  throw new Error(`unsupported key type ${typeof key}`)
}

function keyString(key: Key): string {
  if (typeof key === 'string') return key.startsWith('0x') ? key.slice(2) : key
  if (key instanceof Uint8Array)
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
  throw new Error(`unsupported key type ${typeof key}`)
}

function valueBytes(value: Value, opts?: EncodingOpts): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (opts?.valueEncoding === 'string') return Buffer.from(value, 'hex')
  return new TextEncoder().encode(value)
}

function outValue(value: Uint8Array, opts?: EncodingOpts): Value {
  if (opts?.valueEncoding === 'string')
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')
  return value
}

export class LevelStateDB implements DB<Key, Value> {
  private pending: Map<string, Uint8Array | null> | undefined
  /** Committed blocks' writes not yet on disk (`holdCommits`): read like persisted data. */
  private held: Map<string, Uint8Array | null> | undefined
  /** The writer a reader was made from: its held writes are visible to the reader. */
  private source: LevelStateDB | undefined
  private readonly sync: boolean

  /** Persisted values by key. Everything in the state database is content-addressed (trie nodes
   * by hash, code by code hash) and never deleted, so a value once read can be kept for good. */
  private readonly persistedCache: BoundedMap<Uint8Array> | undefined
  /** Cached readers of the same LevelDB: a committed batch is copied into their caches, so the
   * nodes of a new head (read at once by the txpool and RPC) never go back to LevelDB. */
  private readonly readers: LevelStateDB[] = []

  constructor(
    private readonly level: LevelLike,
    opts: { cacheEntries?: number } = {},
  ) {
    this.persistedCache = opts.cacheEntries ? new BoundedMap(opts.cacheEntries) : undefined
    this.sync =
      (level.supports as { getSync?: boolean } | undefined)?.getSync === true &&
      typeof level.getSync === 'function'
  }

  /** Start buffering writes in memory until commitBuffer/discardBuffer. */
  beginBuffer(): void {
    if (this.pending !== undefined) throw new Error('state write buffer already open')
    this.pending = new Map()
  }

  get buffering(): boolean {
    return this.pending !== undefined
  }

  /**
   * From now on commitBuffer keeps each committed buffer in memory (readable by this database and
   * its readers) until `flushHeld`, which writes them all in one LevelDB batch: block sync commits
   * a run of blocks' state with one write instead of one per block. Whoever holds must flush
   * before anything refers to the held state on disk (a head pointing at it).
   */
  holdCommits(): void {
    this.held ??= new Map()
  }

  /** Writes everything held in one batch; with `release`, commits write through again. */
  async flushHeld(release = false): Promise<number> {
    const held = this.held
    if (held === undefined) return 0
    // Readers keep seeing the held writes until they are on disk. The caller serialises this
    // with every commitBuffer (the runtime's lock), so nothing is added meanwhile.
    const n = held.size === 0 ? 0 : await this.write(held)
    this.held = release ? undefined : new Map()
    return n
  }

  /** Write every buffered change in one atomic LevelDB batch (or hold it, see holdCommits). */
  async commitBuffer(): Promise<number> {
    const pending = this.pending
    this.pending = undefined
    if (pending === undefined || pending.size === 0) return 0
    if (this.held !== undefined) {
      for (const [k, v] of pending) this.held.set(k, v)
      return pending.size
    }
    return this.write(pending)
  }

  private async write(pending: Map<string, Uint8Array | null>): Promise<number> {
    const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }> =
      []
    for (const [k, v] of pending) {
      const key = Buffer.from(k, 'hex')
      ops.push(v === null ? { type: 'del', key } : { type: 'put', key, value: v })
    }
    await this.level.batch(ops)
    for (const r of this.persistedCache ? [this, ...this.readers] : this.readers) {
      const cache = r.persistedCache!
      for (const [k, v] of pending) {
        if (v === null) cache.delete(k)
        else cache.set(k, v)
      }
    }
    return ops.length
  }

  discardBuffer(): void {
    this.pending = undefined
  }

  async get(key: Key, opts?: EncodingOpts): Promise<Value | undefined> {
    if (this.pending !== undefined) {
      const hit = this.pending.get(keyString(key))
      if (hit === null) return undefined
      if (hit !== undefined) return outValue(hit, opts)
    }
    if (this.held !== undefined) {
      const hit = this.held.get(keyString(key))
      if (hit === null) return undefined
      if (hit !== undefined) return outValue(hit, opts)
    }
    const v = await this.getPersisted(keyBytes(key))
    return v === undefined ? undefined : outValue(v, opts)
  }

  /** Reads only what is committed: on disk, or held by the writer a reader was made from
   * (ignores the write buffer). */
  async getPersisted(key: Uint8Array): Promise<Uint8Array | undefined> {
    const held = this.source?.held
    if (held !== undefined && held.size > 0) {
      const hit = held.get(keyString(key))
      if (hit === null) return undefined
      if (hit !== undefined) return hit
    }
    const cacheKey = this.persistedCache ? keyString(key) : undefined
    const hit = cacheKey === undefined ? undefined : this.persistedCache!.get(cacheKey)
    if (hit !== undefined) return hit
    // getSync only works once the database is open; async get also waits for a pending open.
    const v = this.sync && this.level.status === 'open' ? this.level.getSync!(key) : await this.level.get(key)
    if (v === undefined) return undefined // not cached: the key may be written later
    // classic-level hands out Buffers; callers get plain Uint8Arrays (same memory, no copy).
    const out = v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    if (cacheKey !== undefined) this.persistedCache!.set(cacheKey, out)
    return out
  }

  async put(key: Key, value: Value, opts?: EncodingOpts): Promise<void> {
    const v = valueBytes(value, opts)
    if (this.pending !== undefined) {
      this.pending.set(keyString(key), v)
      return
    }
    await this.level.put(keyBytes(key), v)
  }

  async del(key: Key): Promise<void> {
    if (this.pending !== undefined) {
      this.pending.set(keyString(key), null)
      return
    }
    await this.level.del(keyBytes(key))
  }

  async batch(ops: BatchDBOp<Key, Value>[]): Promise<void> {
    if (this.pending !== undefined) {
      for (const op of ops) {
        if (op.type === 'put') this.pending.set(keyString(op.key), valueBytes(op.value as Value, op.opts))
        else this.pending.set(keyString(op.key), null)
      }
      return
    }
    await this.level.batch(
      ops.map((op) =>
        op.type === 'put'
          ? { type: 'put' as const, key: keyBytes(op.key), value: valueBytes(op.value as Value, op.opts) }
          : { type: 'del' as const, key: keyBytes(op.key) },
      ),
    )
  }

  /** The trie calls this for every storage trie: they must share this instance's write buffer. */
  shallowCopy(): LevelStateDB {
    return this
  }

  /** An independent view of the same LevelDB (no shared buffer), for readers. */
  reader(opts: { cacheEntries?: number } = {}): LevelStateDB {
    const r = new LevelStateDB(this.level, opts)
    r.source = this
    if (r.persistedCache !== undefined) this.readers.push(r)
    return r
  }

  async open(): Promise<void> {}
}
