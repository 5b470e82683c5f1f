/**
 * What the transports (http.ts, ws.ts) and the dispatcher (server.ts) share: JSON-RPC envelope
 * types, the server's configuration, where a request came from, and the dispatcher interface the
 * transports call.
 */
import type { Duplex } from 'node:stream'
import type { RpcBackend } from './backend.ts'
import { ErrorCode, type JsonRpcErrorObject } from './errors.ts'
import type { RequestContext, RpcLimits, RpcLogger } from './registry.ts'
import type { Subscriptions } from './subscriptions.ts'

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
  /** Allowed browser origins for HTTP (CORS); '*' allows any, [] sends no CORS headers. */
  corsOrigins: string[]
  /** Allowed Origin headers for WebSocket upgrades; '*' allows any (requests without Origin always pass). */
  wsOrigins: string[]
  /** Host header allow-list for HTTP and WebSocket (DNS rebinding); '*' allows any. */
  vhosts: string[]
  now?: () => number
  onRequest?: RequestObserver
  /** GET/HEAD pages besides the liveness probe (the Studio web app); see RpcServerOptions.pages. */
  pages?: PageHandler
}

/** A static page answer (see RpcServerOptions.pages). */
export interface PageResponse {
  status: number
  headers: Record<string, string>
  body: Uint8Array
}

/** Answers a GET/HEAD path, or undefined to leave it to the liveness probe. */
export type PageHandler = (request: {
  path: string
  remoteAddress: string | undefined
  ifNoneMatch: string | undefined
}) => PageResponse | undefined | Promise<PageResponse | undefined>

/** Where a request came from: transport, client identity, and what cancels it. */
export interface RequestSource {
  transport: RequestContext['transport']
  client: string
  signal?: AbortSignal
  subscriptions?: Subscriptions
}

export function errorResponse(id: JsonRpcId, error: JsonRpcErrorObject): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error }
}

export const invalidRequest = (message = 'invalid request'): JsonRpcErrorObject => ({
  code: ErrorCode.INVALID_REQUEST,
  message,
})

export function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
}

/** What a transport needs from the server. */
export interface Dispatcher {
  readonly backend: RpcBackend
  readonly config: RpcServerConfig
  handleText(text: string, source: RequestSource): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined>
}

/** A raw HTTP response on a socket that has no ServerResponse (client errors, refused upgrades). */
export function rawResponse(socket: Duplex, status: string, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body)
  const head = [`HTTP/1.1 ${status}`, 'Connection: close']
  if (text) head.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(text)}`)
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${text}`)
  else socket.destroy()
}

export function invalidHostBody(host: string | undefined): unknown {
  return errorResponse(null, invalidRequest(`invalid host specified: ${host ?? ''}`))
}
