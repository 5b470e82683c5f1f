/**
 * Interval mining faster than blocks can be built (evm_setIntervalMining 1 while each block takes
 * longer, as on a loaded machine) keeps at most one interval block queued: cheats are served
 * between blocks, and turning interval mining off stops block production at once. Before, every
 * tick queued a block: the backlog went on mining long after interval mining was turned off, and
 * every cheat, snapshot and send waited behind it — the RPC fuzzer's "hangs" (requests unanswered
 * for 60 s while eth_blockNumber stayed fast). An interval longer than a timer can wait is refused
 * (Node's setInterval turned it into 1 ms).
 */
import { parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis, OpenLedgerNode, silentLogger } from '@openledger/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rpc, rpcRaw } from '../helpers/hardhat.ts'

/** Every block takes at least this long (a block hook that waits): 25 interval ticks per block. */
const BLOCK_MS = 25

let node: OpenLedgerNode
const height = async () => Number(await rpc<string>(node.rpcUrl, 'eth_blockNumber', []))

beforeAll(async () => {
  const { json, accounts } = await buildDevGenesis({})
  node = await OpenLedgerNode.startDev({
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'manual' },
    accounts,
    log: silentLogger(),
    extraBlockHooks: [
      {
        name: 'slow-block',
        async beginBlock() {
          await new Promise((r) => setTimeout(r, BLOCK_MS))
        },
      },
    ],
  })
}, 120_000)

afterAll(async () => {
  await node?.close()
})

describe('interval mining', () => {
  it('ticks faster than blocks queue at most one block: switching it off stops mining at once', async () => {
    expect(await rpc(node.rpcUrl, 'evm_setIntervalMining', [1])).toBe(true)
    // Let it run for 40 blocks (about 1,000 ticks).
    const deadline = Date.now() + 60_000
    while ((await height()) < 40) {
      if (Date.now() > deadline) throw new Error('interval mining produced fewer than 40 blocks in 60 s')
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(await rpc(node.rpcUrl, 'evm_setIntervalMining', [0])).toBe(true)
    const off = await height()
    // A cheat runs after everything queued before it: when it answers, the sealer has nothing
    // older left. At most the block being built and one queued interval block came after `off`.
    const slot = `0x${'00'.repeat(31)}01`
    expect(await rpc(node.rpcUrl, 'hardhat_setStorageAt', [`0x${'11'.repeat(20)}`, slot, slot])).toBe(true)
    const after = await height()
    expect(after - off).toBeLessThanOrEqual(2)
    // And nothing more follows.
    expect(await rpc(node.rpcUrl, 'hardhat_setStorageAt', [`0x${'11'.repeat(20)}`, slot, slot])).toBe(true)
    expect(await height()).toBe(after)
  }, 120_000)

  it('refuses an interval longer than a timer can wait', async () => {
    const before = await height()
    const r = await rpcRaw(node.rpcUrl, 'evm_setIntervalMining', [Number.MAX_SAFE_INTEGER])
    expect(r.error).toEqual({
      code: -32602,
      message: `interval must be at most 2147483647 ms (about 24.8 days), got ${Number.MAX_SAFE_INTEGER}`,
    })
    expect(await rpc(node.rpcUrl, 'evm_setIntervalMining', [2 ** 31 - 1])).toBe(true)
    expect(await rpc(node.rpcUrl, 'evm_setIntervalMining', [0])).toBe(true)
    expect(await height()).toBe(before)
  })
})
