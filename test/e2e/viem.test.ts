/** viem against a real `openledger dev` node, over HTTP and WebSocket. */
import type { OpenLedgerNode } from '@openledger/node'
import {
  type Abi,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseAbiItem,
  webSocket,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { DEV_ADDRESSES, DEV_KEYS, startDevNode } from '../helpers/dev-node.ts'

const { Store } = testContracts()
const abi = Store!.abi as Abi
let node: OpenLedgerNode
let address: `0x${string}`
const chain = defineChain({
  id: 31337,
  name: 'OpenLedger dev',
  nativeCurrency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1'] } },
})

function clients() {
  const transport = http(node.rpcUrl)
  const account = privateKeyToAccount(DEV_KEYS[0] as `0x${string}`)
  return {
    account,
    pub: createPublicClient({ chain, transport, pollingInterval: 50 }),
    wallet: createWalletClient({ chain, transport, account }),
  }
}

beforeAll(async () => {
  node = await startDevNode()
  const { pub, wallet } = clients()
  const hash = await wallet.deployContract({ abi, bytecode: Store!.bytecode, args: [1n] })
  const receipt = await pub.waitForTransactionReceipt({ hash })
  address = receipt.contractAddress!
})

afterAll(async () => {
  await node?.close()
})

describe('viem', () => {
  it('reads, writes and waits for receipts', async () => {
    const { pub, wallet, account } = clients()
    expect(await pub.getChainId()).toBe(31337)
    expect(await pub.readContract({ address, abi, functionName: 'value' })).toBe(1n)
    const { request } = await pub.simulateContract({
      address,
      abi,
      functionName: 'set',
      args: [55n],
      account,
    })
    const hash = await wallet.writeContract(request)
    const receipt = await pub.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    expect(await pub.readContract({ address, abi, functionName: 'value' })).toBe(55n)
    const block = await pub.getBlock({ blockNumber: receipt.blockNumber, includeTransactions: true })
    expect(block.transactions.map((t) => t.hash)).toContain(hash)
    expect(block.baseFeePerGas).toBeTypeOf('bigint')
  })

  it('gets logs with topic filters and through eth_newFilter', async () => {
    const { pub, wallet } = clients()
    const event = parseAbiItem(
      'event Changed(address indexed by, uint256 indexed oldValue, uint256 newValue)',
    )
    const filter = await pub.createEventFilter({ address, event })
    const hash = await wallet.writeContract({ address, abi, functionName: 'set', args: [77n] })
    const receipt = await pub.waitForTransactionReceipt({ hash })
    const logs = await pub.getLogs({
      address,
      event,
      args: { by: DEV_ADDRESSES[0] as `0x${string}` },
      fromBlock: receipt.blockNumber,
      toBlock: receipt.blockNumber,
    })
    expect(logs).toHaveLength(1)
    expect(logs[0]!.args.newValue).toBe(77n)
    const changes = await pub.getFilterChanges({ filter })
    expect(changes.map((l) => l.args.newValue)).toContain(77n)
    const none = await pub.getLogs({
      address,
      event,
      args: { by: DEV_ADDRESSES[3] as `0x${string}` },
      fromBlock: 0n,
    })
    expect(none).toHaveLength(0)
  })

  it('decodes custom errors and revert strings from simulateContract', async () => {
    const { pub, account } = clients()
    const err = await pub
      .simulateContract({ address, abi, functionName: 'set', args: [2000n], account })
      .catch((e) => e)
    expect(err).toBeInstanceOf(BaseError)
    const revert = (err as BaseError).walk(
      (e) => e instanceof ContractFunctionRevertedError,
    ) as ContractFunctionRevertedError
    expect(revert.data?.errorName).toBe('TooBig')
    expect(revert.data?.args).toEqual([2000n, 1000n])
    const err2 = await pub
      .simulateContract({ address, abi, functionName: 'set', args: [13n], account })
      .catch((e) => e)
    const revert2 = (err2 as BaseError).walk(
      (e) => e instanceof ContractFunctionRevertedError,
    ) as ContractFunctionRevertedError
    expect(revert2.reason).toBe('unlucky number')
  })

  it('streams newHeads and logs over WebSocket subscriptions', async () => {
    const ws = createPublicClient({ chain, transport: webSocket(node.rpcUrl.replace('http', 'ws')) })
    const { wallet } = clients()
    try {
      const heads: bigint[] = []
      const logs: bigint[] = []
      const gotHead = new Promise<void>((resolve) => {
        const unwatch = ws.watchBlocks({
          poll: false,
          onBlock: (b) => {
            heads.push(b.number!)
            unwatch()
            resolve()
          },
        })
      })
      const gotLog = new Promise<void>((resolve) => {
        const unwatch = ws.watchContractEvent({
          address,
          abi,
          eventName: 'Changed',
          poll: false,
          onLogs: (ls) => {
            for (const l of ls) logs.push((l as unknown as { args: { newValue: bigint } }).args.newValue)
            unwatch()
            resolve()
          },
        })
      })
      // Subscriptions are set up asynchronously; write until both fire (bounded by the test timeout).
      let v = 500n
      let done = false
      void Promise.all([gotHead, gotLog]).then(() => {
        done = true
      })
      while (!done) {
        await wallet.writeContract({ address, abi, functionName: 'set', args: [v++] })
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(heads.length).toBeGreaterThan(0)
      expect(logs[0]).toBeGreaterThanOrEqual(500n)
    } finally {
      await ws.transport
        .getRpcClient?.()
        .then((c) => c.close())
        .catch(() => {})
    }
  })
})
