import { createHash } from 'node:crypto'
import { type AddressInfo, createServer } from 'node:net'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BLOCKS_BY_RANGE_PROTOCOL,
  type ChainStatus,
  type GossipTopic,
  P2PNetwork,
  type P2POptions,
  peerIdFromNodeKey,
  topicName,
  type Verdict,
} from '../src/p2p/index.ts'
import { decodeRangeHeader, encode } from '../src/p2p/wire.ts'

const log = pino({ level: process.env.P2P_TEST_LOG ?? 'silent' })
const CHAIN_ID = 1337n
const GENESIS = sha(new TextEncoder().encode('genesis'))
const OTHER_GENESIS = sha(new TextEncoder().encode('another genesis'))
const enc = new TextEncoder()
const dec = new TextDecoder()

function sha(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

function nodeKey(i: number): Uint8Array {
  return sha(enc.encode(`p2p-test-node-${i}`))
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

interface TestNode {
  net: P2PNetwork
  /** Everything any validator on this node was asked about, by topic. */
  seen: Record<GossipTopic, string[]>
  /** Messages delivered to onMessage after acceptance. */
  delivered: Record<GossipTopic, string[]>
}

/** Payload prefixes drive the verdict so one validator serves every test. */
function verdictFor(payload: string): Verdict {
  if (payload.startsWith('ign:')) return 'ignore'
  if (payload.startsWith('bad:')) return 'reject'
  if (payload.startsWith('throw:')) throw new Error('validator exploded')
  return 'accept'
}

async function startNode(
  i: number,
  over: Partial<P2POptions> & { head?: bigint; asyncValidator?: boolean } = {},
): Promise<TestNode> {
  const head = over.head ?? BigInt(i)
  const genesisHash = over.genesisHash ?? GENESIS
  const status = (): ChainStatus => ({
    chainId: CHAIN_ID,
    genesisHash,
    headNumber: head,
    headHash: sha(enc.encode(`head-${head}`)),
  })
  const net = await P2PNetwork.create({
    nodeKey: nodeKey(i),
    host: '127.0.0.1',
    port: 0,
    bootnodes: [],
    chainId: CHAIN_ID,
    genesisHash,
    status,
    log,
    ...over,
  })
  const tn: TestNode = {
    net,
    seen: { tx: [], consensus: [], block: [], output: [] },
    delivered: { tx: [], consensus: [], block: [], output: [] },
  }
  for (const t of ['tx', 'consensus', 'block'] as const) {
    net.setValidator(t, async (data) => {
      const s = dec.decode(data)
      tn.seen[t].push(s)
      if (over.asyncValidator) await new Promise((r) => setImmediate(r))
      return verdictFor(s)
    })
    net.onMessage(t, (data) => tn.delivered[t].push(dec.decode(data)))
  }
  return tn
}

describe('p2p helpers', () => {
  it('derives the peer id from the node key without networking, and names topics per chain', () => {
    const id = peerIdFromNodeKey(nodeKey(0))
    expect(id).toMatch(/^16Uiu2/) // secp256k1 identity multihash
    expect(peerIdFromNodeKey(nodeKey(0))).toBe(id)
    expect(topicName(1337n, GENESIS, 'tx')).toBe(
      `/openledger/1337/${Buffer.from(GENESIS.subarray(0, 8)).toString('hex')}/tx/1`,
    )
    expect(topicName(1337n, GENESIS, 'block')).not.toBe(topicName(1337n, OTHER_GENESIS, 'block'))
    expect(() => peerIdFromNodeKey(new Uint8Array(31))).toThrow(/32-byte/)
    expect(() => peerIdFromNodeKey(new Uint8Array(32))).toThrow(/not a valid secp256k1/)
    expect(() => topicName(1n, new Uint8Array(4), 'tx')).toThrow(/32 bytes/)
  })

  it('rejects invalid options at create()', async () => {
    const base = {
      nodeKey: nodeKey(9),
      host: '127.0.0.1',
      port: 0,
      chainId: CHAIN_ID,
      genesisHash: GENESIS,
      status: () => ({ chainId: CHAIN_ID, genesisHash: GENESIS, headNumber: 0n, headHash: GENESIS }),
      log,
    }
    await expect(P2PNetwork.create({ ...base, bootnodes: ['not a multiaddr'] })).rejects.toThrow(
      /bootnodes\[0\] is not a valid multiaddr/,
    )
    await expect(P2PNetwork.create({ ...base, bootnodes: ['/ip4/127.0.0.1/tcp/30303'] })).rejects.toThrow(
      /must end in \/p2p\/<peerId>/,
    )
    await expect(P2PNetwork.create({ ...base, bootnodes: [], port: 70000 })).rejects.toThrow(/port/)
    await expect(P2PNetwork.create({ ...base, bootnodes: [], maxMessageBytes: { tx: 0 } })).rejects.toThrow(
      /maxMessageBytes.tx/,
    )
  })

  it('a lone node starts, publishes without peers, and closes idempotently', async () => {
    const { net } = await startNode(8)
    expect(net.peerId).toBe(peerIdFromNodeKey(nodeKey(8)))
    const addrs = net.multiaddrs()
    expect(addrs.length).toBeGreaterThan(0)
    expect(addrs[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/[1-9]\\d*/p2p/${net.peerId}$`))
    await net.publish('tx', enc.encode('alone'))
    await net.publish('tx', enc.encode('alone')) // duplicate publish is not an error
    await expect(net.publish('tx', new Uint8Array(128 * 1024 + 1))).rejects.toThrow(/exceeds/)
    expect(net.peerCount()).toBe(0)
    await net.close()
    await net.close()
  })
})

describe('p2p network of 4 nodes (star around a bootnode)', () => {
  const nodes: TestNode[] = []
  const statusEvents: Array<[string, ChainStatus]> = []

  beforeAll(async () => {
    nodes.push(await startNode(0, { head: 100n }))
    nodes[0].net.events.on('peer:status', (id, s) => statusEvents.push([id, s]))
    const boot = nodes[0].net.multiaddrs()
    // Node 2 lets oversized tx through its own publish check, to test the receiver's limit.
    for (const i of [1, 2, 3]) {
      nodes.push(
        await startNode(i, {
          bootnodes: boot,
          asyncValidator: i === 3,
          maxMessageBytes: i === 2 ? { tx: 1024 * 1024 } : undefined,
        }),
      )
    }
    nodes[0].net.onBlocksByRange(async (from, count) => {
      if (from === 666n) throw new Error('database on fire')
      if (from === 777n) return new Promise<Uint8Array[]>(() => {}) // hangs
      const out: Uint8Array[] = []
      for (let n = from; n < from + BigInt(count) && n < 300n; n++) out.push(enc.encode(`block-${n}`))
      return out
    })
    // Every leaf is connected, handshaken and grafted on every topic with the bootnode.
    await waitFor(
      'star mesh',
      () =>
        nodes.slice(1).every((n) => n.net.peerCount() === 1 && n.net.peers()[0]?.status !== undefined) &&
        (['tx', 'consensus', 'block'] as const).every(
          (t) =>
            nodes[0].net.meshPeers(t).length === 3 &&
            nodes.slice(1).every((n) => n.net.meshPeers(t).length === 1),
        ),
      15_000,
    )
  }, 30_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.net.close()))
  })

  it('delivers a message on every topic from every node to all others', async () => {
    for (const t of ['tx', 'consensus', 'block'] as const) {
      for (const [i, n] of nodes.entries()) await n.net.publish(t, enc.encode(`ok:${t}:from-${i}`))
    }
    await waitFor('all deliveries', () =>
      nodes.every((n, j) =>
        (['tx', 'consensus', 'block'] as const).every((t) =>
          nodes.every((_, i) => i === j || n.delivered[t].includes(`ok:${t}:from-${i}`)),
        ),
      ),
    )
    // No self-delivery, no duplicates (content-addressed ids dedupe relays).
    for (const [j, n] of nodes.entries()) {
      expect(n.delivered.tx).not.toContain(`ok:tx:from-${j}`)
      expect(new Set(n.delivered.tx).size).toBe(n.delivered.tx.length)
    }
    expect(nodes[0].net.gossipCounts().block.accept).toBeGreaterThanOrEqual(3)
  })

  it('respects verdicts: ignored, rejected and throwing-validator messages are neither delivered nor relayed', async () => {
    const before = nodes[0].net.gossipCounts().block
    await nodes[1].net.publish('block', enc.encode('ign:1'))
    await nodes[1].net.publish('block', enc.encode('bad:1'))
    await nodes[1].net.publish('block', enc.encode('throw:1'))
    await nodes[1].net.publish('block', enc.encode('ok:after-bad'))
    // The good message travels the same path after the bad ones, so once it has arrived the bad
    // ones would have too.
    await waitFor('good message relayed', () =>
      [2, 3].every((i) => nodes[i].delivered.block.includes('ok:after-bad')),
    )
    const after = nodes[0].net.gossipCounts().block
    expect(after.ignore - before.ignore).toBe(1)
    expect(after.reject - before.reject).toBe(2) // 'bad:' and the throwing validator
    for (const s of ['ign:1', 'bad:1', 'throw:1']) {
      expect(nodes[0].seen.block).toContain(s)
      expect(nodes[0].delivered.block).not.toContain(s)
      for (const i of [2, 3]) expect(nodes[i].seen.block).not.toContain(s)
    }
  })

  it('relays multi-MiB messages and bursts intact (yamux credit returned at half a window)', async () => {
    // 3 MiB is 12 initial yamux windows: the sender must get credit back repeatedly, and the hub
    // relays it on to the other leaves; a burst of small messages follows on the same streams.
    const big = `ok:big:${'y'.repeat(3 * 1024 * 1024)}`
    await nodes[1].net.publish('consensus', enc.encode(big))
    const burst = Array.from({ length: 300 }, (_, k) => `ok:burst-${k}:${'z'.repeat(700)}`)
    for (const m of burst) await nodes[2].net.publish('tx', enc.encode(m))
    await waitFor(
      'big message and burst relayed to every node',
      () =>
        [0, 2, 3].every((i) => nodes[i].delivered.consensus.includes(big)) &&
        [0, 1, 3].every((i) => burst.every((m) => nodes[i].delivered.tx.includes(m))),
      30_000,
    )
  }, 40_000)

  it('drops oversized messages before the validator', async () => {
    const big = `ok:${'x'.repeat(200 * 1024)}` // > 128 KiB tx limit of node 0
    const before = nodes[0].net.gossipCounts().tx.reject
    await nodes[2].net.publish('tx', enc.encode(big))
    await nodes[2].net.publish('tx', enc.encode('ok:small-after-big'))
    await waitFor('small tx relayed', () => nodes[3].delivered.tx.includes('ok:small-after-big'))
    expect(nodes[0].net.gossipCounts().tx.reject - before).toBe(1)
    expect(nodes[0].seen.tx.some((s) => s.length > 1000)).toBe(false)
    expect(nodes[3].seen.tx.some((s) => s.length > 1000)).toBe(false)
  })

  it('penalises the propagation source of rejected messages in its gossipsub score', async () => {
    const offender = nodes[3].net.peerId
    const honest = nodes[1].net.peerId
    expect(nodes[0].net.score(offender)).toBeGreaterThanOrEqual(0)
    for (let k = 0; k < 3; k++) await nodes[3].net.publish('consensus', enc.encode(`bad:vote-${k}`))
    await waitFor(
      '3 rejections',
      () => nodes[0].seen.consensus.filter((s) => s.startsWith('bad:vote')).length === 3,
    )
    // Scores are cached for one heartbeat.
    await waitFor('negative score', () => nodes[0].net.score(offender) < -50)
    expect(nodes[0].net.score(honest)).toBeGreaterThan(nodes[0].net.score(offender))
    const summary = nodes[0].net.peers().find((p) => p.id === offender)
    expect(summary?.score).toBeLessThan(-50)
  })

  it('exchanges status on connect, records it, and answers status requests', async () => {
    const s = await nodes[1].net.requestStatus(nodes[0].net.peerId)
    expect(s.headNumber).toBe(100n)
    expect(s.chainId).toBe(CHAIN_ID)
    expect(s.genesisHash).toEqual(GENESIS)
    const heads = new Map(statusEvents.map(([id, st]) => [id, st.headNumber]))
    for (const i of [1, 2, 3]) expect(heads.get(nodes[i].net.peerId)).toBe(BigInt(i))
    const peers = nodes[0].net.peers()
    expect(peers.map((p) => p.id).sort()).toEqual(
      nodes
        .slice(1)
        .map((n) => n.net.peerId)
        .sort(),
    )
    for (const p of peers) {
      expect(p.direction).toBe('inbound')
      expect(p.addresses[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\//)
      expect(p.protocols).toContain('/openledger/status/1')
    }
  })

  it('disconnects a peer with another genesis hash', async () => {
    const opened: string[] = []
    const closed: string[] = []
    const appConnects: string[] = []
    const onOpen = (e: CustomEvent) => opened.push(String(e.detail))
    const onClose = (e: CustomEvent) => closed.push(String(e.detail))
    nodes[0].net.libp2p.addEventListener('peer:connect', onOpen)
    nodes[0].net.libp2p.addEventListener('peer:disconnect', onClose)
    nodes[0].net.events.on('peer:connect', (id) => appConnects.push(id))
    const stranger = await startNode(5, { genesisHash: OTHER_GENESIS, bootnodes: nodes[0].net.multiaddrs() })
    const id = stranger.net.peerId
    try {
      await waitFor('stranger connected then hung up', () => opened.includes(id) && closed.includes(id))
      await waitFor('stranger sees no peers', () => stranger.net.peerCount() === 0)
      expect(appConnects).not.toContain(id)
      expect(nodes[0].net.peers().some((p) => p.id === id)).toBe(false)
      expect(nodes[0].net.peerCount()).toBe(3)
    } finally {
      nodes[0].net.libp2p.removeEventListener('peer:connect', onOpen)
      nodes[0].net.libp2p.removeEventListener('peer:disconnect', onClose)
      await stranger.net.close()
    }
  })

  it('serves blocks_by_range and answers bad requests with an error without going down', async () => {
    const server = nodes[0].net.peerId
    const client = nodes[1].net
    const blocks = await client.requestBlocksByRange(server, 10n, 5)
    expect(blocks.map((b) => dec.decode(b))).toEqual([
      'block-10',
      'block-11',
      'block-12',
      'block-13',
      'block-14',
    ])
    expect((await client.requestBlocksByRange(server, 298n, 128)).length).toBe(2)
    expect(await client.requestBlocksByRange(server, 5000n, 10)).toEqual([])

    await expect(client.requestBlocksByRange(server, 0n, 129)).rejects.toThrow(/count must be/)
    await expect(client.requestBlocksByRange(server, 666n, 1)).rejects.toThrow(
      /peer answered with an error: internal error/,
    )
    await expect(client.requestBlocksByRange(server, 777n, 1, { timeoutMs: 300 })).rejects.toThrow(
      /timed out/,
    )
    await expect(nodes[0].net.requestBlocksByRange(nodes[1].net.peerId, 0n, 1)).rejects.toThrow(/not served/)

    // Raw requests that our client refuses to send: count too large, garbage bytes.
    const raw = async (payload: Uint8Array) => {
      const stream = await client.libp2p.dialProtocol(peerIdFromString(server), BLOCKS_BY_RANGE_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(payload)
      await stream.close()
      return decodeRangeHeader((await lp.read()).subarray())
    }
    expect(await raw(encode({ from: 0n, count: 1000 }))).toEqual({
      ok: false,
      error: expect.stringMatching(/count must be an integer in 1\.\.128/),
    })
    expect(await raw(new Uint8Array([0xc1, 0xff, 0x00]))).toEqual({
      ok: false,
      error: expect.stringMatching(/bad request/),
    })
    expect(await raw(encode({ from: -1, count: 1 }))).toEqual({
      ok: false,
      error: expect.stringMatching(/bad request/),
    })

    // Still serving, still connected.
    expect((await client.requestBlocksByRange(server, 0n, 1)).length).toBe(1)
    expect(nodes[0].net.peerCount()).toBe(3)
    await expect(client.requestBlocksByRange('not-a-peer-id', 0n, 1)).rejects.toThrow(/invalid peer id/)
    await expect(client.requestStatus(peerIdFromNodeKey(nodeKey(42)))).rejects.toThrow(/not connected/)
  })
})

/** A currently free loopback port, so peers can name each other as bootnodes before starting. */
async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

describe('p2p reconnection', () => {
  it('bootnode peers redial a validator that restarts on the same port, and gossip flows again', async () => {
    const ids = [20, 21, 22]
    const ports = [await freePort(), await freePort(), await freePort()]
    const addr = (k: number) => `/ip4/127.0.0.1/tcp/${ports[k]}/p2p/${peerIdFromNodeKey(nodeKey(ids[k]))}`
    const others = (k: number) => [0, 1, 2].filter((j) => j !== k).map(addr)
    const nodes: TestNode[] = []
    try {
      for (const k of [0, 1, 2]) nodes.push(await startNode(ids[k], { port: ports[k], bootnodes: others(k) }))
      const meshed = () =>
        nodes.every((n) => n.net.peerCount() === 2 && n.net.meshPeers('consensus').length === 2)
      await waitFor('full mesh of 3', meshed, 15_000)

      const [a, b, c] = nodes
      const disconnects: string[] = []
      a.net.events.on('peer:disconnect', (id) => disconnects.push(id))
      await b.net.close()
      await waitFor('b is gone', () => a.net.peerCount() === 1 && c.net.peerCount() === 1)
      expect(disconnects).toEqual([b.net.peerId])

      // The restarted node has no bootnodes: only the redial loops of A and C can bring it back.
      const b2 = await startNode(ids[1], { port: ports[1], bootnodes: [] })
      nodes[1] = b2
      await waitFor('a and c redial b', meshed, 15_000)
      expect(b2.net.peers().map((p) => p.direction)).toEqual(['inbound', 'inbound'])

      await b2.net.publish('consensus', enc.encode('ok:from-restarted'))
      await a.net.publish('consensus', enc.encode('ok:to-restarted'))
      await waitFor(
        'gossip both ways after restart',
        () =>
          a.delivered.consensus.includes('ok:from-restarted') &&
          c.delivered.consensus.includes('ok:from-restarted') &&
          b2.delivered.consensus.includes('ok:to-restarted'),
      )
    } finally {
      await Promise.all(nodes.map((n) => n.net.close()))
    }
  }, 40_000)
  it('re-asks connected peers for their status periodically, so new heads are learnt', async () => {
    let head = 5n
    const a = await P2PNetwork.create({
      nodeKey: nodeKey(30),
      host: '127.0.0.1',
      port: 0,
      bootnodes: [],
      chainId: CHAIN_ID,
      genesisHash: GENESIS,
      status: () => ({
        chainId: CHAIN_ID,
        genesisHash: GENESIS,
        headNumber: head,
        headHash: sha(enc.encode(`h${head}`)),
      }),
      log,
    })
    const b = await startNode(31, { bootnodes: a.multiaddrs(), statusIntervalMs: 100 })
    try {
      const heads: bigint[] = []
      b.net.events.on('peer:status', (id, st) => {
        if (id === a.peerId) heads.push(st.headNumber)
      })
      await waitFor('first status', () => heads.includes(5n))
      head = 6n
      await waitFor('refreshed status', () => heads.includes(6n))
      expect(b.net.peers()[0]?.status?.headNumber).toBe(6n)
    } finally {
      await Promise.all([a.close(), b.net.close()])
    }
  })

  it('holds at most maxPeers connections, refusing the rest', async () => {
    const hub = await startNode(40, { maxPeers: 2 })
    const spokes: TestNode[] = []
    const reachedHub = new Set<number>()
    try {
      for (const i of [41, 42, 43, 44]) {
        const s = await startNode(i, { bootnodes: hub.net.multiaddrs() })
        // Refused spokes see a short-lived connection (the hub hangs up once it knows who they are),
        // and redial; record that each one got through to the hub at least once.
        if (s.net.peerCount() > 0) reachedHub.add(i)
        s.net.libp2p.addEventListener('peer:connect', () => reachedHub.add(i))
        spokes.push(s)
      }
      const admitted = () => spokes.filter((s) => s.net.peers()[0]?.status !== undefined)
      await waitFor(
        'every spoke tried, two admitted',
        () => reachedHub.size === 4 && hub.net.peerCount() === 2 && admitted().length === 2,
      )
      expect(hub.net.peerCount()).toBe(2)
      expect(
        hub.net
          .peers()
          .map((p) => p.id)
          .sort(),
      ).toEqual(
        admitted()
          .map((s) => s.net.peerId)
          .sort(),
      )
    } finally {
      await Promise.all([hub, ...spokes].map((n) => n.net.close()))
    }
  })
})
