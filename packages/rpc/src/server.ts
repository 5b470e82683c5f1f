/**
 * JSON-RPC 2.0 dispatch and transport: HTTP POST and WebSocket on one port (node:http + ws).
 * Each request is isolated: a throwing handler yields an error response for that request only.
 * Batches run in order, one item at a time, so a large batch cannot flood the backend.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import type { RpcBackend } from './backend.ts'
import { ErrorCode, type JsonRpcErrorObject, methodNotFound, RpcError } from './errors.ts'
import { FilterManager } from './filters.ts'
import type { Json } from './format.ts'
import {
  MethodRegistry,
  type RequestContext,
  type RpcLimits,
  type RpcLogger,
  type RpcMethods,
} from './registry.ts'
import { Subscriptions } from './subscriptions.ts'

export type JsonRpcId = string | number | null

export type JsonRpcResponse =
  | { jsonrpc: '2.0'; id: JsonRpcId; result: unknown }
  | { jsonrpc: '2.0'; id: JsonRpcId; error: JsonRpcErrorObject }

/** Called once per request (batch items individually); `code` is the error code or undefined on success. */
export type RequestObserver = (event: {
  method: string
  transport: RequestContext['transport']
  seconds: number
  code?: number
}) => void

export interface RpcServerConfig {
  limits: RpcLimits
  logger: RpcLogger
  /** Allowed browser origins for HTTP (CORS); '*' allows any. */
  corsOrigins: string[]
  /** Allowed Origin headers for WebSocket upgrades; '*' allows any (requests without Origin always pass). */
  wsOrigins: string[]
  now?: () => number
  onRequest?: RequestObserver
}

function errorResponse(id: JsonRpcId, error: JsonRpcErrorObject): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error }
}

const invalidRequest = (message = 'invalid request'): JsonRpcErrorObject => ({
  code: ErrorCode.INVALID_REQUEST,
  message,
})

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
}

function originAllowed(origin: string | undefined, allowed: string[]): boolean {
  if (origin === undefined) return true
  return allowed.includes('*') || allowed.includes(origin)
}

export class RpcServer {
  readonly registry = new MethodRegistry()
  readonly filters: FilterManager
  private readonly http: Server
  private readonly wss: WebSocketServer
  private readonly sockets = new Set<WebSocket>()
  private listening = false

  constructor(
    readonly backend: RpcBackend,
    private readonly config: RpcServerConfig,
  ) {
    this.filters = new FilterManager(backend, {
      limits: config.limits,
      logger: config.logger,
      now: config.now,
    })
    this.http = createServer((req, res) => this.onHttp(req, res))
    // A stalled client must not hold a connection forever.
    this.http.headersTimeout = 30_000
    // Longer than Node's 5 s default: clients (ethers, viem, load balancers) reuse idle sockets,
    // and a server closing one just as a request is sent surfaces as ECONNRESET.
    this.http.keepAliveTimeout = 65_000
    this.http.requestTimeout = 60_000
    this.wss = new WebSocketServer({ noServer: true, maxPayload: config.limits.maxWsMessageBytes })
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head))
    this.http.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
      else socket.destroy()
    })
  }

  registerModule(name: string, methods: RpcMethods): void {
    this.registry.registerModule(name, methods)
  }

  // ---------------------------------------------------------------- dispatch

  /** Parses and answers one HTTP body / WS message. Returns undefined when nothing is to be sent. */
  async handleText(
    text: string,
    transport: RequestContext['transport'],
    subscriptions?: Subscriptions,
  ): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return errorResponse(null, { code: ErrorCode.PARSE_ERROR, message: 'parse error' })
    }
    return this.handleParsed(parsed, transport, subscriptions)
  }

  async handleParsed(
    message: unknown,
    transport: RequestContext['transport'],
    subscriptions?: Subscriptions,
  ): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
    const ctx: RequestContext = {
      backend: this.backend,
      limits: this.config.limits,
      filters: this.filters,
      logger: this.config.logger,
      transport,
      subscriptions,
    }
    if (!Array.isArray(message)) return this.handleOne(message, ctx)
    if (message.length === 0) return errorResponse(null, invalidRequest('empty batch'))
    if (message.length > this.config.limits.maxBatchSize) {
      return errorResponse(null, {
        code: ErrorCode.LIMIT_EXCEEDED,
        message: `batch of ${message.length} requests exceeds max batch size ${this.config.limits.maxBatchSize}`,
      })
    }
    const out: JsonRpcResponse[] = []
    for (const item of message) {
      const res = await this.handleOne(item, ctx)
      if (res) out.push(res)
    }
    return out.length > 0 ? out : undefined
  }

  private async handleOne(req: unknown, ctx: RequestContext): Promise<JsonRpcResponse | undefined> {
    if (typeof req !== 'object' || req === null || Array.isArray(req))
      return errorResponse(null, invalidRequest())
    const r = req as Record<string, unknown>
    const isNotification = !('id' in r)
    if (!isNotification && !isValidId(r.id)) return errorResponse(null, invalidRequest('invalid request id'))
    const id: JsonRpcId = isNotification ? null : (r.id as JsonRpcId)
    // A malformed object is not a notification: it is answered (id null when absent), per JSON-RPC 2.0.
    if (r.jsonrpc !== '2.0') return errorResponse(id, invalidRequest('jsonrpc must be "2.0"'))
    if (typeof r.method !== 'string' || r.method === '') {
      return errorResponse(id, invalidRequest('method must be a non-empty string'))
    }
    const method = r.method
    const started = performance.now()
    let response: JsonRpcResponse
    try {
      const handler = this.registry.get(method)
      if (!handler) throw methodNotFound(method)
      const result = await handler(r.params, ctx)
      response = { jsonrpc: '2.0', id, result: result === undefined ? null : result }
    } catch (err) {
      response = errorResponse(id, this.toErrorObject(err, method))
    }
    this.observe(method, ctx.transport, started, 'error' in response ? response.error.code : undefined)
    return isNotification ? undefined : response
  }

  private toErrorObject(err: unknown, method: string): JsonRpcErrorObject {
    if (err instanceof RpcError) return err.toJSON()
    // Never log params: they may carry signing payloads or keys.
    this.config.logger.error({ method, err }, 'RPC handler failed')
    return { code: ErrorCode.INTERNAL_ERROR, message: 'internal error' }
  }

  private observe(
    method: string,
    transport: RequestContext['transport'],
    started: number,
    code?: number,
  ): void {
    const hook = this.config.onRequest
    if (!hook) return
    // Unknown names would blow up metric label cardinality.
    const label = this.registry.has(method) ? method : 'unknown'
    try {
      hook({ method: label, transport, seconds: (performance.now() - started) / 1000, code })
    } catch (err) {
      this.config.logger.warn({ err }, 'RPC request observer threw')
    }
  }

  // ---------------------------------------------------------------- HTTP

  private corsHeaders(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin
    const allowed = this.config.corsOrigins
    if (origin === undefined || allowed.length === 0) return
    if (allowed.includes('*')) res.setHeader('Access-Control-Allow-Origin', '*')
    else if (allowed.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Vary', 'Origin')
    }
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = body === undefined ? '' : JSON.stringify(body)
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    })
    res.end(text)
  }

  private tooLarge(res: ServerResponse): void {
    res.setHeader('Connection', 'close')
    this.sendJson(
      res,
      413,
      errorResponse(null, {
        code: ErrorCode.LIMIT_EXCEEDED,
        message: `request body exceeds max size of ${this.config.limits.maxBodyBytes} bytes`,
      }),
    )
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    this.corsHeaders(req, res)
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS')
      res.setHeader(
        'Access-Control-Allow-Headers',
        req.headers['access-control-request-headers'] ?? 'Content-Type',
      )
      res.setHeader('Access-Control-Max-Age', '600')
      res.writeHead(204)
      res.end()
      return
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      // Liveness probe for load balancers and scripts; JSON-RPC itself is POST or WebSocket.
      this.sendJson(res, 200, { status: 'ok', chainId: `0x${this.backend.chainId.toString(16)}` })
      return
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, GET, OPTIONS')
      this.sendJson(
        res,
        405,
        errorResponse(null, invalidRequest(`HTTP method ${req.method} not allowed; use POST`)),
      )
      return
    }
    const max = this.config.limits.maxBodyBytes
    const declared = Number(req.headers['content-length'] ?? '0')
    if (declared > max) {
      this.tooLarge(res)
      req.resume()
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let aborted = false
    req.on('data', (chunk: Buffer) => {
      if (aborted) return
      size += chunk.length
      if (size > max) {
        aborted = true
        this.tooLarge(res)
        return
      }
      chunks.push(chunk)
    })
    req.on('error', (err) => {
      aborted = true
      this.config.logger.debug({ err }, 'HTTP request stream error')
    })
    req.on('end', () => {
      if (aborted) return
      const text = Buffer.concat(chunks).toString('utf8')
      this.handleText(text, 'http')
        .then((response) => {
          if (res.writableEnded || res.destroyed) return
          this.sendJson(res, 200, response)
        })
        .catch((err: unknown) => {
          this.config.logger.error({ err }, 'HTTP dispatch failed')
          if (!res.headersSent)
            this.sendJson(
              res,
              500,
              errorResponse(null, { code: ErrorCode.INTERNAL_ERROR, message: 'internal error' }),
            )
        })
    })
  }

  // ---------------------------------------------------------------- WebSocket

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const origin = req.headers.origin
    if (!originAllowed(origin, this.config.wsOrigins)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n')
      return
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws))
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.add(ws)
    const send = (payload: unknown): boolean => {
      if (ws.readyState !== WebSocket.OPEN) return false
      if (ws.bufferedAmount > this.config.limits.maxWsBufferedBytes) {
        // A reader this slow would make us buffer without bound; drop it like geth drops slow subscribers.
        this.config.logger.warn({ buffered: ws.bufferedAmount }, 'closing slow WebSocket client')
        ws.close(1008, 'client too slow: send buffer limit exceeded')
        return false
      }
      ws.send(JSON.stringify(payload))
      return true
    }
    const subscriptions = new Subscriptions(this.backend, (m: Json) => send(m), {
      maxSubscriptions: this.config.limits.maxSubscriptionsPerConnection,
      logger: this.config.logger,
    })
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      const text = isBinary
        ? ''
        : Array.isArray(raw)
          ? Buffer.concat(raw).toString('utf8')
          : raw.toString('utf8')
      if (isBinary) {
        send(errorResponse(null, invalidRequest('binary frames are not supported; send JSON text')))
        return
      }
      this.handleText(text, 'ws', subscriptions)
        .then((response) => {
          if (response !== undefined) send(response)
        })
        .catch((err: unknown) => this.config.logger.error({ err }, 'WebSocket dispatch failed'))
    })
    ws.on('close', () => {
      subscriptions.close()
      this.sockets.delete(ws)
    })
    ws.on('error', (err) => {
      // ws closes the socket itself (e.g. 1009 for an oversized message); just record why.
      this.config.logger.debug({ err }, 'WebSocket error')
    })
  }

  // ---------------------------------------------------------------- lifecycle

  listen(port: number, host = '127.0.0.1'): Promise<{ port: number }> {
    if (this.listening) return Promise.reject(new Error('RPC server is already listening'))
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.http.once('error', onError)
      this.http.listen(port, host, () => {
        this.http.off('error', onError)
        this.listening = true
        resolve({ port: (this.http.address() as AddressInfo).port })
      })
    })
  }

  async close(): Promise<void> {
    this.filters.close()
    for (const ws of this.sockets) ws.terminate()
    this.sockets.clear()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    if (!this.listening) return
    this.listening = false
    await new Promise<void>((resolve, reject) => {
      this.http.close((err) => (err ? reject(err) : resolve()))
      this.http.closeAllConnections()
    })
  }
}
