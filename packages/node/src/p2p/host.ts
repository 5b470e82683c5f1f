/**
 * The libp2p host of a node: TCP + noise + yamux, identify, ping, gossipsub with this chain's
 * topics and scoring, bootstrap from the bootnodes, the peer limit and the wrong-chain ban in the
 * connection gater. Built, not started: the network (index.ts) attaches gossip, req/resp and peer
 * handling first.
 */
import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { type GossipSub, gossipsub, type Message } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
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
} from './params.ts'
import { errMsg } from './streams.ts'
import type { ChainStatus } from './wire.ts'
import { installYamuxWindowThreshold } from './yamux-window.ts'

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

// biome-ignore lint/suspicious/noExplicitAny: libp2p's service map type is inferred from createLibp2p.
export type Node = Libp2p<{ pubsub: GossipSub; identify: any; ping: any }>

export interface Host {
  node: Node
  topics: Record<GossipTopic, string>
  limits: Record<GossipTopic, number>
  /** Peer id → until when it is refused (wrong chain). */
  banned: Map<string, number>
  bootnodes: Array<{ addr: Multiaddr; peerId: PeerId }>
}

export function parseBootnode(entry: string, index: number): { addr: Multiaddr; peerId: PeerId } {
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

export function validateOptions(opts: P2POptions): void {
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

/** Validates the options and builds the (unstarted) libp2p node. */
export async function createHost(opts: P2POptions): Promise<Host> {
  validateOptions(opts)
  installYamuxWindowThreshold()
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
  return { node, topics, limits, banned, bootnodes }
}
