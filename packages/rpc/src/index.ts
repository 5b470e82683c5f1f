/**
 * @openledger/rpc: JSON-RPC 2.0 server (HTTP + WebSocket on one port) over an RpcBackend.
 *
 *   const rpc = createRpcServer(backend, { logger })
 *   rpc.registerModule('ol', { ol_getDatanet: (params, ctx) => ... })
 *   const { port } = await rpc.listen(8545, '127.0.0.1')
 */
import type { RpcBackend } from './backend.ts'
import { ErrorCode, RpcError } from './errors.ts'
import { debugMethods } from './modules/debug.ts'
import { anvilMethods, evmMethods, hardhatMethods } from './modules/dev.ts'
import { ethMethods, personalMethods } from './modules/eth.ts'
import { netMethods } from './modules/net.ts'
import { txpoolMethods } from './modules/txpool.ts'
import { web3Methods } from './modules/web3.ts'
import { type RpcLimits, type RpcLogger, type RpcMethods, silentLogger } from './registry.ts'
import { type JsonRpcResponse, type RequestObserver, RpcServer } from './server.ts'
import type { PageHandler } from './transport.ts'

export { clientKey, hostAllowed, originAllowed } from './access.ts'
export * from './backend.ts'
export * from './errors.ts'
export { ExecutionQueue, requestCancelled } from './exec-queue.ts'
export { FilterManager, logMatches, queryLogs, resolveBlockNumber } from './filters.ts'
export * from './format.ts'
export {
  type AddressHistory,
  erigonMethods,
  OTS_API_LEVEL,
  OTS_MAX_PAGE_SIZE,
  otsMethods,
} from './modules/ots.ts'
export type { RequestContext, RpcHandler, RpcLimits, RpcLogger, RpcMethods } from './registry.ts'
export { MethodRegistry } from './registry.ts'
export type { JsonRpcId, JsonRpcResponse, RequestObserver } from './server.ts'
export { parseTypedData, signDigest } from './signing.ts'
export { Subscriptions } from './subscriptions.ts'
export type { PageHandler, PageResponse } from './transport.ts'
export * from './validation.ts'

/** Defaults; each can be overridden through RpcServerOptions (node flags are listed in docs/rpc.md). */
export const DEFAULT_LIMITS: Readonly<RpcLimits> = Object.freeze({
  maxBodyBytes: 5 * 1024 * 1024,
  maxBatchSize: 1000,
  maxWsMessageBytes: 5 * 1024 * 1024,
  maxWsBufferedBytes: 16 * 1024 * 1024,
  maxLogBlockRange: 10_000,
  maxLogResults: 10_000,
  maxFilters: 10_000,
  maxFiltersPerClient: 1000,
  filterTimeoutMs: 5 * 60_000,
  maxFilterQueue: 10_000,
  maxSubscriptionsPerConnection: 100,
  maxFeeHistoryBlocks: 1024,
  maxProofKeys: 1024,
  maxWsConnections: 1000,
  maxWsConnectionsPerClient: 200,
  maxWsBufferedBytesTotal: 64 * 1024 * 1024,
  maxPendingExecutions: 256,
  maxPendingExecutionsPerClient: 64,
  executionConcurrency: 1,
  headerTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
})

/** Host names admitted by default (IP literals always are): geth's --http.vhosts default, plus 127.0.0.1. */
export const DEFAULT_VHOSTS: readonly string[] = Object.freeze(['localhost', '127.0.0.1'])

export interface RpcServerOptions {
  limits?: Partial<RpcLimits>
  /** pino-compatible logger (obj, msg); default silent. Request params are never logged. */
  logger?: RpcLogger
  /** CORS allowed origins for HTTP (geth's --http.corsdomain); default [] sends no CORS headers,
   * '*' allows any origin. */
  corsOrigins?: string[]
  /** Allowed WebSocket Origin headers (geth's --ws.origins); default [] admits only clients that
   * send no Origin (non-browser), '*' allows any. */
  wsOrigins?: string[]
  /** Host names admitted on HTTP and WebSocket (geth's --http.vhosts); default DEFAULT_VHOSTS,
   * '*' allows any. IP literals always pass (DNS rebinding needs a name). */
  vhosts?: string[]
  /** Millisecond clock for filter expiry (tests inject one). */
  now?: () => number
  /** Per-request observer, e.g. for rpc_requests_total / rpc_request_duration_seconds. */
  onRequest?: RequestObserver
  /** GET/HEAD pages served on the RPC port besides the liveness probe (the node's Studio app). */
  pages?: PageHandler
  /** Serve the debug_* namespace (traces re-execute blocks: network nodes turn it off by default).
   * Default true; when false each debug_* method answers -32601 naming the flag that enables it. */
  debug?: boolean
}

export interface RpcServerHandle {
  listen(port: number, host?: string): Promise<{ port: number }>
  close(): Promise<void>
  /** Answers a request (JSON text or already-parsed value) without a transport; undefined for notifications. */
  handle(request: string | unknown): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined>
  /** Adds a namespace (ol, qbft, admin, ...). Keys are full method names starting with `<name>_`. */
  registerModule(name: string, methods: RpcMethods): void
  /** Sorted names of all registered methods. */
  methods(): string[]
  readonly limits: Readonly<RpcLimits>
  /** Executions running and waiting, WebSocket connections and their unsent bytes (metrics). */
  stats(): {
    executionsRunning: number
    executionsWaiting: number
    wsConnections: number
    wsBufferedBytes: number
  }
}

function checkLimits(limits: RpcLimits): void {
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new Error(`RPC limit ${k} must be a positive integer, got ${v}`)
  }
}

const DIRECT = { transport: 'direct', client: 'local' } as const

/** The same method names, each refusing with -32601 and the flag that enables them. */
function disabledMethods(methods: RpcMethods): RpcMethods {
  return Object.fromEntries(
    Object.keys(methods).map((name) => [
      name,
      () => {
        throw new RpcError(
          ErrorCode.METHOD_NOT_FOUND,
          `the method ${name} is not available: the debug namespace is off on this node (start it with --rpc.debug)`,
        )
      },
    ]),
  )
}

export function createRpcServer(backend: RpcBackend, options: RpcServerOptions = {}): RpcServerHandle {
  const limits: RpcLimits = { ...DEFAULT_LIMITS, ...options.limits }
  checkLimits(limits)
  if (limits.headerTimeoutMs > limits.requestTimeoutMs)
    throw new Error('RPC limit headerTimeoutMs must not exceed requestTimeoutMs')
  const server = new RpcServer(backend, {
    limits,
    logger: options.logger ?? silentLogger,
    corsOrigins: options.corsOrigins ?? [],
    wsOrigins: options.wsOrigins ?? [],
    vhosts: options.vhosts ?? [...DEFAULT_VHOSTS],
    now: options.now,
    onRequest: options.onRequest,
    pages: options.pages,
  })
  server.registerModule('eth', ethMethods)
  server.registerModule('personal', personalMethods)
  server.registerModule('net', netMethods)
  server.registerModule('web3', web3Methods)
  server.registerModule('txpool', txpoolMethods)
  server.registerModule('debug', options.debug === false ? disabledMethods(debugMethods) : debugMethods)
  // Dev namespaces are always registered so that, outside dev mode, they explain why they refuse.
  server.registerModule('evm', evmMethods)
  server.registerModule('hardhat', hardhatMethods)
  server.registerModule('anvil', anvilMethods)
  return {
    listen: (port, host) => server.listen(port, host),
    close: () => server.close(),
    handle: (request) =>
      typeof request === 'string' ? server.handleText(request, DIRECT) : server.handleParsed(request, DIRECT),
    registerModule: (name, methods) => server.registerModule(name, methods),
    methods: () => server.registry.names(),
    limits,
    stats: () => {
      const e = server.executions.stats()
      const w = server.wsStats()
      return {
        executionsRunning: e.running,
        executionsWaiting: e.waiting,
        wsConnections: w.connections,
        wsBufferedBytes: w.bufferedBytes,
      }
    },
  }
}
