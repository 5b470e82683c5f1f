/**
 * Browser safety (Host allow-list, CORS, WebSocket origins), HTTP timeouts, per-client limits
 * (filters, WebSocket connections, send buffers) and the execution queue, against the real
 * listeners on 127.0.0.x (Linux routes all of 127/8 to loopback: distinct client IPs).
 */
import { request } from 'node:http'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { hostAllowed, originAllowed } from '../src/access.ts'
import { ExecutionQueue } from '../src/exec-queue.ts'
import { createRpcServer, type RpcServerHandle, type RpcServerOptions } from '../src/index.ts'
import { FixtureBackend } from './fixture.ts'
import { httpClient, WsClient, waitFor } from './helpers.ts'

let server: RpcServerHandle | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start(
  opts: RpcServerOptions = {},
): Promise<{ port: number; backend: FixtureBackend; server: RpcServerHandle }> {
  const backend = new FixtureBackend()
  server = createRpcServer(backend, opts)
  const { port } = await server.listen(0, '127.0.0.1')
  return { port, backend, server }
}

/** A POST through node:http so that Host and the client's source address can be chosen. */
function post(
  port: number,
  body: unknown,
  opts: { host?: string; from?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body)
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        localAddress: opts.from,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          ...(opts.host ? { host: opts.host } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let data = ''
        res.on('data', (d) => {
          data += d
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: data ? JSON.parse(data) : undefined }),
        )
      },
    )
    req.on('error', reject)
    req.end(text)
  })
}

const chainId = { jsonrpc: '2.0', id: 1, method: 'eth_chainId' }

function wsOpen(
  port: number,
  opts: { host?: string; from?: string; origin?: string } = {},
): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, {
    headers: opts.host ? { host: opts.host } : undefined,
    localAddress: opts.from,
    origin: opts.origin,
  })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
  })
}

describe('Host allow-list (DNS rebinding)', () => {
  it('refuses a foreign Host name on HTTP and WebSocket by default, admits it when listed', async () => {
    const { port } = await start()
    const evil = await post(port, chainId, { host: 'evil.example' })
    expect(evil.status).toBe(403)
    expect(evil.json.error.message).toBe('invalid host specified: evil.example')
    await expect(wsOpen(port, { host: 'evil.example' })).rejects.toThrow(/403/)
    expect((await post(port, chainId, { host: 'localhost:8545' })).status).toBe(200)
    expect((await post(port, chainId, { host: `127.0.0.1:${port}` })).status).toBe(200)
    await server!.close()

    const listed = await start({ vhosts: ['evil.example'] })
    expect((await post(listed.port, chainId, { host: 'EVIL.example:80' })).json.result).toBe('0x1')
    const ws = await wsOpen(listed.port, { host: 'evil.example' })
    ws.close()
    // Listing names replaces the default: localhost is no longer admitted, IP literals still are.
    expect((await post(listed.port, chainId, { host: 'localhost' })).status).toBe(403)
    expect((await post(listed.port, chainId, { host: '[::1]:8545' })).status).toBe(200)
  })

  it('matching rules', () => {
    expect(hostAllowed('10.0.0.7:8545', ['localhost'])).toBe(true)
    expect(hostAllowed('[fe80::1]', ['localhost'])).toBe(true)
    expect(hostAllowed('127.0.0.1.evil.example', ['localhost', '127.0.0.1'])).toBe(false)
    expect(hostAllowed('anything.example', ['*'])).toBe(true)
    expect(originAllowed('https://app.example:8080', ['app.example'])).toBe(true)
    expect(originAllowed('https://app.example:8080', ['https://app.example'])).toBe(false)
    expect(originAllowed('https://app.example', ['https://app.example/'])).toBe(true)
    expect(originAllowed('http://evil.example', ['app.example'])).toBe(false)
    expect(originAllowed('null', ['app.example'])).toBe(false)
  })
})

describe('CORS and WebSocket origins', () => {
  it('send no CORS headers and refuse browser WebSockets by default', async () => {
    const { port } = await start()
    const res = await post(port, chainId, { headers: { origin: 'http://dapp.local' } })
    expect(res.status).toBe(200)
    const raw = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { origin: 'http://dapp.local', 'content-type': 'application/json' },
      body: JSON.stringify(chainId),
    })
    expect(raw.headers.get('access-control-allow-origin')).toBeNull()
    await expect(wsOpen(port, { origin: 'http://dapp.local' })).rejects.toThrow(/403/)
    // Non-browser clients send no Origin and are unaffected.
    ;(await wsOpen(port)).close()
  })

  it('echo a listed origin', async () => {
    const { port } = await start({ corsOrigins: ['http://dapp.local'], wsOrigins: ['dapp.local'] })
    const ok = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { origin: 'http://dapp.local', 'content-type': 'application/json' },
      body: JSON.stringify(chainId),
    })
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://dapp.local')
    const other = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { origin: 'http://other.local', 'content-type': 'application/json' },
      body: JSON.stringify(chainId),
    })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    ;(await wsOpen(port, { origin: 'https://dapp.local:3000' })).close()
  })
})

/** Opens a raw TCP connection, writes `text` and resolves with what the server sends until it closes. */
function rawExchange(port: number, text: string): Promise<{ reply: string; ms: number }> {
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    let reply = ''
    socket.on('data', (d) => {
      reply += d
    })
    socket.on('close', () => resolve({ reply, ms: performance.now() - t0 }))
    socket.on('error', reject)
  })
}

describe('HTTP timeouts', () => {
  it('answer incomplete headers and incomplete bodies with 408 on time', async () => {
    const { port } = await start({ limits: { headerTimeoutMs: 400, requestTimeoutMs: 800 } })
    const headers = await rawExchange(port, 'POST / HTTP/1.1\r\nHost: localhost\r\n')
    expect(headers.reply).toMatch(/^HTTP\/1.1 408 Request Timeout/)
    expect(headers.reply).toContain('"request timed out"')
    // Node checks on a period of a quarter of the header timeout (here 100 ms).
    expect(headers.ms).toBeGreaterThanOrEqual(390)
    expect(headers.ms).toBeLessThan(400 + 1000)
    const body = await rawExchange(
      port,
      'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"js',
    )
    expect(body.reply).toMatch(/^HTTP\/1.1 408 Request Timeout/)
    expect(body.ms).toBeGreaterThanOrEqual(790)
    expect(body.ms).toBeLessThan(800 + 1000)
  })

  it('defaults are 30 s for headers and 60 s for the whole request', () => {
    const s = createRpcServer(new FixtureBackend())
    expect(s.limits.headerTimeoutMs).toBe(30_000)
    expect(s.limits.requestTimeoutMs).toBe(60_000)
  })
})

describe('per-client limits', () => {
  it('filters: one client at its limit does not lock out another', async () => {
    const { port } = await start({ limits: { maxFiltersPerClient: 2, maxFilters: 3 } })
    const newFilter = (from: string) =>
      post(port, { jsonrpc: '2.0', id: 1, method: 'eth_newBlockFilter', params: [] }, { from })
    expect((await newFilter('127.0.0.2')).json.result).toMatch(/^0x/)
    expect((await newFilter('127.0.0.2')).json.result).toMatch(/^0x/)
    expect((await newFilter('127.0.0.2')).json.error).toEqual({
      code: -32005,
      message: 'too many filters installed by this client (max 2)',
    })
    const other = await newFilter('127.0.0.3')
    expect(other.json.result).toMatch(/^0x/)
    // The overall bound still holds.
    expect((await newFilter('127.0.0.4')).json.error.message).toBe('too many filters installed (max 3)')
    // Uninstalling frees the client's slot.
    const id = other.json.result
    const un = await post(
      port,
      { jsonrpc: '2.0', id: 1, method: 'eth_uninstallFilter', params: [id] },
      { from: '127.0.0.3' },
    )
    expect(un.json.result).toBe(true)
    expect((await newFilter('127.0.0.4')).json.result).toMatch(/^0x/)
  })

  it('block filters share one hash log: each sees every new block once', async () => {
    const { port, backend } = await start({ limits: { maxFilterQueue: 2 } })
    const rpc = httpClient(port)
    const a = (await rpc.call('eth_newBlockFilter')).result as string
    const b1 = backend.addBlock([], [])
    const b = (await rpc.call('eth_newBlockFilter')).result as string
    const b2 = backend.addBlock([], [])
    const b3 = backend.addBlock([], [])
    const hex = (x: Uint8Array) => `0x${Buffer.from(x).toString('hex')}`
    // The queue keeps the newest 2: filter a lost b1.
    expect((await rpc.call('eth_getFilterChanges', [a])).result).toEqual([hex(b2.hash()), hex(b3.hash())])
    expect((await rpc.call('eth_getFilterChanges', [b])).result).toEqual([hex(b2.hash()), hex(b3.hash())])
    expect((await rpc.call('eth_getFilterChanges', [a])).result).toEqual([])
    expect(b1).toBeDefined()
  })

  it('WebSocket connections are bounded per client and overall', async () => {
    const { port } = await start({ limits: { maxWsConnectionsPerClient: 2, maxWsConnections: 3 } })
    const a1 = await wsOpen(port, { from: '127.0.0.2' })
    const a2 = await wsOpen(port, { from: '127.0.0.2' })
    await expect(wsOpen(port, { from: '127.0.0.2' })).rejects.toThrow(/429/)
    const b1 = await wsOpen(port, { from: '127.0.0.3' })
    await expect(wsOpen(port, { from: '127.0.0.4' })).rejects.toThrow(/503/)
    a1.close()
    await waitFor(() => server!.stats().wsConnections === 2)
    const a3 = await wsOpen(port, { from: '127.0.0.2' })
    for (const ws of [a2, a3, b1]) ws.close()
  })

  it('a client that never reads is dropped when the node-wide send budget is exceeded', async () => {
    const { port, backend } = await start({
      limits: { maxWsBufferedBytes: 64 * 1024 * 1024, maxWsBufferedBytesTotal: 256 * 1024 },
    })
    const slow = await WsClient.open(port)
    const fast = await WsClient.open(port)
    const slowSub = (await slow.call('eth_subscribe', ['newPendingTransactions'])).result as string
    const fastSub = (await fast.call('eth_subscribe', ['newPendingTransactions'])).result as string
    // Stop reading: the kernel buffers fill, then the server's.
    ;(slow.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    let received = 0
    fast.ws.on('message', () => received++)
    for (let round = 0; round < 2000 && server!.stats().wsConnections === 2; round++) {
      for (let i = 0; i < 500; i++)
        backend.emitter.emit('pendingTransaction', new Uint8Array(32).fill(i & 255))
      await new Promise((r) => setImmediate(r))
    }
    expect(server!.stats().wsConnections).toBe(1)
    ;(slow.ws as unknown as { _socket: { resume(): void } })._socket.resume()
    const closed = await slow.closed
    expect(closed.code === 1008 || closed.code === 1006).toBe(true)
    expect(server!.stats().wsBufferedBytes).toBeLessThan(1024 * 1024)
    // The reading client is served throughout.
    await waitFor(() => received > 0)
    expect((await fast.call('eth_chainId')).result).toBe('0x1')
    expect(slowSub).not.toBe(fastSub)
    fast.close()
  })
})

describe('execution queue', () => {
  const never = (signal?: AbortSignal) =>
    new Promise<void>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))))

  it('serves clients round-robin and bounds admission per client and overall', async () => {
    const q = new ExecutionQueue({ concurrency: 1, maxPending: 5, maxPendingPerClient: 3 })
    const order: string[] = []
    const gates: Array<() => void> = []
    const task = (name: string) => () =>
      new Promise<string>((resolve) => {
        order.push(name)
        gates.push(() => resolve(name))
      })
    const runs = [
      q.run('a', undefined, task('a1')),
      q.run('a', undefined, task('a2')),
      q.run('a', undefined, task('a3')),
    ]
    await expect(q.run('a', undefined, task('a4'))).rejects.toMatchObject({ code: -32005 })
    runs.push(q.run('b', undefined, task('b1')), q.run('b', undefined, task('b2')))
    await expect(q.run('c', undefined, task('c1'))).rejects.toMatchObject({
      code: -32005,
      message: 'too many executing requests (max 5); retry later',
    })
    expect(q.stats()).toEqual({ running: 1, waiting: 4 })
    while (gates.length > 0 || order.length < 5) {
      await waitFor(() => gates.length > 0)
      gates.shift()!()
      await new Promise((r) => setImmediate(r))
    }
    await Promise.all(runs)
    // a2 was queued (a's turn taken) before b arrived; from then on a and b alternate.
    expect(order).toEqual(['a1', 'a2', 'b1', 'a3', 'b2'])
    expect(q.stats()).toEqual({ running: 0, waiting: 0 })
  })

  it('a waiting request whose client left is dropped; a running one sees its signal', async () => {
    const q = new ExecutionQueue({ concurrency: 1, maxPending: 10, maxPendingPerClient: 10 })
    const c1 = new AbortController()
    const c2 = new AbortController()
    const running = q.run('a', c1.signal, () => never(c1.signal))
    const waiting = q.run('a', c2.signal, () => Promise.resolve('ran'))
    expect(q.stats()).toEqual({ running: 1, waiting: 1 })
    c2.abort()
    await expect(waiting).rejects.toMatchObject({ code: -32000, message: expect.stringMatching(/cancelled/) })
    c1.abort()
    await expect(running).rejects.toThrow('aborted')
    expect(q.stats()).toEqual({ running: 0, waiting: 0 })
  })

  it('over HTTP: a client that disconnects cancels its eth_call, and the queue limit is -32005', async () => {
    const { port, backend } = await start({
      limits: { executionConcurrency: 1, maxPendingExecutionsPerClient: 2 },
    })
    let aborted = 0
    let started = 0
    backend.onCall = (exec) => {
      started++
      return new Promise<void>((_, reject) =>
        exec?.signal?.addEventListener('abort', () => {
          aborted++
          reject(new Error('cancelled'))
        }),
      )
    }
    const call = { jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ to: `0x${'aa'.repeat(20)}` }] }
    const controllers = [new AbortController(), new AbortController()]
    const pending = controllers.map((c) =>
      fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(call),
        signal: c.signal,
      }).catch(() => undefined),
    )
    await waitFor(() => server!.stats().executionsRunning + server!.stats().executionsWaiting === 2)
    expect((await post(port, call)).json.error).toEqual({
      code: -32005,
      message: 'too many executing requests from this client (max 2); retry later',
    })
    // Another client is admitted.
    backend.onCall = undefined
    const other = post(port, call, { from: '127.0.0.5' })
    for (const c of controllers) c.abort()
    await Promise.all(pending)
    await waitFor(() => aborted === 1)
    expect((await other).json.result).toBe('0x0102')
    expect(started).toBe(1)
    await waitFor(() => server!.stats().executionsRunning + server!.stats().executionsWaiting === 0)
  })
})
