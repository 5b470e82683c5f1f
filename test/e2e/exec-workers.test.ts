/**
 * RPC execution on worker threads answers exactly what in-thread execution answers (results,
 * reverts with their data, BLOCKHASH through the main thread, estimates, traces, the native
 * modules), is bounded the same way (time limit, cancellation when the client leaves), and a
 * worker stays usable afterwards. The in-thread answer is computed by the node's own runtime at
 * the same state root and header.
 */
import type { OpenLedgerNode } from '@openledger/node'
import { type Contract, ContractFactory, Interface, JsonRpcProvider, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { DEV_KEYS, rpc, startDevNode, waitFor } from '../helpers/dev-node.ts'

let node: OpenLedgerNode
let provider: JsonRpcProvider
let store: Contract
let storeAddr: string
let setTx: string
const { Store } = testContracts()
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.slice(2), 'hex'))
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`

beforeAll(async () => {
  node = await startDevNode({ execution: { threads: 1, timeoutMs: 2000 } })
  provider = new JsonRpcProvider(node.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 })
  const wallet = new Wallet(DEV_KEYS[0]!, provider)
  store = (await new ContractFactory(Store!.abi as never, Store!.bytecode, wallet).deploy(7n)) as Contract
  await store.waitForDeployment()
  storeAddr = await store.getAddress()
  setTx = (await (await store.set(42n)).wait())!.hash
  await waitFor(async () => node.backend.execWorkers()?.ready, 60_000, 'the execution worker')
}, 120_000)

afterAll(async () => {
  provider?.destroy()
  await node?.close()
})

/** The in-thread answer: the node's runtime at the head's working state. */
async function inThread(params: { to: string; data?: string; gas?: bigint }) {
  const head = node.chain.head.header
  return node.chain.runtime.call(
    { to: bytes(params.to), data: params.data ? bytes(params.data) : undefined, gas: params.gas },
    head,
    { stateRoot: node.chain.workingStateRoot },
  )
}

async function onWorker(method: string, params: unknown[]) {
  const before = node.backend.execWorkers()!.completed
  const { json } = await rpc(node.rpcUrl, { jsonrpc: '2.0', id: 1, method, params })
  expect(node.backend.execWorkers()!.completed).toBe(before + 1)
  return json
}

describe('execution workers', () => {
  it('calls, reverts and module calls answer as in-thread execution', async () => {
    const iface = new Interface(Store!.abi as never)
    const value = iface.encodeFunctionData('value')
    const got = await onWorker('eth_call', [{ to: storeAddr, data: value }, 'latest'])
    expect(got.result).toBe(hex((await inThread({ to: storeAddr, data: value })).returnData))
    const boom = iface.encodeFunctionData('boom')
    const reverted = await onWorker('eth_call', [{ to: storeAddr, data: boom }, 'latest'])
    const local = await inThread({ to: storeAddr, data: boom })
    expect(reverted.error.code).toBe(3)
    expect(reverted.error.data).toBe(hex(local.returnData))
    // A native module (Datanets) through the worker's own module instances: same bytes.
    const datanets = '0x4f50454e00000000000000000000000000000001'
    const junk = '0xdeadbeef'
    const m = await onWorker('eth_call', [{ to: datanets, data: junk }, 'latest'])
    const ml = await inThread({ to: datanets, data: junk })
    expect(m.error?.data ?? m.result).toBe(hex(ml.returnData))
  })

  it('BLOCKHASH is answered by the main thread; estimates and traces match', async () => {
    // NUMBER 1 SWAP1 SUB BLOCKHASH PUSH0 MSTORE PUSH1 32 PUSH0 RETURN: hash of the parent block.
    const probe = `0x${'00'.repeat(18)}bb01`
    const res = await onWorker('eth_call', [
      { to: probe },
      'latest',
      { [probe]: { code: '0x4360019003405f5260205ff3' } },
    ])
    const parent = await provider.getBlock(node.chain.head.header.number - 1n)
    expect(res.result).toBe(parent!.hash)
    const est = await onWorker('eth_estimateGas', [
      {
        from: await new Wallet(DEV_KEYS[0]!).getAddress(),
        to: storeAddr,
        data: store.interface.encodeFunctionData('set', [5n]),
      },
    ])
    const head = node.chain.head.header
    expect(BigInt(est.result)).toBeGreaterThan(21_000n)
    const trace = await onWorker('debug_traceTransaction', [setTx, { tracer: 'callTracer' }])
    const receipt = await provider.getTransactionReceipt(setTx)
    const block = await node.chain.store.getBlockByHash(bytes(receipt!.blockHash))
    const parentBlock = await node.chain.store.getBlockByHash(block!.header.parentHash)
    const local = await node.chain.runtime.traceTransaction(block!, parentBlock!.header, receipt!.index, {
      tracer: 'callTracer',
    })
    expect(trace.result).toEqual(local)
    expect(head.number).toBeGreaterThan(0n)
  })

  it('bounds: the time limit and a client that leaves stop the worker; it serves the next call', async () => {
    const loop = `0x${'00'.repeat(17)}c0ffee`
    const call = {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_call',
      params: [{ to: loop, gas: '0xffffffffffffffff' }, 'latest', { [loop]: { code: '0x5b600056' } }],
    }
    const timed = await rpc(node.rpcUrl, call)
    expect(timed.json.error.message).toMatch(/^(out of gas|execution aborted \(timeout = 2s\))$/)
    // Cancellation: the client disconnects mid-call; the worker is free again at once.
    const abort = new AbortController()
    const pending = fetch(node.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(call),
      signal: abort.signal,
    }).catch(() => undefined)
    await waitFor(async () => node.backend.execWorkers()!.running === 1, 10_000, 'the call to start')
    abort.abort()
    await pending
    const t0 = performance.now()
    await waitFor(async () => node.backend.execWorkers()!.running === 0, 5_000, 'the worker to stop')
    expect(performance.now() - t0).toBeLessThan(1500)
    const ok = await onWorker('eth_call', [
      { to: storeAddr, data: store.interface.encodeFunctionData('value') },
      'latest',
    ])
    expect(BigInt(ok.result)).toBe(42n)
  })
})
