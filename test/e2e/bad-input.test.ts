/** Every kind of bad input gets the right JSON-RPC error and the node keeps serving. */
import type { OpenLedgerNode } from '@openledger/node'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, DEV_ADDRESSES, DEV_KEYS, rpc, startDevNode } from '../helpers/dev-node.ts'

let node: OpenLedgerNode
const wallet = new Wallet(DEV_KEYS[0]!)
const req = (method: string, params: unknown[] = [], id: unknown = 1) => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
})

beforeAll(async () => {
  node = await startDevNode({ limits: { maxBatchSize: 20, maxBodyBytes: 64 * 1024 } })
})

afterAll(async () => {
  await node?.close()
})

async function stillServing() {
  expect(await call(node.rpcUrl, 'eth_chainId')).toBe('0x7a69')
}

function signed(overrides: Record<string, unknown>) {
  return wallet.signTransaction({
    to: DEV_ADDRESSES[1],
    value: 1n,
    gasLimit: 21_000n,
    chainId: 31337n,
    type: 2,
    maxFeePerGas: 10_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    nonce: 0,
    ...overrides,
  })
}

describe('bad input', () => {
  it('malformed JSON → -32700 with id null', async () => {
    const r = await rpc(node.rpcUrl, '{"jsonrpc":"2.0","id":1,"method":')
    expect(r.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } })
    await stillServing()
  })

  it('invalid request objects → -32600', async () => {
    expect((await rpc(node.rpcUrl, { id: 1, method: 'eth_chainId' })).json.error.code).toBe(-32600)
    expect((await rpc(node.rpcUrl, '42')).json.error.code).toBe(-32600)
    expect((await rpc(node.rpcUrl, [])).json.error.code).toBe(-32600)
    const mixed = await rpc(node.rpcUrl, [req('eth_chainId'), 5, req('eth_blockNumber', [], 2)])
    expect(mixed.json).toHaveLength(3)
    expect(mixed.json[0].result).toBe('0x7a69')
    expect(mixed.json[1].error.code).toBe(-32600)
    expect(mixed.json[2].id).toBe(2)
  })

  it('unknown method → -32601; wrong param types → -32602', async () => {
    expect((await rpc(node.rpcUrl, req('eth_noSuchMethod'))).json.error.code).toBe(-32601)
    const cases: Array<[string, unknown[]]> = [
      ['eth_getBalance', ['0x1234', 'latest']],
      ['eth_getBalance', [DEV_ADDRESSES[0], 'yesterday']],
      ['eth_getBlockByNumber', ['0x01', false]],
      ['eth_getBlockByNumber', [12.5, false]],
      ['eth_getTransactionByHash', ['0xabc']],
      ['eth_call', ['not an object', 'latest']],
      ['eth_getLogs', [{ fromBlock: 'banana' }]],
      ['eth_sendRawTransaction', [1234]],
    ]
    for (const [method, params] of cases) {
      const r = await rpc(node.rpcUrl, req(method, params))
      expect(r.json.error?.code, `${method} ${JSON.stringify(params)}`).toBe(-32602)
    }
    await stillServing()
  })

  it('oversized bodies and batches are refused with a clear limit error', async () => {
    const big = await rpc(node.rpcUrl, req('eth_call', [{ data: `0x${'00'.repeat(100 * 1024)}` }, 'latest']))
    expect(big.status).toBe(413)
    expect(big.json.error.code).toBe(-32005)
    const batch = await rpc(
      node.rpcUrl,
      Array.from({ length: 21 }, (_, i) => req('eth_chainId', [], i)),
    )
    expect(batch.json.error.code).toBe(-32005)
    expect(batch.json.error.message).toMatch(/batch/)
    await stillServing()
  })

  it('malformed RLP, wrong chain id and bad signatures are rejected', async () => {
    const garbage = await rpc(node.rpcUrl, req('eth_sendRawTransaction', ['0x02f8deadbeef']))
    expect(garbage.json.error.code).toBe(-32000)
    const wrongChain = await rpc(node.rpcUrl, req('eth_sendRawTransaction', [await signed({ chainId: 1n })]))
    expect(wrongChain.json.error.code).toBe(-32000)
    expect(wrongChain.json.error.message).toMatch(/chain/i)
    // flip a byte inside s: the signature no longer recovers to a funded sender / is invalid
    const good = await signed({})
    const bad = `${good.slice(0, -10)}${good.slice(-10, -8) === 'ff' ? '00' : 'ff'}${good.slice(-8)}`
    const badSig = await rpc(node.rpcUrl, req('eth_sendRawTransaction', [bad]))
    expect(badSig.json.error.code).toBe(-32000)
    await stillServing()
  })

  it('underpriced and nonce-too-low transactions get geth messages', async () => {
    const under = await rpc(
      node.rpcUrl,
      req('eth_sendRawTransaction', [await signed({ maxFeePerGas: 1n, maxPriorityFeePerGas: 1n })]),
    )
    expect(under.json.error.code).toBe(-32000)
    expect(under.json.error.message).toMatch(/underpriced|base fee/)
    const ok = await rpc(node.rpcUrl, req('eth_sendRawTransaction', [await signed({})]))
    expect(ok.json.result).toMatch(/^0x[0-9a-f]{64}$/)
    const again = await rpc(node.rpcUrl, req('eth_sendRawTransaction', [await signed({ value: 2n })]))
    expect(again.json.error.code).toBe(-32000)
    expect(again.json.error.message).toMatch(/nonce too low/)
    const poor = new Wallet('0x'.padEnd(66, '7'))
    const broke = await rpc(
      node.rpcUrl,
      req('eth_sendRawTransaction', [
        await poor.signTransaction({
          to: DEV_ADDRESSES[1],
          value: 1n,
          gasLimit: 21_000n,
          chainId: 31337n,
          maxFeePerGas: 10_000_000_000n,
          maxPriorityFeePerGas: 1n,
          nonce: 0,
        }),
      ]),
    )
    expect(broke.json.error.message).toMatch(/insufficient funds/)
    // Found by pnpm fuzz:rpc: fees that overflow 256 bits were an internal error.
    for (const fees of [{ gasPrice: `0x${'f'.repeat(64)}` }, { maxFeePerGas: `0x${'f'.repeat(64)}` }]) {
      const huge = await rpc(
        node.rpcUrl,
        req('eth_sendTransaction', [
          { from: DEV_ADDRESSES[0], to: DEV_ADDRESSES[1], gas: '0x5208', ...fees },
        ]),
      )
      expect(huge.json.error.code).toBe(-32000)
      expect(huge.json.error.message).toMatch(/invalid transaction: .*cannot exceed MAX_INTEGER/)
    }
    await stillServing()
  })

  it('dev-only methods are present in dev mode', async () => {
    const snap = await call(node.rpcUrl, 'evm_snapshot')
    expect(snap).toMatch(/^0x/)
  })
})
