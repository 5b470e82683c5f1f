/**
 * `pnpm fuzz:rpc`: hostile JSON-RPC against a real `openledger dev` process and a real 4-validator
 * `openledger devnet`, over HTTP and WebSocket, from a seeded generator (generate.ts). Checks that
 * no node crashes, every request is answered within 60 s (later: "slow"; not within 300 s: "hang"),
 * every answer is well-formed JSON-RPC, none is an internal error or leaks a stack trace
 * (check.ts), and that the devnet still produces blocks at the end. Exit status 1 on any finding.
 * Each finding is printed when it happens with what else was in flight; the report adds the
 * slowest requests, a liveness probe's eth_blockNumber waits on every node and the fuzzer's own
 * event-loop stalls, which tell a node that stalled or queued from a machine that was slow.
 *
 *   pnpm fuzz:rpc [--requests 100000] [--seed 1] [--concurrency 16] [--target both|dev|devnet]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { checkHttp, checkPayload, expectsNoAnswer } from './check.ts'
import { type FuzzCase, generate, Rng } from './generate.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = join(ROOT, 'packages/node/bin/openledger.mjs')
/** No request may take longer (the EVM limit is 5 s on both targets; queueing behind other heavy
 * calls adds more): an answer after it is a finding ("slow"), with what it was queued behind. */
const HANG_MS = 60_000
/** The fuzzer waits this long for an answer before it calls the request a hang ("never answered"):
 * telling a late answer from none is what says whether the node stalled or queued. */
const GIVE_UP_MS = 300_000
/** A liveness probe slower than this is reported as a stall. */
const STALL_MS = 2_000
/** Idle keep-alive sockets are closed by the fuzzer well before the node's keep-alive timeout
 * (65 s): reusing one the server is closing at that moment fails with ECONNRESET, a race of HTTP
 * keep-alive every client has, not an answer of the node. */
const FREE_SOCKET_MS = 30_000

/**
 * The fuzzer's own event-loop lag: [seconds since the run started, ms late] of every 100 ms tick
 * that came more than 100 ms late. A request that was slow while the fuzzer itself could not run
 * was not (only) slow because of the node: reports say how long the fuzzer stalled meanwhile.
 */
const lags: Array<[number, number]> = []
function watchOwnLag(): () => void {
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    const late = now - last - 100
    if (late > 100) lags.push([(last - runStart) / 1000, late])
    last = now
  }, 100)
  return () => clearInterval(timer)
}

/** The fuzzer's longest stall (ms) within [from, to] seconds of the run. */
function ownStall(from: number, to: number): number {
  let max = 0
  for (const [t, ms] of lags) if (t + ms / 1000 >= from && t <= to) max = Math.max(max, ms)
  return max
}

/**
 * Calls `onHang` once `ms` have passed without `cancel()`. The verdict waits one more turn of the
 * event loop (setImmediate runs after the poll phase): when the fuzzer itself was stalled, its
 * timers run before the I/O that arrived meanwhile, and an answer already in the socket's buffer
 * would otherwise be reported as missing.
 */
function hangTimer(ms: number, onHang: () => void): { cancel: () => void } {
  let cancelled = false
  const timer = setTimeout(
    () =>
      setImmediate(() => {
        if (!cancelled) onHang()
      }),
    ms,
  )
  return {
    cancel: () => {
      cancelled = true
      clearTimeout(timer)
    },
  }
}

interface Options {
  requests: number
  seed: number
  concurrency: number
  target: 'both' | 'dev' | 'devnet'
}

function parseArgs(argv: string[]): Options {
  const o: Options = { requests: 100_000, seed: 1, concurrency: 16, target: 'both' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const v = argv[i + 1]
    if (a === '--requests') o.requests = Number(v)
    else if (a === '--seed') o.seed = Number(v)
    else if (a === '--concurrency') o.concurrency = Number(v)
    else if (a === '--target') o.target = v as Options['target']
    else if (a === '--quick') {
      o.requests = 2000
      continue
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: pnpm fuzz:rpc [--requests N] [--seed S] [--concurrency C] [--target both|dev|devnet] [--quick]\n',
      )
      process.exit(0)
    } else if (a === '--') continue
    else throw new Error(`unknown argument ${a}`)
    i++
  }
  for (const [k, v] of Object.entries(o))
    if (typeof v === 'number' && !(Number.isSafeInteger(v) && v > 0))
      throw new Error(`--${k} must be a positive integer`)
  if (!['both', 'dev', 'devnet'].includes(o.target)) throw new Error('--target must be both, dev or devnet')
  return o
}

interface Target {
  name: string
  url: string
  agent: Agent
  sockets: WebSocket[]
}

const children: ChildProcess[] = []
/** Each node's output, searched at the end for handler failures (their cause is only logged). */
const outputs: Array<{ name: string; out: () => string }> = []
const dirs: string[] = []
const crashes: string[] = []
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Spawns an `openledger` command and resolves with its output once `ready` matches it. */
function spawnCli(
  args: string[],
  name: string,
  ready: RegExp,
): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
    if (/node\d+ exited/.test(String(d))) crashes.push(`${name}: ${String(d).trim()}`)
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  child.on('exit', (code, signal) => {
    if (!stopping) crashes.push(`${name} exited (${signal ?? code})`)
  })
  outputs.push({ name, out: () => out })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out.slice(-2000)}`)), 180_000)
    const onData = () => {
      if (ready.test(out)) {
        clearTimeout(timer)
        child.stdout!.off('data', onData)
        resolve({ child, out: () => out })
      }
    }
    child.stdout!.on('data', onData)
    child.on('exit', () => reject(new Error(`${name} exited while starting:\n${out.slice(-2000)}`)))
  })
}

let stopping = false

async function startTargets(o: Options): Promise<{ targets: Target[]; devnetUrls: string[] }> {
  const targets: Target[] = []
  const mk = (name: string, url: string): Target => ({
    name,
    url,
    agent: new Agent({ keepAlive: true, maxSockets: o.concurrency + 2, timeout: FREE_SOCKET_MS }),
    sockets: [],
  })
  if (o.target !== 'devnet') {
    const { out } = await spawnCli(
      // geth's 5 s execution limit, as network nodes have (dev's default is 60 s, for developers'
      // long view calls): the 60 s answer check then means 12 executions' worth of queueing.
      ['dev', '--port', '0', '--log-level', 'warn', '--rpc.evmtimeout', '5s'],
      'openledger dev',
      /Listening on http/,
    )
    const url = /Listening on (http:\/\/\S+)/.exec(out())![1]!
    targets.push(mk('dev', url))
  }
  const devnetUrls: string[] = []
  if (o.target !== 'dev') {
    const dir = mkdtempSync(join(tmpdir(), 'ol-fuzz-devnet-'))
    dirs.push(dir)
    const base = 20_000 + Math.floor(Math.random() * 20_000)
    await spawnCli(
      [
        'devnet',
        '--validators',
        '4',
        '--port',
        String(base),
        '--p2p-port',
        String(base + 100),
        '--datadir',
        dir,
        '--log-level',
        'warn',
      ],
      'openledger devnet',
      /Press Ctrl-C/,
    )
    for (let i = 0; i < 4; i++) {
      const url = `http://127.0.0.1:${base + i}`
      devnetUrls.push(url)
      targets.push(mk(`devnet node${i}`, url))
    }
  }
  return { targets, devnetUrls }
}

function httpPost(t: Target, payload: string): Promise<{ status: number; text: string }> {
  const u = new URL(t.url)
  return new Promise((resolve, reject) => {
    const hang = hangTimer(GIVE_UP_MS, () =>
      req.destroy(new Error(`hang: no answer within ${GIVE_UP_MS / 1000} s`)),
    )
    const req = request(
      {
        agent: t.agent,
        host: u.hostname,
        port: u.port,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (d: Buffer) => chunks.push(d))
        res.on('end', () => {
          hang.cancel()
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })
        })
        res.on('error', (e) => {
          hang.cancel()
          reject(e)
        })
      },
    )
    req.on('error', (e) => {
      hang.cancel()
      reject(e)
    })
    req.end(payload)
  })
}

async function wsExchange(t: Target, payload: string, answer: boolean): Promise<string | undefined> {
  let ws = t.sockets.pop()
  if (ws === undefined || ws.readyState !== WebSocket.OPEN) {
    const fresh = new WebSocket(t.url.replace(/^http/, 'ws'))
    ws = fresh
    await new Promise<void>((resolve, reject) => {
      const hang = hangTimer(GIVE_UP_MS, () => {
        fresh.terminate()
        reject(new Error(`hang: WebSocket upgrade not answered within ${GIVE_UP_MS / 1000} s`))
      })
      fresh.once('open', () => {
        hang.cancel()
        resolve()
      })
      fresh.once('error', (e) => {
        hang.cancel()
        reject(e)
      })
    })
  }
  const socket = ws
  // Only a socket whose exchange completed goes back to the pool: after a hang (or any failure) a
  // late reply would otherwise be read as the answer to the next request sent on it.
  let clean = false
  try {
    if (!answer) {
      socket.send(payload)
      clean = true
      return undefined
    }
    const text = await new Promise<string>((resolve, reject) => {
      const hang = hangTimer(GIVE_UP_MS, () =>
        done(new Error(`hang: no answer within ${GIVE_UP_MS / 1000} s`)),
      )
      const onMessage = (raw: WebSocket.RawData) => {
        const text = raw.toString()
        if (text.includes('"eth_subscription"')) return
        done(undefined, text)
      }
      const onClose = (code: number) => done(new Error(`closed with ${code}`))
      const done = (err?: Error, text?: string) => {
        hang.cancel()
        socket.off('message', onMessage)
        socket.off('close', onClose)
        if (err) reject(err)
        else resolve(text!)
      }
      socket.on('message', onMessage)
      socket.on('close', onClose)
      socket.send(payload)
    })
    clean = true
    return text
  } finally {
    if (clean && socket.readyState === WebSocket.OPEN && t.sockets.length < 4) t.sockets.push(socket)
    else socket.terminate()
  }
}

interface Finding {
  problem: string
  /** The generator's kind of request (method, batch, raw, …). */
  kind: string
  target: string
  request: string
  /** Seconds since the run started when the request was sent, and how long it took (ms). */
  at: number
  ms: number
  transport: 'http' | 'ws'
  /** The requests of the same target in flight when it was sent (kinds), for findings about time. */
  alongside?: string
}

interface Stats {
  sent: number
  byKind: Map<string, number>
  codes: Map<string, number>
  findings: Finding[]
  maxMs: Map<string, number>
  wsCloses: Map<string, number>
  /** The slowest requests (at most SLOWEST), slowest first. */
  slowest: Finding[]
}

const SLOWEST = 10
/** Requests in flight per target: kind and start. */
const inFlight = new Map<string, Map<number, { kind: string; t0: number }>>()
let seq = 0
let runStart = 0

function alongside(target: string, self: number): string {
  const counts = new Map<string, number>()
  for (const [id, f] of inFlight.get(target) ?? [])
    if (id !== self) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1)
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}×${n}`)
    .join(' ')
}

async function runCase(t: Target, c: FuzzCase, s: Stats): Promise<void> {
  const payload = c.raw ?? JSON.stringify(c.body)
  const t0 = performance.now()
  const id = seq++
  const mine = inFlight.get(t.name) ?? new Map()
  inFlight.set(t.name, mine)
  const others = alongside(t.name, id)
  mine.set(id, { kind: c.kind, t0 })
  let problem: string | undefined
  const findings: string[] = []
  try {
    if (c.ws) {
      const answer = c.raw !== undefined || !expectsNoAnswer(c.body)
      const text = await wsExchange(t, payload, answer)
      if (text !== undefined) {
        problem = checkPayload(c.body, c.raw, text)
        tally(s, text, findings)
      }
    } else {
      const { status, text } = await httpPost(t, payload)
      problem = checkHttp(c.body, c.raw, status, text)
      if (text) tally(s, text, findings)
      else s.codes.set(`http ${status}`, (s.codes.get(`http ${status}`) ?? 0) + 1)
    }
  } catch (e) {
    const msg = (e as Error).message
    // A WebSocket the server closed (e.g. 1009 for a message over its limit) is an answer too.
    if (c.ws && /^closed with (1008|1009)$/.test(msg)) s.wsCloses.set(msg, (s.wsCloses.get(msg) ?? 0) + 1)
    else problem = msg
  } finally {
    mine.delete(id)
  }
  const ms = performance.now() - t0
  const kind = c.kind
  s.maxMs.set(kind, Math.max(s.maxMs.get(kind) ?? 0, ms))
  s.byKind.set(kind, (s.byKind.get(kind) ?? 0) + 1)
  const record = (p: string): Finding => ({
    problem: p,
    kind,
    target: t.name,
    request: payload.length > 400 ? `${payload.slice(0, 400)}…` : payload,
    at: (t0 - runStart) / 1000,
    ms,
    transport: c.ws ? 'ws' : 'http',
    alongside: others,
  })
  if (problem !== undefined) findings.unshift(problem)
  else if (ms > HANG_MS)
    findings.unshift(`slow: answered after ${(ms / 1000).toFixed(1)} s (limit ${HANG_MS / 1000} s)`)
  for (const p of findings) {
    const f = record(p)
    s.findings.push(f)
    // As it happens, so that a long run can be read (and matched with the node's log) while it runs.
    process.stdout.write(
      `  finding: ${p.slice(0, 200)} [${kind}, ${f.transport}, ${t.name}] at ${f.at.toFixed(1)} s, took ${(ms / 1000).toFixed(1)} s; in flight when sent: ${others || 'nothing'}\n`,
    )
  }
  if (s.slowest.length < SLOWEST || ms > s.slowest[s.slowest.length - 1]!.ms) {
    s.slowest.push(record(kind))
    s.slowest.sort((a, b) => b.ms - a.ms)
    s.slowest.length = Math.min(s.slowest.length, SLOWEST)
  }
}

/** Counts the answer's codes; an internal error is a finding (added to `findings`). */
function tally(s: Stats, text: string, findings: string[]): void {
  try {
    const parsed = JSON.parse(text) as unknown
    for (const r of Array.isArray(parsed) ? parsed : [parsed]) {
      const error = (r as { error?: { code?: number; message?: string } }).error
      const key = error?.code === undefined ? 'result' : String(error.code)
      s.codes.set(key, (s.codes.get(key) ?? 0) + 1)
      // Bad input must get a clear error (-32602, -32000, …): an internal error is a finding.
      if (error?.code === -32603) findings.push(`internal error: ${error.message}`)
    }
  } catch {
    // checkPayload reports it.
  }
}

interface ProbeLog {
  max: number
  stalls: number
  /** [seconds since the run started when sent, ms to answer] of every probe. */
  samples: Array<[number, number]>
}

/** eth_blockNumber on every target every 250 ms: the longest wait per target, and stalls. Its
 * samples say whether a slow request was slow because the node or the machine was (the probe is
 * slow too) or because it waited behind other work (the probe stayed fast). */
function monitor(targets: Target[]): { stop: () => Promise<Map<string, ProbeLog>> } {
  const result = new Map(targets.map((t): [string, ProbeLog] => [t.name, { max: 0, stalls: 0, samples: [] }]))
  let running = true
  const loops = targets.map(async (t) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, timeout: FREE_SOCKET_MS })
    const probe = { ...t, agent }
    while (running) {
      const t0 = performance.now()
      try {
        await httpPost(probe, '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}')
      } catch {
        // A hang is recorded by its time.
      }
      const ms = performance.now() - t0
      const r = result.get(t.name)!
      r.max = Math.max(r.max, ms)
      r.samples.push([(t0 - runStart) / 1000, ms])
      if (ms > STALL_MS) r.stalls++
      await new Promise((res) => setTimeout(res, 250))
    }
    agent.destroy()
  })
  return {
    stop: async () => {
      running = false
      await Promise.all(loops)
      return result
    },
  }
}

/** The slowest probe of `target` sent while a request was outstanding (from `at` s, for `ms`). */
function probeDuring(probes: Map<string, ProbeLog>, f: Finding): string {
  const end = f.at + f.ms / 1000
  let max = 0
  let n = 0
  for (const [t, ms] of probes.get(f.target)?.samples ?? [])
    if (t >= f.at && t <= end) {
      max = Math.max(max, ms)
      n++
    }
  return n === 0
    ? 'no probe meanwhile'
    : `eth_blockNumber meanwhile: max ${max.toFixed(0)} ms over ${n} probes`
}

function describe(f: Finding, probes: Map<string, ProbeLog>): string {
  const stall = ownStall(f.at, f.at + f.ms / 1000)
  return `at ${f.at.toFixed(1)} s, ${f.transport}, ${(f.ms / 1000).toFixed(1)} s; ${probeDuring(probes, f)}; the fuzzer's own longest stall meanwhile ${stall.toFixed(0)} ms; in flight on ${f.target} when sent: ${f.alongside || 'nothing'}`
}

async function blockNumber(url: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}',
  })
  return Number.parseInt(((await res.json()) as { result: string }).result, 16)
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2))
  const log = (s = '') => process.stdout.write(`${s}\n`)
  log(`fuzz:rpc seed ${o.seed}, ${o.requests} requests, concurrency ${o.concurrency}, target ${o.target}`)
  const { targets, devnetUrls } = await startTargets(o)
  log(`targets: ${targets.map((t) => `${t.name} ${t.url}`).join(', ')}`)
  const rng = new Rng(o.seed)
  const s: Stats = {
    sent: 0,
    byKind: new Map(),
    codes: new Map(),
    findings: [],
    maxMs: new Map(),
    wsCloses: new Map(),
    slowest: [],
  }
  const t0 = performance.now()
  runStart = t0
  const stopLag = watchOwnLag()
  const mon = monitor(targets)
  let next = 0
  let lastReport = t0
  const worker = async () => {
    while (next < o.requests) {
      next++
      const c = generate(rng)
      const target = targets[rng.int(targets.length)]!
      await runCase(target, c, s)
      s.sent++
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now()
        log(`  ${s.sent} requests, ${s.findings.length} findings, ${((lastReport - t0) / 1000).toFixed(0)} s`)
      }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, worker))
  const seconds = (performance.now() - t0) / 1000
  const probes = await mon.stop()
  stopLag()

  // Afterwards: every node answers, and the devnet still produces blocks.
  const after: string[] = []
  for (const t of targets) {
    try {
      await blockNumber(t.url)
    } catch (e) {
      after.push(`${t.name} does not answer after the run: ${(e as Error).message}`)
    }
  }
  if (devnetUrls.length > 0) {
    const before = await blockNumber(devnetUrls[0]!)
    const deadline = performance.now() + 30_000
    let now = before
    while (now < before + 3 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500))
      now = await blockNumber(devnetUrls[0]!).catch(() => now)
    }
    if (now < before + 3) after.push(`the devnet produced ${now - before} blocks in 30 s after the run`)
  }
  stopping = true
  for (const t of targets) {
    t.agent.destroy()
    for (const ws of t.sockets) ws.terminate()
  }

  log(`\n${s.sent} requests in ${seconds.toFixed(0)} s (${(s.sent / seconds).toFixed(0)}/s)`)
  log(
    `answers by code: ${[...s.codes.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  )
  if (s.wsCloses.size > 0)
    log(
      `WebSocket closes by the server: ${[...s.wsCloses.entries()].map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    )
  const slowest = [...s.maxMs.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6)
  log(`slowest kinds (max ms): ${slowest.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`)
  log(
    `liveness probes (eth_blockNumber every 250 ms): ${[...probes.entries()].map(([n, p]) => `${n} max ${p.max.toFixed(0)} ms${p.stalls ? `, ${p.stalls} over ${STALL_MS} ms` : ''}`).join('; ')}`,
  )
  // The fuzzer's own stalls (machine load, its GC): a slow probe or request that coincides with one
  // is not evidence against the node on its own.
  const ownMax = lags.reduce((m, [, ms]) => Math.max(m, ms), 0)
  const probeStalls = [...probes.values()].flatMap((p) => p.samples.filter(([, ms]) => ms > STALL_MS))
  const explained = probeStalls.filter(([at, ms]) => ownStall(at, at + ms / 1000) > ms / 2).length
  log(
    `the fuzzer's own event loop: longest stall ${ownMax.toFixed(0)} ms, ${lags.filter(([, ms]) => ms > 1000).length} stalls over 1 s${probeStalls.length > 0 ? `; of the ${probeStalls.length} probes over ${STALL_MS} ms, ${explained} overlap a stall of the fuzzer longer than half their time` : ''}`,
  )

  const problems = [...crashes, ...after]
  log(
    `crashes: ${crashes.length}; not answered within ${HANG_MS / 1000} s: ${s.findings.filter((f) => /^(hang|slow)/.test(f.problem)).length} (answered later: ${s.findings.filter((f) => f.problem.startsWith('slow')).length}, never within ${GIVE_UP_MS / 1000} s: ${s.findings.filter((f) => f.problem.startsWith('hang')).length}); malformed or leaking answers: ${s.findings.filter((f) => !/^(hang|slow)/.test(f.problem)).length}`,
  )
  for (const p of problems) log(`  ${p}`)
  const groups = new Map<string, number>()
  for (const f of s.findings) {
    const key = `${f.problem.replace(/\d+/g, 'N').slice(0, 80)} [${f.kind}, ${f.transport}]`
    groups.set(key, (groups.get(key) ?? 0) + 1)
  }
  for (const [k, n] of [...groups.entries()].sort((a, b) => b[1] - a[1])) log(`  ${n}× ${k}`)
  const shown = new Set<string>()
  for (const f of s.findings) {
    const key = f.problem.replace(/\d+/g, 'N').slice(0, 80)
    if (shown.has(key) || shown.size >= 20) continue
    shown.add(key)
    log(`  finding on ${f.target}: ${f.problem}\n    ${describe(f, probes)}\n    request: ${f.request}`)
  }
  log(`slowest requests:`)
  for (const f of s.slowest)
    log(`  ${f.problem} on ${f.target}: ${describe(f, probes)}\n    request: ${f.request}`)
  // An "internal error" answer names no cause; the node logs it (without params).
  for (const { name, out } of outputs) {
    const failures = new Set(
      out()
        .split('\n')
        .filter((l) => l.includes('RPC handler failed')),
    )
    for (const l of [...failures].slice(0, 5)) log(`  ${name} logged: ${l.slice(0, 600)}`)
  }
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 3000))
  return problems.length + s.findings.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fuzz:rpc: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
