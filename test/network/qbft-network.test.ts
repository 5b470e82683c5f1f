/**
 * A 4-validator QBFT network of real `openledger node` processes (real libp2p on 127.0.0.1, real
 * LevelDB, real SIGKILL): continuous finality, transactions from any node, crash tolerance of one
 * validator, halt without forks when two of four are down, and a late full node syncing.
 */
import { JsonRpcProvider, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, DEV_ADDRESSES, DEV_KEYS, waitFor } from '../helpers/dev-node.ts'
import { TestNetwork } from '../helpers/network.ts'

let net: TestNetwork
beforeAll(async () => {
  net = await TestNetwork.create({ validators: 4, blockPeriodSeconds: 1, nodeArgs: ['--metrics.port', '0'] })
  await net.startAll()
}, 180_000)
afterAll(async () => {
  await net?.close()
})

async function hashesAgree(nodes: number[]): Promise<bigint> {
  const heads = await Promise.all(nodes.map((i) => net.blockNumber(i)))
  const top = heads.reduce((a, b) => (a < b ? a : b))
  for (let h = 0n; h <= top; h++) {
    const tag = `0x${h.toString(16)}`
    const blocks = await Promise.all(
      nodes.map((i) => call(net.nodes[i]!.rpcUrl, 'eth_getBlockByNumber', [tag, false])),
    )
    for (const b of blocks) expect(b.hash, `block ${h}`).toBe(blocks[0].hash)
  }
  return top
}

interface CycleJson {
  height: string
  round: number
  txs: number | null
  at: Record<string, number | undefined>
}

async function metric(i: number, name: string): Promise<number> {
  const text = await (await fetch(`${net.nodes[i]!.metricsUrl}/metrics`)).text()
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : Number.NaN
}

describe('4 QBFT validators', () => {
  it('finalise continuously; a tx sent to any node is committed and visible on all', async () => {
    await net.waitHeight(3n, [0, 1, 2, 3], 60_000)
    const provider = new JsonRpcProvider(net.nodes[2]!.rpcUrl, undefined, {
      staticNetwork: true,
      cacheTimeout: -1,
      pollingInterval: 100,
    })
    try {
      const wallet = new Wallet(DEV_KEYS[0]!, provider)
      const tx = await wallet.sendTransaction({ to: DEV_ADDRESSES[1], value: 12345n })
      const receipt = await tx.wait(1, 30_000)
      expect(receipt?.status).toBe(1)
      for (const n of net.nodes) {
        const r = await waitFor(
          () => call(n.rpcUrl, 'eth_getTransactionReceipt', [tx.hash]),
          20_000,
          `receipt on node${n.index}`,
        )
        expect(r.blockHash).toBe(receipt!.blockHash)
        expect(r.status).toBe('0x1')
      }
      // Extra data carries the validator set; qbft_ answers it.
      const validators = await call(net.nodes[1]!.rpcUrl, 'qbft_getValidatorsByBlockNumber', ['latest'])
      expect([...validators].sort()).toEqual(net.nodes.map((n) => n.address).sort())
      const byHash = await call(net.nodes[3]!.rpcUrl, 'qbft_getValidatorsByBlockHash', [receipt!.blockHash])
      expect(byHash).toEqual(validators)
      // Block-cycle timings of the tx's block: the proposer built it, the others executed it, and
      // every validator went through the steps in cycle order.
      const n = receipt!.blockNumber
      const q = `0x${n.toString(16)}`
      const timings = await Promise.all(
        net.nodes.map(
          async (v) => ((await call(v.rpcUrl, 'qbft_getCycleTimings', [q, q])) as CycleJson[])[0],
        ),
      )
      const round0 = timings.every((t) => t?.round === 0)
      for (const t of timings) {
        expect(t?.height).toBe(q)
        const at = t!.at
        if (round0) expect(at.roundStart! <= at.prepareSent! && at.prepareSent! <= at.commitWal!).toBe(true)
        expect(at.commitWal! <= at.commitSent! && at.commitSent! <= at.decided!).toBe(true)
        expect(at.decided! <= at.imported!).toBe(true)
      }
      if (round0) {
        const proposers = timings.filter((t) => t!.at.built !== undefined)
        expect(proposers).toHaveLength(1)
        expect(proposers[0]!.txs).toBeGreaterThanOrEqual(1)
        for (const t of timings.filter((x) => x!.at.built === undefined))
          expect(t!.at.validateStart! <= t!.at.validated!).toBe(true)
      }
      await expect(call(net.nodes[0]!.rpcUrl, 'qbft_getCycleTimings', ['0x5', '0x1'])).rejects.toThrow(
        /from <= to/,
      )
      expect(BigInt(await call(net.nodes[0]!.rpcUrl, 'net_peerCount'))).toBe(3n)
      const peers = await call(net.nodes[0]!.rpcUrl, 'admin_peers')
      expect(peers).toHaveLength(3)
      const info = await call(net.nodes[0]!.rpcUrl, 'admin_nodeInfo')
      expect(info.id).toBe(net.nodes[0]!.peerId)
      // Operations: Prometheus metrics and health of a validator.
      const text = await (await fetch(`${net.nodes[0]!.metricsUrl}/metrics`)).text()
      for (const name of [
        'chain_head_block',
        'qbft_round',
        'qbft_round_changes_total',
        'p2p_peers 3',
        'txpool_pending',
        'chain_block_import_seconds_count',
        'p2p_gossip_messages_total{topic="consensus",verdict="accept"}',
      ])
        expect(text).toContain(name)
      expect((await fetch(`${net.nodes[0]!.metricsUrl}/health`)).status).toBe(200)
    } finally {
      provider.destroy()
    }
    expect(await hashesAgree([0, 1, 2, 3])).toBeGreaterThanOrEqual(3n)
  })

  it('keeps finalising with one validator SIGKILLed; the restarted one catches up and signs again', async () => {
    await net.kill(3)
    const h = await net.blockNumber(0)
    await net.waitHeight(h + 4n, [0, 1, 2], 60_000)
    await net.start(3)
    const target = await net.blockNumber(0)
    await net.waitHeight(target, [3], 60_000)
    // It proposes again: a block after the restart has node 3 as coinbase.
    const me = net.nodes[3]!.address!
    await waitFor(
      async () => {
        const b = await call(net.nodes[0]!.rpcUrl, 'eth_getBlockByNumber', ['latest', false])
        return BigInt(b.number) > target && b.miner.toLowerCase() === me.toLowerCase()
      },
      60_000,
      'a block proposed by the restarted validator',
    )
    await hashesAgree([0, 1, 2, 3])
  })

  it('halts without forking when two of four are SIGKILLed, and resumes when they return', async () => {
    await Promise.all([net.kill(2), net.kill(3)])
    // Once both survivors have timed out round 0, nothing can be decided any more.
    await waitFor(
      async () => (await metric(0, 'qbft_round')) >= 1 && (await metric(1, 'qbft_round')) >= 1,
      30_000,
      'round change',
    )
    const stalled = await Promise.all([net.blockNumber(0), net.blockNumber(1)])
    await waitFor(async () => (await metric(0, 'qbft_round')) >= 2, 30_000, 'second round change')
    expect(await net.blockNumber(0)).toBe(stalled[0])
    expect(await net.blockNumber(1)).toBe(stalled[1])
    await hashesAgree([0, 1])
    await Promise.all([net.start(2), net.start(3)])
    const resume = (stalled[0] > stalled[1] ? stalled[0] : stalled[1]) + 2n
    await net.waitHeight(resume, [0, 1, 2, 3], 90_000)
    await hashesAgree([0, 1, 2, 3])
    // Its own bounded waits add up to 150 s (two round changes, two restarts, catching up).
  }, 180_000)

  it('a fresh full node syncs the whole chain verifying seals, then follows', async () => {
    const full = net.addFullNode()
    await net.start(full.index)
    const target = await net.blockNumber(0)
    await net.waitHeight(target, [full.index], 60_000)
    await net.waitHeight(target + 2n, [full.index], 30_000)
    await hashesAgree([0, full.index])
    expect(await call(full.rpcUrl, 'eth_syncing')).toBe(false)
    const health = await fetch(`${full.metricsUrl}/health`)
    expect(health.status).toBe(200)
  })
})
