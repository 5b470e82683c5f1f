/**
 * libp2p networking: TCP + noise + yamux, identify, ping, gossipsub (3 topics per chain), bootstrap
 * with a persistent bootnode re-dialer, and two request/response protocols (status handshake,
 * blocks_by_range). Every gossip message passes through exactly one validator per topic.
 */
import '../polyfills.ts'
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import {
  type GossipSub,
  type GossipsubMessage,
  gossipsub,
  type Message,
  TopicValidatorResult,
} from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { KEEP_ALIVE } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Logger } from 'pino'
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  GOSSIP_TOPICS,
  type GossipTopic,
  nodePrivateKey,
  SCORE_THRESHOLDS,
  scoreParams,
  topicName,
  type Verdict,
} from './params.ts'
import {
  BLOCKS_BY_RANGE_PROTOCOL,
  type ChainStatus,
  checkRangeRequest,
  decodeRangeHeader,
  decodeRangeRequest,
  decodeStatus,
  encodeRangeHeader,
  encodeRangeRequest,
  encodeStatus,
  MAX_CONTROL_FRAME_BYTES,
  MAX_FRAME_BYTES,
  STATUS_PROTOCOL,
} from './wire.ts'

export type { GossipTopic, Verdict } from './params.ts'
export { GOSSIP_TOPICS, peerIdFromNodeKey, topicName } from './params.ts'
export type { ChainStatus } from './wire.ts'
export { BLOCKS_BY_RANGE_PROTOCOL, MAX_BLOCKS_PER_REQUEST, STATUS_PROTOCOL } from './wire.ts'

export interface P2POptions {
  /** 32-byte secp256k1 private key: the node's libp2p identity (validators reuse their validator key, so peer ids are derivable before start). */
  nodeKey: Uint8Array
  /** Listen address, e.g. '127.0.0.1' or '0.0.0.0'. */
  host: string
  /** 0 = ephemeral. */
  port: number
  /** Multiaddrs ending in /p2p/<peerId>; invalid entries make create() throw. */
  bootnodes: string[]
  chainId: bigint
  genesisHash: Uint8Array
  /** Our current status, asked on every handshake. */
  status: () => ChainStatus
  /** Max bytes per gossip message by topic (defaults: tx 128 KiB, consensus 4 MiB, block 8 MiB). */
  maxMessageBytes?: Partial<Record<GossipTopic, number>>
  /** Default 50. */
  maxPeers?: number
  /** How often connected peers are asked for their status again (default 5000 ms). */
  statusIntervalMs?: number
  log: Logger
}

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

type Validator = (data: Uint8Array, from: string) => Verdict | Promise<Verdict>
type MessageHandler = (data: Uint8Array, from: string) => void
type BlocksHandler = (from: bigint, count: number) => Promise<Uint8Array[]>

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** How long a server waits for a request frame and for its block handler. */
const SERVE_TIMEOUT_MS = 10_000
/** Peers on another chain are refused for this long, so they do not redial in a loop. */
const WRONG_CHAIN_BAN_MS = 10 * 60_000
const BOOTNODE_MIN_BACKOFF_MS = 500
const BOOTNODE_MAX_BACKOFF_MS = 30_000
const BOOTNODE_TICK_MS = 500
/** Concurrent blocks_by_range requests served across all peers: bounds database load. */
const MAX_CONCURRENT_SERVES = 16

const VERDICT: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
}

interface Bootnode {
  addr: Multiaddr
  peerId: PeerId
  nextAttemptAt: number
  backoffMs: number
  dialing: boolean
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function toHex(b: Uint8Array): string {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Copy out of a (possibly pooled) Uint8ArrayList/Buffer view into a standalone Uint8Array. */
function own(bytes: { subarray(): Uint8Array }): Uint8Array {
  return new Uint8Array(bytes.subarray())
}

/** Rejects when `signal` aborts, so a hung handler cannot pin a serving slot forever. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('timed out'))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('timed out'))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function parseBootnode(entry: string, index: number): { addr: Multiaddr; peerId: PeerId } {
  let addr: Multiaddr
  try {
    addr = multiaddr(entry)
  } catch (err) {
    throw new Error(
      `p2p: bootnodes[${index}] is not a valid multiaddr: ${JSON.stringify(entry)} (${errMsg(err)})`,
    )
  }
  const p2p = addr.getComponents().findLast((c) => c.name === 'p2p')
  if (p2p?.value === undefined) {
    throw new Error(`p2p: bootnodes[${index}] must end in /p2p/<peerId>: ${JSON.stringify(entry)}`)
  }
  let peerId: PeerId
  try {
    peerId = peerIdFromString(p2p.value)
  } catch (err) {
    throw new Error(`p2p: bootnodes[${index}] has an invalid peer id ${p2p.value} (${errMsg(err)})`)
  }
  return { addr, peerId }
}

function validateOptions(opts: P2POptions): void {
  if (typeof opts.host !== 'string' || opts.host.length === 0)
    throw new Error('p2p: host must be a non-empty string')
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error(`p2p: port must be an integer in 0..65535, got ${opts.port}`)
  }
  if (typeof opts.chainId !== 'bigint' || opts.chainId < 0n)
    throw new Error('p2p: chainId must be a non-negative bigint')
  if (!(opts.genesisHash instanceof Uint8Array) || opts.genesisHash.length !== 32) {
    throw new Error('p2p: genesisHash must be 32 bytes')
  }
  if (!Array.isArray(opts.bootnodes)) throw new Error('p2p: bootnodes must be an array of multiaddr strings')
  if (typeof opts.status !== 'function') throw new Error('p2p: status must be a function')
  if (opts.maxPeers !== undefined && (!Number.isInteger(opts.maxPeers) || opts.maxPeers < 1)) {
    throw new Error(`p2p: maxPeers must be a positive integer, got ${opts.maxPeers}`)
  }
  for (const [topic, n] of Object.entries(opts.maxMessageBytes ?? {})) {
    if (!GOSSIP_TOPICS.includes(topic as GossipTopic))
      throw new Error(`p2p: maxMessageBytes has unknown topic ${topic}`)
    if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 64 * 1024 * 1024) {
      throw new Error(`p2p: maxMessageBytes.${topic} must be an integer in 1..64 MiB`)
    }
  }
}

// biome-ignore lint/suspicious/noExplicitAny: libp2p's service map type is inferred from createLibp2p.
type Node = Libp2p<{ pubsub: GossipSub; identify: any; ping: any }>

export class P2PNetwork {
  readonly peerId: string
  readonly events = new EventEmitter<P2PEvents>()

  private readonly node: Node
  private readonly pubsub: GossipSub
  private readonly opts: P2POptions
  private readonly log: Logger
  private readonly topics: Record<GossipTopic, string>
  private readonly topicOf = new Map<string, GossipTopic>()
  private readonly limits: Record<GossipTopic, number>
  private readonly validators = new Map<GossipTopic, Validator>()
  private readonly handlers = new Map<GossipTopic, MessageHandler[]>()
  private readonly counts: Record<GossipTopic, Record<Verdict, number>>
  private readonly statuses = new Map<string, ChainStatus>()
  /** Peers whose status handshake succeeded: they got a 'peer:connect' and will get a 'peer:disconnect'. */
  private readonly ready = new Set<string>()
  private readonly protocols = new Map<string, string[]>()
  private readonly banned = new Map<string, number>()
  private readonly bootnodes: Bootnode[]
  private readonly refreshing = new Set<string>()
  private blocksHandler: BlocksHandler | undefined
  private serving = 0
  private warnedNoValidator = new Set<GossipTopic>()
  private timers: NodeJS.Timeout[] = []
  private closed = false
  private closing: Promise<void> | undefined

  static async create(opts: P2POptions): Promise<P2PNetwork> {
    validateOptions(opts)
    const privateKey = nodePrivateKey(opts.nodeKey)
    const bootnodes = opts.bootnodes.map(parseBootnode)
    const limits = { ...DEFAULT_MAX_MESSAGE_BYTES, ...opts.maxMessageBytes }
    const maxLimit = Math.max(...Object.values(limits))
    const topics = {
      tx: topicName(opts.chainId, opts.genesisHash, 'tx'),
      consensus: topicName(opts.chainId, opts.genesisHash, 'consensus'),
      block: topicName(opts.chainId, opts.genesisHash, 'block'),
      output: topicName(opts.chainId, opts.genesisHash, 'output'),
    }
    const banned = new Map<string, number>()
    const isBanned = (peer: PeerId): boolean => {
      const until = banned.get(peer.toString())
      if (until === undefined) return false
      if (until > Date.now()) return true
      banned.delete(peer.toString())
      return false
    }
    // libp2p's own maxConnections neither refuses nor prunes connections that carry long-lived
    // gossipsub streams, so the peer limit is enforced here, once the remote is authenticated.
    // Bootnodes (our validators) are always let in, so filling the slots cannot cut them off.
    const maxPeers = opts.maxPeers ?? 50
    const bootIds = new Set(bootnodes.map((b) => b.peerId.toString()))
    let full: (peer: PeerId) => boolean = () => false
    const self = peerIdFromPrivateKey(privateKey)
    const bootList = bootnodes.filter((b) => !b.peerId.equals(self)).map((b) => b.addr.toString())

    const node = (await createLibp2p({
      start: false,
      privateKey,
      addresses: { listen: [`/ip${opts.host.includes(':') ? 6 : 4}/${opts.host}/tcp/${opts.port}`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: {
        // Headroom over maxPeers for simultaneous dials and our own outbound bootnode dials.
        maxConnections: maxPeers * 2 + 8,
        maxIncomingPendingConnections: 16,
        dialTimeout: 10_000,
      },
      connectionGater: {
        // Only loopback and private ranges must be dialable (tests, LAN validators): libp2p's
        // default gater already allows them for TCP; we only add the wrong-chain ban.
        denyDialPeer: isBanned,
        denyInboundEncryptedConnection: (peer) => isBanned(peer) || full(peer),
      },
      peerDiscovery: bootList.length > 0 ? [bootstrap({ list: bootList, timeout: 0 })] : [],
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          globalSignaturePolicy: 'StrictNoSign',
          // Content addressed: the same payload relayed by different origins dedupes.
          msgIdFn: (msg: Message) => createHash('sha256').update(msg.topic).update(msg.data).digest(),
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          emitSelf: false,
          fallbackToFloodsub: false,
          floodPublish: true,
          doPX: false,
          heartbeatInterval: 700,
          D: 8,
          Dlo: 6,
          Dhi: 12,
          Dlazy: 6,
          mcacheLength: 6,
          mcacheGossip: 3,
          seenTTL: 120_000,
          allowedTopics: Object.values(topics),
          maxInboundDataLength: maxLimit + 64 * 1024,
          maxOutboundBufferSize: 4 * (maxLimit + 64 * 1024),
          scoreParams: scoreParams(topics),
          scoreThresholds: SCORE_THRESHOLDS,
        }),
      },
    })) as unknown as Node
    full = (peer) =>
      !bootIds.has(peer.toString()) &&
      node.getConnections(peer).length === 0 &&
      node.getPeers().length >= maxPeers
    const net = new P2PNetwork(node, opts, topics, limits, banned, bootnodes)
    try {
      await net.start()
    } catch (err) {
      await net.close()
      throw err
    }
    return net
  }

  private constructor(
    node: Node,
    opts: P2POptions,
    topics: Record<GossipTopic, string>,
    limits: Record<GossipTopic, number>,
    banned: Map<string, number>,
    bootnodes: Array<{ addr: Multiaddr; peerId: PeerId }>,
  ) {
    this.node = node
    this.pubsub = node.services.pubsub
    this.opts = opts
    this.log = opts.log.child({ module: 'p2p' })
    this.topics = topics
    this.limits = limits
    this.banned = banned
    this.peerId = node.peerId.toString()
    for (const t of GOSSIP_TOPICS) this.topicOf.set(topics[t], t)
    this.counts = {
      tx: { accept: 0, ignore: 0, reject: 0 },
      consensus: { accept: 0, ignore: 0, reject: 0 },
      block: { accept: 0, ignore: 0, reject: 0 },
      output: { accept: 0, ignore: 0, reject: 0 },
    }
    this.bootnodes = bootnodes
      .filter((b) => !b.peerId.equals(node.peerId))
      .map((b) => ({ ...b, nextAttemptAt: 0, backoffMs: BOOTNODE_MIN_BACKOFF_MS, dialing: false }))
  }

  private async start(): Promise<void> {
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
    await node.handle(BLOCKS_BY_RANGE_PROTOCOL, (stream, conn) => this.serveBlocksByRange(stream, conn), {
      maxInboundStreams: 4,
      maxOutboundStreams: 8,
    })

    for (const t of GOSSIP_TOPICS) {
      this.pubsub.topicValidators.set(this.topics[t], (peer, msg) => this.validate(t, peer, msg))
    }
    this.pubsub.addEventListener('gossipsub:message', (evt) => this.deliver(evt.detail))

    await node.start()
    for (const t of GOSSIP_TOPICS) this.pubsub.subscribe(this.topics[t])

    // Bootnodes must stay connected: they are the validators we need for quorum. libp2p redials
    // KEEP_ALIVE peers a few times; our own loop keeps trying forever with capped backoff.
    for (const b of this.bootnodes) {
      await node.peerStore.merge(b.peerId, { multiaddrs: [b.addr], tags: { [KEEP_ALIVE]: { value: 1 } } })
    }
    const bootTimer = setInterval(() => this.tickBootnodes(), BOOTNODE_TICK_MS)
    bootTimer.unref()
    const statusTimer = setInterval(() => this.refreshStatuses(), this.opts.statusIntervalMs ?? 5000)
    statusTimer.unref()
    this.timers.push(bootTimer, statusTimer)
    this.tickBootnodes()
    this.log.info(
      { peerId: this.peerId, addrs: this.multiaddrs(), bootnodes: this.bootnodes.length },
      'p2p started',
    )
  }

  /** The underlying libp2p node: an escape hatch for diagnostics and tests, not for normal use. */
  get libp2p(): Libp2p {
    return this.node
  }

  multiaddrs(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString())
  }

  setValidator(topic: GossipTopic, fn: Validator): void {
    if (!GOSSIP_TOPICS.includes(topic)) throw new Error(`p2p: unknown topic ${String(topic)}`)
    if (typeof fn !== 'function') throw new Error('p2p: validator must be a function')
    this.validators.set(topic, fn)
  }

  /** Called with every accepted message on `topic` (after its validator said 'accept'). */
  onMessage(topic: GossipTopic, fn: MessageHandler): void {
    if (!GOSSIP_TOPICS.includes(topic)) throw new Error(`p2p: unknown topic ${String(topic)}`)
    const list = this.handlers.get(topic) ?? []
    list.push(fn)
    this.handlers.set(topic, list)
  }

  async publish(topic: GossipTopic, data: Uint8Array): Promise<void> {
    if (!GOSSIP_TOPICS.includes(topic)) throw new Error(`p2p: unknown topic ${String(topic)}`)
    if (!(data instanceof Uint8Array)) throw new Error('p2p: publish data must be a Uint8Array')
    if (data.length > this.limits[topic]) {
      throw new Error(
        `p2p: ${topic} message of ${data.length} bytes exceeds the ${this.limits[topic]}-byte limit`,
      )
    }
    if (this.closed) throw new Error('p2p: network is closed')
    // allowPublishToZeroTopicPeers and ignoreDuplicatePublishError: a lone node or a re-publish never throws.
    await this.pubsub.publish(this.topics[topic], data)
  }

  onBlocksByRange(handler: BlocksHandler): void {
    if (typeof handler !== 'function') throw new Error('p2p: blocks handler must be a function')
    this.blocksHandler = handler
  }

  async requestBlocksByRange(
    peerId: string,
    from: bigint,
    count: number,
    opts: { timeoutMs?: number } = {},
  ): Promise<Uint8Array[]> {
    checkRangeRequest(from, count)
    const signal = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
    const what = `blocks_by_range(${from}, ${count}) from ${peerId}`
    const stream = await this.openStream(peerId, BLOCKS_BY_RANGE_PROTOCOL, signal, what)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES, maxBufferSize: MAX_FRAME_BYTES + 16 })
      await lp.write(encodeRangeRequest({ from, count }), { signal })
      await stream.close({ signal })
      const header = decodeRangeHeader(own(await lp.read({ signal })))
      if (!header.ok) throw new Error(`${what}: peer answered with an error: ${header.error}`)
      if (header.count > count)
        throw new Error(`${what}: peer announced ${header.count} blocks, more than asked`)
      const blocks: Uint8Array[] = []
      for (let i = 0; i < header.count; i++) blocks.push(own(await lp.read({ signal })))
      return blocks
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (signal.aborted) throw new Error(`${what}: timed out`)
      if (err instanceof Error && err.message.startsWith(what)) throw err
      throw new Error(`${what}: ${errMsg(err)}`)
    }
  }

  async requestStatus(peerId: string, opts: { timeoutMs?: number } = {}): Promise<ChainStatus> {
    const signal = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
    const what = `status from ${peerId}`
    const stream = await this.openStream(peerId, STATUS_PROTOCOL, signal, what)
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

  peers(): PeerSummary[] {
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
      score: this.score(id),
      protocols: this.protocols.get(id),
    }))
  }

  peerCount(): number {
    return this.node.getPeers().length
  }

  score(peerId: string): number {
    return (this.pubsub as unknown as { getScore(id: string): number }).getScore(peerId)
  }

  gossipCounts(): Record<GossipTopic, Record<Verdict, number>> {
    return {
      tx: { ...this.counts.tx },
      consensus: { ...this.counts.consensus },
      block: { ...this.counts.block },
      output: { ...this.counts.output },
    }
  }

  /** Gossipsub mesh peers per topic (diagnostics, tests). */
  meshPeers(topic: GossipTopic): string[] {
    return (this.pubsub as unknown as { getMeshPeers(t: string): string[] }).getMeshPeers(this.topics[topic])
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true
      for (const t of this.timers) clearInterval(t)
      this.timers = []
      try {
        await this.node.stop()
      } catch (err) {
        this.log.warn({ err: errMsg(err) }, 'p2p stop failed')
      }
      this.events.removeAllListeners()
      this.log.info('p2p stopped')
    })()
    return this.closing
  }

  // --- gossip ---------------------------------------------------------------------------------

  private async validate(topic: GossipTopic, peer: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const verdict = await this.runValidator(topic, peer.toString(), msg.data)
    this.counts[topic][verdict]++
    return VERDICT[verdict]
  }

  private async runValidator(topic: GossipTopic, from: string, data: Uint8Array): Promise<Verdict> {
    if (data.length > this.limits[topic]) {
      this.log.debug({ topic, from, bytes: data.length }, 'oversized gossip message rejected')
      return 'reject'
    }
    const fn = this.validators.get(topic)
    if (fn === undefined) {
      // Nothing unvalidated is ever relayed.
      if (!this.warnedNoValidator.has(topic)) {
        this.warnedNoValidator.add(topic)
        this.log.warn({ topic }, 'gossip message dropped: no validator set for topic')
      }
      return 'ignore'
    }
    try {
      const verdict = await fn(data, from)
      if (verdict === 'accept' || verdict === 'ignore' || verdict === 'reject') return verdict
      this.log.error({ topic, verdict }, 'gossip validator returned an invalid verdict; treating as reject')
      return 'reject'
    } catch (err) {
      this.log.warn({ topic, from, err: errMsg(err) }, 'gossip validator threw; treating as reject')
      return 'reject'
    }
  }

  private deliver(m: GossipsubMessage): void {
    const topic = this.topicOf.get(m.msg.topic)
    if (topic === undefined) return
    const from = m.propagationSource.toString()
    for (const h of this.handlers.get(topic) ?? []) {
      try {
        h(m.msg.data, from)
      } catch (err) {
        this.log.error({ topic, err: errMsg(err) }, 'gossip message handler threw')
      }
    }
  }

  // --- connections, handshake -----------------------------------------------------------------

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

  private async serveBlocksByRange(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(SERVE_TIMEOUT_MS)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const fail = async (error: string): Promise<void> => {
      this.log.debug({ peer, error }, 'blocks_by_range request refused')
      await lp.write(encodeRangeHeader({ ok: false, error }), { signal })
      await stream.close({ signal })
    }
    this.serving++
    try {
      let from: bigint
      let count: number
      try {
        // Requests are tiny: read with a control-size cap via a separate check below.
        const frame = await lp.read({ signal })
        if (frame.byteLength > MAX_CONTROL_FRAME_BYTES) return await fail('request frame too large')
        ;({ from, count } = decodeRangeRequest(own(frame)))
        checkRangeRequest(from, count)
      } catch (err) {
        if (signal.aborted) throw err
        return await fail(`bad request: ${errMsg(err)}`)
      }
      const handler = this.blocksHandler
      if (handler === undefined) return await fail('blocks_by_range not served by this node')
      if (this.serving > MAX_CONCURRENT_SERVES) return await fail('busy, retry later')
      let blocks: Uint8Array[]
      try {
        blocks = await untilAborted(
          Promise.resolve().then(() => handler(from, count)),
          signal,
        )
      } catch (err) {
        this.log.warn(
          { peer, from: from.toString(), count, err: errMsg(err) },
          'blocks_by_range handler failed',
        )
        return await fail('internal error')
      }
      if (!Array.isArray(blocks) || blocks.length > count || blocks.some((b) => !(b instanceof Uint8Array))) {
        this.log.error({ count }, 'blocks_by_range handler returned an invalid result')
        return await fail('internal error')
      }
      const oversized = blocks.findIndex((b) => b.length > MAX_FRAME_BYTES)
      // Never send a frame the requester must refuse: truncate at the first oversized block.
      const send = oversized === -1 ? blocks : blocks.slice(0, oversized)
      await lp.write(encodeRangeHeader({ ok: true, count: send.length }), { signal })
      for (const b of send) await lp.write(b, { signal })
      await stream.close({ signal })
    } catch (err) {
      this.log.debug({ peer, err: errMsg(err) }, 'blocks_by_range stream failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      this.serving--
    }
  }

  private async openStream(
    peerId: string,
    protocol: string,
    signal: AbortSignal,
    what: string,
  ): Promise<Stream> {
    if (this.closed) throw new Error(`${what}: network is closed`)
    let peer: PeerId
    try {
      peer = peerIdFromString(peerId)
    } catch {
      throw new Error(`${what}: invalid peer id`)
    }
    if (this.node.getConnections(peer).length === 0) throw new Error(`${what}: peer is not connected`)
    try {
      return await this.node.dialProtocol(peer, protocol, { signal })
    } catch (err) {
      if (signal.aborted) throw new Error(`${what}: timed out`)
      throw new Error(`${what}: could not open stream (${errMsg(err)})`)
    }
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
