/** The measured scenarios. Each one runs against a started target and returns plain figures. */
import { readFileSync } from 'node:fs'
import { diffCounters, scrape, type TimeCounters } from './metrics.ts'
import { withTimeout } from './proc.ts'
import { fmt } from './report.ts'
import type { RpcClient } from './rpc.ts'
import type { Target } from './targets.ts'
import type { Workload } from './workload.ts'

export const CONCURRENCY = 32

export interface ThroughputResult {
  txs: number
  seconds: number
  txPerSec: number
  /** Time until the last eth_sendRawTransaction was answered. */
  sendSeconds: number
  blocks: number
  /** Transactions in each block of the run, oldest first (up to {@link MAX_LISTED_BLOCKS} blocks;
   * automine makes hundreds, then only the mean is kept). */
  txsPerBlock?: number[]
  /** Block gas limit of the last block of the run. */
  gasLimit: number
  /** CPU (user + system, all threads) the node process spent per transaction over the run, µs. */
  cpuMicrosPerTx?: number
  /** Our node only: counters over the run (first send → last mined). */
  time?: TimeCounters
}

const MAX_LISTED_BLOCKS = 30

/** User + system CPU seconds of a process (all its threads), from /proc (Linux); undefined elsewhere. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(f[11]) + Number(f[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined
  }
}

/** Runs `fn` on `concurrency` workers until `next` returns undefined; the first error stops them all. */
async function pool<T>(
  concurrency: number,
  next: () => T | undefined,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let failed: unknown
  const worker = async () => {
    for (let item = next(); item !== undefined && failed === undefined; item = next()) {
      try {
        await fn(item)
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  if (failed !== undefined) throw failed
}

const hexNum = (h: string) => Number.parseInt(h, 16)

/** Deploys the view contract (pre-signed) and waits for its receipt. */
export async function deployContract(t: Target, w: Workload): Promise<void> {
  const hash = await t.rpc.call<string>('eth_sendRawTransaction', [w.deployRaw])
  const deadline = performance.now() + 30_000
  for (;;) {
    const r = await t.rpc.call<{ status: string } | null>('eth_getTransactionReceipt', [hash])
    if (r) {
      if (r.status !== '0x1') throw new Error(`${t.name}: contract deployment failed`)
      return
    }
    if (performance.now() > deadline) throw new Error(`${t.name}: contract deployment not mined after 30 s`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Waits until every transfer is in a block: on each new head, re-checks (batched) the mined nonce of
 * the senders not yet done. Polling only eth_blockNumber in between keeps the poller's load on the node low. */
async function waitAllMined(rpc: RpcClient, w: Workload, timeoutMs: number): Promise<void> {
  let remaining = w.senders.map((s) => s.address)
  const want = w.txsPerSender
  const deadline = performance.now() + timeoutMs
  let seenHead = ''
  for (;;) {
    const head = await rpc.call<string>('eth_blockNumber')
    if (head !== seenHead) {
      seenHead = head
      const left: string[] = []
      for (let i = 0; i < remaining.length; i += 100) {
        const chunk = remaining.slice(i, i + 100)
        const res = await rpc.batch(
          chunk.map((a) => ({ method: 'eth_getTransactionCount', params: [a, 'latest'] })),
        )
        res.forEach((r, j) => {
          if (r.error) throw new Error(`eth_getTransactionCount: ${r.error.message}`)
          if (hexNum(r.result as string) < want) left.push(chunk[j]!)
        })
        // Not all done in this chunk: later senders are behind too, no need to ask about them now.
        if (left.length > 0) {
          left.push(...remaining.slice(i + 100))
          break
        }
      }
      remaining = left
      if (remaining.length === 0) return
    }
    if (performance.now() > deadline) {
      throw new Error(`${remaining.length} senders still have unmined transfers after ${timeoutMs / 1000} s`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The workload's pre-signed transfers at 32 in-flight requests, until all are mined. */
export async function throughput(t: Target, w: Workload, timeoutMs: number): Promise<ThroughputResult> {
  const startBlock = hexNum(await t.rpc.call<string>('eth_blockNumber'))
  const before = t.metricsUrl ? await scrape(t.metricsUrl) : undefined
  const cpu0 = cpuSeconds(t.pid)
  let i = 0
  const t0 = performance.now()
  const run = async () => {
    await pool(
      CONCURRENCY,
      () => (i < w.raws.length ? w.raws[i++] : undefined),
      async (raw) => {
        await t.rpc.call('eth_sendRawTransaction', [raw])
      },
    )
    const sent = performance.now()
    await waitAllMined(t.rpc, w, timeoutMs)
    return sent
  }
  const sent = await withTimeout(run(), timeoutMs + 5_000, `${t.name} ${t.mode} throughput`)
  const seconds = (performance.now() - t0) / 1000
  const cpu1 = cpuSeconds(t.pid)
  const after = t.metricsUrl ? await scrape(t.metricsUrl) : undefined
  const endBlock = hexNum(await t.rpc.call<string>('eth_blockNumber'))
  const blocks = endBlock - startBlock
  let txsPerBlock: number[] | undefined
  if (blocks <= MAX_LISTED_BLOCKS) {
    const res = await t.rpc.batch(
      Array.from({ length: blocks }, (_, k) => ({
        method: 'eth_getBlockTransactionCountByNumber',
        params: [`0x${(startBlock + 1 + k).toString(16)}`],
      })),
    )
    txsPerBlock = res.map((r) => hexNum(r.result as string))
  }
  const last = await t.rpc.call<{ gasLimit: string }>('eth_getBlockByNumber', ['latest', false])
  return {
    txs: w.raws.length,
    seconds,
    txPerSec: w.raws.length / seconds,
    sendSeconds: (sent - t0) / 1000,
    blocks,
    txsPerBlock,
    gasLimit: hexNum(last.gasLimit),
    cpuMicrosPerTx:
      cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1e6) / w.raws.length : undefined,
    time: before && after ? diffCounters(before, after) : undefined,
  }
}

/** One line: tx/s, blocks, transactions per block, CPU per transaction and (our node) where the
 * time went, so that a change in tx/s can be traced to fuller blocks, admission or CPU. */
export function describeRun(tp: ThroughputResult): string {
  const f = fmt
  const perBlock = tp.txsPerBlock
    ? tp.txsPerBlock.length <= 12
      ? tp.txsPerBlock.join('/')
      : `mean ${f(tp.txs / Math.max(1, tp.blocks), 1)}, max ${Math.max(...tp.txsPerBlock)}`
    : `mean ${f(tp.txs / Math.max(1, tp.blocks), 1)}`
  const phases = tp.time
    ? ` [${Object.entries(tp.time.phases)
        .map(([k, v]) => `${k} ${f(v, 2)}`)
        .join(', ')} s]`
    : ''
  return (
    `${f(tp.txPerSec)} tx/s (${tp.txs} txs: sends done ${f(tp.sendSeconds, 2)} s, all mined ${f(tp.seconds, 2)} s; ` +
    `${tp.blocks} blocks of gas limit ${f(tp.gasLimit / 1e6, 0)} M, txs per block ${perBlock}; ` +
    `process CPU ${f(tp.cpuMicrosPerTx)} µs/tx)${phases}`
  )
}

export interface LatencyResult {
  n: number
  p50Ms: number
  p99Ms: number
  meanMs: number
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((sorted.length * p) / 100) - 1)]!
}

/** N sequential eth_call of the contract's view `x()` at latest, after a short warm-up. */
export async function callLatency(t: Target, w: Workload, n: number): Promise<LatencyResult> {
  const params = [{ to: w.contract, data: w.callData }, 'latest']
  const expected = `0x${(42).toString(16).padStart(64, '0')}`
  const check = (r: string) => {
    if (r !== expected) throw new Error(`${t.name}: eth_call x() returned ${r}, expected ${expected}`)
  }
  for (let k = 0; k < Math.min(200, n); k++) check(await t.rpc.call<string>('eth_call', params))
  const times: number[] = []
  for (let k = 0; k < n; k++) {
    const s = performance.now()
    const r = await t.rpc.call<string>('eth_call', params)
    times.push(performance.now() - s)
    check(r)
  }
  times.sort((a, b) => a - b)
  return {
    n,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    meanMs: times.reduce((a, b) => a + b, 0) / n,
  }
}

export interface RateResult {
  requests: number
  seconds: number
  reqPerSec: number
}

/** eth_blockNumber from 32 concurrent workers for `seconds`. */
export async function blockNumberRate(t: Target, seconds: number): Promise<RateResult> {
  let count = 0
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  await pool(
    CONCURRENCY,
    () => (performance.now() < end ? true : undefined),
    async () => {
      await t.rpc.call('eth_blockNumber')
      count++
    },
  )
  const elapsed = (performance.now() - t0) / 1000
  return { requests: count, seconds: elapsed, reqPerSec: count / elapsed }
}
