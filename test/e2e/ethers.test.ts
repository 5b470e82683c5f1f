/** ethers v6 against a real `openledger dev` node: deploy, call, transact, events, all tx types,
 * revert data, historical calls. */

import type { OpenLedgerNode } from '@openledger/node'
import {
  type Contract,
  ContractFactory,
  Interface,
  JsonRpcProvider,
  type TransactionReceipt,
  Wallet,
} from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { DEV_ADDRESSES, DEV_KEYS, startDevNode } from '../helpers/dev-node.ts'

let node: OpenLedgerNode
let provider: JsonRpcProvider
let wallet: Wallet
let store: Contract
const { Store } = testContracts()

beforeAll(async () => {
  node = await startDevNode()
  // ethers caches identical requests for 250 ms by default, so back-to-back sends would reuse a
  // nonce against any automining node (anvil and Hardhat alike); disable that cache.
  provider = new JsonRpcProvider(node.rpcUrl, undefined, {
    staticNetwork: true,
    pollingInterval: 50,
    cacheTimeout: -1,
  })
  wallet = new Wallet(DEV_KEYS[0]!, provider)
  const factory = new ContractFactory(Store!.abi as never, Store!.bytecode, wallet)
  store = (await factory.deploy(7n)) as Contract
  await store.waitForDeployment()
})

afterAll(async () => {
  provider?.destroy()
  await node?.close()
})

describe('ethers v6', () => {
  it('reads chain id, balances and the deployed code', async () => {
    const net = await provider.getNetwork()
    expect(net.chainId).toBe(31337n)
    const bal = await provider.getBalance(DEV_ADDRESSES[1]!)
    expect(bal).toBe(10_000n * 10n ** 18n)
    const code = await provider.getCode(await store.getAddress())
    expect(code.length).toBeGreaterThan(100)
    expect(await store.value()).toBe(7n)
  })

  it('transacts, waits for the receipt and decodes the event', async () => {
    const tx = await store.set(42n)
    const receipt = (await tx.wait()) as TransactionReceipt
    expect(receipt.status).toBe(1)
    expect(await store.value()).toBe(42n)
    const ev = receipt.logs.map((l) => store.interface.parseLog(l)).find((l) => l?.name === 'Changed')
    expect(ev?.args.by).toBe(wallet.address)
    expect(ev?.args.oldValue).toBe(7n)
    expect(ev?.args.newValue).toBe(42n)
    const logs = await store.queryFilter(
      store.filters.Changed(wallet.address),
      receipt.blockNumber,
      receipt.blockNumber,
    )
    expect(logs).toHaveLength(1)
  })

  it('sends legacy, EIP-2930 and EIP-1559 transactions', async () => {
    const to = DEV_ADDRESSES[2]!
    const before = await provider.getBalance(to)
    const fee = await provider.getFeeData()
    const legacy = await wallet.sendTransaction({ to, value: 1n, type: 0, gasPrice: fee.gasPrice })
    const al = await wallet.sendTransaction({
      to,
      value: 2n,
      type: 1,
      gasPrice: fee.gasPrice,
      accessList: [{ address: to, storageKeys: [] }],
    })
    const eip1559 = await wallet.sendTransaction({ to, value: 3n, type: 2 })
    const receipts = await Promise.all([legacy.wait(), al.wait(), eip1559.wait()])
    expect(receipts.map((r) => r?.status)).toEqual([1, 1, 1])
    expect((await provider.getTransaction(legacy.hash))?.type).toBe(0)
    expect((await provider.getTransaction(al.hash))?.type).toBe(1)
    expect((await provider.getTransaction(eip1559.hash))?.type).toBe(2)
    expect(await provider.getBalance(to)).toBe(before + 6n)
  })

  it('surfaces revert strings and custom errors with their data', async () => {
    await expect(store.set.staticCall(13n)).rejects.toMatchObject({ reason: 'unlucky number' })
    const err = await store.set
      .staticCall(5000n)
      .catch((e: unknown) => e as { data?: string; revert?: { name: string; args: unknown[] } })
    expect(err?.revert?.name).toBe('TooBig')
    expect(err?.revert?.args).toEqual([5000n, 1000n])
    const iface = new Interface(Store!.abi as never)
    expect(iface.parseError(err!.data!)?.name).toBe('TooBig')
    // estimateGas reports the same revert data (ethers leaves decoding to the caller here)
    await expect(store.set.estimateGas(5000n)).rejects.toMatchObject({
      data: iface.encodeErrorResult('TooBig', [5000n, 1000n]),
    })
  })

  it('answers eth_call at an older block with the older value', async () => {
    const r1 = (await (await store.set(100n)).wait())!
    const r2 = (await (await store.set(200n)).wait())!
    expect(r2.blockNumber).toBeGreaterThan(r1.blockNumber)
    expect(await store.value({ blockTag: r1.blockNumber })).toBe(100n)
    expect(await store.value({ blockTag: r2.blockNumber })).toBe(200n)
    expect(await store.value()).toBe(200n)
  })

  it('delivers events through filters (contract.on polls eth_getFilterChanges)', async () => {
    const seen = new Promise<bigint>((resolve) => {
      store.once('Changed', (_by: string, _old: bigint, v: bigint) => resolve(v))
    })
    // the subscription is installed asynchronously: keep writing until it reports
    let v = 300n
    const writer = setInterval(() => {
      store.set(v++).catch(() => {})
    }, 100)
    try {
      const got = await seen
      expect(got).toBeGreaterThanOrEqual(300n)
    } finally {
      clearInterval(writer)
    }
  })

  it('signs with unlocked accounts (eth_accounts, eth_sendTransaction, personal_sign, typed data)', async () => {
    const accounts = await provider.listAccounts()
    expect(accounts.map((a) => a.address)).toContain(DEV_ADDRESSES[0])
    const signer = await provider.getSigner(DEV_ADDRESSES[1])
    const tx = await signer.sendTransaction({ to: DEV_ADDRESSES[2], value: 5n })
    expect((await tx.wait())?.status).toBe(1)
    const msg = 'hello OpenLedger'
    const sig = await signer.signMessage(msg)
    const { verifyMessage, verifyTypedData } = await import('ethers')
    expect(verifyMessage(msg, sig)).toBe(DEV_ADDRESSES[1])
    const domain = { name: 'Test', version: '1', chainId: 31337, verifyingContract: DEV_ADDRESSES[2] }
    const types = {
      Mail: [
        { name: 'to', type: 'address' },
        { name: 'contents', type: 'string' },
      ],
    }
    const value = { to: DEV_ADDRESSES[0], contents: 'hi' }
    const typedSig = await signer.signTypedData(domain, types, value)
    expect(verifyTypedData(domain, types, value, typedSig)).toBe(DEV_ADDRESSES[1])
  })
})
