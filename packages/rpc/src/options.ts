/**
 * The server's logger interface and resolved limits: shared by the registry, the transport, filters
 * and subscriptions, kept apart from the registry so that none of them imports another in a loop.
 */
export interface RpcLogger {
  debug(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export const silentLogger: RpcLogger = { debug() {}, warn() {}, error() {} }

/** Resolved server limits (see RpcServerOptions in index.ts for the documented defaults). */
export interface RpcLimits {
  maxBodyBytes: number
  maxBatchSize: number
  maxWsMessageBytes: number
  maxWsBufferedBytes: number
  maxLogBlockRange: number
  maxLogResults: number
  maxFilters: number
  filterTimeoutMs: number
  maxFilterQueue: number
  maxSubscriptionsPerConnection: number
  maxFeeHistoryBlocks: number
  maxProofKeys: number
  /** Filters one client (remote IP) may have installed; maxFilters bounds all clients together. */
  maxFiltersPerClient: number
  /** WebSocket connections open at once, all clients / one client (remote IP). */
  maxWsConnections: number
  maxWsConnectionsPerClient: number
  /** Bytes waiting to be sent on all WebSocket connections together (maxWsBufferedBytes: one). */
  maxWsBufferedBytesTotal: number
  /** Executing requests (eth_call & co.) admitted at once: all clients / one client. */
  maxPendingExecutions: number
  maxPendingExecutionsPerClient: number
  /** Executing requests that run at the same time (the backend's execution slots). */
  executionConcurrency: number
  /** HTTP: the request headers must arrive within this time, the whole request within the other. */
  headerTimeoutMs: number
  requestTimeoutMs: number
}
