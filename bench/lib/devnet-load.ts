/**
 * The devnet benchmark's load: pre-signed transfers sent round-robin to the validators' RPC ports
 * (closed loop, a fixed number in flight) while node 0's head is followed; a transaction is final
 * once it is in a sealed block there (QBFT has no forks). Two shapes:
 *  - count: send every transfer, then wait until all are final (`pnpm bench` section h);
 *  - timed: send for warm-up + window seconds (the issue-16 figure: "≥ 600 tx/s sustained for
 *    60 s"), then stop and wait for what was sent. Committed tx/s is what blocks sealed inside the
 *    window carried, divided by the window — not the sends, and not a count/elapsed of a load that
 *    ended early. If the transfers run out before the window ends, `ranOutAtMs` says when.
 */
import { keccak256 } from 'ethers'
import { monotonicUs } from './cpu-profile.ts'
import type { Timeline } from './devnet-timeline.ts'
import { type RpcClient, RpcError } from './rpc.ts'

export interface SeenBlock {
  number: number
  /** performance.now() when the follower saw it sealed on node 0. */
  at: number
  txs: number
}

export interface LoadResult {
  t0: number
  t0Us: number
  /** Transfers sent (and finalised: the load waits for every one). */
  sent: number
  latencies: number[]
  seen: SeenBlock[]
  /** The measured window (performance.now()); count mode: t0 → the last block with transactions. */
  window: { from: number; to: number }
  /** Monotonic µs of the last block with transactions (the CPU profile's cut). */
  lastSeenUs: number
  /** Timed mode: the pre-signed transfers ended this long after t0, before the window did. */
  ranOutAtMs?: number
}

/** After the last send, how long the follower waits for every transfer to be final. */
const DRAIN_MS = 300_000

/** A keep-alive socket closed by the server under load is not the node refusing the request. */
function isReset(e: unknown): boolean {
  const code = (e as { code?: string }).code
  return code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test((e as Error).message ?? '')
}

async function send(rpc: RpcClient, raw: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rpc.call('eth_sendRawTransaction', [raw])
      return
    } catch (e) {
      // A retry after a reset may find the first attempt admitted: that is a send, not an error.
      if (attempt > 0 && e instanceof RpcError && /already known|known transaction/i.test(e.message)) return
      if (attempt < 3 && isReset(e)) continue
      throw e
    }
  }
}

async function call<T>(rpc: RpcClient, method: string, params: unknown[]): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await rpc.call<T>(method, params)
    } catch (e) {
      if (attempt < 3 && isReset(e)) continue
      throw e
    }
  }
}

export async function runLoad(
  rpcs: RpcClient[],
  raws: readonly string[],
  o: {
    startBlock: number
    concurrency: number
    timed?: { warmupMs: number; windowMs: number }
    /** Counts answered sends and committed transactions second by second (--timeline). */
    timeline?: Timeline
  },
): Promise<LoadResult> {
  const tl = o.timeline
  const submitted = new Map<string, number>()
  const latencies: number[] = []
  const seen: SeenBlock[] = []
  let lastSeenUs = 0
  let lastTxsAt = 0
  let i = 0
  let ranOutAtMs: number | undefined
  const t0 = performance.now()
  const t0Us = monotonicUs()
  tl?.start()
  const stopAt = o.timed ? t0 + o.timed.warmupMs + o.timed.windowMs : Number.POSITIVE_INFINITY
  const sender = async () => {
    for (;;) {
      if (aborted || performance.now() >= stopAt) return
      const k = i++
      if (k >= raws.length) {
        ranOutAtMs ??= performance.now() - t0
        return
      }
      const raw = raws[k]!
      submitted.set(keccak256(raw), performance.now())
      await send(rpcs[k % rpcs.length]!, raw)
      if (tl) tl.sent++
    }
  }
  let sendingDone = false
  let drainDeadline = Number.POSITIVE_INFINITY
  let aborted = false
  const follower = (async () => {
    let next = o.startBlock + 1
    while (!aborted && (!sendingDone || latencies.length < submitted.size)) {
      if (performance.now() > drainDeadline)
        throw new Error(
          `devnet: ${submitted.size - latencies.length} of ${submitted.size} transfers not final ${DRAIN_MS / 1000} s after the load`,
        )
      const b = await call<{ transactions: string[] } | null>(rpcs[0]!, 'eth_getBlockByNumber', [
        `0x${next.toString(16)}`,
        false,
      ])
      if (!b) {
        await new Promise((r) => setTimeout(r, 20))
        continue
      }
      const now = performance.now()
      for (const h of b.transactions) {
        const s = submitted.get(h)
        if (s !== undefined) latencies.push(now - s)
      }
      if (b.transactions.length > 0) {
        lastTxsAt = now
        lastSeenUs = monotonicUs()
      }
      seen.push({ number: next, at: now, txs: b.transactions.length })
      if (tl) tl.committed += b.transactions.length
      next++
    }
  })()
  // A follower failure must end the run, not leave the senders' promise unobserved.
  const senders = Promise.all(Array.from({ length: o.concurrency }, sender)).finally(() => {
    sendingDone = true
    drainDeadline = performance.now() + DRAIN_MS
  })
  try {
    await Promise.race([senders, follower])
    await senders
    await follower
  } catch (e) {
    aborted = true
    throw e
  } finally {
    tl?.stop()
  }
  const window = o.timed
    ? { from: t0 + o.timed.warmupMs, to: t0 + o.timed.warmupMs + o.timed.windowMs }
    : { from: t0, to: lastTxsAt }
  return { t0, t0Us, sent: submitted.size, latencies, seen, window, lastSeenUs, ranOutAtMs }
}

/** Transactions of the blocks sealed inside (from, to]. */
export function txsIn(seen: readonly SeenBlock[], from: number, to: number): number {
  let n = 0
  for (const b of seen) if (b.at > from && b.at <= to) n += b.txs
  return n
}

/** Lowest committed tx/s over sliding `spanMs` windows (0.5 s steps) inside `w`; the whole `w` if shorter. */
export function minWindowRate(
  seen: readonly SeenBlock[],
  w: { from: number; to: number },
  spanMs: number,
): number {
  if (w.to - w.from <= spanMs) return txsIn(seen, w.from, w.to) / ((w.to - w.from) / 1000)
  let min = Number.POSITIVE_INFINITY
  for (let start = w.from; start + spanMs <= w.to; start += 500)
    min = Math.min(min, txsIn(seen, start, start + spanMs) / (spanMs / 1000))
  return min
}
