/**
 * The WebSocket transport: upgrades checked against the Host allow-list, the Origin allow-list
 * and the connection limits (all clients, and per remote IP); per-connection subscriptions;
 * send buffers bounded per connection and in total, so clients that never read cannot grow the
 * node's memory; requests in flight are cancelled when their connection closes.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import { clientKey, hostAllowed, isSameOrigin, originAllowed } from './access.ts'
import type { Json } from './format.ts'
import { Subscriptions } from './subscriptions.ts'
import { type Dispatcher, errorResponse, invalidHostBody, invalidRequest, rawResponse } from './transport.ts'

/** How long a computed total of buffered bytes is reused (sends in between add their size). */
const TOTAL_REFRESH_MS = 50

export class WsTransport {
  private readonly wss: WebSocketServer
  private readonly sockets = new Set<WebSocket>()
  private readonly perClient = new Map<string, number>()
  private pendingUpgrades = 0
  private total = { bytes: 0, at: 0 }

  constructor(private readonly server: Dispatcher) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: server.config.limits.maxWsMessageBytes })
  }

  private get config() {
    return this.server.config
  }

  stats(): { connections: number; bufferedBytes: number } {
    let bufferedBytes = 0
    for (const ws of this.sockets) bufferedBytes += ws.bufferedAmount
    return { connections: this.sockets.size, bufferedBytes }
  }

  /** Bytes buffered on all connections, recomputed at most every TOTAL_REFRESH_MS. */
  private totalBuffered(now: number): number {
    if (now - this.total.at >= TOTAL_REFRESH_MS) this.total = { bytes: this.stats().bufferedBytes, at: now }
    return this.total.bytes
  }

  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { limits, vhosts, wsOrigins } = this.config
    if (!hostAllowed(req.headers.host, vhosts)) {
      rawResponse(socket, '403 Forbidden', invalidHostBody(req.headers.host))
      return
    }
    const origin = req.headers.origin
    // A page this server serves (Studio) is same-origin: its WebSocket needs no --ws.origins entry.
    const sameOrigin = this.config.pages !== undefined && isSameOrigin(origin, req.headers.host)
    if (origin !== undefined && !sameOrigin && !originAllowed(origin, wsOrigins)) {
      rawResponse(socket, '403 Forbidden')
      return
    }
    const client = clientKey(req.socket.remoteAddress)
    if (this.sockets.size + this.pendingUpgrades >= limits.maxWsConnections) {
      rawResponse(socket, '503 Service Unavailable', {
        error: `too many WebSocket connections (max ${limits.maxWsConnections})`,
      })
      return
    }
    const mine = this.perClient.get(client) ?? 0
    if (mine >= limits.maxWsConnectionsPerClient) {
      rawResponse(socket, '429 Too Many Requests', {
        error: `too many WebSocket connections from this client (max ${limits.maxWsConnectionsPerClient})`,
      })
      return
    }
    this.perClient.set(client, mine + 1)
    this.pendingUpgrades++
    let counted = true
    let accepted = false
    const release = () => {
      if (!counted) return
      counted = false
      const n = (this.perClient.get(client) ?? 1) - 1
      if (n === 0) this.perClient.delete(client)
      else this.perClient.set(client, n)
    }
    // A handshake that fails never reaches the callback: release its slot with the socket.
    socket.once('close', () => {
      if (counted && !accepted) {
        this.pendingUpgrades--
        release()
      }
    })
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true
      this.pendingUpgrades--
      this.onConnection(ws, client, release)
    })
  }

  private onConnection(ws: WebSocket, client: string, release: () => void): void {
    const { limits, logger } = this.config
    this.sockets.add(ws)
    const gone = new AbortController()
    const tooSlow = (why: string) => {
      logger.warn({ buffered: ws.bufferedAmount, client }, `closing slow WebSocket client: ${why}`)
      ws.close(1008, `client too slow: ${why}`)
      // A client that does not read will not read the close frame either.
      const kill = setTimeout(() => ws.terminate(), 1000)
      kill.unref()
    }
    const send = (payload: unknown): boolean => {
      if (ws.readyState !== WebSocket.OPEN) return false
      const mine = ws.bufferedAmount
      if (mine > limits.maxWsBufferedBytes) {
        tooSlow('send buffer limit exceeded')
        return false
      }
      // Over the node-wide budget, a connection that still has unsent data is the one to drop.
      if (mine > 0 && this.totalBuffered(performance.now()) > limits.maxWsBufferedBytesTotal) {
        tooSlow('node-wide send buffer limit exceeded')
        return false
      }
      const text = JSON.stringify(payload)
      this.total.bytes += text.length
      ws.send(text)
      return true
    }
    const subscriptions = new Subscriptions(this.server.backend, (m: Json) => send(m), {
      maxSubscriptions: limits.maxSubscriptionsPerConnection,
      logger,
    })
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      if (isBinary) {
        send(errorResponse(null, invalidRequest('binary frames are not supported; send JSON text')))
        return
      }
      const text = Array.isArray(raw) ? Buffer.concat(raw).toString('utf8') : raw.toString('utf8')
      this.server
        .handleText(text, { transport: 'ws', client, signal: gone.signal, subscriptions })
        .then((response) => {
          if (response !== undefined) send(response)
        })
        .catch((err: unknown) => logger.error({ err }, 'WebSocket dispatch failed'))
    })
    ws.on('close', () => {
      gone.abort()
      subscriptions.close()
      this.sockets.delete(ws)
      release()
    })
    ws.on('error', (err) => {
      // ws closes the socket itself (e.g. 1009 for an oversized message); just record why.
      logger.debug({ err }, 'WebSocket error')
    })
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate()
    this.sockets.clear()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }
}
