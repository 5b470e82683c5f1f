/**
 * Crash safety of validators: SIGKILL a random validator at a random moment, restart it on the same
 * datadir, 20 times over. An observer peer records all consensus gossip; no validator may ever
 * have signed two different values for one (type, height, round) — the fsync'd WAL is what
 * prevents it after a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GossipObserver } from '../helpers/gossip-observer.ts'
import { TestNetwork } from '../helpers/network.ts'

const ROUNDS = 20
let net: TestNetwork
let observer: GossipObserver

beforeAll(async () => {
  net = await TestNetwork.create({ validators: 4, blockPeriodSeconds: 1 })
  await net.startAll()
  observer = await GossipObserver.join({ rpcUrl: net.nodes[0]!.rpcUrl, bootnodes: net.bootnodes(-1) })
}, 180_000)
afterAll(async () => {
  await observer?.close()
  await net?.close()
})

// Deterministic choice of victims and kill moments, so a failure can be replayed.
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

describe('validators killed at random moments', () => {
  it(`never sign conflicting messages across ${ROUNDS} SIGKILL/restart cycles`, async () => {
    await net.waitHeight(2n, [0, 1, 2, 3], 60_000)
    const rand = prng(20261125)
    for (let k = 0; k < ROUNDS; k++) {
      const victim = Math.floor(rand() * 4)
      const others = [0, 1, 2, 3].filter((i) => i !== victim)
      const before = await net.blockNumber(others[0]!)
      // The kill lands anywhere in a block period: mid-proposal, mid-prepare, mid-commit or mid-import.
      const delay = Math.floor(rand() * 1500)
      await new Promise((r) => setTimeout(r, delay))
      await net.kill(victim)
      await net.start(victim)
      // Back in the game: it caught up with where the others were when it died.
      await net.waitHeight(before, [victim], 60_000)
    }
    const end = await net.blockNumber(0)
    await net.waitHeight(end + 2n, [0, 1, 2, 3], 60_000)
    expect(observer.seen.length).toBeGreaterThan(100)
    const authors = new Set(observer.seen.map((o) => o.author))
    expect(authors.size).toBe(4)
    expect(observer.conflicts()).toEqual([])
  }, 600_000)
})
