/**
 * A node's own view of the L1: its head, confirmed blocks, and the Portal's deposits between two
 * L1 blocks, each answer checked against the canonical chain at the time it was read. Proposers
 * ask it what the next L2 block may consume (`planNext`); every node asks it to re-derive what a
 * block claims to have consumed (`depositsBetween`). All calls are bounded in time.
 */
import { createPublicClient, type Hex, http, type PublicClient } from 'viem'
import { compareDeposits, type Deposit, decodeDepositLog, TRANSACTION_DEPOSITED_TOPIC } from '../deposits.ts'

export interface L1Header {
  number: bigint
  hash: Hex
  timestamp: bigint
}

/** The last L1 block whose deposits the L2 has applied (stored in the L1Block predeploy). */
export interface L1Cursor {
  number: bigint
  hash: Hex
}

export class L1DerivationError extends Error {
  readonly code = 'L1_DERIVATION'
  constructor(
    message: string,
    /** True when waiting (for the L1 endpoint to catch up or come back) may resolve it. */
    readonly transient = false,
  ) {
    super(message)
    this.name = 'L1DerivationError'
  }
}

export interface L1ViewOptions {
  url: string
  portal: Hex
  confirmations: number
  /** Upper bound of L1 blocks one L2 block may consume (bounds the log queries behind a block). */
  maxRange?: number
  /** eth_getLogs range per request. */
  logsChunk?: number
  /** Per-request timeout. */
  timeoutMs?: number
}

export interface DepositPlan {
  origin: L1Header
  deposits: Deposit[]
}

const DEFAULT_MAX_RANGE = 1000

export class L1View {
  readonly client: PublicClient
  readonly confirmations: number
  readonly maxRange: number
  private readonly logsChunk: number
  private head_: { number: bigint; at: number } | undefined
  /** Confirmed blocks by number (stable unless the L1 reorgs deeper than the confirmation depth). */
  private readonly byNumber = new Map<bigint, L1Header>()
  private readonly byHash = new Map<string, L1Header>()
  /** Derivations already done: `${from.hash}:${to.hash}` → deposits. */
  private readonly derived = new Map<string, Deposit[]>()

  constructor(private readonly opts: L1ViewOptions) {
    this.client = createPublicClient({
      transport: http(opts.url, { timeout: opts.timeoutMs ?? 10_000, retryCount: 1 }),
      cacheTime: 0,
    }) as PublicClient
    this.confirmations = opts.confirmations
    this.maxRange = opts.maxRange ?? DEFAULT_MAX_RANGE
    this.logsChunk = opts.logsChunk ?? 2000
  }

  /** Last observed L1 head (undefined before the first poll). */
  get head(): { number: bigint; at: number } | undefined {
    return this.head_
  }

  async refreshHead(): Promise<bigint> {
    const n = await this.call('eth_blockNumber', () => this.client.getBlockNumber({ cacheTime: 0 }))
    this.head_ = { number: n, at: Date.now() }
    return n
  }

  /** Highest block with `confirmations` blocks on top of it. */
  async confirmedNumber(): Promise<bigint> {
    return (await this.refreshHead()) - BigInt(this.confirmations)
  }

  async headerByNumber(n: bigint): Promise<L1Header | undefined> {
    const cached = this.byNumber.get(n)
    if (cached) return cached
    const b = await this.call(`eth_getBlockByNumber(${n})`, () =>
      this.client.getBlock({ blockNumber: n }).catch((e: unknown) => {
        if ((e as { name?: string }).name === 'BlockNotFoundError') return undefined
        throw e
      }),
    )
    if (!b || b.hash === null || b.number === null) return undefined
    const h = { number: b.number, hash: b.hash.toLowerCase() as Hex, timestamp: b.timestamp }
    // Cache by number only below the confirmation depth; the tip may still change.
    if (this.head_ && n + BigInt(this.confirmations) <= this.head_.number) this.remember(this.byNumber, n, h)
    this.remember(this.byHash, h.hash, h)
    return h
  }

  async headerByHash(hash: Hex): Promise<L1Header | undefined> {
    const key = hash.toLowerCase()
    const cached = this.byHash.get(key)
    if (cached) return cached
    const b = await this.call(`eth_getBlockByHash(${hash})`, () =>
      this.client.getBlock({ blockHash: hash }).catch((e: unknown) => {
        if ((e as { name?: string }).name === 'BlockNotFoundError') return undefined
        throw e
      }),
    )
    if (!b || b.hash === null || b.number === null) return undefined
    const h = { number: b.number, hash: b.hash.toLowerCase() as Hex, timestamp: b.timestamp }
    this.remember(this.byHash, key, h)
    return h
  }

  /**
   * The deposits of L1 blocks (from.number, to] on the canonical chain, in order, after checking
   * that `from` and `to` are both canonical, `to` is confirmed and the range is within bounds.
   */
  async depositsBetween(from: L1Cursor, toHash: Hex): Promise<{ origin: L1Header; deposits: Deposit[] }> {
    const key = `${from.hash.toLowerCase()}:${toHash.toLowerCase()}`
    const to = await this.headerByHash(toHash)
    if (to === undefined)
      throw new L1DerivationError(`L1 block ${toHash} is unknown to this node's L1 endpoint`, true)
    const done = this.derived.get(key)
    if (done) return { origin: to, deposits: done }
    if (to.number <= from.number)
      throw new L1DerivationError(
        `L1 origin ${to.number} does not advance past the consumed block ${from.number}`,
      )
    if (to.number - from.number > BigInt(this.maxRange))
      throw new L1DerivationError(
        `L1 origin ${to.number} is more than ${this.maxRange} blocks past ${from.number}`,
      )
    let head = this.head_?.number ?? (await this.refreshHead())
    if (to.number + BigInt(this.confirmations) > head) head = await this.refreshHead()
    if (to.number + BigInt(this.confirmations) > head)
      throw new L1DerivationError(
        `L1 origin ${to.number} has fewer than ${this.confirmations} confirmations (this node's L1 head is ${head})`,
        true,
      )
    await this.expectCanonical(to)
    await this.expectCanonical(from, 'consumed')
    const deposits = await this.logs(from.number + 1n, to.number)
    // The logs came from the chain as it was when they were read: check every block they name,
    // and the origin once more, against the canonical chain.
    for (const d of deposits) {
      const h = await this.headerByNumber(d.l1BlockNumber)
      if (h === undefined || h.hash !== d.l1BlockHash)
        throw new L1DerivationError(`L1 reorged while reading deposits (block ${d.l1BlockNumber})`, true)
    }
    await this.expectCanonical(to)
    this.remember(this.derived, key, deposits)
    return { origin: to, deposits }
  }

  /**
   * What the next L2 block on top of `cursor` may consume: the newest confirmed L1 block within
   * `maxRange`, moved back until its deposits fit in `gasBudget` (one L1 block always fits: the
   * Portal caps each L1 block's deposit gas at the same budget). Undefined when nothing new is
   * confirmed.
   */
  async planNext(cursor: L1Cursor, gasBudget: bigint): Promise<DepositPlan | undefined> {
    const confirmed = await this.confirmedNumber()
    if (confirmed <= cursor.number) return undefined
    let target =
      confirmed < cursor.number + BigInt(this.maxRange) ? confirmed : cursor.number + BigInt(this.maxRange)
    const top = await this.headerByNumber(target)
    if (top === undefined) throw new L1DerivationError(`L1 block ${target} is unknown`, true)
    const all = await this.depositsBetween(cursor, top.hash)
    let gas = 0n
    let cut: bigint | undefined
    for (const d of all.deposits) {
      gas += d.gasLimit
      if (gas > gasBudget) {
        cut = d.l1BlockNumber - 1n
        break
      }
    }
    if (cut === undefined) return all
    // The block that overflows is left for the next L2 block (it fits alone: cut ≥ cursor + 1
    // unless a single L1 block exceeds the budget, which the Portal prevents; then take it alone).
    target = cut > cursor.number ? cut : cursor.number + 1n
    const origin = await this.headerByNumber(target)
    if (origin === undefined) throw new L1DerivationError(`L1 block ${target} is unknown`, true)
    return { origin, deposits: all.deposits.filter((d) => d.l1BlockNumber <= target) }
  }

  private async expectCanonical(h: L1Cursor, what = 'origin'): Promise<void> {
    const canonical = await this.headerByNumber(h.number)
    if (canonical === undefined || canonical.hash !== h.hash.toLowerCase()) {
      throw new L1DerivationError(
        `L1 ${what} block ${h.number} (${h.hash}) is not on this node's canonical L1 chain (${canonical?.hash ?? 'missing'})`,
        // A consumed block that left the canonical chain means a reorg deeper than the confirmation
        // depth: no amount of waiting fixes that.
        what !== 'consumed',
      )
    }
  }

  private async logs(fromBlock: bigint, toBlock: bigint): Promise<Deposit[]> {
    const out: Deposit[] = []
    for (let lo = fromBlock; lo <= toBlock; lo += BigInt(this.logsChunk)) {
      const hi = lo + BigInt(this.logsChunk) - 1n < toBlock ? lo + BigInt(this.logsChunk) - 1n : toBlock
      const logs = await this.call(`eth_getLogs(${lo}..${hi})`, () =>
        this.client.request({
          method: 'eth_getLogs',
          params: [
            {
              address: this.opts.portal,
              topics: [TRANSACTION_DEPOSITED_TOPIC],
              fromBlock: `0x${lo.toString(16)}`,
              toBlock: `0x${hi.toString(16)}`,
            },
          ],
        }),
      )
      for (const l of logs as Array<Record<string, unknown>>) {
        if (String(l.address).toLowerCase() !== this.opts.portal.toLowerCase()) continue
        out.push(
          decodeDepositLog({
            address: l.address as Hex,
            topics: l.topics as Hex[],
            data: l.data as Hex,
            blockHash: l.blockHash as Hex,
            blockNumber: l.blockNumber === null ? null : BigInt(l.blockNumber as string),
            logIndex: l.logIndex === null ? null : Number(BigInt(l.logIndex as string)),
            removed: l.removed as boolean | undefined,
          }),
        )
      }
    }
    return out.sort(compareDeposits)
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (e) {
      if (e instanceof L1DerivationError) throw e
      throw new L1DerivationError(`L1 request ${what} failed: ${(e as Error).message.split('\n')[0]}`, true)
    }
  }

  private remember<K, V>(map: Map<K, V>, k: K, v: V): void {
    if (map.size >= 4096) map.delete(map.keys().next().value as K)
    map.set(k, v)
  }
}
