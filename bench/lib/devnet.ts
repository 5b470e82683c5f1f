/**
 * (h) A 4-validator QBFT devnet on this machine, every validator a real `openledger node` process:
 *  - sustained committed tx/s for the pre-signed transfers, sent round-robin to all four nodes at
 *    32 in flight, and submit → finalised latency p50/p99 (finalised = in a sealed block seen on
 *    node 0: QBFT has no forks, so inclusion is finality);
 *  - peak resident memory of the four validators together;
 *  - a fresh full node syncing from one peer (bench/lib/sync.ts): sealed empty blocks/s, and
 *    blocks/s and tx/s replaying blocks full of transfers and ERC-20 transfers.
 */
import { appendFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { privateKeyToAddress } from '@openledger/consensus'
import { buildQbftGenesis, generatePrivateKey, peerIdFromNodeKey, writeKeyFile } from '@openledger/node'
import { type CycleBreakdown, cycleBreakdown, fetchCycleTimings, formatBreakdown } from './cycle-breakdown.ts'
import { minWindowRate, runLoad, txsIn } from './devnet-load.ts'
import { formatTimeline, Timeline, type TimelineRow } from './devnet-timeline.ts'
import { type Child, freePort, makeTempDir, peakRss, removeTempDir, waitUntil } from './proc.ts'
import { RpcClient } from './rpc.ts'
import { type SyncSection, syncSection } from './sync.ts'
import { startOpenledger } from './targets.ts'
import { BASE_FEE, CHAIN_ID, GAS_LIMIT, SENDER_BALANCE, type Workload } from './workload.ts'

const CONCURRENCY = 32

export interface DevnetResult {
  validators: number
  /** Transactions committed in the measured window (count mode: all of them). */
  txs: number
  /** Transfers sent (all finalised before the run ends). */
  sent: number
  /** Timed load: the window is a fixed span of the load, not the time the transfers took. */
  timed: boolean
  /** Timed load whose pre-signed transfers ended before the window did: when (s after the start). */
  ranOutAtS?: number
  /** The measured window (timed: as asked; count: first send → last block with transactions). */
  seconds: number
  txPerSec: number
  /** Transactions of each block sealed inside the window, in order. */
  blockTxs: number[]
  latencyP50Ms: number
  latencyP99Ms: number
  blocks: number
  blocksPerSec: number
  /** Lowest committed tx/s over any 10 s span of the window (the whole window if shorter). */
  minWindowTxPerSec: number
  roundChanges: number
  /** Where the block cycle goes (qbft_getCycleTimings of every validator). */
  breakdown?: CycleBreakdown
  /** Milliseconds per committed transaction, summed over the four validators: process CPU and
   * each phase counter of node_phase_seconds_total (wall time inside the phase). */
  msPerTx?: Array<{ phase: string; ms: number }>
  /** The load window on the monotonic clock (µs), and the nodes' process CPU over it (s): what
   * a CPU profile of the run is cut to and scaled by (bench/lib/cpu-profile.ts). */
  window?: { fromUs: number; toUs: number }
  cpuSeconds?: number
  /** Gossip messages validated per committed transaction, four validators together, by topic. */
  gossipPerTx?: Array<{ topic: string; n: number }>
  /** Second by second (--timeline): sends, commits, CPU of main and other threads. */
  timeline?: TimelineRow[]
  /** 1/5/15-minute load average when the load stopped. */
  loadAverage: number[]
  rssTotalBytes: number
  rssEachBytes: number[]
  sync?: SyncSection
}

interface NodeProc {
  child: Child
  rpc: RpcClient
  rpcUrl: string
  metricsUrl: string
}

async function genesisFor(validators: Uint8Array[], w: Workload | undefined, periodSeconds: number) {
  const json = await buildQbftGenesis({
    validators,
    blockPeriodSeconds: periodSeconds,
    requestTimeoutSeconds: process.env.OL_BENCH_RT ? Number(process.env.OL_BENCH_RT) : undefined,
  })
  json.chainId = Number(CHAIN_ID)
  json.gasLimit = GAS_LIMIT.toString()
  json.baseFeePerGas = BASE_FEE.toString()
  if (w) {
    const alloc = { ...(json.alloc as Record<string, unknown>) }
    for (const a of [...w.senders, w.deployer])
      alloc[a.address.toLowerCase()] = { balance: SENDER_BALANCE.toString() }
    json.alloc = alloc
  }
  return json
}

export async function startNodeProc(
  root: string,
  name: string,
  o: {
    genesisPath: string
    datadir: string
    keyFile?: string
    rpcPort: number
    p2pPort: number
    bootnodes: string[]
    extraArgs?: string[]
    nodeFlags?: string[]
  },
): Promise<NodeProc> {
  const args = [
    ...(process.env.OL_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
    ...(o.nodeFlags ?? []),
    join(root, 'packages/node/bin/openledger.mjs'),
    'node',
    '--genesis',
    o.genesisPath,
    '--datadir',
    o.datadir,
    '--rpc.port',
    String(o.rpcPort),
    '--p2p.port',
    String(o.p2pPort),
    '--p2p.host',
    '127.0.0.1',
    '--metrics.port',
    '0',
    '--log-level',
    process.env.OL_BENCH_NODE_LOG ? 'debug' : 'warn',
    ...(o.keyFile ? ['--validator-key', o.keyFile] : []),
    ...(o.bootnodes.length ? ['--bootnodes', o.bootnodes.join(',')] : []),
    ...(o.extraArgs ?? []),
  ]
  const log = process.env.OL_BENCH_NODE_LOG
  const { child, rpcUrl, metricsUrl } = await startOpenledger(
    root,
    args,
    name,
    log ? (line) => appendFileSync(`${log}-${name.replace(/ /g, '')}.log`, `${line}\n`) : undefined,
  )
  return { child, rpc: new RpcClient(rpcUrl), rpcUrl, metricsUrl }
}

const hexNum = (h: string) => Number.parseInt(h, 16)

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!
}

/** Every sample of `name` by its label set (e.g. `{phase="execution"}`), plus the unlabelled one as ''. */
async function scrapeAll(url: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text()
  const out = new Map<string, number>()
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm')))
    out.set(m[1] ?? '', Number(m[2]))
  return out
}

/** Process CPU and the node's phase counters (node_phase_seconds_total), summed over `urls`. */
async function cpuCounters(urls: string[]): Promise<Map<string, number>> {
  const sum = new Map<string, number>()
  for (const url of urls) {
    const cpu = await scrapeAll(url, 'process_cpu_seconds_total')
    sum.set('process CPU', (sum.get('process CPU') ?? 0) + (cpu.get('') ?? 0))
    for (const [labels, v] of await scrapeAll(url, 'node_phase_seconds_total')) {
      const phase = /phase="([^"]*)"/.exec(labels)?.[1] ?? labels
      sum.set(phase, (sum.get(phase) ?? 0) + v)
    }
    // V8's pauses by kind (prom-client's default metrics): the main thread stands still in them.
    for (const [labels, v] of await scrapeAll(url, 'nodejs_gc_duration_seconds_sum')) {
      const k = `gc:${/kind="([^"]*)"/.exec(labels)?.[1] ?? labels}`
      sum.set(k, (sum.get(k) ?? 0) + v)
    }
    // Gossip messages that reached a topic validator (duplicates are dropped before it), by topic.
    for (const [labels, v] of await scrapeAll(url, 'p2p_gossip_messages_total')) {
      const k = `gossip:${/topic="([^"]*)"/.exec(labels)?.[1] ?? labels}`
      sum.set(k, (sum.get(k) ?? 0) + v)
    }
  }
  return sum
}

async function scrapeValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text()
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

/** Transactions per block in the window: spread, and the sequence (dips show as runs of small blocks). */
function blockLine(txs: readonly number[], indent: string): string[] {
  if (txs.length === 0) return []
  const s = [...txs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!
  return [
    `${indent}txs per block in the window: min ${s[0]}, p10 ${q(10)}, p50 ${q(50)}, max ${s.at(-1)}; in order: ${txs.join(' ')}`,
  ]
}

/** The figures of one devnet run, as the bench prints them. */
export function formatDevnet(r: DevnetResult, indent = '    '): string[] {
  const f = (x: number, d = 0) =>
    x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
  return [
    r.timed
      ? `${indent}${f(r.txPerSec)} tx/s committed over the ${f(r.seconds)} s window (${r.txs} txs in blocks sealed in it; ${r.sent} sent in all${r.ranOutAtS === undefined ? '' : `; the pre-signed transfers RAN OUT ${f(r.ranOutAtS, 1)} s into the load`}); lowest 10 s window ${f(r.minWindowTxPerSec)} tx/s`
      : `${indent}${f(r.txPerSec)} tx/s sustained (${r.txs} txs in ${f(r.seconds, 2)} s; lowest 10 s window ${f(r.minWindowTxPerSec)} tx/s)`,
    `${indent}${r.blocks} blocks, ${f(r.blocksPerSec, 2)} blocks/s; ${r.roundChanges} round changes (all validators)`,
    ...blockLine(r.blockTxs, indent),
    `${indent}submit → finalised p50 ${f(r.latencyP50Ms)} ms, p99 ${f(r.latencyP99Ms)} ms; load average at the end ${r.loadAverage.map((l) => l.toFixed(2)).join(' ')}`,
    ...(r.breakdown ? formatBreakdown(r.breakdown, indent) : []),
    ...(r.msPerTx
      ? [
          `${indent}ms per committed transaction, four validators together (process CPU; phases are wall time inside them):`,
          `${indent}  ${r.msPerTx.map((x) => `${x.phase} ${x.ms.toFixed(3)}`).join(', ')}`,
        ]
      : []),
    ...(r.gossipPerTx?.length
      ? [
          `${indent}gossip messages validated per committed transaction, four validators together: ${r.gossipPerTx.map((x) => `${x.topic} ${x.n.toFixed(3)}`).join(', ')}`,
        ]
      : []),
    ...(r.timeline ? formatTimeline(r.timeline, indent) : []),
  ]
}

/** Keys (written to `dir/v<i>.key`), peer ids and a 1 s genesis for an N-validator devnet. */
export async function writeDevnet(
  dir: string,
  validators: number,
): Promise<{ keys: Uint8Array[]; keyFiles: string[]; peerIds: string[]; genesisPath: string }> {
  const keys = Array.from({ length: validators }, () => generatePrivateKey())
  const genesis = await genesisFor(
    keys.map((k) => privateKeyToAddress(k)),
    undefined,
    1,
  )
  const genesisPath = join(dir, 'genesis.json')
  await import('node:fs/promises').then((fs) => fs.writeFile(genesisPath, JSON.stringify(genesis)))
  const keyFiles = keys.map((_, i) => join(dir, `v${i}.key`))
  for (let i = 0; i < validators; i++) await writeKeyFile(keyFiles[i]!, keys[i]!)
  return { keys, keyFiles, peerIds: keys.map(peerIdFromNodeKey), genesisPath }
}

/** Throughput, latency and memory of a 4-validator devnet. */
export async function devnetThroughput(
  root: string,
  w: Workload,
  validators = 4,
  opts: { nodeFlags?: string[]; timed?: { warmupMs: number; windowMs: number }; timeline?: boolean } = {},
): Promise<DevnetResult> {
  const dir = makeTempDir('openledger-devnet-bench-')
  const nodes: NodeProc[] = []
  try {
    const keys = Array.from({ length: validators }, () => generatePrivateKey())
    const genesis = await genesisFor(
      keys.map((k) => privateKeyToAddress(k)),
      w,
      1,
    )
    const genesisPath = join(dir, 'genesis.json')
    await import('node:fs/promises').then((fs) => fs.writeFile(genesisPath, JSON.stringify(genesis)))
    const ports = await Promise.all(Array.from({ length: validators * 2 }, () => freePort()))
    const addr = (i: number) =>
      `/ip4/127.0.0.1/tcp/${ports[validators + i]}/p2p/${peerIdFromNodeKey(keys[i]!)}`
    for (let i = 0; i < validators; i++) await writeKeyFile(join(dir, `v${i}.key`), keys[i]!)
    nodes.push(
      ...(await Promise.all(
        keys.map((_, i) =>
          startNodeProc(root, `validator ${i}`, {
            genesisPath,
            datadir: join(dir, `node${i}`),
            keyFile: join(dir, `v${i}.key`),
            rpcPort: ports[i]!,
            p2pPort: ports[validators + i]!,
            bootnodes: keys
              .map((_, j) => j)
              .filter((j) => j !== i)
              .map(addr),
            nodeFlags: opts.nodeFlags,
          }),
        ),
      )),
    )
    await waitUntil(
      async () =>
        (await Promise.all(nodes.map((n) => n.rpc.call<string>('eth_blockNumber')))).every(
          (h) => hexNum(h) >= 2,
        ),
      60_000,
      'devnet finalising',
    )
    const cpu0 = await cpuCounters(nodes.map((n) => n.metricsUrl))
    let rc0 = 0
    for (const n of nodes) rc0 += await scrapeValue(n.metricsUrl, 'qbft_round_changes_total')
    const startBlock = hexNum(await nodes[0]!.rpc.call<string>('eth_blockNumber'))

    const timeline = opts.timeline ? new Timeline(nodes.map((n) => n.child.pid)) : undefined
    const load = await runLoad(
      nodes.map((n) => n.rpc),
      w.raws,
      { startBlock, concurrency: CONCURRENCY, timed: opts.timed, timeline },
    )
    const { latencies, seen } = load
    const loadAverage = loadavg()
    const seconds = (load.window.to - load.window.from) / 1000
    const windowTxs = txsIn(seen, load.window.from, load.window.to)
    const rssEach = nodes.map((n) => peakRss(n.child.pid) ?? 0)
    latencies.sort((a, b) => a - b)
    // Round changes of every validator (each counts its own; a fault-free run has none anywhere).
    let rc1 = 0
    for (const n of nodes) rc1 += await scrapeValue(n.metricsUrl, 'qbft_round_changes_total')
    const cpu1 = await cpuCounters(nodes.map((n) => n.metricsUrl))
    const delta = (k: string) => (cpu1.get(k) ?? 0) - (cpu0.get(k) ?? 0)
    const gossipPerTx = [...cpu1.keys()]
      .filter((k) => k.startsWith('gossip:'))
      .map((k) => ({ topic: k.slice(7), n: delta(k) / load.sent }))
      .filter((x) => x.n > 0)
    const msPerTx = [...cpu1]
      .filter(([k]) => !k.startsWith('gossip:'))
      .map(([phase, v]) => ({ phase, ms: ((v - (cpu0.get(phase) ?? 0)) * 1000) / load.sent }))
      .filter((x) => x.ms > 0.0005)
      .sort((a, b) => b.ms - a.ms)
    const lastBlock = seen.at(-1)?.number ?? startBlock
    const breakdown = cycleBreakdown(
      await fetchCycleTimings(
        nodes.map((n) => n.rpc),
        startBlock + 1,
        lastBlock,
      ),
    )
    return {
      validators,
      txs: windowTxs,
      sent: load.sent,
      timed: opts.timed !== undefined,
      ranOutAtS: load.ranOutAtMs === undefined ? undefined : load.ranOutAtMs / 1000,
      seconds,
      txPerSec: windowTxs / seconds,
      blockTxs: seen.filter((b) => b.at > load.window.from && b.at <= load.window.to).map((b) => b.txs),
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      blocks: lastBlock - startBlock,
      blocksPerSec:
        seen.length > 1 ? (seen.length - 1) / ((seen.at(-1)!.at - seen[0]!.at) / 1000) : Number.NaN,
      minWindowTxPerSec: minWindowRate(seen, load.window, 10_000),
      roundChanges: rc1 - rc0,
      breakdown,
      msPerTx,
      window: { fromUs: load.t0Us, toUs: load.lastSeenUs },
      cpuSeconds: delta('process CPU'),
      gossipPerTx,
      timeline: timeline?.rows,
      loadAverage,
      rssTotalBytes: rssEach.reduce((a, b) => a + b, 0),
      rssEachBytes: rssEach,
    }
  } finally {
    for (const n of nodes) n.rpc.close()
    await Promise.all(nodes.map((n) => n.child.stop()))
    removeTempDir(dir)
  }
}

/** Section (h) of `pnpm bench`. */
export async function devnetScenario(
  root: string,
  w: Workload,
  opts: { quick: boolean; skip: boolean; log: (s?: string) => void },
): Promise<DevnetResult | undefined> {
  if (opts.skip) return undefined
  const { log } = opts
  log('\n(h) 4-validator QBFT devnet (4 `openledger node` processes, 1 s blocks) …')
  let result: DevnetResult | undefined
  try {
    result = await devnetThroughput(root, w)
    for (const line of formatDevnet(result)) log(line)
    log(
      `    peak RSS of the four validators: ${(result.rssTotalBytes / 2 ** 20).toFixed(0)} MiB total (goal ≤ 3 GiB)`,
    )
  } catch (err) {
    log(`    FAILED ${(err as Error).message}`)
  }
  const sync = await syncSection(root, opts)
  if (sync !== undefined) {
    if (result) result.sync = sync
    else result = { sync } as DevnetResult
  }
  if (result?.txPerSec !== undefined) {
    log(
      '    goals (issues 4, 16): ≥ 600 tx/s, p50 ≤ 1.5 s, p99 ≤ 3 s, 0 round changes, sync ≥ 2,000 blocks/s, ≤ 3 GiB:',
    )
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met')
    log(
      `      ${met(result.txPerSec >= 600)}, ${met(result.latencyP50Ms <= 1500)}, ${met(result.latencyP99Ms <= 3000)}, ${met(result.roundChanges === 0)}, ${met((result.sync?.blocksPerSec ?? 0) >= 2000)}, ${met(result.rssTotalBytes <= 3 * 2 ** 30)}`,
    )
  }
  return result
}
