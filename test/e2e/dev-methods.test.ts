/** Dev-mode controls (evm_*, hardhat_*, anvil_*), the txpool and debug namespaces, against a real
 * node, as a Hardhat / anvil user drives them. */
import type { OpenLedgerNode } from '@openledger/node'
import { ContractFactory, Interface, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { call, DEV_ADDRESSES, DEV_KEYS, startDevNode } from '../helpers/dev-node.ts'

let node: OpenLedgerNode
let url: string
const { Store } = testContracts()
const iface = new Interface(Store!.abi as never)
const num = async (method: string, params: unknown[] = []) => BigInt(await call(url, method, params))
const OPEN = 10n ** 18n

beforeAll(async () => {
  node = await startDevNode()
  url = node.rpcUrl
})
afterAll(async () => {
  await node?.close()
})

async function sendFrom(from: string, to: string, value = 1n, data?: string): Promise<string> {
  return call(url, 'eth_sendTransaction', [{ from, to, value: `0x${value.toString(16)}`, data }])
}

describe('dev controls', () => {
  it('evm_snapshot / evm_revert restore head, state and clock, once', async () => {
    const start = await num('eth_blockNumber')
    const bal = await num('eth_getBalance', [DEV_ADDRESSES[3], 'latest'])
    const id = await call(url, 'evm_snapshot')
    await sendFrom(DEV_ADDRESSES[0]!, DEV_ADDRESSES[3]!, 5n)
    await call(url, 'evm_increaseTime', [3600])
    await call(url, 'evm_mine')
    expect(await num('eth_blockNumber')).toBe(start + 2n)
    expect(await num('eth_getBalance', [DEV_ADDRESSES[3], 'latest'])).toBe(bal + 5n)
    expect(await call(url, 'evm_revert', [id])).toBe(true)
    expect(await num('eth_blockNumber')).toBe(start)
    expect(await num('eth_getBalance', [DEV_ADDRESSES[3], 'latest'])).toBe(bal)
    expect(await call(url, 'evm_revert', [id])).toBe(false)
    // the chain continues from the restored head with a fresh block at start+1
    await sendFrom(DEV_ADDRESSES[0]!, DEV_ADDRESSES[3]!, 1n)
    expect(await num('eth_blockNumber')).toBe(start + 1n)
  })

  it('controls block timestamps', async () => {
    const head = await call(url, 'eth_getBlockByNumber', ['latest', false])
    const target = BigInt(head.timestamp) + 1000n
    await call(url, 'evm_setNextBlockTimestamp', [`0x${target.toString(16)}`])
    await call(url, 'evm_mine')
    expect(BigInt((await call(url, 'eth_getBlockByNumber', ['latest', false])).timestamp)).toBe(target)
    await call(url, 'evm_mine', [`0x${(target + 50n).toString(16)}`])
    expect(BigInt((await call(url, 'eth_getBlockByNumber', ['latest', false])).timestamp)).toBe(target + 50n)
    const err = await call(url, 'evm_setNextBlockTimestamp', ['0x1']).catch((e) => e)
    expect(err.message).toMatch(/timestamp/i)
    // The sealer's own error, answered as Hardhat does (invalid input), and no block is mined.
    const height = await num('eth_blockNumber')
    const bad = await call(url, 'evm_mine', ['0x1']).catch((e) => e)
    expect(bad.code).toBe(-32000)
    expect(bad.message).toMatch(/lower than or equal to the previous block's timestamp/)
    expect(await num('eth_blockNumber')).toBe(height)
    const before = await num('eth_blockNumber')
    await call(url, 'hardhat_mine', ['0x5', '0x10'])
    expect(await num('eth_blockNumber')).toBe(before + 5n)
    const last = await call(url, 'eth_getBlockByNumber', ['latest', false])
    const prev = await call(url, 'eth_getBlockByNumber', [`0x${(before + 4n).toString(16)}`, false])
    expect(BigInt(last.timestamp) - BigInt(prev.timestamp)).toBe(16n)
  })

  it('manual mining: transactions wait in the pool until evm_mine; dropTransaction removes one', async () => {
    await call(url, 'evm_setAutomine', [false])
    expect(await call(url, 'hardhat_getAutomine')).toBe(false)
    try {
      const h1 = await sendFrom(DEV_ADDRESSES[1]!, DEV_ADDRESSES[3]!)
      const h2 = await sendFrom(DEV_ADDRESSES[1]!, DEV_ADDRESSES[3]!)
      expect(await call(url, 'eth_getTransactionReceipt', [h1])).toBeNull()
      const status = await call(url, 'txpool_status')
      expect(BigInt(status.pending)).toBe(2n)
      const content = await call(url, 'txpool_content')
      expect(Object.keys(content.pending).map((a) => a.toLowerCase())).toContain(
        DEV_ADDRESSES[1]!.toLowerCase(),
      )
      const inspect = await call(url, 'txpool_inspect')
      expect(JSON.stringify(inspect.pending)).toMatch(/wei/)
      expect((await call(url, 'eth_getTransactionByHash', [h2])).blockHash).toBeNull()
      expect(await call(url, 'hardhat_dropTransaction', [h2])).toBe(true)
      await call(url, 'evm_mine')
      expect((await call(url, 'eth_getTransactionReceipt', [h1])).status).toBe('0x1')
      expect(await call(url, 'eth_getTransactionByHash', [h2])).toBeNull()
    } finally {
      await call(url, 'evm_setAutomine', [true])
    }
  })

  it('edits state: setBalance, setNonce, setCode, setStorageAt', async () => {
    const who = '0x00000000000000000000000000000000000000aa'
    await call(url, 'hardhat_setBalance', [who, `0x${(123n * OPEN).toString(16)}`])
    expect(await num('eth_getBalance', [who, 'latest'])).toBe(123n * OPEN)
    await call(url, 'anvil_setNonce', [who, '0x7'])
    expect(await num('eth_getTransactionCount', [who, 'latest'])).toBe(7n)
    // deploy-less contract: take Store's runtime code from a real deployment
    const w = new Wallet(DEV_KEYS[2]!)
    const deploy = await new ContractFactory(Store!.abi as never, Store!.bytecode).getDeployTransaction(5n)
    const nonce = await num('eth_getTransactionCount', [DEV_ADDRESSES[2], 'pending'])
    const raw = await w.signTransaction({
      ...deploy,
      nonce: Number(nonce),
      gasLimit: 1_000_000n,
      chainId: 31337n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
    })
    const hash = await call(url, 'eth_sendRawTransaction', [raw])
    const addr = (await call(url, 'eth_getTransactionReceipt', [hash])).contractAddress
    const code = await call(url, 'eth_getCode', [addr, 'latest'])
    const target = '0x00000000000000000000000000000000000000bb'
    await call(url, 'hardhat_setCode', [target, code])
    await call(url, 'hardhat_setStorageAt', [target, '0x0', `0x${'0'.repeat(62)}2a`])
    const out = await call(url, 'eth_call', [
      { to: target, data: iface.encodeFunctionData('value') },
      'latest',
    ])
    expect(BigInt(out)).toBe(42n)
    // the edits are part of the next block's state
    await call(url, 'evm_mine')
    expect(BigInt(await call(url, 'eth_getStorageAt', [target, '0x0', 'latest']))).toBe(42n)
  })

  it('impersonates accounts for eth_sendTransaction', async () => {
    const whale = '0x00000000000000000000000000000000000000cc'
    await call(url, 'hardhat_setBalance', [whale, `0x${OPEN.toString(16)}`])
    await expect(sendFrom(whale, DEV_ADDRESSES[3]!)).rejects.toThrow(/unknown account/)
    await call(url, 'hardhat_impersonateAccount', [whale])
    const hash = await sendFrom(whale, DEV_ADDRESSES[3]!, 1000n)
    const receipt = await call(url, 'eth_getTransactionReceipt', [hash])
    expect(receipt.status).toBe('0x1')
    expect(receipt.from.toLowerCase()).toBe(whale)
    expect((await call(url, 'eth_getTransactionByHash', [hash])).from.toLowerCase()).toBe(whale)
    await call(url, 'hardhat_stopImpersonatingAccount', [whale])
    await expect(sendFrom(whale, DEV_ADDRESSES[3]!)).rejects.toThrow(/unknown account/)
  })

  it('interval mining produces blocks on its own', async () => {
    await call(url, 'evm_setIntervalMining', [200])
    try {
      const start = await num('eth_blockNumber')
      const deadline = Date.now() + 10_000
      while ((await num('eth_blockNumber')) < start + 2n) {
        if (Date.now() > deadline) throw new Error('no interval blocks')
        await new Promise((r) => setTimeout(r, 50))
      }
    } finally {
      await call(url, 'evm_setIntervalMining', [0])
      await call(url, 'evm_setAutomine', [true])
    }
  })
})

describe('debug, fees and client info', () => {
  it('traces a transaction with callTracer and the struct logger', async () => {
    const w = new Wallet(DEV_KEYS[0]!)
    const deploy = await new ContractFactory(Store!.abi as never, Store!.bytecode).getDeployTransaction(1n)
    const nonce = Number(await num('eth_getTransactionCount', [DEV_ADDRESSES[0], 'pending']))
    const sign = (tx: object, n: number) =>
      w.signTransaction({
        gasLimit: 1_000_000n,
        chainId: 31337n,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 1n,
        ...tx,
        nonce: n,
      })
    const dh = await call(url, 'eth_sendRawTransaction', [await sign(deploy, nonce)])
    const addr = (await call(url, 'eth_getTransactionReceipt', [dh])).contractAddress
    // Automine answers a failed transaction with Hardhat's error, whose data names the mined hash.
    const failed = await call(url, 'eth_sendRawTransaction', [
      await sign({ to: addr, data: iface.encodeFunctionData('set', [2000n]) }, nonce + 1),
    ]).catch((e) => e)
    const h = failed.data.txHash
    expect((await call(url, 'eth_getTransactionReceipt', [h])).status).toBe('0x0')
    const calls = await call(url, 'debug_traceTransaction', [h, { tracer: 'callTracer' }])
    expect(calls.type).toBe('CALL')
    expect(calls.to.toLowerCase()).toBe(addr.toLowerCase())
    expect(calls.error).toMatch(/revert/)
    expect(calls.output).toBe(iface.encodeErrorResult('TooBig', [2000n, 1000n]))
    const structs = await call(url, 'debug_traceTransaction', [h, {}])
    expect(structs.failed).toBe(true)
    expect(structs.structLogs.length).toBeGreaterThan(10)
    expect(structs.structLogs.at(-1).op).toBe('REVERT')
  })

  it('answers fee and client queries', async () => {
    const hist = await call(url, 'eth_feeHistory', ['0x4', 'latest', [25, 75]])
    expect(hist.baseFeePerGas).toHaveLength(5)
    expect(hist.reward).toHaveLength(4)
    expect(BigInt(await call(url, 'eth_gasPrice'))).toBeGreaterThan(0n)
    expect(BigInt(await call(url, 'eth_maxPriorityFeePerGas'))).toBeGreaterThan(0n)
    expect(await call(url, 'eth_syncing')).toBe(false)
    expect(await call(url, 'net_version')).toBe('31337')
    expect(await call(url, 'net_listening')).toBe(true)
    expect(await call(url, 'web3_clientVersion')).toMatch(/^HardhatNetwork\/2\.29\.1\/openledger\/v/)
    expect(await call(url, 'web3_sha3', ['0x68656c6c6f'])).toBe(
      '0x1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8',
    )
    expect(await call(url, 'eth_getUncleCountByBlockNumber', ['latest'])).toBe('0x0')
    const est = BigInt(
      await call(url, 'eth_estimateGas', [{ from: DEV_ADDRESSES[0], to: DEV_ADDRESSES[1], value: '0x1' }]),
    )
    expect(est).toBe(21_000n)
  })
})
