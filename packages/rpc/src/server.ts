/**
 * JSON-RPC 2.0 dispatch and the server's lifecycle; the transports are http.ts and ws.ts (one
 * port). Each request is isolated: a throwing handler yields an error response for that request
 * only. Batches run in order, one item at a time, so a large batch cannot flood the backend.
 * Requests that execute EVM code go through one bounded, per-client-fair ExecutionQueue.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { RpcBackend } from './backend.ts'
import { ErrorCode, type JsonRpcErrorObject, methodNotFound, RpcError } from './errors.ts'
import { ExecutionQueue } from './exec-queue.ts'
import { FilterManager } from './filters.ts'
import { forkRouted, routeForked } from './fork.ts'
import { HttpTransport } from './http.ts'
import { MethodRegistry, type RequestContext, type RpcMethods } from './registry.ts'
import {
  type Dispatcher,
  errorResponse,
  invalidRequest,
  isValidId,
  type JsonRpcId,
  type JsonRpcResponse,
  type RequestSource,
  type RpcServerConfig,
} from './transport.ts'
import { WsTransport } from './ws.ts'

export type {
  JsonRpcId,
  JsonRpcResponse,
  RequestObserver,
  RequestSource,
  RpcServerConfig,
} from './transport.ts'

export class RpcServer implements Dispatcher {
  readonly registry = new MethodRegistry()
  readonly filters: FilterManager
  readonly executions: ExecutionQueue
  private readonly http: Server
  private readonly ws: WsTransport
  private listening = false

  constructor(
    readonly backend: RpcBackend,
    readonly config: RpcServerConfig,
  ) {
    const { limits } = config
    this.filters = new FilterManager(backend, { limits, logger: config.logger, now: config.now })
    this.executions = new ExecutionQueue({
      concurrency: limits.executionConcurrency,
      maxPending: limits.maxPendingExecutions,
      maxPendingPerClient: limits.maxPendingExecutionsPerClient,
    })
    this.http = createServer({
      headersTimeout: limits.headerTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks those timeouts on this period (default 30 s, which made a 30 s header
      // timeout fire after up to 60 s).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headerTimeoutMs / 4)),
      // Longer than Node's 5 s default: clients (ethers, viem, load balancers) reuse idle sockets,
      // and a server closing one just as a request is sent surfaces as ECONNRESET.
      keepAliveTimeout: 65_000,
    })
    const http = new HttpTransport(this, this.http)
    this.http.on('request', (req, res) => http.onRequest(req, res))
    this.ws = new WsTransport(this)
    this.http.on('upgrade', (req, socket, head) => this.ws.onUpgrade(req, socket, head))
  }

  registerModule(name: string, methods: RpcMethods): void {
    this.registry.registerModule(name, methods)
  }

  // ---------------------------------------------------------------- dispatch

  /** Parses and answers one HTTP body / WS message. Returns undefined when nothing is to be sent. */
  handleText(text: string, source: RequestSource): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return Promise.resolve(errorResponse(null, { code: ErrorCode.PARSE_ERROR, message: 'parse error' }))
    }
    // Not async itself: one promise fewer per request (handleParsed never throws synchronously).
    return this.handleParsed(parsed, source)
  }

  async handleParsed(
    message: unknown,
    source: RequestSource,
  ): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
    const ctx: RequestContext = {
      backend: this.backend,
      limits: this.config.limits,
      filters: this.filters,
      logger: this.config.logger,
      transport: source.transport,
      subscriptions: source.subscriptions,
      client: source.client,
      signal: source.signal,
      execute: (task) => this.executions.run(source.client, source.signal, task),
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
      // The client left: the rest of its batch is not worth running.
      if (source.signal?.aborted) break
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
      // A forked dev chain answers requests about the remote's history from the remote (fork.ts).
      const fork = ctx.backend.fork
      const result =
        fork !== undefined && forkRouted(method)
          ? await routeForked(method, r.params, ctx, fork, async (p) => handler(p, ctx))
          : await handler(r.params, ctx)
      response = { jsonrpc: '2.0', id, result: result === undefined ? null : result }
    } catch (err) {
      response = errorResponse(id, this.toErrorObject(err, method))
    }
    this.observe(method, ctx.transport, started, 'error' in response ? response.error.code : undefined)
    return isNotification ? undefined : response
  }

  private toErrorObject(err: unknown, method: string): JsonRpcErrorObject {
    if (err instanceof RpcError) return err.toJSON()
    // A forked dev chain's remote failing (evm-runtime's ForkError, node/src/fork): its message
    // says which remote and why; proofs of state only the remote holds (NotInLocalStateError).
    const code = (err as { code?: unknown } | null)?.code
    if (code === 'FORK_REMOTE')
      return { code: ErrorCode.RESOURCE_UNAVAILABLE, message: (err as Error).message }
    if (code === 'NOT_IN_LOCAL_STATE')
      return { code: ErrorCode.RESOURCE_NOT_FOUND, message: (err as Error).message }
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

  /** Open WebSocket connections and bytes waiting to be sent on them. */
  wsStats(): { connections: number; bufferedBytes: number } {
    return this.ws.stats()
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
    await this.ws.close()
    if (!this.listening) return
    this.listening = false
    await new Promise<void>((resolve, reject) => {
      this.http.close((err) => (err ? reject(err) : resolve()))
      this.http.closeAllConnections()
    })
  }
}
