/**
 * eth_getLogs query logic and polling filters (eth_newFilter / newBlockFilter /
 * newPendingTransactionFilter / getFilterChanges / getFilterLogs / uninstallFilter).
 *
 * Log filters remember the next block to scan and query the backend on each poll (bounded by the
 * block-range limit per poll), so an idle filter holds no logs. Block and pending-transaction
 * filters keep a cursor into one shared log of recent hashes per kind (the newest
 * `maxFilterQueue`), so their memory does not grow with their number.
 * Filters not polled within `filterTimeoutMs` are removed, as in geth. The number of filters is
 * bounded per client (remote IP) and overall, so one client cannot lock others out.
 */
import { randomBytes } from 'node:crypto'
import type { Block } from '@ethereumjs/block'
import type { BlockRef, Hash, RpcBackend, RpcLog } from './backend.ts'
import { invalidInput, invalidParams, limitExceeded, resourceNotFound } from './errors.ts'
import { data, formatLog, type Json } from './format.ts'
import type { RpcLimits, RpcLogger } from './options.ts'
import type { FilterCriteria } from './validation.ts'

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

/** geth's filter semantics: any listed address; per topic position any of the alternatives. */
export function logMatches(log: RpcLog, criteria: Pick<FilterCriteria, 'addresses' | 'topics'>): boolean {
  if (criteria.addresses.length > 0 && !criteria.addresses.some((a) => sameBytes(a, log.address)))
    return false
  if (criteria.topics.length > log.topics.length) return false
  for (let i = 0; i < criteria.topics.length; i++) {
    const wanted = criteria.topics[i]
    if (wanted === null || wanted === undefined) continue
    const topic = log.topics[i]!
    if (!wanted.some((t) => sameBytes(t, topic))) return false
  }
  return true
}

/** Resolves a tag or number to a block number; tags follow the head (BFT blocks are final). */
export async function resolveBlockNumber(backend: RpcBackend, ref: BlockRef | undefined): Promise<bigint> {
  if (ref === undefined) return backend.headNumber()
  if ('number' in ref) return ref.number
  if ('hash' in ref) {
    const block = await backend.getBlock(ref)
    if (!block) throw resourceNotFound('unknown block')
    return block.header.number
  }
  switch (ref.tag) {
    case 'earliest':
      return 0n
    case 'latest':
    case 'pending':
      return backend.headNumber()
    default: {
      const block = await backend.getBlock(ref)
      if (!block) throw resourceNotFound(`${ref.tag} block not found`)
      return block.header.number
    }
  }
}

type LogLimits = Pick<RpcLimits, 'maxLogBlockRange' | 'maxLogResults'>

/** Logs of one block range, enforcing the block-range and result-count limits. */
async function rangeLogs(
  backend: RpcBackend,
  criteria: FilterCriteria,
  from: bigint,
  to: bigint,
  limits: LogLimits,
): Promise<RpcLog[]> {
  if (to - from + 1n > BigInt(limits.maxLogBlockRange)) {
    throw limitExceeded(`query exceeds max block range ${limits.maxLogBlockRange}`)
  }
  const logs = await backend.getLogs({
    fromBlock: from,
    toBlock: to,
    addresses: criteria.addresses,
    topics: criteria.topics,
    limit: limits.maxLogResults,
  })
  if (logs.length > limits.maxLogResults) {
    throw limitExceeded(`query returned more than ${limits.maxLogResults} results`)
  }
  return logs
}

/** eth_getLogs: by block hash (EIP-234) or by resolved range clipped to the head. */
export async function queryLogs(
  backend: RpcBackend,
  criteria: FilterCriteria,
  limits: LogLimits,
): Promise<RpcLog[]> {
  if (criteria.blockHash !== undefined) {
    const block = await backend.getBlock({ hash: criteria.blockHash })
    if (!block) throw resourceNotFound('unknown block')
    const receipts = (await backend.getReceipts(criteria.blockHash)) ?? []
    const logs = receipts.flatMap((r) => r.logs).filter((l) => logMatches(l, criteria))
    if (logs.length > limits.maxLogResults) {
      throw limitExceeded(`query returned more than ${limits.maxLogResults} results`)
    }
    return logs
  }
  const head = backend.headNumber()
  const from = await resolveBlockNumber(backend, criteria.fromBlock)
  let to = await resolveBlockNumber(backend, criteria.toBlock)
  if (from > to && to <= head) throw invalidInput('invalid block range params')
  if (from > head) return []
  if (to > head) to = head
  return rangeLogs(backend, criteria, from, to, limits)
}

interface LogFilter {
  kind: 'logs'
  client: string
  criteria: FilterCriteria
  next: bigint
  lastPoll: number
}
interface HashFilter {
  kind: 'blocks' | 'pendingTransactions'
  client: string
  /** Sequence number (in the kind's HashLog) of the first hash not yet returned. */
  cursor: number
  lastPoll: number
}
type Filter = LogFilter | HashFilter

/** The newest `max` hashes of one kind, numbered by arrival; hash filters read from a cursor. */
class HashLog {
  private items: Hash[] = []
  /** Sequence number of items[0]. */
  private first = 0
  constructor(private readonly max: number) {}

  get end(): number {
    return this.first + this.items.length
  }

  push(hash: Hash): void {
    this.items.push(hash)
    // Trimmed in bulk so that a push stays O(1) amortised.
    if (this.items.length >= 2 * this.max) {
      const drop = this.items.length - this.max
      this.items = this.items.slice(drop)
      this.first += drop
    }
  }

  /** Hashes from `cursor` on, at most the newest `max` (older ones were dropped, as a full queue drops them). */
  since(cursor: number): Hash[] {
    const from = Math.max(cursor - this.first, this.items.length - this.max, 0)
    return this.items.slice(from)
  }
}

export interface FilterManagerOptions {
  limits: RpcLimits
  logger: RpcLogger
  /** Milliseconds clock, injectable for expiry tests. */
  now?: () => number
}

export class FilterManager {
  private readonly filters = new Map<string, Filter>()
  private readonly perClient = new Map<string, number>()
  private readonly hashes: Record<HashFilter['kind'], HashLog>
  private readonly hashFilters: Record<HashFilter['kind'], number> = { blocks: 0, pendingTransactions: 0 }
  private readonly limits: RpcLimits
  private readonly now: () => number
  private readonly logger: RpcLogger
  private sweepTimer: NodeJS.Timeout | undefined
  private readonly onBlock = (block: Block): void => this.push('blocks', block.hash())
  private readonly onPending = (hash: Hash): void => this.push('pendingTransactions', hash)

  constructor(
    private readonly backend: RpcBackend,
    opts: FilterManagerOptions,
  ) {
    this.limits = opts.limits
    this.hashes = {
      blocks: new HashLog(opts.limits.maxFilterQueue),
      pendingTransactions: new HashLog(opts.limits.maxFilterQueue),
    }
    this.logger = opts.logger
    this.now = opts.now ?? Date.now
    backend.events.on('block', this.onBlock)
    backend.events.on('pendingTransaction', this.onPending)
    // Timer only bounds memory of abandoned filters; every filter call sweeps as well.
    this.sweepTimer = setInterval(
      () => this.sweep(),
      Math.max(1000, Math.min(this.limits.filterTimeoutMs, 60_000)),
    )
    this.sweepTimer.unref()
  }

  get size(): number {
    return this.filters.size
  }

  private push(kind: HashFilter['kind'], hash: Hash): void {
    if (this.hashFilters[kind] > 0) this.hashes[kind].push(hash)
  }

  /** Removes filters not polled within the timeout. */
  sweep(): void {
    const deadline = this.now() - this.limits.filterTimeoutMs
    for (const [id, f] of this.filters) {
      if (f.lastPoll < deadline) {
        this.remove(id, f)
        this.logger.debug({ filter: id, kind: f.kind }, 'filter expired')
      }
    }
  }

  private remove(id: string, f: Filter): void {
    this.filters.delete(id)
    const n = (this.perClient.get(f.client) ?? 1) - 1
    if (n === 0) this.perClient.delete(f.client)
    else this.perClient.set(f.client, n)
    if (f.kind !== 'logs') this.hashFilters[f.kind]--
  }

  private install(filter: Filter): string {
    this.sweep()
    const mine = this.perClient.get(filter.client) ?? 0
    if (mine >= this.limits.maxFiltersPerClient) {
      throw limitExceeded(
        `too many filters installed by this client (max ${this.limits.maxFiltersPerClient})`,
      )
    }
    if (this.filters.size >= this.limits.maxFilters) {
      throw limitExceeded(`too many filters installed (max ${this.limits.maxFilters})`)
    }
    const id = `0x${randomBytes(16).toString('hex')}`
    this.filters.set(id, filter)
    this.perClient.set(filter.client, mine + 1)
    if (filter.kind !== 'logs') this.hashFilters[filter.kind]++
    return id
  }

  /** Filters installed by one client (remote IP). */
  count(client: string): number {
    return this.perClient.get(client) ?? 0
  }

  async newLogFilter(criteria: FilterCriteria, client = 'local'): Promise<string> {
    if (criteria.blockHash !== undefined) {
      throw invalidParams('blockHash is not supported by eth_newFilter; use eth_getLogs')
    }
    const head = this.backend.headNumber()
    // Changes start after the current head; an explicit future fromBlock starts there instead.
    let next = head + 1n
    if (criteria.fromBlock && 'number' in criteria.fromBlock && criteria.fromBlock.number > next) {
      next = criteria.fromBlock.number
    }
    return this.install({ kind: 'logs', client, criteria, next, lastPoll: this.now() })
  }

  newBlockFilter(client = 'local'): string {
    return this.install({ kind: 'blocks', client, cursor: this.hashes.blocks.end, lastPoll: this.now() })
  }

  newPendingTransactionFilter(client = 'local'): string {
    const cursor = this.hashes.pendingTransactions.end
    return this.install({ kind: 'pendingTransactions', client, cursor, lastPoll: this.now() })
  }

  private lookup(id: string): Filter {
    this.sweep()
    const f = this.filters.get(id)
    if (!f) throw invalidInput('filter not found')
    return f
  }

  async getFilterChanges(id: string): Promise<Json[]> {
    const f = this.lookup(id)
    f.lastPoll = this.now()
    if (f.kind !== 'logs') {
      const log = this.hashes[f.kind]
      const hashes = log.since(f.cursor)
      f.cursor = log.end
      return hashes.map(data)
    }
    let to = this.backend.headNumber()
    const toRef = f.criteria.toBlock
    if (toRef && 'number' in toRef && toRef.number < to) to = toRef.number
    if (f.next > to) return []
    // Bounded work per poll: a filter that fell behind catches up over several polls.
    const maxEnd = f.next + BigInt(this.limits.maxLogBlockRange) - 1n
    let end = to
    if (maxEnd < end) end = maxEnd
    const logs = await rangeLogs(this.backend, f.criteria, f.next, end, this.limits)
    f.next = end + 1n
    return logs.map(formatLog)
  }

  async getFilterLogs(id: string): Promise<Json[]> {
    const f = this.lookup(id)
    if (f.kind !== 'logs') throw invalidInput('filter not found')
    f.lastPoll = this.now()
    const logs = await queryLogs(this.backend, f.criteria, this.limits)
    return logs.map(formatLog)
  }

  uninstall(id: string): boolean {
    this.sweep()
    const f = this.filters.get(id)
    if (f === undefined) return false
    this.remove(id, f)
    return true
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
    this.backend.events.off('block', this.onBlock)
    this.backend.events.off('pendingTransaction', this.onPending)
    this.filters.clear()
    this.perClient.clear()
  }
}
