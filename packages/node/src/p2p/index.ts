/**
 * libp2p networking of a node, assembled from its parts: the libp2p host (host.ts: TCP + noise +
 * yamux, identify, ping, gossipsub, bootstrap, peer limit), gossip with one validator per topic
 * (gossip.ts), request/response blocks_by_range (req-resp.ts), and peers: status handshake,
 * wrong-chain bans and the bootnode re-dialer (peers.ts).
 */
import '../polyfills.ts'
import type { EventEmitter } from 'node:events'
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'
import { Gossip, type MessageHandler, type Validator } from './gossip.ts'
import { createHost, type Node, type P2POptions } from './host.ts'
import type { GossipTopic, Verdict } from './params.ts'
import { type P2PEvents, type PeerSummary, Peers } from './peers.ts'
import { BlocksByRange, type BlocksHandler } from './req-resp.ts'
import { errMsg } from './streams.ts'
import type { ChainStatus } from './wire.ts'

export type { P2POptions } from './host.ts'
export type { GossipTopic, Verdict } from './params.ts'
export { GOSSIP_TOPICS, peerIdFromNodeKey, topicName } from './params.ts'
export type { P2PEvents, PeerSummary } from './peers.ts'
export type { ChainStatus } from './wire.ts'
export { BLOCKS_BY_RANGE_PROTOCOL, MAX_BLOCKS_PER_REQUEST, STATUS_PROTOCOL } from './wire.ts'

export class P2PNetwork {
  readonly peerId: string
  readonly events: EventEmitter<P2PEvents>
  private readonly log: Logger
  private closing: Promise<void> | undefined

  static async create(opts: P2POptions): Promise<P2PNetwork> {
    const host = await createHost(opts)
    const log = opts.log.child({ module: 'p2p' })
    const net = new P2PNetwork(
      host.node,
      new Gossip(host.node.services.pubsub, host.topics, host.limits, log),
      new BlocksByRange(host.node, log),
      new Peers(host.node, opts, host.banned, host.bootnodes, log),
      log,
    )
    try {
      await net.start()
    } catch (err) {
      await net.close()
      throw err
    }
    return net
  }

  private constructor(
    private readonly node: Node,
    private readonly gossip: Gossip,
    private readonly range: BlocksByRange,
    private readonly peerSet: Peers,
    log: Logger,
  ) {
    this.log = log
    this.peerId = node.peerId.toString()
    this.events = peerSet.events
  }

  private async start(): Promise<void> {
    await this.peerSet.register()
    await this.range.register()
    this.gossip.install()
    await this.node.start()
    this.gossip.subscribe()
    await this.peerSet.start()
    this.log.info(
      { peerId: this.peerId, addrs: this.multiaddrs(), bootnodes: this.peerSet.bootnodeCount },
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
    this.gossip.setValidator(topic, fn)
  }

  /** Called with every accepted message on `topic` (after its validator said 'accept'). */
  onMessage(topic: GossipTopic, fn: MessageHandler): void {
    this.gossip.onMessage(topic, fn)
  }

  publish(topic: GossipTopic, data: Uint8Array): Promise<void> {
    return this.gossip.publish(topic, data)
  }

  onBlocksByRange(handler: BlocksHandler): void {
    this.range.onBlocksByRange(handler)
  }

  requestBlocksByRange(
    peerId: string,
    from: bigint,
    count: number,
    opts: { timeoutMs?: number } = {},
  ): Promise<Uint8Array[]> {
    return this.range.requestBlocksByRange(peerId, from, count, opts)
  }

  requestStatus(peerId: string, opts: { timeoutMs?: number } = {}): Promise<ChainStatus> {
    return this.peerSet.requestStatus(peerId, opts)
  }

  peers(): PeerSummary[] {
    return this.peerSet.summaries((id) => this.gossip.score(id))
  }

  peerCount(): number {
    return this.node.getPeers().length
  }

  score(peerId: string): number {
    return this.gossip.score(peerId)
  }

  gossipCounts(): Record<GossipTopic, Record<Verdict, number>> {
    return this.gossip.gossipCounts()
  }

  /** Gossipsub mesh peers per topic (diagnostics, tests). */
  meshPeers(topic: GossipTopic): string[] {
    return this.gossip.meshPeers(topic)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.gossip.close()
      this.range.close()
      this.peerSet.close()
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
}
