/**
 * Foundry's `cast` (npm @foundry-rs/cast: the binary comes in its platform package, no other
 * download) against a real `openledger dev`: block, balance, send (transfer and deployment), call,
 * receipt, estimate, logs and rpc, as a Foundry user runs them.
 */
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { OpenLedgerNode } from '@openledger/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { call, DEV_ADDRESSES, DEV_KEYS, startDevNode } from '../helpers/dev-node.ts'

// The platform package's binary itself: @foundry-rs/cast's bin.mjs wrapper spawns it without
// waiting for its output or exit code.
const CAST = (() => {
  const req = createRequire(createRequire(import.meta.url).resolve('@foundry-rs/cast/package.json'))
  const pkg = `@foundry-rs/cast-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`
  return join(dirname(req.resolve(`${pkg}/package.json`)), 'bin', 'cast')
})()
let node: OpenLedgerNode
let url: string
let store: string

function cast(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const [sub, ...rest] = args
    execFile(CAST, [sub!, '--rpc-url', url, ...rest], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`cast ${args.join(' ')} failed: ${stderr || err.message}`))
      else resolve(stdout.trim())
    })
  })
}

beforeAll(async () => {
  node = await startDevNode()
  url = node.rpcUrl
})
afterAll(async () => {
  await node?.close()
})

describe('cast against openledger dev', () => {
  it('rpc, block and balance', async () => {
    expect(await cast('rpc', 'eth_chainId')).toBe('"0x7a69"')
    expect(await cast('chain-id')).toBe('31337')
    expect(JSON.parse(await cast('rpc', 'web3_clientVersion'))).toMatch(/^HardhatNetwork\//)
    const block = JSON.parse(await cast('block', 'latest', '--json'))
    expect(block.number).toBe(await call(url, 'eth_blockNumber'))
    expect(block.hash).toBe((await call(url, 'eth_getBlockByNumber', ['latest', false])).hash)
    expect(await cast('balance', DEV_ADDRESSES[4]!)).toBe('10000000000000000000000')
    expect(await cast('balance', DEV_ADDRESSES[4]!, '--ether')).toBe('10000.000000000000000000')
  })

  it('send a transfer and read its receipt', async () => {
    const to = '0x00000000000000000000000000000000000ca570'
    const out = JSON.parse(
      await cast('send', to, '--value', '1ether', '--private-key', DEV_KEYS[1]!, '--json'),
    )
    expect(out.status).toBe('0x1')
    expect(await cast('balance', to)).toBe('1000000000000000000')
    const receipt = JSON.parse(await cast('receipt', out.transactionHash, '--json'))
    expect(receipt.status).toBe('0x1')
    expect(receipt.from).toBe(DEV_ADDRESSES[1]!.toLowerCase())
    expect(await cast('receipt', out.transactionHash, 'gasUsed')).toBe('21000')
  })

  it('deploy, call, estimate, send to a contract and query its logs', async () => {
    const { Store } = testContracts()
    const deploy = JSON.parse(
      await cast(
        'send',
        '--private-key',
        DEV_KEYS[2]!,
        '--json',
        '--create',
        Store!.bytecode,
        'constructor(uint256)',
        '7',
      ),
    )
    expect(deploy.status).toBe('0x1')
    store = deploy.contractAddress
    expect(await cast('call', store, 'value()(uint256)')).toBe('7')
    const estimate = BigInt(await cast('estimate', store, 'set(uint256)', '42', '--from', DEV_ADDRESSES[2]!))
    expect(estimate).toBeGreaterThan(21_000n)
    expect(estimate).toBeLessThan(100_000n)
    const sent = JSON.parse(
      await cast('send', store, 'set(uint256)', '42', '--private-key', DEV_KEYS[2]!, '--json'),
    )
    expect(sent.status).toBe('0x1')
    expect(BigInt(sent.gasUsed)).toBeLessThanOrEqual(estimate)
    expect(await cast('call', store, 'value()(uint256)')).toBe('42')
    const logs = JSON.parse(
      await cast(
        'logs',
        '--from-block',
        '0',
        '--address',
        store,
        'Changed(address indexed,uint256 indexed,uint256)',
        '--json',
      ),
    )
    expect(logs).toHaveLength(1)
    expect(logs[0].transactionHash).toBe(sent.transactionHash)
    expect(BigInt(logs[0].topics[2])).toBe(7n) // old value
    // a reverting call shows the custom error's data
    const err = await cast('call', store, 'set(uint256)', '2000', '--from', DEV_ADDRESSES[2]!).catch(
      (e: Error) => e.message,
    )
    expect(err).toMatch(/revert/i)
  })
})
