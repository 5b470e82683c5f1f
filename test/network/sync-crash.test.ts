/**
 * Crash safety of block sync: a fresh full node SIGKILLed in the middle of a range sync (state of a
 * run of blocks held in memory and written in one batch, blocks committed after it) restarts on a
 * consistent chain — every block it has is readable with its state — and finishes the sync.
 */
import { readFileSync } from 'node:fs'
import { Block, createBlockHeaderFromBytesArray } from '@ethereumjs/block'
import {
  encodeExtraData,
  hashForCommitSeal,
  headerWithSeals,
  privateKeyToAddress,
  QBFT_MIX_HASH,
} from '@openledger/consensus'
import { parseGenesis } from '@openledger/evm-runtime'
import { nativeSigner, openCore, silentLogger, withQbftHash } from '@openledger/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, waitFor } from '../helpers/dev-node.ts'
import { TestNetwork } from '../helpers/network.ts'

const BLOCKS = 4000
let net: TestNetwork

/** Writes `count` sealed empty blocks of the one-validator chain straight into `datadir`. */
async function writeSealedChain(datadir: string, genesis: unknown, key: Uint8Array, count: number) {
  const closers: Array<() => Promise<unknown>> = []
  try {
    const { chain, runtime } = await openCore(
      { datadir, genesis: parseGenesis(genesis), log: silentLogger(), decorateBlock: withQbftHash },
      closers,
    )
    const opts = runtime.blockOptions!
    const address = privateKeyToAddress(key)
    const signer = nativeSigner(key, address)
    const extraData = encodeExtraData({
      vanity: new Uint8Array(32),
      validators: [address],
      round: 0,
      seals: [],
    })
    for (let n = 0; n < count; n++) {
      const parent = chain.head
      const built = await runtime.buildBlock(parent.header, [], {
        timestamp: parent.header.timestamp + 1n,
        coinbase: address,
        extraData,
        mixHash: QBFT_MIX_HASH,
      })
      const raw = built.block.header.raw()
      const header = createBlockHeaderFromBytesArray(
        headerWithSeals(raw, [signer.sign(hashForCommitSeal(raw))]),
        opts,
      )
      await chain.commit(
        { block: withQbftHash(new Block(header, [], [], [], opts)), executed: [] },
        'consensus',
      )
    }
  } finally {
    for (const c of closers) await c().catch(() => {})
  }
}

beforeAll(async () => {
  net = await TestNetwork.create({ validators: 1 })
  const key = await net.validatorKey(0)
  // The chain's source: a full node (it does not extend the chain) over a prepared datadir.
  const source = net.addFullNode()
  await writeSealedChain(source.dir, JSON.parse(readFileSync(net.genesisPath, 'utf8')), key, BLOCKS)
  await net.start(source.index)
}, 300_000)

afterAll(async () => {
  await net?.close()
})

describe('sync crash safety', () => {
  it('a node SIGKILLed mid-sync restarts consistent and completes the sync', async () => {
    const fresh = net.addFullNode()
    await net.start(fresh.index)
    let before = 0n
    await waitFor(
      async () => {
        before = await net.blockNumber(fresh.index)
        return before >= 256n
      },
      120_000,
      'sync under way',
    )
    await net.kill(fresh.index)
    expect(before, 'the kill must land mid-sync').toBeLessThan(BigInt(BLOCKS))
    await net.start(fresh.index)
    // What survived the kill is a consistent chain: each block's state is on disk.
    const head = await net.blockNumber(fresh.index)
    const validator = net.nodes[0]!.address!
    for (const n of [1n, head / 2n, head]) {
      const tag = `0x${n.toString(16)}`
      expect(await call(fresh.rpcUrl, 'eth_getBalance', [validator, tag])).toMatch(/^0x/)
    }
    await net.waitHeight(BigInt(BLOCKS), [fresh.index], 240_000)
    const source = net.nodes[1]!
    for (const n of [1n, BigInt(BLOCKS / 2), BigInt(BLOCKS)]) {
      const tag = `0x${n.toString(16)}`
      const [a, b] = await Promise.all([
        call(fresh.rpcUrl, 'eth_getBlockByNumber', [tag, false]),
        call(source.rpcUrl, 'eth_getBlockByNumber', [tag, false]),
      ])
      expect(a.hash).toBe(b.hash)
      expect(a.stateRoot).toBe(b.stateRoot)
      expect(await call(fresh.rpcUrl, 'eth_getBalance', [validator, tag])).toBe(
        await call(source.rpcUrl, 'eth_getBalance', [validator, tag]),
      )
    }
  }, 420_000)
})
