/**
 * Geth-like transaction pool. Per sender, transactions with contiguous nonces starting at the
 * account nonce are *pending* (executable); the others are *queued* (waiting for a gap to fill).
 * Admission checks run in geth's order with geth's messages; block building reads pending
 * transactions in price-and-nonce order (best effective tip first across senders, nonce order
 * within a sender).
 * Long file: one data structure (pending/queued per sender, price heap) whose invariants span every method.
 */
import { EventEmitter } from 'node:events'
import type { Common } from '@ethereumjs/common'
import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '@ethereumjs/util'
import { TxPoolError } from './errors.ts'
import { Heap } from './heap.ts'

export interface TxPoolAccount {
  nonce: bigint
  balance: bigint
}

export type GetAccount = (address: Uint8Array) => Promise<TxPoolAccount>

export interface TxPoolOptions {
  common: Common
  /** Account nonce and balance at the current head (what the next block executes on). */
  getAccount: GetAccount
  /** Gas limit of the next block; a function when it can change (dev evm_setBlockGasLimit). */
  blockGasLimit: bigint | (() => bigint)
  /** Transactions (pending + queued) one sender may have in the pool. Default 64. */
  maxPerSender?: number
  /** Pending + queued transactions in the pool. Default 10,000. */
  maxTotal?: number
  /** Queued (non-executable) transactions in the pool. Default 5,000. */
  maxQueued?: number
  /** Minimum fee increase, in percent, to replace a transaction with the same nonce. Default 10. */
  priceBump?: number
  /** Minimum gas tip (gasPrice for legacy txs) accepted, as geth's --txpool.pricelimit. Default 0. */
  minGasPrice?: bigint
  /** Largest accepted serialized transaction in bytes. Default 128 KiB (geth's txMaxSize). */
  maxTxSize?: number
  /** Base fee used to rank transactions for eviction until the first block. Default 0. */
  baseFee?: bigint
}

export interface PooledTx {
  tx: TypedTransaction
  sender: Uint8Array
}

export interface TxPoolContent {
  /** Keyed by lowercase 0x sender address, transactions in nonce order. */
  pending: Map<string, TypedTransaction[]>
  queued: Map<string, TypedTransaction[]>
}

export interface MinedTxRef {
  sender: Uint8Array
  nonce: bigint
  hash: Uint8Array
}

export type DropReason = 'mined' | 'stale' | 'replaced' | 'evicted' | 'removed' | 'unpayable' | 'underpriced'

export interface TxPoolEvents {
  /** A transaction became pending (executable) for the first time: eth_newPendingTransactions. */
  added: [hash: Uint8Array, tx: TypedTransaction, sender: Uint8Array]
  /** A transaction left the pool for another reason than being added to it. */
  dropped: [hash: Uint8Array, reason: DropReason]
}

interface Entry {
  tx: TypedTransaction
  sender: Uint8Array
  hash: Uint8Array
  hashKey: string
  nonce: bigint
  feeCap: bigint
  tip: bigint
  /** gasLimit * feeCap + value: the most the transaction can take from the sender. */
  cost: bigint
  /** Arrival order: ties in price go to the earlier transaction, as in geth. */
  seq: number
  announced: boolean
}

interface SenderTxs {
  sender: Uint8Array
  key: string
  /** Account nonce and balance as last read from state. */
  nonce: bigint
  balance: bigint
  txs: Map<bigint, Entry>
  /** Pending transactions are exactly the nonces in [nonce, pendingEnd). */
  pendingEnd: bigint
  /** Block gas limit every transaction here was checked against (at admission, or by the last
   * #reconcile): with it, nonce and balance unchanged, a #reconcile would change nothing. */
  gasLimit: bigint
}

const SUPPORTED_TYPES = new Set([0, 1, 2, 4])

function feeCapOf(tx: TypedTransaction): bigint {
  return 'maxFeePerGas' in tx ? tx.maxFeePerGas : tx.gasPrice
}

function tipOf(tx: TypedTransaction): bigint {
  return 'maxPriorityFeePerGas' in tx ? tx.maxPriorityFeePerGas : tx.gasPrice
}

function effectiveTip(e: Entry, baseFee: bigint): bigint {
  const room = e.feeCap - baseFee
  return room < e.tip ? room : e.tip
}

function pendingCount(s: SenderTxs): number {
  return Number(s.pendingEnd - s.nonce)
}

export class TxPool extends EventEmitter<TxPoolEvents> {
  readonly #common: Common
  readonly #getAccount: GetAccount
  readonly #blockGasLimit: () => bigint
  readonly #maxPerSender: number
  readonly #maxTotal: number
  readonly #maxQueued: number
  readonly #priceBump: bigint
  readonly #maxTxSize: number
  #minGasPrice: bigint
  #baseFee: bigint

  readonly #all = new Map<string, Entry>()
  readonly #senders = new Map<string, SenderTxs>()
  #pending = 0
  #queued = 0
  #seq = 0
  #lock: Promise<unknown> = Promise.resolve()

  constructor(opts: TxPoolOptions) {
    super()
    this.#common = opts.common
    this.#getAccount = opts.getAccount
    const gl = opts.blockGasLimit
    this.#blockGasLimit = typeof gl === 'bigint' ? () => gl : gl
    this.#maxPerSender = positiveInt(opts.maxPerSender ?? 64, 'maxPerSender')
    this.#maxTotal = positiveInt(opts.maxTotal ?? 10_000, 'maxTotal')
    this.#maxQueued = positiveInt(opts.maxQueued ?? Math.min(5_000, this.#maxTotal), 'maxQueued')
    const bump = opts.priceBump ?? 10
    if (!Number.isInteger(bump) || bump < 0) throw new RangeError(`priceBump must be a non-negative integer`)
    this.#priceBump = BigInt(bump)
    this.#maxTxSize = positiveInt(opts.maxTxSize ?? 128 * 1024, 'maxTxSize')
    this.#minGasPrice = opts.minGasPrice ?? 0n
    this.#baseFee = opts.baseFee ?? 0n
    if (this.#minGasPrice < 0n || this.#baseFee < 0n) throw new RangeError('fees must be non-negative')
  }

  /** Pending + queued transactions. */
  get size(): number {
    return this.#all.size
  }

  status(): { pending: number; queued: number } {
    return { pending: this.#pending, queued: this.#queued }
  }

  has(hash: Uint8Array): boolean {
    return this.#all.has(bytesToHex(hash))
  }

  get(hash: Uint8Array): PooledTx | undefined {
    const e = this.#all.get(bytesToHex(hash))
    return e === undefined ? undefined : { tx: e.tx, sender: e.sender }
  }

  /** The public key recovered when `hash` was admitted: block execution reuses it (see
   * chain/known-senders.ts) instead of running ecrecover again. */
  senderPublicKey(hash: Uint8Array): Uint8Array | undefined {
    const cache = this.#all.get(bytesToHex(hash))?.tx.cache as { senderPubKey?: Uint8Array } | undefined
    return cache?.senderPubKey
  }

  /**
   * Validate and admit a transaction whose sender the caller recovered. Resolves to where it
   * went; rejects with TxPoolError (stable `code`, geth's message).
   */
  add(tx: TypedTransaction, sender: Uint8Array): Promise<'pending' | 'queued'> {
    return this.#exclusive(() => this.#add(tx, sender))
  }

  async #add(tx: TypedTransaction, sender: Uint8Array): Promise<'pending' | 'queued'> {
    // Hashing an unsigned tx throws inside EthereumJS; answer like geth instead.
    if (!tx.isSigned()) throw new TxPoolError('INVALID_SENDER', 'invalid sender: transaction is not signed')
    const hash = tx.hash()
    const hashKey = bytesToHex(hash)
    if (this.#all.has(hashKey)) throw new TxPoolError('ALREADY_KNOWN', 'already known')
    this.#validateStateless(tx, sender)
    const feeCap = feeCapOf(tx)
    const tip = tipOf(tx)

    const state = await this.#getAccount(sender)
    const senderKey = bytesToHex(sender)
    let s = this.#senders.get(senderKey)
    // Skipped when it would change nothing (the common case: a sender's next nonce on the same head).
    if (
      s !== undefined &&
      (s.nonce !== state.nonce || s.balance !== state.balance || s.gasLimit !== this.#blockGasLimit())
    ) {
      this.#reconcile(s, state)
      this.#truncateQueued()
    }
    // The hash may have been admitted by nobody else (adds are serialised), but a sync remove()
    // or clear() may have run during the await: re-read the sender record.
    s = this.#senders.get(senderKey)

    if (tx.nonce < state.nonce) {
      throw new TxPoolError('NONCE_TOO_LOW', `nonce too low: next nonce ${state.nonce}, tx nonce ${tx.nonce}`)
    }
    const cost = tx.gasLimit * feeCap + tx.value
    if (state.balance < cost) {
      throw new TxPoolError(
        'INSUFFICIENT_FUNDS',
        `insufficient funds for gas * price + value: balance ${state.balance}, tx cost ${cost}, overshot ${cost - state.balance}`,
      )
    }
    const old = s?.txs.get(tx.nonce)
    let spent = 0n
    if (s !== undefined) for (const e of s.txs.values()) if (e !== old) spent += e.cost
    if (state.balance < spent + cost) {
      throw new TxPoolError(
        'INSUFFICIENT_FUNDS',
        `insufficient funds for gas * price + value: balance ${state.balance}, queued cost ${spent}, ` +
          `tx cost ${cost}, overshot ${spent + cost - state.balance}`,
      )
    }

    const entry: Entry = {
      tx,
      sender,
      hash,
      hashKey,
      nonce: tx.nonce,
      feeCap,
      tip,
      cost,
      seq: this.#seq++,
      announced: false,
    }

    if (old !== undefined && s !== undefined) {
      // Both caps must rise by priceBump % (and strictly), so a replacement always pays more.
      const hundred = 100n
      const feeThreshold = (old.feeCap * (hundred + this.#priceBump)) / hundred
      const tipThreshold = (old.tip * (hundred + this.#priceBump)) / hundred
      if (feeCap <= old.feeCap || tip <= old.tip || feeCap < feeThreshold || tip < tipThreshold) {
        throw new TxPoolError('REPLACE_UNDERPRICED', 'replacement transaction underpriced')
      }
      this.#all.delete(old.hashKey)
      s.txs.set(entry.nonce, entry)
      noteGasLimit(s, entry)
      this.#all.set(hashKey, entry)
      this.emit('dropped', old.hash, 'replaced')
      const isPending = entry.nonce < s.pendingEnd
      if (isPending) this.#announce(entry)
      return isPending ? 'pending' : 'queued'
    }

    if (s !== undefined && s.txs.size >= this.#maxPerSender) {
      throw new TxPoolError(
        'ACCOUNT_LIMIT',
        `exceeds max per-account limit: ${s.txs.size} transactions from ${senderKey}, limit ${this.#maxPerSender}`,
      )
    }

    const willBePending = s === undefined ? entry.nonce === state.nonce : entry.nonce === s.pendingEnd
    if (!willBePending && this.#queued >= this.#maxQueued) this.#makeRoom(entry, senderKey, true)
    if (this.#all.size >= this.#maxTotal) this.#makeRoom(entry, senderKey, false)

    // Eviction never touches this sender, so its record (if any) is still valid.
    if (s === undefined) {
      s = {
        sender,
        key: senderKey,
        nonce: state.nonce,
        balance: state.balance,
        txs: new Map(),
        pendingEnd: state.nonce,
        gasLimit: this.#blockGasLimit(),
      }
      this.#senders.set(senderKey, s)
    }
    s.txs.set(entry.nonce, entry)
    noteGasLimit(s, entry)
    this.#all.set(hashKey, entry)
    if (entry.nonce === s.pendingEnd) {
      this.#pending++
      s.pendingEnd++
      this.#announce(entry)
      this.#promote(s)
      return 'pending'
    }
    this.#queued++
    return 'queued'
  }

  #validateStateless(tx: TypedTransaction, sender: Uint8Array): void {
    if (!SUPPORTED_TYPES.has(tx.type)) {
      throw new TxPoolError('TX_TYPE_NOT_SUPPORTED', 'transaction type not supported')
    }
    // Serialising costs more than the rest of admission; only do it when a cheap upper bound
    // on the encoded size says the limit might be hit.
    if (sizeUpperBound(tx) > this.#maxTxSize) {
      const size = tx.serialize().length
      if (size > this.#maxTxSize) {
        throw new TxPoolError(
          'OVERSIZED_DATA',
          `oversized data: transaction size ${size}, limit ${this.#maxTxSize}`,
        )
      }
    }
    const want = this.#common.chainId()
    // Unprotected legacy transactions (v = 27/28) carry no chain id; whether to accept them is
    // the RPC layer's policy (geth --rpc.allow-unprotected-txs), not the pool's.
    const unprotected = tx.type === 0 && (tx.v === 27n || tx.v === 28n)
    const have = 'chainId' in tx ? tx.chainId : tx.common.chainId()
    if (!unprotected && have !== want) {
      throw new TxPoolError('INVALID_CHAIN_ID', `invalid chain id for signer: have ${have} want ${want}`)
    }
    if (!(sender instanceof Uint8Array) || sender.length !== 20) {
      throw new TxPoolError('INVALID_SENDER', 'invalid sender')
    }
    const gasLimit = this.#blockGasLimit()
    if (tx.gasLimit > gasLimit) throw new TxPoolError('GAS_LIMIT', 'exceeds block gas limit')
    const feeCap = feeCapOf(tx)
    const tip = tipOf(tx)
    if (tip > feeCap) {
      throw new TxPoolError('TIP_ABOVE_FEE_CAP', 'max priority fee per gas higher than max fee per gas')
    }
    let intrinsic: bigint
    let minimum: bigint
    try {
      intrinsic = tx.getIntrinsicGas()
      minimum = tx.getMinimumGasLimit()
    } catch (err) {
      throw new TxPoolError('INTRINSIC_GAS', `intrinsic gas too low: ${(err as Error).message}`)
    }
    if (tx.gasLimit < intrinsic) {
      throw new TxPoolError(
        'INTRINSIC_GAS',
        `intrinsic gas too low: gas ${tx.gasLimit}, minimum needed ${intrinsic}`,
      )
    }
    if (tx.gasLimit < minimum) {
      // EIP-7623 calldata floor (Prague).
      throw new TxPoolError(
        'FLOOR_DATA_GAS',
        `insufficient gas for floor data gas cost: gas ${tx.gasLimit}, minimum needed ${minimum}`,
      )
    }
    if (tip < this.#minGasPrice) {
      throw new TxPoolError(
        'UNDERPRICED',
        `transaction underpriced: gas tip cap ${tip}, minimum needed ${this.#minGasPrice}`,
      )
    }
  }

  /**
   * Free one slot for `incoming` by evicting the cheapest *last* transaction (highest nonce) of
   * another sender: evicting a tail never opens a nonce gap. Refuses to evict anything that pays
   * as much as the incoming transaction, so the pool never trades a tx for a cheaper one.
   */
  #makeRoom(incoming: Entry, senderKey: string, queuedOnly: boolean): void {
    const victim = this.#cheapestTail(queuedOnly, senderKey)
    if (victim === undefined) {
      throw new TxPoolError(
        'TXPOOL_FULL',
        queuedOnly ? 'txpool is full: queue limit reached' : 'txpool is full',
      )
    }
    const incomingTip = effectiveTip(incoming, this.#baseFee)
    if (victim.tip >= incomingTip) {
      throw new TxPoolError(
        'UNDERPRICED',
        `transaction underpriced: pool is full and its cheapest evictable transaction tips ${victim.tip}, ` +
          `this one ${incomingTip}`,
      )
    }
    this.#removeEntry(victim.sender, victim.entry, 'evicted')
  }

  /**
   * The cheapest last transaction (highest nonce) of any sender but `exceptKey`, latest arrival on
   * ties; with `queuedOnly`, only tails that are queued.
   */
  #cheapestTail(
    queuedOnly: boolean,
    exceptKey?: string,
  ): { sender: SenderTxs; entry: Entry; tip: bigint } | undefined {
    let best: { sender: SenderTxs; entry: Entry; tip: bigint } | undefined
    for (const s of this.#senders.values()) {
      if (s.key === exceptKey || s.txs.size === 0) continue
      let maxNonce = -1n
      for (const n of s.txs.keys()) if (n > maxNonce) maxNonce = n
      if (queuedOnly && maxNonce < s.pendingEnd) continue
      const tail = s.txs.get(maxNonce)!
      const tip = effectiveTip(tail, this.#baseFee)
      if (best === undefined || tip < best.tip || (tip === best.tip && tail.seq > best.entry.seq)) {
        best = { sender: s, entry: tail, tip }
      }
    }
    return best
  }

  /**
   * Demoting part of a pending run (a removal, or an unpayable transaction inside it) can push the
   * queue over its limit: drop queued tails, cheapest first, until it fits (as geth's truncateQueue).
   * Run at the end of each operation, never inside a loop over entries it could remove.
   */
  #truncateQueued(): void {
    while (this.#queued > this.#maxQueued) {
      const victim = this.#cheapestTail(true)
      if (victim === undefined) return
      this.#removeEntry(victim.sender, victim.entry, 'evicted')
    }
  }

  /** Move queued transactions at pendingEnd (and above, while contiguous) into pending. */
  #promote(s: SenderTxs): void {
    for (;;) {
      const e = s.txs.get(s.pendingEnd)
      if (e === undefined) break
      this.#queued--
      this.#pending++
      s.pendingEnd++
      this.#announce(e)
    }
  }

  #announce(e: Entry): void {
    if (e.announced) return
    e.announced = true
    this.emit('added', e.hash, e.tx, e.sender)
  }

  /** Remove one entry; transactions above a removed pending one become queued. */
  #removeEntry(s: SenderTxs, e: Entry, reason: DropReason): void {
    s.txs.delete(e.nonce)
    this.#all.delete(e.hashKey)
    if (e.nonce < s.pendingEnd) {
      const above = Number(s.pendingEnd - e.nonce - 1n)
      this.#pending -= above + 1
      this.#queued += above
      s.pendingEnd = e.nonce
    } else {
      this.#queued--
    }
    if (s.txs.size === 0) this.#senders.delete(s.key)
    this.emit('dropped', e.hash, reason)
  }

  /**
   * Bring a sender in line with fresh account state: drop mined/stale nonces and transactions the
   * balance can no longer pay for (or too big for the block), then recompute the pending range.
   */
  #reconcile(s: SenderTxs, state: TxPoolAccount, mined?: ReadonlySet<string>): void {
    const gasLimit = this.#blockGasLimit()
    this.#pending -= pendingCount(s)
    this.#queued -= s.txs.size - pendingCount(s)
    s.balance = state.balance
    s.nonce = state.nonce
    s.gasLimit = gasLimit
    const dropped: Array<[Entry, DropReason]> = []
    for (const e of s.txs.values()) {
      if (e.nonce < state.nonce) dropped.push([e, mined?.has(e.hashKey) ? 'mined' : 'stale'])
      else if (e.cost > state.balance || e.tx.gasLimit > gasLimit) dropped.push([e, 'unpayable'])
    }
    for (const [e] of dropped) {
      s.txs.delete(e.nonce)
      this.#all.delete(e.hashKey)
    }
    s.pendingEnd = s.nonce
    while (s.txs.has(s.pendingEnd)) s.pendingEnd++
    this.#pending += pendingCount(s)
    this.#queued += s.txs.size - pendingCount(s)
    if (s.txs.size === 0) this.#senders.delete(s.key)
    for (const [e, reason] of dropped) this.emit('dropped', e.hash, reason)
    for (let n = s.nonce; n < s.pendingEnd; n++) this.#announce(s.txs.get(n)!)
  }

  /**
   * Pending transactions in geth's price-and-nonce order for a block with `baseFee`: a heap over
   * each sender's next transaction by effective tip (earlier arrival first on ties). A sender's
   * run stops at its first transaction whose fee cap is below the base fee (it cannot be mined,
   * and neither can its successors). The set is snapshotted when iteration starts, so the pool
   * may change while a block is being built.
   */
  pending(baseFee = 0n): Iterable<PooledTx> {
    const pool = this
    return {
      *[Symbol.iterator]() {
        const runs: Entry[][] = []
        for (const s of pool.#senders.values()) {
          const run: Entry[] = []
          for (let n = s.nonce; n < s.pendingEnd; n++) {
            const e = s.txs.get(n)!
            if (e.feeCap < baseFee) break
            run.push(e)
          }
          if (run.length > 0) runs.push(run)
        }
        type Cursor = { run: Entry[]; i: number; tip: bigint }
        const heap = new Heap<Cursor>((a, b) => {
          if (a.tip !== b.tip) return a.tip > b.tip
          return a.run[a.i]!.seq < b.run[b.i]!.seq
        })
        for (const run of runs) heap.push({ run, i: 0, tip: effectiveTip(run[0]!, baseFee) })
        for (;;) {
          const c = heap.pop()
          if (c === undefined) return
          const e = c.run[c.i]!
          yield { tx: e.tx, sender: e.sender }
          c.i++
          if (c.i < c.run.length) {
            c.tip = effectiveTip(c.run[c.i]!, baseFee)
            heap.push(c)
          }
        }
      },
    }
  }

  /**
   * After a block: drop the mined transactions and re-read the state of every sender that had a
   * transaction in it (their nonce moved, their balance shrank), promoting queued transactions
   * whose gap is now filled. `baseFee` (the next block's) is used to rank evictions.
   */
  onBlockCommitted(
    executed: readonly MinedTxRef[],
    getAccount?: GetAccount,
    baseFee?: bigint,
  ): Promise<void> {
    return this.#exclusive(async () => {
      if (baseFee !== undefined) this.#baseFee = baseFee
      const mined = new Set<string>()
      const senders = new Map<string, Uint8Array>()
      for (const e of executed) {
        mined.add(bytesToHex(e.hash))
        const k = bytesToHex(e.sender)
        if (this.#senders.has(k)) senders.set(k, e.sender)
      }
      // A sender whose every pooled transaction was mined leaves the pool whatever its new state:
      // reading that state (a trie lookup at the new root, most of this observer's cost) could not
      // change the outcome. Only senders with transactions left are re-read.
      const reread = new Map<string, Uint8Array>()
      for (const [k, address] of senders) {
        const s = this.#senders.get(k)!
        let allMined = true
        for (const e of s.txs.values()) {
          if (!mined.has(e.hashKey)) {
            allMined = false
            break
          }
        }
        if (allMined) this.#dropAllMined(s)
        else reread.set(k, address)
      }
      if (reread.size > 0) await this.#refresh(reread, getAccount ?? this.#getAccount, mined)
    })
  }

  /** Removes a sender whose transactions were all mined (what #reconcile does with its state). */
  #dropAllMined(s: SenderTxs): void {
    const pending = pendingCount(s)
    this.#pending -= pending
    this.#queued -= s.txs.size - pending
    this.#senders.delete(s.key)
    const gone = [...s.txs.values()]
    s.txs.clear()
    for (const e of gone) this.#all.delete(e.hashKey)
    for (const e of gone) this.emit('dropped', e.hash, 'mined')
  }

  /**
   * Re-read state for the given senders, or all senders (after a dev state edit or a rollback,
   * when any balance or nonce may have changed).
   */
  revalidate(senders?: readonly Uint8Array[], getAccount?: GetAccount): Promise<void> {
    return this.#exclusive(async () => {
      const map = new Map<string, Uint8Array>()
      if (senders === undefined) for (const s of this.#senders.values()) map.set(s.key, s.sender)
      else for (const a of senders) map.set(bytesToHex(a), a)
      await this.#refresh(map, getAccount ?? this.#getAccount)
    })
  }

  async #refresh(
    senders: Map<string, Uint8Array>,
    getAccount: GetAccount,
    mined?: ReadonlySet<string>,
  ): Promise<void> {
    const keys = [...senders.keys()]
    const states = await Promise.all(keys.map((k) => getAccount(senders.get(k)!)))
    keys.forEach((k, i) => {
      const s = this.#senders.get(k)
      if (s !== undefined) this.#reconcile(s, states[i]!, mined)
    })
    this.#truncateQueued()
  }

  /** Remove a transaction (hardhat_dropTransaction, or a tx the block builder found invalid). */
  remove(hash: Uint8Array): boolean {
    const e = this.#all.get(bytesToHex(hash))
    if (e === undefined) return false
    this.#removeEntry(this.#senders.get(bytesToHex(e.sender))!, e, 'removed')
    this.#truncateQueued()
    return true
  }

  /** Drop everything (anvil_dropAllTransactions). */
  clear(): void {
    const hashes = [...this.#all.values()].map((e) => e.hash)
    this.#all.clear()
    this.#senders.clear()
    this.#pending = 0
    this.#queued = 0
    for (const h of hashes) this.emit('dropped', h, 'removed')
  }

  /** Every pooled transaction, per sender in nonce order (for dev snapshots). */
  all(): PooledTx[] {
    const out: PooledTx[] = []
    for (const s of this.#senders.values()) {
      const nonces = [...s.txs.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      for (const n of nonces) {
        const e = s.txs.get(n)!
        out.push({ tx: e.tx, sender: e.sender })
      }
    }
    return out
  }

  /**
   * Replace the pool's content with `entries` (dev evm_revert): clear, then re-admit each through
   * the normal checks against current state. Returns the ones that no longer qualify.
   */
  async reset(entries: readonly PooledTx[]): Promise<Array<{ hash: Uint8Array; error: TxPoolError }>> {
    const rejected: Array<{ hash: Uint8Array; error: TxPoolError }> = []
    await this.#exclusive(async () => this.clear())
    const sorted = [...entries].sort((a, b) =>
      a.tx.nonce < b.tx.nonce ? -1 : a.tx.nonce > b.tx.nonce ? 1 : 0,
    )
    for (const { tx, sender } of sorted) {
      try {
        await this.add(tx, sender)
      } catch (err) {
        if (!(err instanceof TxPoolError)) throw err
        rejected.push({ hash: tx.hash(), error: err })
      }
    }
    return rejected
  }

  /** txpool_content / txpool_inspect. */
  content(): TxPoolContent {
    const pending = new Map<string, TypedTransaction[]>()
    const queued = new Map<string, TypedTransaction[]>()
    for (const s of this.#senders.values()) {
      const p: TypedTransaction[] = []
      for (let n = s.nonce; n < s.pendingEnd; n++) p.push(s.txs.get(n)!.tx)
      const q = [...s.txs.values()].filter((e) => e.nonce >= s.pendingEnd)
      q.sort((a, b) => (a.nonce < b.nonce ? -1 : 1))
      if (p.length > 0) pending.set(s.key, p)
      if (q.length > 0)
        queued.set(
          s.key,
          q.map((e) => e.tx),
        )
    }
    return { pending, queued }
  }

  /**
   * Next nonce for `address` counting its executable pool transactions (eth_getTransactionCount
   * "pending"), given its nonce in state.
   */
  pendingNonce(address: Uint8Array, stateNonce: bigint): bigint {
    const s = this.#senders.get(bytesToHex(address))
    let n = stateNonce
    if (s !== undefined) while (s.txs.has(n)) n++
    return n
  }

  /** Raise or lower the minimum tip; raising it drops pooled transactions below it (as geth). */
  setMinGasPrice(price: bigint): void {
    if (price < 0n) throw new RangeError('minimum gas price must be non-negative')
    this.#minGasPrice = price
    for (const s of [...this.#senders.values()]) {
      const below = [...s.txs.values()]
        .filter((e) => e.tip < price)
        .sort((a, b) => (a.nonce > b.nonce ? -1 : 1))
      for (const e of below) this.#removeEntry(s, e, 'underpriced')
    }
    this.#truncateQueued()
  }

  get minGasPrice(): bigint {
    return this.#minGasPrice
  }

  /** Base fee of the next block, used to rank transactions for eviction. */
  setBaseFee(baseFee: bigint): void {
    if (baseFee < 0n) throw new RangeError('base fee must be non-negative')
    this.#baseFee = baseFee
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn)
    this.#lock = run.catch(() => undefined)
    return run
  }
}

/**
 * Bound on a transaction's encoded size: every scalar field fits in 33 bytes with its RLP
 * prefix (at most 16 of them), plus list headers, data, and the access / authorization lists.
 */
function sizeUpperBound(tx: TypedTransaction): number {
  let n = 16 * 33 + 16 + tx.data.length
  if ('accessList' in tx) for (const [, keys] of tx.accessList) n += 30 + 33 * keys.length
  if ('authorizationList' in tx) n += 200 * tx.authorizationList.length
  return n
}

/** The block gas limit can change while an admission awaits state (it was checked before): a
 * transaction above the sender's recorded limit forces the next admission's #reconcile. */
function noteGasLimit(s: SenderTxs, e: Entry): void {
  if (e.tx.gasLimit > s.gasLimit) s.gasLimit = -1n
}

function positiveInt(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`)
  return v
}
