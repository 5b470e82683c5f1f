/**
 * eth_createAccessList and debug_traceCall as a geth user relies on them, on a real dev node:
 * - the access list names every contract and slot the call touches (sorted; the sender and the
 *   recipient only with their slots; a creation's own address likewise), and a transaction sent
 *   with it uses exactly the `gasUsed` it reported; a revert is the answer's `error` field, a call
 *   the sender cannot fund a -32000 error;
 * - debug_traceCall of a call equals debug_traceTransaction of the same transaction mined next
 *   (struct logger and callTracer), and runs under eth_call's bounds (gas cap, time limit).
 */

import type { OpenLedgerNode } from '@openledger/node'
import { encodeFunctionData, getContractAddress, type Hex, keccak256, pad, parseAbi, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, DEV_ADDRESSES, rpc, startDevNode } from '../helpers/dev-node.ts'
import { compileSolidity } from '../helpers/solc.ts'

const SOURCE = `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
contract Store {
  uint256 public writes;
  mapping(uint256 => uint256) public m;
  function set(uint256 k, uint256 v) external { m[k] = v; writes += 1; }
}
contract Caller {
  Store public s;
  uint256 public calls;
  event Went(uint256 k);
  constructor(Store _s) { s = _s; }
  function go(uint256 k) external returns (uint256) {
    calls += 1;
    s.set(k, k + 1);
    emit Went(k);
    return s.m(k) + address(0x1234).balance;
  }
  function fail() external { calls += 1; revert("nope"); }
}
`

const alice = DEV_ADDRESSES[0]!.toLowerCase() as Hex
let node: OpenLedgerNode
let url: string
let store: Hex
let caller: Hex
let callerCode: Hex

const slot = (n: bigint | number) => pad(toHex(n), { size: 32 })
const callerAbi = parseAbi(['function go(uint256 k) returns (uint256)', 'function fail()'])
const goData = (k: number) => encodeFunctionData({ abi: callerAbi, functionName: 'go', args: [BigInt(k)] })
const failData = encodeFunctionData({ abi: callerAbi, functionName: 'fail' })

async function send(tx: Record<string, unknown>) {
  const hash = (await call(url, 'eth_sendTransaction', [{ from: alice, ...tx }])) as Hex
  return { hash, receipt: await call(url, 'eth_getTransactionReceipt', [hash]) }
}

beforeAll(async () => {
  node = await startDevNode()
  url = node.rpcUrl
  const c = compileSolidity({ 'A.sol': SOURCE })
  store = (await send({ data: c.Store!.bytecode })).receipt.contractAddress
  callerCode = (c.Caller!.bytecode + store.slice(2).padStart(64, '0')) as Hex
  caller = (await send({ data: callerCode })).receipt.contractAddress
}, 120_000)

afterAll(async () => {
  await node?.close()
})

describe('eth_createAccessList', () => {
  it('lists the touched contracts and slots, and a transaction with it uses exactly gasUsed', async () => {
    const k = 7
    const r = await call(url, 'eth_createAccessList', [
      { from: alice, to: caller, data: goData(k) },
      'latest',
    ])
    expect(r.error).toBeUndefined()
    const mapSlot = keccak256(`${slot(k)}${slot(1).slice(2)}` as Hex) // m[k]: keccak(k . 1)
    const expected = [
      { address: caller, storageKeys: [slot(0), slot(1)] },
      { address: store, storageKeys: [slot(0), mapSlot].sort() },
      { address: pad('0x1234', { size: 20 }), storageKeys: [] },
    ].sort((a, b) => (a.address < b.address ? -1 : 1))
    expect(r.accessList).toEqual(expected)
    // The list is what the transaction needs: sent with it, the receipt's gas is the answer's.
    const { receipt } = await send({ to: caller, data: goData(k), accessList: r.accessList, type: '0x1' })
    expect(receipt.status).toBe('0x1')
    expect(receipt.gasUsed).toBe(r.gasUsed)
  })

  it('a creation lists its own address only with the slots its constructor writes', async () => {
    const nonce = BigInt(await call(url, 'eth_getTransactionCount', [alice, 'pending']))
    const r = await call(url, 'eth_createAccessList', [{ from: alice, data: callerCode }])
    expect(r.accessList).toEqual([
      { address: getContractAddress({ from: alice, nonce }).toLowerCase(), storageKeys: [slot(0)] },
    ])
    const { receipt } = await send({ data: callerCode, accessList: r.accessList, type: '0x1' })
    expect(receipt.gasUsed).toBe(r.gasUsed)
  })

  it('a revert is the answer`s error field; a call the sender cannot fund is -32000', async () => {
    const r = await call(url, 'eth_createAccessList', [{ from: alice, to: caller, data: failData }])
    expect(r.error).toBe('execution reverted')
    expect(r.accessList).toEqual([{ address: caller, storageKeys: [slot(1)] }])
    expect(BigInt(r.gasUsed)).toBeGreaterThan(21_000n)
    const poor = pad('0xdead', { size: 20 })
    const { json } = await rpc(url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_createAccessList',
      params: [{ from: poor, to: caller, value: '0x1' }],
    })
    expect(json.error.code).toBe(-32000)
    expect(json.error.message).toMatch(/insufficient/)
  })
})

describe('debug_traceCall', () => {
  it('equals debug_traceTransaction of the same transaction mined next (struct logger, callTracer)', async () => {
    const tx = { from: alice, to: caller, data: goData(42), gas: '0x493e0' }
    const configs = [{}, { tracer: 'callTracer', tracerConfig: { withLog: true } }, { enableMemory: true }]
    const before = []
    for (const cfg of configs) before.push(await call(url, 'debug_traceCall', [tx, 'latest', cfg]))
    const { hash, receipt } = await send(tx)
    for (const [i, cfg] of configs.entries()) {
      expect(before[i]).toEqual(await call(url, 'debug_traceTransaction', [hash, cfg]))
    }
    expect(before[0].gas).toBe(Number(receipt.gasUsed))
    expect(before[0].structLogs.length).toBeGreaterThan(100)
    expect(before[1].calls[0].type).toBe('CALL')
    expect(before[1].calls[0].to).toBe(store)
  })

  it('takes state overrides and reports a revert with its reason', async () => {
    const r = await call(url, 'debug_traceCall', [
      { from: alice, to: caller, data: failData },
      'latest',
      { tracer: 'callTracer', stateOverrides: { [caller]: { stateDiff: { [slot(1)]: slot(99) } } } },
    ])
    expect(r.error).toBe('execution reverted')
    expect(r.revertReason).toBe('nope')
    const logs = await call(url, 'debug_traceCall', [
      { from: alice, to: caller, data: failData },
      'latest',
      { stateOverrides: { [caller]: { stateDiff: { [slot(1)]: slot(99) } } } },
    ])
    expect(logs.failed).toBe(true)
    const sload = logs.structLogs.find((l: { op: string }) => l.op === 'SLOAD')
    expect(sload.storage[slot(1).slice(2)]).toBe(slot(99).slice(2))
  })
})

describe('bounded like eth_call', () => {
  const LOOP = `0x${'00'.repeat(17)}c0ffee`
  const loop = { to: LOOP, gas: '0xffffffffffffffff' }
  const override = { [LOOP]: { code: '0x5b600056' } }

  it('an endless loop ends at the gas cap (callTracer) or the time limit (struct logger, access list)', async () => {
    const capped = await startDevNode({ execution: { gasCap: 1_000_000n, timeoutMs: 1_000 } })
    try {
      const r = await call(capped.rpcUrl, 'debug_traceCall', [
        loop,
        'latest',
        { tracer: 'callTracer', stateOverrides: override },
      ])
      expect(r.gas).toBe('0xf4240')
      expect(r.error).toBe('out of gas')
      const slow = await startDevNode({ execution: { gasCap: 0n, timeoutMs: 1_000 } })
      try {
        for (const [method, params] of [
          [
            'debug_traceCall',
            [loop, 'latest', { stateOverrides: override, disableStack: true, limit: 10_000 }],
          ],
          ['debug_traceCall', [loop, 'latest', { tracer: 'callTracer', stateOverrides: override }]],
          ['eth_createAccessList', [loop, 'latest', override]],
        ] as const) {
          const t0 = performance.now()
          const { json } = await rpc(slow.rpcUrl, { jsonrpc: '2.0', id: 1, method, params })
          expect(json.error?.code, method).toBe(-32000)
          expect(json.error.message).toMatch(/execution aborted \(timeout = 1s\)/)
          expect(performance.now() - t0).toBeLessThan(10_000)
        }
      } finally {
        await slow.close()
      }
    } finally {
      await capped.close()
    }
  }, 60_000)
})
