/**
 * Block-range sync: whenever a peer reports a head above ours, fetch the missing blocks in
 * batches from the best peer and import them through the BlockImporter (seal quorum verified
 * before execution). The next batch is requested, decoded and its seals and senders recovered on
 * the worker threads while the current one is imported. A peer that
 * fails or serves bad blocks is set aside for a while and the next best one is used.
 */
import type { Block } from '@ethereumjs/block'
import type { Chain } from '../chain/chain.ts'
import { type BlockImporter, ImportError, type PreparedRange } from '../chain/importer.ts'
import { BlockDecodeError } from '../consensus/block-codec.ts'
import type { Logger } from '../logger.ts'
import type { NodeMetrics } from '../metrics.ts'

/** How far a running sync has come (eth_syncing's fields; the RPC backend reports it). */
export interface SyncProgress {
  startingBlock: bigint
  currentBlock: bigint
  highestBlock: bigint
}

export interface SyncPeers {
  requestBlocksByRange(
    peerId: string,
    from: bigint,
    count: number,
    opts?: { timeoutMs?: number },
  ): Promise<Uint8Array[]>
}

export interface RangeSyncOptions {
  chain: Chain
  metrics?: NodeMetrics
  importer: BlockImporter
  network: SyncPeers
  decode: (bytes: Uint8Array) => Block
  log: Logger
  signal: AbortSignal
  /** Blocks per request (the serving side caps it at 128). */
  batch?: number
  /** Ranges requested ahead of the one importing (default 2): the source's serving, the transfer
   * and the seal recovery of the next ranges overlap this one's import. */
  ahead?: number
  /** A gap at least this large is reported by eth_syncing and /health; smaller gaps are just
   * filled (a validator one block behind is not "syncing"). */
  reportGap?: bigint
}

/** A fetched range: its blocks decoded (up to the first undecodable one, `bad`) and prepared. */
interface FetchedRange {
  /** Blocks the peer sent, and their encoded size. */
  count: number
  bytes: number
  blocks: Block[]
  bad: unknown
  prepared: PreparedRange
}

const BENCH_PEER_MS = 10_000
/** A range larger than this (encoded) is followed by one prefetched range only. */
const AHEAD_BYTES = 4 * 1024 * 1024
const PROGRESS_MS = 2_000

export class RangeSync {
  readonly #heads = new Map<string, bigint>()
  readonly #benched = new Map<string, number>()
  #running: Promise<void> | undefined
  #report: SyncProgress | undefined
  readonly #batch: number
  readonly #ahead: number
  readonly #reportGap: bigint

  constructor(private readonly o: RangeSyncOptions) {
    this.#batch = o.batch ?? 128
    this.#ahead = o.ahead ?? 2
    this.#reportGap = o.reportGap ?? 4n
  }

  /** A peer's head (status handshake, periodic status, or a gossiped block ahead of us). */
  onPeerHead(peerId: string, head: bigint): void {
    const known = this.#heads.get(peerId) ?? -1n
    if (head > known) this.#heads.set(peerId, head)
    if (head > this.o.chain.head.header.number) this.#start()
  }

  onPeerGone(peerId: string): void {
    this.#heads.delete(peerId)
  }

  /** eth_syncing: false when in sync. */
  status(): SyncProgress | false {
    return this.#report ?? false
  }

  get syncing(): boolean {
    return this.#report !== undefined
  }

  /** Resolves when no sync is running. */
  idle(): Promise<void> {
    return this.#running ?? Promise.resolve()
  }

  #start(): void {
    if (this.#running || this.o.signal.aborted) return
    this.#running = this.#run()
      .catch((err) => this.o.log.warn({ err }, 'sync stopped'))
      .finally(() => {
        this.#running = undefined
        this.#report = undefined
        this.o.metrics?.syncTarget.set(0)
        // Heads learned meanwhile may already be above ours again.
        if (!this.o.signal.aborted && this.#best()) this.#start()
      })
  }

  #best(): { peer: string; head: bigint } | undefined {
    const ours = this.o.chain.head.header.number
    const now = Date.now()
    let best: { peer: string; head: bigint } | undefined
    for (const [peer, head] of this.#heads) {
      if ((this.#benched.get(peer) ?? 0) > now) continue
      if (head > ours && (!best || head > best.head)) best = { peer, head }
    }
    return best
  }

  async #run(): Promise<void> {
    const { chain, log } = this.o
    const startedAt = chain.head.header.number
    let lastLog = performance.now()
    let lastLogHead = startedAt
    // Requested ahead of the import (consecutive, each assuming the one before comes back full).
    let prefetch: Array<{ from: bigint; count: number; peer: string; req: Promise<FetchedRange> }> = []
    for (;;) {
      if (this.o.signal.aborted) return
      const best = this.#best()
      if (!best) return
      const head = chain.head.header.number
      if (best.head - head >= this.#reportGap || this.#report) {
        this.#report = { startingBlock: startedAt, currentBlock: head, highestBlock: best.head }
        this.o.metrics?.syncTarget.set(Number(best.head))
      }
      const from = head + 1n
      const count = Number(best.head - head < BigInt(this.#batch) ? best.head - head : BigInt(this.#batch))
      const first = prefetch[0]
      const req =
        first !== undefined && first.from === from && first.peer === best.peer
          ? first.req
          : this.#fetch(best.peer, from, count)
      prefetch = first !== undefined && req === first.req ? prefetch.slice(1) : []
      let got: FetchedRange
      const t = performance.now()
      try {
        got = await req
        this.#phase('sync_fetch_wait', t)
      } catch (err) {
        log.debug({ err, peer: best.peer }, 'block range request failed')
        this.#bench(best.peer)
        continue
      }
      if (got.count === 0) {
        // The peer no longer has what it announced (or lied): forget its head.
        this.#heads.delete(best.peer)
        continue
      }
      // The next ranges are fetched, decoded and their seals recovered while this one imports.
      let next = from + BigInt(got.count)
      if (prefetch[0] !== undefined && prefetch[0].from !== next) prefetch = [] // a short answer
      const last = prefetch[prefetch.length - 1]
      if (last !== undefined) next = last.from + BigInt(last.count)
      // Only ranges of small blocks are requested more than one ahead: bounded memory.
      const ahead = got.bytes <= AHEAD_BYTES ? this.#ahead : 1
      while (prefetch.length < ahead && next <= best.head) {
        const n = Number(
          best.head - next + 1n < BigInt(this.#batch) ? best.head - next + 1n : BigInt(this.#batch),
        )
        prefetch.push({ from: next, count: n, peer: best.peer, req: this.#fetch(best.peer, next, n) })
        next += BigInt(n)
      }
      try {
        if (this.o.signal.aborted) return
        await this.o.importer.importRange(got.blocks, got.prepared)
        if (got.bad) throw got.bad
      } catch (err) {
        if (!(err instanceof ImportError || err instanceof BlockDecodeError)) throw err
        // NOT_NEXT can be a race with gossip or consensus importing the same height: retry.
        if (err instanceof ImportError && err.code === 'NOT_NEXT') continue
        log.warn({ peer: best.peer, err: err.message }, 'peer served an invalid block')
        this.#bench(best.peer)
        prefetch = []
        continue
      }
      const now = performance.now()
      if (this.#report && now - lastLog >= PROGRESS_MS) {
        const h = chain.head.header.number
        const rate = (Number(h - lastLogHead) * 1000) / (now - lastLog)
        log.info({ head: String(h), target: String(best.head), blocksPerSecond: Math.round(rate) }, 'syncing')
        lastLog = now
        lastLogHead = h
      }
    }
  }

  /**
   * Requests a range, decodes it as soon as it arrives and starts its off-thread work (seal and
   * sender recovery), so a prefetched range is ready by the time the current one is imported.
   * Blocks after an undecodable one are dropped; the error is kept for after the valid prefix.
   */
  #fetch(peer: string, from: bigint, count: number): Promise<FetchedRange> {
    const fetched = this.o.network.requestBlocksByRange(peer, from, count).then((raw) => {
      const t = performance.now()
      const blocks: Block[] = []
      let bad: unknown
      let size = 0
      for (const bytes of raw) size += bytes.length
      for (const bytes of raw) {
        try {
          blocks.push(this.o.decode(bytes))
        } catch (e) {
          bad = e
          break
        }
      }
      this.#phase('sync_decode', t)
      return { count: raw.length, bytes: size, blocks, bad, prepared: this.o.importer.prepareRange(blocks) }
    })
    fetched.catch(() => {}) // a prefetch nobody awaits (peer changed, sync stopped)
    return fetched
  }

  /** Where sync time goes (node_phase_seconds_total; the sync benchmark prints the breakdown). */
  #phase(name: string, t0: number): void {
    this.o.metrics?.phaseSeconds.inc({ phase: name }, (performance.now() - t0) / 1000)
  }

  #bench(peer: string): void {
    this.#benched.set(peer, Date.now() + BENCH_PEER_MS)
  }
}
