/**
 * Peers: connection events, the status handshake (chain id, genesis, head; asked on connect and
 * every few seconds, answered on request), the ban of peers on another chain, and the bootnode
 * re-dialer that keeps the validators we need for quorum connected, forever, with capped backoff.
 */
import { EventEmitter } from 'node:events'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { KEEP_ALIVE } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { bytesEqual, hex as toHex } from '../util/bytes.ts'
import type { P2POptions } from './host.ts'
import { DEFAULT_REQUEST_TIMEOUT_MS, errMsg, openStream, own, SERVE_TIMEOUT_MS } from './streams.ts'
import {
  type ChainStatus,
  decodeStatus,
  encodeStatus,
  MAX_CONTROL_FRAME_BYTES,
  STATUS_PROTOCOL,
} from './wire.ts'

export interface PeerSummary {
  id: string
  addresses: string[]
  direction: 'inbound' | 'outbound'
  status?: ChainStatus
  score: number
  protocols?: string[]
}

export type P2PEvents = {
  'peer:status': [peerId: string, status: ChainStatus]
  'peer:connect': [peerId: string]
  'peer:disconnect': [peerId: string]
}

/** Peers on another chain are refused for this long, so they do not redial in a loop. */
const WRONG_CHAIN_BAN_MS = 10 * 60_000
const BOOTNODE_MIN_BACKOFF_MS = 500
const BOOTNODE_MAX_BACKOFF_MS = 30_000
const BOOTNODE_TICK_MS = 500

interface Bootnode {
  addr: Multiaddr
  peerId: PeerId
  nextAttemptAt: number
  backoffMs: number
  dialing: boolean
}

export class Peers {
  readonly events = new EventEmitter<P2PEvents>()
  private readonly statuses = new Map<string, ChainStatus>()
  /** Peers whose status handshake succeeded: they got a 'peer:connect' and will get a 'peer:disconnect'. */
  private readonly ready = new Set<string>()
  private readonly protocols = new Map<string, string[]>()
  private readonly bootnodes: Bootnode[]
  private readonly refreshing = new Set<string>()
  private timers: NodeJS.Timeout[] = []
  private closed = false

  constructor(
    private readonly node: Libp2p,
    private readonly opts: Pick<P2POptions, 'chainId' | 'genesisHash' | 'status' | 'statusIntervalMs'>,
    /** Peer id → until when it is refused; shared with the connection gater (host.ts). */
    private readonly banned: Map<string, number>,
    bootnodes: Array<{ addr: Multiaddr; peerId: PeerId }>,
    private readonly log: Logger,
  ) {
    this.bootnodes = bootnodes
      .filter((b) => !b.peerId.equals(node.peerId))
      .map((b) => ({ ...b, nextAttemptAt: 0, backoffMs: BOOTNODE_MIN_BACKOFF_MS, dialing: false }))
  }

  get bootnodeCount(): number {
    return this.bootnodes.length
  }

  /** Connection listeners and the status protocol (before the node starts). */
  async register(): Promise<void> {
    const node = this.node
    node.addEventListener('peer:connect', (evt) => this.onPeerConnect(evt.detail))
    node.addEventListener('peer:disconnect', (evt) => this.onPeerDisconnect(evt.detail))
    node.addEventListener('peer:identify', (evt) => {
      this.protocols.set(evt.detail.peerId.toString(), [...evt.detail.protocols])
    })
    await node.handle(STATUS_PROTOCOL, (stream, conn) => this.serveStatus(stream, conn), {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
    })
  }

  /** Bootnode re-dialing and status refresh (after the node started). */
  async start(): Promise<void> {
    // Bootnodes must stay connected: they are the validators we need for quorum. libp2p redials
    // KEEP_ALIVE peers a few times; our own loop keeps trying forever with capped backoff.
    for (const b of this.bootnodes) {
      await this.node.peerStore.merge(b.peerId, {
        multiaddrs: [b.addr],
        tags: { [KEEP_ALIVE]: { value: 1 } },
      })
    }
    const bootTimer = setInterval(() => this.tickBootnodes(), BOOTNODE_TICK_MS)
    bootTimer.unref()
    const statusTimer = setInterval(() => this.refreshStatuses(), this.opts.statusIntervalMs ?? 5000)
    statusTimer.unref()
    this.timers.push(bootTimer, statusTimer)
    this.tickBootnodes()
  }

  close(): void {
    this.closed = true
    for (const t of this.timers) clearInterval(t)
    this.timers = []
  }

  async requestStatus(peerId: string, opts: { timeoutMs?: number } = {}): Promise<ChainStatus> {
    const signal = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
    const what = `status from ${peerId}`
    const stream = await openStream(this.node, this.closed, peerId, STATUS_PROTOCOL, signal, what)
    let theirs: ChainStatus
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_CONTROL_FRAME_BYTES })
      await lp.write(encodeStatus(this.opts.status()), { signal })
      await stream.close({ signal })
      theirs = decodeStatus(own(await lp.read({ signal })))
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (signal.aborted) throw new Error(`${what}: timed out`)
      throw new Error(`${what}: ${errMsg(err)}`)
    }
    if (!this.acceptStatus(peerId, theirs)) {
      throw new Error(
        `${what}: peer is on another chain (chainId ${theirs.chainId}, genesis ${toHex(theirs.genesisHash)})`,
      )
    }
    return theirs
  }
  summaries(score: (peerId: string) => number): PeerSummary[] {
    const byPeer = new Map<string, Connection[]>()
    for (const c of this.node.getConnections()) {
      const id = c.remotePeer.toString()
      const list = byPeer.get(id) ?? []
      list.push(c)
      byPeer.set(id, list)
    }
    return [...byPeer.entries()].map(([id, conns]) => ({
      id,
      addresses: conns.map((c) => c.remoteAddr.toString()),
      direction: conns[0].direction,
      status: this.statuses.get(id),
      score: score(id),
      protocols: this.protocols.get(id),
    }))
  }
  private onPeerConnect(peer: PeerId): void {
    const id = peer.toString()
    this.log.debug({ peer: id }, 'connected')
    // Both sides ask; whichever finishes first makes the peer ready, the other refreshes it.
    this.requestStatus(id, { timeoutMs: 5000 }).catch((err) => {
      if (this.closed) return
      this.log.debug({ peer: id, err: errMsg(err) }, 'status handshake failed')
    })
  }
  private onPeerDisconnect(peer: PeerId): void {
    const id = peer.toString()
    this.statuses.delete(id)
    this.protocols.delete(id)
    const b = this.bootnodes.find((x) => x.peerId.equals(peer))
    if (b !== undefined) {
      // Try again soon: a restarting validator is usually back within seconds.
      b.backoffMs = BOOTNODE_MIN_BACKOFF_MS
      b.nextAttemptAt = Date.now() + BOOTNODE_MIN_BACKOFF_MS
    }
    if (this.ready.delete(id)) {
      this.log.info({ peer: id }, 'peer disconnected')
      this.events.emit('peer:disconnect', id)
    }
  }
  /** Records a received status; on a chain mismatch bans and hangs up the peer and returns false. */
  private acceptStatus(peerId: string, s: ChainStatus): boolean {
    if (this.closed) return false
    if (s.chainId !== this.opts.chainId || !bytesEqual(s.genesisHash, this.opts.genesisHash)) {
      this.log.warn(
        { peer: peerId, chainId: s.chainId.toString(), genesis: toHex(s.genesisHash) },
        'peer is on another chain; disconnecting',
      )
      this.banned.set(peerId, Date.now() + WRONG_CHAIN_BAN_MS)
      this.statuses.delete(peerId)
      this.node.hangUp(peerIdFromString(peerId)).catch(() => undefined)
      return false
    }
    // Only peers we are still connected to count (a late answer after a disconnect is dropped).
    if (this.node.getConnections(peerIdFromString(peerId)).length === 0) return true
    this.statuses.set(peerId, s)
    if (!this.ready.has(peerId)) {
      this.ready.add(peerId)
      this.log.info({ peer: peerId, head: s.headNumber.toString() }, 'peer ready')
      this.events.emit('peer:connect', peerId)
    }
    this.events.emit('peer:status', peerId, s)
    return true
  }
  private async serveStatus(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(SERVE_TIMEOUT_MS)
    let theirs: ChainStatus
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_CONTROL_FRAME_BYTES })
      theirs = decodeStatus(own(await lp.read({ signal })))
      await lp.write(encodeStatus(this.opts.status()), { signal })
      await stream.close({ signal })
    } catch (err) {
      this.log.debug({ peer, err: errMsg(err) }, 'bad status request')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      return
    }
    // After answering, so a wrong-chain peer learns our chain before we hang up.
    this.acceptStatus(peer, theirs)
  }
  private refreshStatuses(): void {
    if (this.closed) return
    for (const id of this.ready) {
      if (this.refreshing.has(id)) continue
      this.refreshing.add(id)
      this.requestStatus(id, { timeoutMs: 5000 })
        .catch((err) => this.log.debug({ peer: id, err: errMsg(err) }, 'status refresh failed'))
        .finally(() => this.refreshing.delete(id))
    }
  }
  private tickBootnodes(): void {
    if (this.closed) return
    const now = Date.now()
    for (const b of this.bootnodes) {
      if (b.dialing || now < b.nextAttemptAt) continue
      if (this.node.getConnections(b.peerId).length > 0) continue
      const until = this.banned.get(b.peerId.toString())
      if (until !== undefined && until > now) continue
      b.dialing = true
      this.node
        .dial(b.addr, { signal: AbortSignal.timeout(5000) })
        .then(() => {
          b.backoffMs = BOOTNODE_MIN_BACKOFF_MS
          this.log.debug({ bootnode: b.addr.toString() }, 'bootnode connected')
        })
        .catch((err) => {
          if (this.closed) return
          b.nextAttemptAt = Date.now() + b.backoffMs
          this.log.debug(
            { bootnode: b.addr.toString(), retryMs: b.backoffMs, err: errMsg(err) },
            'bootnode dial failed',
          )
          b.backoffMs = Math.min(b.backoffMs * 2, BOOTNODE_MAX_BACKOFF_MS)
        })
        .finally(() => {
          b.dialing = false
        })
    }
  }
}
