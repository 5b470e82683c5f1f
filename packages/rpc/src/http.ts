/**
 * The HTTP transport: POST bodies (size-capped) to dispatch, GET liveness, CORS preflight, the
 * Host allow-list, header/request timeouts answered with 408, and cancellation: a request whose
 * client closes the connection before the answer is aborted (its execution stops).
 */
import { setMaxListeners } from 'node:events'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { clientKey, hostAllowed, originAllowed } from './access.ts'
import { ErrorCode } from './errors.ts'
import { type Dispatcher, errorResponse, invalidHostBody, invalidRequest, rawResponse } from './transport.ts'

const GONE = Symbol('openledger.rpc.connectionGone')

/**
 * The signal of every request on a connection: aborted when the connection closes. Nobody waits
 * for an answer that is not written by then, and a request whose answer was written has nothing
 * left to stop, so this is each request's "client went away" signal. One per connection, not per
 * request: an AbortSignal costs ~4 % of an eth_call's main-thread time to create. Its listeners
 * are all removed when their request ends (exec-queue.ts, the backend's worker pool).
 */
function connectionGone(socket: Socket): AbortSignal {
  const s = socket as Socket & { [GONE]?: AbortSignal }
  let signal = s[GONE]
  if (signal === undefined) {
    const gone = new AbortController()
    signal = gone.signal
    // Pipelined requests each listen while they wait: no leak warning for a busy connection.
    setMaxListeners(0, signal)
    s[GONE] = signal
    if (socket.destroyed) gone.abort()
    else socket.once('close', () => gone.abort())
  }
  return signal
}

export class HttpTransport {
  constructor(
    private readonly server: Dispatcher,
    http: Server,
  ) {
    http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        rawResponse(
          socket,
          '408 Request Timeout',
          errorResponse(null, { code: ErrorCode.RESOURCE_UNAVAILABLE, message: 'request timed out' }),
        )
      } else if (err.code === 'HPE_HEADER_OVERFLOW')
        rawResponse(socket, '431 Request Header Fields Too Large')
      else rawResponse(socket, '400 Bad Request')
    })
  }

  private get config() {
    return this.server.config
  }

  private corsHeaders(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin
    const allowed = this.config.corsOrigins
    if (origin === undefined || allowed.length === 0) return
    if (allowed.includes('*')) res.setHeader('Access-Control-Allow-Origin', '*')
    else if (originAllowed(origin, allowed)) {
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Vary', 'Origin')
    }
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = body === undefined ? '' : JSON.stringify(body)
    // The flat array form: Node stores it without building and validating a headers object.
    res.writeHead(status, [
      'Content-Type',
      'application/json',
      'Content-Length',
      String(Buffer.byteLength(text)),
    ])
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

  /** A page of the host's handler (Studio), else the liveness probe for load balancers and
   * scripts (JSON-RPC itself is POST or WebSocket). */
  private onGet(req: IncomingMessage, res: ServerResponse): void {
    const pages = this.config.pages
    const probe = () =>
      this.sendJson(res, 200, { status: 'ok', chainId: `0x${this.server.backend.chainId.toString(16)}` })
    if (!pages) {
      probe()
      return
    }
    const url = req.url ?? '/'
    Promise.resolve(
      pages({
        path: url.length > 2048 ? '/studio/too-long' : url,
        remoteAddress: req.socket.remoteAddress,
        ifNoneMatch: req.headers['if-none-match'],
      }),
    )
      .then((page) => {
        if (res.writableEnded || res.destroyed) return
        if (!page) {
          probe()
          return
        }
        res.writeHead(page.status, { ...page.headers, 'Content-Length': page.body.length })
        res.end(req.method === 'HEAD' ? undefined : page.body)
      })
      .catch((err: unknown) => {
        this.config.logger.error({ err }, 'page handler failed')
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
          res.end('internal error\n')
        }
      })
  }

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (!hostAllowed(req.headers.host, this.config.vhosts)) {
      res.setHeader('Connection', 'close')
      this.sendJson(res, 403, invalidHostBody(req.headers.host))
      req.resume()
      return
    }
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
      req.resume()
      this.onGet(req, res)
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
    // A small body (a single transaction) arrives in one chunk: kept as is, never concatenated.
    let first: Buffer | undefined
    let chunks: Buffer[] | undefined
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
      if (first === undefined) first = chunk
      else if (chunks === undefined) chunks = [first, chunk]
      else chunks.push(chunk)
    })
    req.on('error', (err) => {
      aborted = true
      this.config.logger.debug({ err }, 'HTTP request stream error')
    })
    req.on('end', () => {
      if (aborted) return
      const body = chunks !== undefined ? Buffer.concat(chunks, size) : first
      const text = body === undefined ? '' : body.toString('utf8')
      this.server
        .handleText(text, {
          transport: 'http',
          client: clientKey(req.socket.remoteAddress),
          signal: connectionGone(req.socket),
        })
        .then((response) => {
          if (res.writableEnded || res.destroyed) return
          this.sendJson(res, 200, response)
        })
        .catch((err: unknown) => {
          this.config.logger.error({ err }, 'HTTP dispatch failed')
          if (!res.headersSent && !res.destroyed)
            this.sendJson(
              res,
              500,
              errorResponse(null, { code: ErrorCode.INTERNAL_ERROR, message: 'internal error' }),
            )
        })
    })
  }
}
