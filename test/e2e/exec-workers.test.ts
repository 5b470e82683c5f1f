/**
 * RPC execution on worker threads answers exactly what in-thread execution answers (results,
 * reverts with their data, BLOCKHASH, estimates, traces, the native modules), is bounded the same
 * way (time limit, cancellation when the client leaves), and a worker stays usable afterwards.
 * The in-thread answers come from a second dev node (execution on its main thread) that received
 * the same transactions, so both hold the same state.
 */
import type { OpenLedgerNode } from '@openledger/node'
import { governanceAbi, stakingAbi } from '@openledger/staking'
import { type Contract, ContractFactory, Interface, JsonRpcProvider, Wallet } from 'ethers'
import { encodeFunctionData } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testContracts } from '../helpers/contracts.ts'
import { DEV_KEYS, rpc, startDevNode, waitFor } from '../helpers/dev-node.ts'

let node: OpenLedgerNode
/** Same genesis and transactions, execution in-thread. */
let plain: OpenLedgerNode
let provider: JsonRpcProvider
let store: Contract
let storeAddr: string
let setTx: string
const { Store } = testContracts()

beforeAll(async () => {
  node = await startDevNode({ execution: { threads: 1, timeoutMs: 2000 } })
  plain = await startDevNode({ execution: { threads: 0 } })
  for (const n of [plain, node]) {
    const p = new JsonRpcProvider(n.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 })
    const wallet = new Wallet(DEV_KEYS[0]!, p)
    store = (await new ContractFactory(Store!.abi as never, Store!.bytecode, wallet).deploy(7n)) as Contract
    await store.waitForDeployment()
    storeAddr = await store.getAddress()
    setTx = (await (await store.set(42n)).wait())!.hash
    if (n === plain) p.destroy()
    else provider = p
  }
  await waitFor(async () => node.backend.execWorkers()?.ready, 60_000, 'the execution worker')
  expect(plain.backend.execWorkers()).toBeUndefined()
}, 120_000)

afterAll(async () => {
  provider?.destroy()
  await node?.close()
  await plain?.close()
})

/** The in-thread answer: the same request to the node without workers. */
async function inThread(method: string, params: unknown[]) {
  return (await rpc(plain.rpcUrl, { jsonrpc: '2.0', id: 1, method, params })).json
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
    const requests: unknown[][] = [
      [{ to: storeAddr, data: iface.encodeFunctionData('value') }, 'latest'],
      // Panic(1) with its data, code 3.
      [{ to: storeAddr, data: iface.encodeFunctionData('boom') }, 'latest'],
      // A custom error.
      [{ to: storeAddr, data: iface.encodeFunctionData('set', [5000n]) }, 'latest'],
      // A native module (Datanets) through the worker's own module instances.
      [{ to: '0x4f50454e00000000000000000000000000000001', data: '0xdeadbeef' }, 'latest'],
      // Staking and Governance (views of their genesis state): the workers run them too.
      [
        {
          to: '0x4f50454e00000000000000000000000000000004',
          data: encodeFunctionData({ abi: stakingAbi, functionName: 'params' }),
        },
        'latest',
      ],
      [
        {
          to: '0x4f50454e00000000000000000000000000000005',
          data: encodeFunctionData({ abi: governanceAbi, functionName: 'votingPeriod' }),
        },
        'latest',
      ],
      // Out of gas (non-revert error, -32000).
      [{ to: storeAddr, data: iface.encodeFunctionData('set', [5n]), gas: '0x6000' }, 'latest'],
    ]
    for (const params of requests) {
      const got = await onWorker('eth_call', params)
      expect(got).toEqual(await inThread('eth_call', params))
    }
    expect((await onWorker('eth_call', requests[1]!)).error.code).toBe(3)
    for (const i of [4, 5])
      expect((await onWorker('eth_call', requests[i]!)).result.length).toBeGreaterThan(2)
  })

  it('BLOCKHASH reads the canonical chain; estimates, traces, traced calls and access lists match', async () => {
    // NUMBER 1 SWAP1 SUB BLOCKHASH PUSH0 MSTORE PUSH1 32 PUSH0 RETURN: hash of the parent block.
    const probe = `0x${'00'.repeat(18)}bb01`
    const res = await onWorker('eth_call', [
      { to: probe },
      'latest',
      { [probe]: { code: '0x4360019003405f5260205ff3' } },
    ])
    const parent = await provider.getBlock(node.chain.head.header.number - 1n)
    expect(res.result).toBe(parent!.hash)
    const estimate = [
      {
        from: await new Wallet(DEV_KEYS[0]!).getAddress(),
        to: storeAddr,
        data: store.interface.encodeFunctionData('set', [5n]),
      },
    ]
    const est = await onWorker('eth_estimateGas', estimate)
    expect(est).toEqual(await inThread('eth_estimateGas', estimate))
    expect(BigInt(est.result)).toBeGreaterThan(21_000n)
    for (const cfg of [
      { tracer: 'callTracer' },
      { limit: 4096 },
      { disableStack: true, enableMemory: true },
    ]) {
      const trace = await onWorker('debug_traceTransaction', [setTx, cfg])
      expect(trace.result).toBeDefined()
      expect(trace).toEqual(await inThread('debug_traceTransaction', [setTx, cfg]))
      const call = [estimate[0], 'latest', cfg]
      const traced = await onWorker('debug_traceCall', call)
      expect(traced.result).toBeDefined()
      expect(traced).toEqual(await inThread('debug_traceCall', call))
    }
    const list = await onWorker('eth_createAccessList', estimate)
    expect(list.result.accessList[0].address).toBe(storeAddr.toLowerCase())
    expect(list).toEqual(await inThread('eth_createAccessList', estimate))
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
