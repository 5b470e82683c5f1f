/**
 * Gossip: the three topics of this chain (tx, consensus, block) over gossipsub. Every message
 * passes through exactly one validator per topic (the gossip choke point) before it is relayed or
 * delivered; its verdict feeds gossipsub's peer scoring.
 */
import { type GossipSub, type GossipsubMessage, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { GOSSIP_TOPICS, type GossipTopic, type Verdict } from './params.ts'
import { errMsg } from './streams.ts'

export type Validator = (data: Uint8Array, from: string) => Verdict | Promise<Verdict>
export type MessageHandler = (data: Uint8Array, from: string) => void

const VERDICT: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
}

export class Gossip {
  private readonly topicOf = new Map<string, GossipTopic>()
  private readonly validators = new Map<GossipTopic, Validator>()
  private readonly handlers = new Map<GossipTopic, MessageHandler[]>()
  private readonly counts: Record<GossipTopic, Record<Verdict, number>> = {
    tx: { accept: 0, ignore: 0, reject: 0 },
    consensus: { accept: 0, ignore: 0, reject: 0 },
    block: { accept: 0, ignore: 0, reject: 0 },
    output: { accept: 0, ignore: 0, reject: 0 },
  }
  private warnedNoValidator = new Set<GossipTopic>()
  private closed = false

  constructor(
    private readonly pubsub: GossipSub,
    private readonly topics: Record<GossipTopic, string>,
    private readonly limits: Record<GossipTopic, number>,
    private readonly log: Logger,
  ) {
    for (const t of GOSSIP_TOPICS) this.topicOf.set(topics[t], t)
  }

  /** Installs the validators and the delivery listener (before the node starts). */
  install(): void {
    for (const t of GOSSIP_TOPICS) {
      this.pubsub.topicValidators.set(this.topics[t], (peer, msg) => this.validate(t, peer, msg))
    }
    this.pubsub.addEventListener('gossipsub:message', (evt) => this.deliver(evt.detail))
  }

  /** Joins the topics (after the node started). */
  subscribe(): void {
    for (const t of GOSSIP_TOPICS) this.pubsub.subscribe(this.topics[t])
  }

  /** Publishing fails from now on (the libp2p node is stopped by the network). */
  close(): void {
    this.closed = true
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
}
