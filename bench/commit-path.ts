/**
 * The per-block cost of a dev node's block production, without HTTP or admission in the way:
 * an in-process `openledger dev` (manual mining, on a LevelDB datadir) gets K transfers into its
 * pool, then `evm_mine` builds and commits them (execution, state root, state + chain + index
 * writes, the chain observers). Reports CPU µs per transaction and per block (all threads:
 * process.cpuUsage), wall ms per block and the node's phase counters — the figures behind the
 * automine loop of `pnpm bench` (about 13 transfers a block at 32 in flight), and the longest time
 * the event loop could not run a 1 ms timer during a block (how long RPC waits, eth_call p99).
 *
 * Run: node --import tsx bench/commit-path.ts [blocks=150] [txsPerBlock=14] [senders=500]
 * (from the sources: set NODE_OPTIONS=--conditions=@openledger/source, or `pnpm build` first).
 * Profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/commit-path.ts
 */
import { readdirSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis, OpenLedgerNode, silentLogger } from '@openledger/node'
import { diffCounters, scrape } from './lib/metrics.ts'
import { buildWorkload } from './lib/workload.ts'

const BLOCKS = Number(process.argv[2] ?? 150)
const PER_BLOCK = Number(process.argv[3] ?? 14)
const SENDERS = Number(process.argv[4] ?? 500)
if (![BLOCKS, PER_BLOCK, SENDERS].every((n) => Number.isSafeInteger(n) && n > 0))
  throw new Error('usage: bench/commit-path.ts [blocks] [txsPerBlock] [senders]')

const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h.slice(2), 'hex'))
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

/** CPU µs of this process's main thread and of all its other threads (/proc, clock ticks of 10 ms). */
function threadCpu(): { main: number; others: number } {
  const out = { main: 0, others: 0 }
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    } catch {
      continue // the thread ended
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const us = (Number(f[11]) + Number(f[12])) * 10_000
    if (Number(tid) === process.pid) out.main += us
    else out.others += us
  }
  return out
}

async function main(): Promise<void> {
  const total = BLOCKS * PER_BLOCK
  const work = buildWorkload(SENDERS, Math.ceil(total / SENDERS))
  const { json, accounts } = await buildDevGenesis({})
  const alloc = json.alloc as Record<string, unknown>
  for (const s of work.senders) alloc[s.address.toLowerCase()] = { balance: (10n ** 21n).toString() }
  const { mkdtemp, rm } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const datadir = await mkdtemp(join(tmpdir(), 'ol-commit-bench-'))
  const node = await OpenLedgerNode.startDev({
    datadir,
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'manual' },
    accounts,
    log: silentLogger(),
  })
  let lastTick = performance.now()
  let stall = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    stall = Math.max(stall, now - lastTick)
    lastTick = now
  }, 1)
  try {
    console.log(`load average ${load()}; ${BLOCKS} blocks × ${PER_BLOCK} transfers from ${SENDERS} senders`)
    const raws = work.raws.slice(0, total).map(hexBytes)
    // Warm-up: two blocks (first touches of code paths, caches) not counted.
    const warm = 2 * PER_BLOCK
    for (const r of raws.slice(0, warm)) await node.backend.sendRawTransaction(r)
    await node.sealer.mine()
    const before = await scrape(`${node.metricsUrl}/metrics`)
    let cpu = 0
    const threads = { main: 0, others: 0 }
    let wall = 0
    let worstBlockMs = 0
    let worstStall = 0
    let mined = 0
    for (let i = warm; i < total; i += PER_BLOCK) {
      await Promise.all(raws.slice(i, i + PER_BLOCK).map((r) => node.backend.sendRawTransaction(r)))
      stall = 0
      lastTick = performance.now()
      const tc0 = threadCpu()
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      const block = await node.sealer.mine()
      const ms = performance.now() - t0
      const c = process.cpuUsage(c0)
      const tc = threadCpu()
      threads.main += tc.main - tc0.main
      threads.others += tc.others - tc0.others
      cpu += c.user + c.system
      wall += ms
      worstBlockMs = Math.max(worstBlockMs, ms)
      worstStall = Math.max(worstStall, stall, performance.now() - lastTick)
      mined += block.transactions.length
    }
    const after = await scrape(`${node.metricsUrl}/metrics`)
    const d = diffCounters(before, after)
    const blocks = Math.ceil((total - warm) / PER_BLOCK)
    console.log(
      `${mined} txs in ${blocks} blocks: CPU ${(cpu / mined).toFixed(0)} µs/tx, ${(cpu / blocks / 1000).toFixed(2)} ms/block; ` +
        `wall ${(wall / blocks).toFixed(2)} ms/block (worst ${worstBlockMs.toFixed(1)}); longest event-loop stall ${worstStall.toFixed(1)} ms`,
    )
    console.log(
      `  main thread ${(threads.main / mined).toFixed(0)} µs/tx, other threads ${(threads.others / mined).toFixed(0)} µs/tx (/proc ticks, sampled per block)`,
    )
    const phases = Object.entries(d.phases)
      .filter(([, s]) => s > 0)
      .map(([p, s]) => `${p} ${((s * 1e6) / blocks / 1000).toFixed(2)}`)
    console.log(`phase wall ms/block: ${phases.join(', ')}`)
    if (process.env.THREADS) {
      const by = new Map<string, number>()
      for (const tid of readdirSync('/proc/self/task')) {
        const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
        const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'))
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
        by.set(`${name}:${tid}`, (by.get(`${name}:${tid}`) ?? 0) + (Number(f[11]) + Number(f[12])) * 10)
      }
      console.log([...by].map(([n, ms]) => `${n} ${ms} ms`).join(', '))
    }
    console.log(`load average at the end ${load()}`)
  } finally {
    clearInterval(ticker)
    await node.close()
    await rm(datadir, { recursive: true, force: true })
  }
}

await main()
