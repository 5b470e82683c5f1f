/**
 * (i) The node under heavy RPC execution: N clients each keep one 30M-gas `eth_call` (an endless
 * JUMP loop, cut by the gas) in flight, for a window of S seconds, while a probe times
 * `eth_blockNumber` every 50 ms and a WebSocket `newHeads` subscription times block production
 * (1 s blocks: the delay is each interval minus 1 s). Run against `openledger dev --block-time 1`
 * and against a 4-validator devnet (every validator receives the N calls), with execution on the
 * main thread (time-sliced, `--rpc.exec-threads 0`) and on worker threads.
 */
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import WebSocket from 'ws'
import { startNodeProc, writeDevnet } from './devnet.ts'
import { type Child, freePort, makeTempDir, peakRss, removeTempDir } from './proc.ts'
import { fmt, table } from './report.ts'
import { startOpenledger } from './targets.ts'

const LOOP_ADDR = `0x${'00'.repeat(17)}c0ffee`
const HEAVY = {
  jsonrpc: '2.0',
  id: 1,
  method: 'eth_call',
  params: [{ to: LOOP_ADDR, gas: '0x1c9c380' }, 'latest', { [LOOP_ADDR]: { code: '0x5b600056' } }],
}
const PROBE = { jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] }

export interface LoadTarget {
  rpcUrl: string
  pid: number
}

export interface LoadResult {
  setup: string
  threads: number
  n: number
  seconds: number
  probes: number
  probeP50Ms: number
  probeP99Ms: number
  probeMaxMs: number
  blocks: number
  intervalP50Ms: number
  intervalMaxMs: number
  /** Largest delay of a block past its 1 s period. */
  delayMaxMs: number
  heavyDone: number
  heavyErrors: Record<string, number>
  peakRssBytes?: number
}

function post(
  agent: Agent,
  url: URL,
  body: unknown,
  timeoutMs = 120_000,
): Promise<{ error?: { message: string } }> {
  const text = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        timeout: timeoutMs,
      },
      (res) => {
        let data = ''
        res.on('data', (d) => {
          data += d
        })
        res.on('end', () => {
          try {
            resolve(JSON.parse(data))
          } catch (e) {
            reject(e)
          }
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(text)
  })
}

/**
 * Waits until every target has produced blocks (a devnet's validators found each other) and has
 * answered one heavy call (execution workers started, code warm), so neither falls in the window.
 */
async function ready(urls: URL[]): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const deadline = performance.now() + 120_000
  try {
    for (const url of urls) {
      for (;;) {
        const r = (await post(agent, url, PROBE).catch(() => undefined)) as { result?: string } | undefined
        if (r?.result !== undefined && Number.parseInt(r.result, 16) >= 2) break
        if (performance.now() > deadline) throw new Error(`${url.href} produced no blocks in 120 s`)
        await new Promise((res) => setTimeout(res, 200))
      }
      await post(agent, url, HEAVY)
    }
  } finally {
    agent.destroy()
  }
}

const pct = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!

/** One measurement: N heavy calls in flight on every target for `seconds` after a warm-up. */
export async function loadRun(
  targets: LoadTarget[],
  n: number,
  seconds: number,
  label: { setup: string; threads: number },
): Promise<LoadResult> {
  const urls = targets.map((t) => new URL(t.rpcUrl))
  await ready(urls)
  const heavyAgents = urls.map(() => new Agent({ keepAlive: true, maxSockets: n + 1 }))
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 })
  let running = true
  let measuring = false
  let heavyDone = 0
  const heavyErrors: Record<string, number> = {}
  const loops: Promise<void>[] = []
  for (let t = 0; t < urls.length; t++)
    for (let i = 0; i < n; i++)
      loops.push(
        (async () => {
          while (running) {
            try {
              const r = await post(heavyAgents[t]!, urls[t]!, HEAVY)
              if (!measuring) continue
              if (r.error) heavyErrors[r.error.message] = (heavyErrors[r.error.message] ?? 0) + 1
              heavyDone++
            } catch (e) {
              if (measuring) heavyErrors[(e as Error).message] = (heavyErrors[(e as Error).message] ?? 0) + 1
            }
          }
        })(),
      )
  // Block arrivals on the first target.
  const heads: number[] = []
  const ws = new WebSocket(targets[0]!.rpcUrl.replace(/^http/, 'ws'))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString()) as { method?: string }
    if (m.method === 'eth_subscription' && measuring) heads.push(performance.now())
  })
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))
  // Warm-up: the calls reach the node and its queue fills.
  await new Promise((r) => setTimeout(r, 2000))
  measuring = true
  const probes: number[] = []
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    const t0 = performance.now()
    await post(probeAgent, urls[0]!, PROBE).catch(() => undefined)
    probes.push(performance.now() - t0)
    await new Promise((r) => setTimeout(r, 50))
  }
  measuring = false
  running = false
  ws.close()
  for (const a of heavyAgents) a.destroy()
  probeAgent.destroy()
  await Promise.allSettled(loops)
  probes.sort((a, b) => a - b)
  const intervals = heads.slice(1).map((h, i) => h - heads[i]!)
  const sortedIntervals = [...intervals].sort((a, b) => a - b)
  return {
    ...label,
    n,
    seconds,
    probes: probes.length,
    probeP50Ms: pct(probes, 50),
    probeP99Ms: pct(probes, 99),
    probeMaxMs: probes[probes.length - 1] ?? Number.NaN,
    blocks: heads.length,
    intervalP50Ms: pct(sortedIntervals, 50),
    intervalMaxMs: sortedIntervals[sortedIntervals.length - 1] ?? Number.NaN,
    delayMaxMs: Math.max(0, ...intervals.map((i) => i - 1000)),
    heavyDone,
    heavyErrors,
  }
}

export interface RunningSetup {
  targets: LoadTarget[]
  stop(): Promise<{ peakRssBytes?: number }>
}

/** `openledger dev --block-time 1` with `threads` execution workers. */
export async function startDevSetup(root: string, threads: number): Promise<RunningSetup> {
  const dir = makeTempDir('openledger-rpcload-')
  const args = [
    join(root, 'packages/node/bin/openledger.mjs'),
    'dev',
    '--port',
    '0',
    '--metrics.port',
    '0',
    '--datadir',
    join(dir, 'data'),
    '--log-level',
    'silent',
    '--block-time',
    '1',
    '--rpc.exec-threads',
    String(threads),
  ]
  const node = await startOpenledger(root, args, 'openledger dev (rpc load)')
  return {
    targets: [{ rpcUrl: node.rpcUrl, pid: node.child.pid }],
    async stop() {
      const peakRssBytes = peakRss(node.child.pid)
      await node.child.stop()
      removeTempDir(dir)
      return { peakRssBytes }
    },
  }
}

/** A 4-validator devnet (1 s blocks) whose nodes run `threads` execution workers each. */
export async function startDevnetSetup(root: string, threads: number, validators = 4): Promise<RunningSetup> {
  const dir = makeTempDir('openledger-rpcload-net-')
  const net = await writeDevnet(dir, validators)
  const ports = await Promise.all(
    net.keys.map(async () => ({ rpc: await freePort(), p2p: await freePort() })),
  )
  const children: Child[] = []
  try {
    const procs = await Promise.all(
      net.keyFiles.map((keyFile, i) =>
        startNodeProc(root, `validator ${i}`, {
          genesisPath: net.genesisPath,
          datadir: join(dir, `node${i}`),
          keyFile,
          rpcPort: ports[i]!.rpc,
          p2pPort: ports[i]!.p2p,
          bootnodes: net.peerIds
            .map((id, j) => `/ip4/127.0.0.1/tcp/${ports[j]!.p2p}/p2p/${id}`)
            .filter((_, j) => j !== i),
          extraArgs: ['--rpc.exec-threads', String(threads)],
        }),
      ),
    )
    for (const p of procs) children.push(p.child)
    return {
      targets: procs.map((p) => ({ rpcUrl: p.rpcUrl, pid: p.child.pid })),
      async stop() {
        const peak = procs.map((p) => peakRss(p.child.pid) ?? 0).reduce((a, b) => a + b, 0)
        for (const p of procs) p.rpc.close()
        await Promise.all(children.map((c) => c.stop()))
        removeTempDir(dir)
        return { peakRssBytes: peak || undefined }
      },
    }
  } catch (err) {
    await Promise.all(children.map((c) => c.stop()))
    removeTempDir(dir)
    throw err
  }
}

export function loadTable(results: LoadResult[]): string {
  return table(
    [
      'setup',
      'exec',
      'N heavy',
      'blockNumber p50 ms',
      'p99 ms',
      'max ms',
      'blocks',
      'interval p50 ms',
      'max ms',
      'max delay ms',
      'heavy done',
      'peak RSS',
    ],
    results.map((r) => [
      r.setup,
      r.threads === 0 ? 'main thread' : `${r.threads} worker${r.threads > 1 ? 's' : ''}`,
      String(r.n),
      fmt(r.probeP50Ms, 1),
      fmt(r.probeP99Ms, 1),
      fmt(r.probeMaxMs, 0),
      String(r.blocks),
      fmt(r.intervalP50Ms, 0),
      fmt(r.intervalMaxMs, 0),
      fmt(r.delayMaxMs, 0),
      String(r.heavyDone),
      r.peakRssBytes === undefined ? '—' : `${fmt(r.peakRssBytes / 2 ** 20)} MiB`,
    ]),
  )
}

/** All combinations: setups × execution modes × N. */
export async function rpcLoadScenario(
  root: string,
  o: { seconds: number; ns: number[]; threads: number[]; devnet: boolean; log: (s?: string) => void },
): Promise<LoadResult[]> {
  const results: LoadResult[] = []
  const setups: Array<['dev' | 'devnet', (t: number) => Promise<RunningSetup>]> = [
    ['dev', (t) => startDevSetup(root, t)],
  ]
  if (o.devnet) setups.push(['devnet', (t) => startDevnetSetup(root, t)])
  for (const [name, start] of setups)
    for (const threads of o.threads)
      for (const n of o.ns) {
        o.log(`  ${name}, ${threads === 0 ? 'main thread' : `${threads} worker(s)`}, N = ${n} …`)
        const setup = await start(threads)
        let r: LoadResult
        try {
          r = await loadRun(setup.targets, n, o.seconds, { setup: name, threads })
        } finally {
          const { peakRssBytes } = await setup.stop()
          if (r!) r.peakRssBytes = peakRssBytes
        }
        const errs = Object.entries(r.heavyErrors)
          .map(([m, c]) => `${c}× ${m}`)
          .join('; ')
        if (errs) o.log(`    heavy call errors: ${errs}`)
        results.push(r)
      }
  return results
}
