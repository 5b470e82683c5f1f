/** Pure helpers: topic names, peer ids from node keys, gossipsub score parameters. */
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { bytesToHex } from '@noble/hashes/utils.js'

/** `output`: validators' signatures over L1 output roots (chains settled on an L1). */
export type GossipTopic = 'tx' | 'consensus' | 'block' | 'output'
export type Verdict = 'accept' | 'ignore' | 'reject'

export const GOSSIP_TOPICS: readonly GossipTopic[] = ['tx', 'consensus', 'block', 'output']

export const DEFAULT_MAX_MESSAGE_BYTES: Readonly<Record<GossipTopic, number>> = {
  tx: 128 * 1024,
  consensus: 4 * 1024 * 1024,
  block: 8 * 1024 * 1024,
  // block number, root, up to 128 next validators, one signature: ~4.5 KiB
  output: 8 * 1024,
}

/** `/openledger/<chainId>/<first 8 bytes of genesis hash, hex>/<topic>/1`: nodes of another chain never share a topic. */
export function topicName(chainId: bigint, genesisHash: Uint8Array, topic: GossipTopic): string {
  if (typeof chainId !== 'bigint' || chainId < 0n)
    throw new Error(`topicName: chainId must be a non-negative bigint`)
  if (!(genesisHash instanceof Uint8Array) || genesisHash.length !== 32) {
    throw new Error('topicName: genesisHash must be 32 bytes')
  }
  if (!GOSSIP_TOPICS.includes(topic)) throw new Error(`topicName: unknown topic ${String(topic)}`)
  return `/openledger/${chainId}/${bytesToHex(genesisHash.subarray(0, 8))}/${topic}/1`
}

export function nodePrivateKey(nodeKey: Uint8Array): PrivateKey {
  if (!(nodeKey instanceof Uint8Array) || nodeKey.length !== 32) {
    throw new Error('p2p: nodeKey must be a 32-byte secp256k1 private key')
  }
  try {
    return privateKeyFromRaw(nodeKey)
  } catch (err) {
    throw new Error(`p2p: nodeKey is not a valid secp256k1 private key (${(err as Error).message})`)
  }
}

/** The base58 libp2p peer id of a node key; pure, so validator peer ids are known before start. */
export function peerIdFromNodeKey(nodeKey: Uint8Array): string {
  return peerIdFromPrivateKey(nodePrivateKey(nodeKey)).toString()
}

/**
 * Topic weights: a bad consensus message costs more than a bad transaction, because tx rejections
 * can come from benign races that the validator should answer with 'ignore' anyway.
 */
const TOPIC_WEIGHT: Record<GossipTopic, number> = { consensus: 1, block: 0.7, output: 0.5, tx: 0.4 }

function topicScoreParams(topic: GossipTopic): TopicScoreParams {
  return {
    topicWeight: TOPIC_WEIGHT[topic],
    // P1: a little credit for staying in the mesh (max 3 after 5 minutes).
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 300,
    // P2: credit for being first to deliver a valid message (max 10).
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 20,
    // P3/P3b off: traffic on an app-chain is bursty (idle chains send no txs), so a
    // delivery-rate expectation would punish honest peers.
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 100,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 60_000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    // P4: the invalid-message penalty, squared in the count; decays with a ~70 s half-life.
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.99,
  }
}

export function scoreParams(topicNames: Record<GossipTopic, string>): Partial<PeerScoreParams> {
  const topics: Record<string, TopicScoreParams> = {}
  for (const t of GOSSIP_TOPICS) topics[topicNames[t]] = topicScoreParams(t)
  return {
    topics,
    topicScoreCap: 20,
    appSpecificScore: () => 0,
    appSpecificWeight: 1,
    // Sybil guard; validators behind one NAT or on one host stay well under the threshold.
    IPColocationFactorWeight: -5,
    IPColocationFactorThreshold: 10,
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 0,
    behaviourPenaltyDecay: 0.9,
    decayInterval: 1000,
    decayToZero: 0.01,
    // Keep a disconnected peer's (bad) score for an hour so reconnecting does not launder it.
    retainScore: 3600 * 1000,
  }
}

export const SCORE_THRESHOLDS: Partial<PeerScoreThresholds> = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 100,
  opportunisticGraftThreshold: 5,
}
