/**
 * Automine builds the next block while the previous one's database batch is still being written
 * (miner/dev-sealer.ts). A small block gas limit makes one pass mine many blocks back to back, so
 * every block after a pass's first is built on a parent that is not on disk yet. Checked: each
 * sender is answered only once its block is readable (receipt, head), BLOCKHASH of the parent in
 * flight is the parent's hash, no transaction is mined twice or lost, and a restart on the same
 * datadir finds every block; after a SIGKILL in the middle of such passes, every transaction a
 * sender was answered for is still there.
 */
import { parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis, deriveDevAccounts, hex, OpenLedgerNode, silentLogger } from '@openledger/node'
import { Wallet } from 'ethers'
import { afterAll, describe, expect, it } from 'vitest'
import { call, spawnDevProcess, startDevNode, tempDir, waitFor } from '../helpers/dev-node.ts'

const SENDERS = 16
const ROUNDS = 2
// Runtime: sstore(number, blockhash(number - 1)); the init code returns it.
const RECORDER = '0x6008600c60003960086000f3' + '6001430340435500'
// A recorder call uses ~43,100 gas of its 60,000 limit: a block holds one (the next needs 60,000).
const BLOCK_GAS = 100_000

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function start(datadir: string): Promise<OpenLedgerNode> {
  const { json, accounts } = await buildDevGenesis({ accounts: SENDERS + 1 })
  return OpenLedgerNode.startDev({
    datadir,
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'auto' },
    accounts,
    log: silentLogger(),
  })
}

describe('automine pipeline', () => {
  it('builds on a parent still being written, answers after it lands, and survives a restart', {
    timeout: 120_000,
  }, async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const wallets = deriveDevAccounts(SENDERS + 1).map((a) => new Wallet(hex(a.privateKey)))
    let node = await start(dir.path)
    let url = node.rpcUrl
    const sign = (w: Wallet, nonce: number, to: string | null, data: string, gasLimit: number) =>
      w.signTransaction({
        to,
        data,
        gasLimit,
        nonce,
        chainId: 31337n,
        maxFeePerGas: 10_000_000_000n,
        maxPriorityFeePerGas: 1n,
      })
    const deployHash = await call(url, 'eth_sendRawTransaction', [
      await sign(wallets[0]!, 0, null, RECORDER, 200_000),
    ])
    const recorder = (await call(url, 'eth_getTransactionReceipt', [deployHash])).contractAddress as string
    expect(await call(url, 'eth_getCode', [recorder, 'latest'])).toBe('0x6001430340435500')
    await call(url, 'evm_setBlockGasLimit', [`0x${BLOCK_GAS.toString(16)}`])

    const sent: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      // Every sender at once: one pass of SENDERS blocks, each built on the one before.
      await Promise.all(
        wallets.slice(1).map(async (w) => {
          const hash = await call(url, 'eth_sendRawTransaction', [
            await sign(w, round, recorder, '0x', 60_000),
          ])
          sent.push(hash)
          // Answered means committed: the receipt and its block are readable at once.
          const receipt = await call(url, 'eth_getTransactionReceipt', [hash])
          expect(receipt?.status).toBe('0x1')
          expect(BigInt(await call(url, 'eth_blockNumber'))).toBeGreaterThanOrEqual(
            BigInt(receipt.blockNumber),
          )
          const block = await call(url, 'eth_getBlockByNumber', [receipt.blockNumber, false])
          expect(block.hash).toBe(receipt.blockHash)
        }),
      )
    }
    const metrics = await (await fetch(`${node.metricsUrl}/metrics`)).text()
    const pipelined = Number(/^automine_pipelined_blocks_total (\d+)/m.exec(metrics)?.[1] ?? 0)
    expect(pipelined).toBeGreaterThan(0)

    const check = async () => {
      const head = Number(await call(url, 'eth_blockNumber'))
      const mined = new Set<string>()
      let parent = await call(url, 'eth_getBlockByNumber', ['0x1', false])
      for (let n = 2; n <= head; n++) {
        const block = await call(url, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
        expect(block.parentHash).toBe(parent.hash)
        expect(BigInt(block.gasUsed)).toBeLessThanOrEqual(BigInt(BLOCK_GAS))
        for (const h of block.transactions) {
          expect(mined.has(h)).toBe(false)
          mined.add(h)
        }
        const receipts = await call(url, 'eth_getBlockReceipts', [block.hash])
        expect(receipts).toHaveLength(block.transactions.length)
        // BLOCKHASH(n - 1) inside block n: the parent, even when it was still being written.
        const slot = `0x${n.toString(16).padStart(64, '0')}`
        expect(await call(url, 'eth_getStorageAt', [recorder, slot, 'latest'])).toBe(parent.hash)
        parent = block
      }
      expect([...mined].sort()).toEqual([...sent].sort())
      return head
    }
    const head = await check()
    expect(head).toBe(1 + SENDERS * ROUNDS)

    await node.close()
    node = await start(dir.path)
    url = node.rpcUrl
    try {
      expect(Number(await call(url, 'eth_blockNumber'))).toBe(head)
      await check()
    } finally {
      await node.close()
    }
  })

  it('SIGKILL while blocks are in flight loses no answered transaction', { timeout: 240_000 }, async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const proc = await spawnDevProcess(['--datadir', dir.path])
    cleanups.push(async () => {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL')
    })
    // Plain transfers (21,000 gas) two to a block: every pass is a run of pipelined blocks. Full
    // blocks raise the base fee 12.5 % each, hence the fee cap (a transaction below the base fee
    // would stay pooled, answered without a block).
    await call(proc.rpcUrl, 'evm_setBlockGasLimit', ['0xb000'])
    const wallets = deriveDevAccounts(SENDERS + 1)
      .slice(1)
      .map((a) => new Wallet(hex(a.privateKey)))
    const answered: string[] = []
    let stop = false
    const load = wallets.map(async (w) => {
      for (let nonce = 0; !stop; nonce++) {
        const raw = await w.signTransaction({
          to: w.address,
          value: 1n,
          gasLimit: 21_000n,
          chainId: 31337n,
          maxFeePerGas: 10n ** 15n,
          maxPriorityFeePerGas: 1n,
          nonce,
        })
        try {
          answered.push(await call(proc.rpcUrl, 'eth_sendRawTransaction', [raw]))
        } catch {
          return // killed
        }
      }
    })
    const seen = await waitFor(
      async () => {
        const n = Number(await call(proc.rpcUrl, 'eth_blockNumber'))
        return answered.length >= 3 * SENDERS ? n : undefined
      },
      60_000,
      'answered transfers',
    )
    proc.child.kill('SIGKILL')
    stop = true
    await proc.exited
    await Promise.allSettled(load)
    const kept = [...answered]

    // The command's genesis (20 dev accounts), as startDevNode builds it.
    const node = await startDevNode({ datadir: dir.path })
    try {
      expect(Number(await call(node.rpcUrl, 'eth_blockNumber'))).toBeGreaterThanOrEqual(seen)
      for (const hash of kept) {
        const receipt = await call(node.rpcUrl, 'eth_getTransactionReceipt', [hash])
        expect(receipt?.status, hash).toBe('0x1')
      }
    } finally {
      await node.close()
    }
  })
})
