/**
 * Adapter from a `level` (sub)database with Uint8Array keys and values to the `DB` interface of
 * @ethereumjs/util that the Merkle Patricia trie writes through.
 *
 * Writes can be buffered (`beginBuffer`) and then written in ONE LevelDB batch (`commitBuffer`)
 * or dropped (`discardBuffer`): a block's state either lands completely or not at all, and a block
 * that fails validation leaves nothing behind. Reads see the buffer first. Committed buffers can
 * also be held in memory (`holdCommits`: block sync; `deferCommits`: until the node's block batch
 * takes them with `takeHeld`, so a block's state and its chain data are one LevelDB write). Reads use LevelDB's
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

export type StateWriteOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array }

/** Held writes handed over to a caller that writes them in its own batch (`takeHeld`). They stay
 * readable until `landed` (the batch is on disk) or go back to the held set on `failed`. */
export interface TakenStateWrites {
  readonly ops: StateWriteOp[]
  landed(): void
  failed(): void
}

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
  /** Committed blocks' writes not yet on disk (`holdCommits`, `deferCommits`): read like
   * persisted data. */
  private held: Map<string, Uint8Array | null> | undefined
  /** Held sets taken by `takeHeld` whose batch is not on disk yet: still read like persisted. */
  private readonly landing = new Set<Map<string, Uint8Array | null>>()
  /** Block sync's hold (holdCommits … flushHeld(true)). */
  private holding = false
  /** Held until taken, for good (deferCommits). */
  private deferring = false
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
    this.holding = true
    this.held ??= new Map()
  }

  /**
   * From now on every commitBuffer is held until `takeHeld` hands it to the caller's own batch
   * (the node writes a block's state with its chain data: one LevelDB write per block), except
   * `commitBuffer({ through: true })`, which writes at once (with everything held).
   */
  deferCommits(): void {
    this.deferring = true
    this.held ??= new Map()
  }

  /** Writes everything held in one batch; with `release`, block sync's hold ends (commits write
   * through again unless deferred). */
  async flushHeld(release = false): Promise<number> {
    const held = this.held
    if (held === undefined) return 0
    // Readers keep seeing the held writes until they are on disk. The caller serialises this
    // with every commitBuffer (the runtime's lock), so nothing is added meanwhile.
    const n = held.size === 0 ? 0 : await this.write(held)
    if (release) this.holding = false
    this.held = this.holding || this.deferring ? new Map() : undefined
    return n
  }

  /**
   * The held writes as batch operations for the caller to write (in its own atomic batch),
   * undefined when nothing is held. Until `landed` they stay readable; `failed` holds them again.
   */
  takeHeld(): TakenStateWrites | undefined {
    const held = this.held
    if (held === undefined || held.size === 0) return undefined
    this.held = new Map()
    this.landing.add(held)
    let settled = false
    return {
      ops: toOps(held),
      landed: () => {
        if (settled) return
        settled = true
        this.cacheWritten(held)
        this.landing.delete(held)
      },
      failed: () => {
        if (settled) return
        settled = true
        this.landing.delete(held)
        // Held again, under anything committed since (same content: keys are hashes).
        const now = this.held ?? new Map()
        for (const [k, v] of held) if (!now.has(k)) now.set(k, v)
        this.held = now
      },
    }
  }

  /**
   * Write every buffered change in one atomic LevelDB batch, or hold it (holdCommits,
   * deferCommits). `through`: write now, together with everything held (dev state edits and
   * genesis, which nothing else will write soon).
   */
  async commitBuffer(opts: { through?: boolean } = {}): Promise<number> {
    const pending = this.pending
    this.pending = undefined
    if (pending === undefined || pending.size === 0) return 0
    const held = this.held
    if (held !== undefined) {
      for (const [k, v] of pending) held.set(k, v)
      if (opts.through !== true) return pending.size
      this.held = new Map()
      try {
        await this.write(held)
      } catch (e) {
        for (const [k, v] of held) if (!this.held.has(k)) this.held.set(k, v)
        throw e
      }
      return pending.size
    }
    return this.write(pending)
  }

  private async write(pending: Map<string, Uint8Array | null>): Promise<number> {
    const ops = toOps(pending)
    await this.level.batch(ops)
    this.cacheWritten(pending)
    return ops.length
  }

  /** Written to disk: into the persisted caches (this database's and its readers'). */
  private cacheWritten(written: Map<string, Uint8Array | null>): void {
    for (const r of this.persistedCache ? [this, ...this.readers] : this.readers) {
      const cache = r.persistedCache!
      for (const [k, v] of written) {
        if (v === null) cache.delete(k)
        else cache.set(k, v)
      }
    }
  }

  /** A committed write that is not on disk yet (held or landing), by hex key. */
  private unwritten(k: string): Uint8Array | null | undefined {
    const held = this.held
    if (held !== undefined && held.size > 0) {
      const hit = held.get(k)
      if (hit !== undefined) return hit
    }
    for (const m of this.landing) {
      const hit = m.get(k)
      if (hit !== undefined) return hit
    }
    return undefined
  }

  private get hasUnwritten(): boolean {
    return (this.held !== undefined && this.held.size > 0) || this.landing.size > 0
  }

  discardBuffer(): void {
    this.pending = undefined
  }

  async get(key: Key, opts?: EncodingOpts): Promise<Value | undefined> {
    const ks = keyString(key)
    if (this.pending !== undefined) {
      const hit = this.pending.get(ks)
      if (hit === null) return undefined
      if (hit !== undefined) return outValue(hit, opts)
    }
    if (this.hasUnwritten) {
      const hit = this.unwritten(ks)
      if (hit === null) return undefined
      if (hit !== undefined) return outValue(hit, opts)
    }
    const v = await this.readPersisted(key, ks)
    return v === undefined ? undefined : outValue(v, opts)
  }

  /** Reads only what is committed: on disk, or held by the writer a reader was made from
   * (ignores the write buffer). */
  getPersisted(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.readPersisted(key, undefined)
  }

  /** `key` as bytes, or as the trie's hex string (converted only when LevelDB is read). */
  private async readPersisted(key: Key, ks: string | undefined): Promise<Uint8Array | undefined> {
    const source = this.source
    if (source?.hasUnwritten) {
      ks ??= keyString(key)
      const hit = source.unwritten(ks)
      if (hit === null) return undefined
      if (hit !== undefined) return hit
    }
    const cacheKey = this.persistedCache ? (ks ?? keyString(key)) : undefined
    const hit = cacheKey === undefined ? undefined : this.persistedCache!.get(cacheKey)
    if (hit !== undefined) return hit
    // getSync only works once the database is open; async get also waits for a pending open.
    const kb = keyBytes(key)
    const v = this.sync && this.level.status === 'open' ? this.level.getSync!(kb) : await this.level.get(kb)
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

function toOps(writes: Map<string, Uint8Array | null>): StateWriteOp[] {
  const ops: StateWriteOp[] = []
  for (const [k, v] of writes) {
    const key = Buffer.from(k, 'hex')
    ops.push(v === null ? { type: 'del', key } : { type: 'put', key, value: v })
  }
  return ops
}
