/** Persistence: a clean restart resumes with everything intact; a real SIGKILL under load leaves a
 * datadir that reopens at the last committed block. */
import type { OpenLedgerNode } from '@openledger/node'
import { ContractFactory, JsonRpcProvider, Wallet } from 'ethers'
import { afterAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import {
  call,
  DEV_ADDRESSES,
  DEV_KEYS,
  spawnDevProcess,
  startDevNode,
  tempDir,
  waitFor,
} from '../helpers/dev-node.ts'

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('restart on the same datadir', () => {
  it('resumes at the head with balances, receipts and logs intact', async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    let node: OpenLedgerNode = await startDevNode({ datadir: dir.path })
    let provider = new JsonRpcProvider(node.rpcUrl, undefined, {
      staticNetwork: true,
      pollingInterval: 50,
      cacheTimeout: -1,
    })
    const wallet = new Wallet(DEV_KEYS[0]!, provider)
    const { Store } = testContracts()
    const store = await new ContractFactory(Store!.abi as never, Store!.bytecode, wallet).deploy(1n)
    await store.waitForDeployment()
    const hashes: string[] = []
    for (let i = 0; i < 5; i++) {
      const tx = await (
        store as unknown as { set(v: bigint): Promise<{ hash: string; wait(): Promise<unknown> }> }
      ).set(BigInt(20 + i))
      await tx.wait()
      hashes.push(tx.hash)
    }
    const head = await provider.getBlockNumber()
    const headBlock = await call(node.rpcUrl, 'eth_getBlockByNumber', ['latest', false])
    const balance = await provider.getBalance(DEV_ADDRESSES[0]!)
    const receipt = await call(node.rpcUrl, 'eth_getTransactionReceipt', [hashes[2]])
    const logs = await call(node.rpcUrl, 'eth_getLogs', [
      { fromBlock: '0x0', toBlock: 'latest', address: await store.getAddress() },
    ])
    provider.destroy()
    await node.close()

    node = await startDevNode({ datadir: dir.path })
    provider = new JsonRpcProvider(node.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 })
    try {
      expect(await provider.getBlockNumber()).toBe(head)
      expect(await call(node.rpcUrl, 'eth_getBlockByNumber', ['latest', false])).toEqual(headBlock)
      expect(await provider.getBalance(DEV_ADDRESSES[0]!)).toBe(balance)
      expect(await call(node.rpcUrl, 'eth_getTransactionReceipt', [hashes[2]])).toEqual(receipt)
      expect(
        await call(node.rpcUrl, 'eth_getLogs', [
          { fromBlock: '0x0', toBlock: 'latest', address: await store.getAddress() },
        ]),
      ).toEqual(logs)
      expect(logs).toHaveLength(5)
      // and it keeps producing blocks on top
      const tx = await new Wallet(DEV_KEYS[1]!, provider).sendTransaction({ to: DEV_ADDRESSES[2], value: 1n })
      expect((await tx.wait())?.blockNumber).toBe(head + 1)
    } finally {
      provider.destroy()
      await node.close()
    }
  })

  it('a second process on the same datadir is refused with a clear error', async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const node = await startDevNode({ datadir: dir.path })
    try {
      await expect(startDevNode({ datadir: dir.path })).rejects.toThrow(/in use/)
    } finally {
      await node.close()
    }
  })

  it('SIGKILL during heavy load leaves a datadir that restarts at the last committed block', {
    timeout: 240_000,
  }, async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const proc = await spawnDevProcess(['--datadir', dir.path])
    cleanups.push(async () => {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL')
    })
    // Load: 8 senders firing transfers without waiting, until a few blocks exist.
    const senders = DEV_KEYS.slice(0, 4).map((k) => new Wallet(k))
    let stop = false
    const load = senders.map(async (w) => {
      for (let nonce = 0; !stop; nonce++) {
        const raw = await w.signTransaction({
          to: DEV_ADDRESSES[4],
          value: 1n,
          gasLimit: 21_000n,
          chainId: 31337n,
          maxFeePerGas: 10_000_000_000n,
          maxPriorityFeePerGas: 1n,
          nonce,
        })
        await call(proc.rpcUrl, 'eth_sendRawTransaction', [raw]).catch(() => {})
      }
    })
    const seen = await waitFor(
      async () => {
        const n = Number(await call(proc.rpcUrl, 'eth_blockNumber'))
        return n >= 20 ? n : undefined
      },
      60_000,
      '20 blocks',
    )
    proc.child.kill('SIGKILL')
    stop = true
    await proc.exited
    await Promise.allSettled(load)
    expect(proc.child.signalCode).toBe('SIGKILL')

    const node = await startDevNode({ datadir: dir.path })
    try {
      const head = BigInt(await call(node.rpcUrl, 'eth_blockNumber'))
      expect(head).toBeGreaterThanOrEqual(BigInt(seen))
      // Every block up to the head is complete: body, receipts, and the state at its root.
      let transfers = 0n
      for (let n = 1n; n <= head; n++) {
        const blk = await call(node.rpcUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
        const receipts = await call(node.rpcUrl, 'eth_getBlockReceipts', [blk.hash])
        expect(receipts).toHaveLength(blk.transactions.length)
        transfers += BigInt(blk.transactions.length)
      }
      const balance = BigInt(await call(node.rpcUrl, 'eth_getBalance', [DEV_ADDRESSES[4], 'latest']))
      expect(balance).toBe(10_000n * 10n ** 18n + transfers)
      // The restarted node continues the chain.
      await call(node.rpcUrl, 'evm_mine')
      expect(BigInt(await call(node.rpcUrl, 'eth_blockNumber'))).toBe(head + 1n)
    } finally {
      await node.close()
    }
  })
})
