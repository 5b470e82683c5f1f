/**
 * Invalid gossip against a running validator (in-process node, real libp2p on 127.0.0.1): garbage,
 * bad signatures, non-validator authors, another chain's messages, oversized messages, bad
 * transactions and blocks. Each is rejected, lowers the sender's gossip score, and the node keeps
 * producing blocks.
 */
import { join } from 'node:path'
import { RLP } from '@ethereumjs/rlp'
import {
  createCommit,
  createPrepare,
  encodeMessage,
  privateKeySigner,
  privateKeyToAddress,
} from '@openledger/consensus'
import { parseGenesis } from '@openledger/evm-runtime'
import {
  buildQbftGenesis,
  generatePrivateKey,
  NetworkNode,
  P2PNetwork,
  silentLogger,
  topicName,
} from '@openledger/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir, waitFor } from '../helpers/dev-node.ts'

let node: NetworkNode
let dir: Awaited<ReturnType<typeof tempDir>>
const validatorKey = generatePrivateKey()
const attackers: P2PNetwork[] = []

beforeAll(async () => {
  dir = await tempDir()
  const genesis = parseGenesis(await buildQbftGenesis({ validators: [privateKeyToAddress(validatorKey)] }))
  node = await NetworkNode.start({
    datadir: join(dir.path, 'node'),
    genesis,
    validatorKey,
    p2p: { host: '127.0.0.1', port: 0, bootnodes: [] },
    rpc: { host: '127.0.0.1', port: 0 },
    log: silentLogger(),
  })
}, 120_000)

afterAll(async () => {
  for (const a of attackers) await a.close()
  await node?.close()
  await dir?.remove()
})

/** A fresh peer (its own identity, so each offence is scored on its own) meshed with the node. */
async function attacker(): Promise<P2PNetwork> {
  const chainId = node.backend.chainId
  const genesisHash = (await node.backend.getBlock({ number: 0n }))!.hash()
  const a = await P2PNetwork.create({
    nodeKey: generatePrivateKey(),
    host: '127.0.0.1',
    port: 0,
    bootnodes: node.p2p.multiaddrs(),
    chainId,
    genesisHash,
    status: () => ({ chainId, genesisHash, headNumber: 0n, headHash: genesisHash }),
    maxMessageBytes: { consensus: 16 * 1024 * 1024 },
    log: silentLogger(),
  })
  attackers.push(a)
  for (const t of ['tx', 'consensus', 'block'] as const) a.setValidator(t, () => 'ignore')
  // Gossip only flows once both sides have each other in the topic meshes.
  await waitFor(
    async () => (['tx', 'consensus', 'block'] as const).every((t) => a.meshPeers(t).includes(node.peerId)),
    30_000,
    'mesh',
  )
  return a
}

const rejects = (topic: 'tx' | 'consensus' | 'block') => node.p2p.gossipCounts()[topic].reject

/** One invalid message from a fresh peer: rejected, and that peer's score goes negative. */
async function expectRejected(topic: 'tx' | 'consensus' | 'block', data: Uint8Array): Promise<void> {
  const a = await attacker()
  const before = rejects(topic)
  await a.publish(topic, data)
  await waitFor(async () => rejects(topic) > before, 10_000, `${topic} reject`)
  await waitFor(async () => node.p2p.score(a.peerId) < 0, 10_000, 'negative score')
}

describe('the gossip choke point', () => {
  it('rejects each kind of invalid message, penalises its sender, and keeps the chain going', async () => {
    const chainId = node.backend.chainId
    const genesisHash = (await node.backend.getBlock({ number: 0n }))!.hash()
    const head = node.chain.head.header.number
    const digest = node.chain.head.hash()
    const outsider = privateKeySigner(generatePrivateKey())
    const validator = privateKeySigner(validatorKey)

    // Garbage bytes.
    await expectRejected('consensus', Uint8Array.of(0x13, 0xde, 0xad, 0xbe, 0xef))
    // A well-formed prepare with a corrupted signature.
    const prepare = encodeMessage(createPrepare(validator, chainId, head + 5n, 0, digest))
    const tampered = Uint8Array.from(prepare)
    tampered[tampered.length - 10]! ^= 0xff
    await expectRejected('consensus', tampered)
    // Signed by a key that is not a validator.
    await expectRejected('consensus', encodeMessage(createCommit(outsider, chainId, head + 5n, 0, digest)))
    // Signed by the validator's key for another chain: on this chain it recovers to a stranger.
    await expectRejected(
      'consensus',
      encodeMessage(createPrepare(validator, chainId + 1n, head + 5n, 0, digest)),
    )
    // Transactions and blocks that do not decode.
    await expectRejected('tx', Uint8Array.of(0x02, 0xc0))
    await expectRejected('block', RLP.encode([Uint8Array.of(1), Uint8Array.of(2)]))

    // Oversized (the node's consensus limit is 4 MiB) and another chain's topic: neither reaches
    // the node's validators, so nothing is accepted from this peer.
    const a = await attacker()
    const accepted = node.p2p.gossipCounts().consensus.accept
    await a.publish('consensus', new Uint8Array(5 * 1024 * 1024).fill(0x13)).catch(() => {})
    const pubsub = (a.libp2p.services as { pubsub: { publish(t: string, d: Uint8Array): Promise<unknown> } })
      .pubsub
    const otherChain = topicName(chainId + 1n, genesisHash, 'consensus')
    await pubsub.publish(otherChain, prepare).catch(() => {})

    // Still alive and finalising.
    const h = node.chain.head.header.number
    await waitFor(async () => node.chain.head.header.number >= h + 2n, 20_000, 'two more blocks')
    expect(node.p2p.gossipCounts().consensus.accept).toBe(accepted)
    const res = await fetch(node.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}',
    })
    expect(res.status).toBe(200)
  })
})
