/**
 * Fault isolation as a user of `openledger dev` sees it: a native module (test-only, see
 * packages/evm-runtime/test/faults.ts) writes state and then throws. eth_call, eth_estimateGas,
 * eth_createAccessList and debug_traceCall answer -32603 with the cause; a transaction that hits it is left out of the block and the pool, with one
 * warning in the log; and the node's blocks (hashes, state roots), receipts, balances, nonces and
 * storage stay identical to those of a node that never saw the faulty work.
 */
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis, createLogger, OpenLedgerNode, silentLogger } from '@openledger/node'
import { type Hex, keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  FAULT_MODULE,
  faultModule,
  MODES,
  probeCall,
  probeContracts,
} from '../../packages/evm-runtime/test/faults.ts'
import { DEV_KEYS } from '../helpers/dev-node.ts'
import { rpc, rpcRaw } from '../helpers/hardhat.ts'

const [alice, bob] = DEV_KEYS.slice(0, 2).map((k) => privateKeyToAccount(k as Hex))
let faulty: OpenLedgerNode
let clean: OpenLedgerNode
let dir: string
let logFile: string
let logFd: number
let probe: Hex
let inner: Hex
let nonce = 0
let timestamp = 2_000_000_000

async function start(log: ReturnType<typeof silentLogger>) {
  const { json, accounts } = await buildDevGenesis({})
  return OpenLedgerNode.startDev({
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'auto' },
    accounts,
    log,
    extraModules: [faultModule({ on: true })],
  })
}

const sign = (who: typeof alice, n: number, tx: { to?: Hex; data?: Hex; value?: bigint; gas?: bigint }) =>
  who!.signTransaction({
    chainId: 31337,
    nonce: n,
    type: 'eip1559',
    maxFeePerGas: 10_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    gas: tx.gas ?? 3_000_000n,
    ...tx,
  } as never)

/** The same signed transaction into both nodes, in blocks with the same timestamp. */
async function both(raw: Hex) {
  timestamp++
  const out = []
  for (const node of [faulty, clean]) {
    await rpc(node.rpcUrl, 'evm_setNextBlockTimestamp', [timestamp])
    await rpc(node.rpcUrl, 'eth_sendRawTransaction', [raw])
    out.push(
      await rpc<{ contractAddress: Hex; status: Hex }>(node.rpcUrl, 'eth_getTransactionReceipt', [
        keccak256(raw),
      ]),
    )
  }
  return out[0]!
}

async function expectSameChain() {
  const get = (n: OpenLedgerNode, m: string, p: unknown[]) => rpc<unknown>(n.rpcUrl, m, p)
  const a = await get(faulty, 'eth_getBlockByNumber', ['latest', false])
  const b = await get(clean, 'eth_getBlockByNumber', ['latest', false])
  expect(a).toEqual(b) // hash, state root, receipts root, bloom, gas: everything
  for (const who of [alice!.address, bob!.address, probe, inner, toHex(FAULT_MODULE)]) {
    for (const m of ['eth_getBalance', 'eth_getTransactionCount', 'eth_getCode'])
      expect(await get(faulty, m, [who, 'latest'])).toEqual(await get(clean, m, [who, 'latest']))
    for (const slot of ['0x0', '0x1'])
      expect(await get(faulty, 'eth_getStorageAt', [who, slot, 'latest'])).toEqual(
        await get(clean, 'eth_getStorageAt', [who, slot, 'latest']),
      )
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fault-e2e-'))
  logFile = join(dir, 'node.log')
  logFd = openSync(logFile, 'a')
  ;[faulty, clean] = await Promise.all([
    start(createLogger({ level: 'warn', destination: logFd })),
    start(silentLogger()),
  ])
  const { Probe, Inner } = probeContracts()
  inner = (await both(await sign(alice, nonce++, { data: toHex(Inner.bytecode) }))).contractAddress
  probe = (await both(await sign(alice, nonce++, { data: toHex(Probe.bytecode) }))).contractAddress
  await both(await sign(alice, nonce++, { to: toHex(FAULT_MODULE), value: 1000n, gas: 100_000n }))
}, 120_000)

afterAll(async () => {
  await Promise.all([faulty?.close(), clean?.close()])
  if (logFd !== undefined) closeSync(logFd)
  await rm(dir, { recursive: true, force: true })
})

describe.each(Object.entries(MODES))('a module fault %s nested calls', (_name, mode) => {
  const innerBytes = () => Uint8Array.from(Buffer.from(inner.slice(2), 'hex'))

  it('eth_call, eth_estimateGas, eth_createAccessList and debug_traceCall answer -32603 with the cause', async () => {
    const call = {
      from: bob!.address,
      to: probe,
      data: toHex(probeCall(mode, true, innerBytes())),
      value: '0x5',
    }
    const requests: Array<[string, unknown[]]> = [
      ['eth_call', [call, 'latest']],
      ['eth_estimateGas', [call]],
      ['eth_createAccessList', [call, 'latest']],
      ['debug_traceCall', [call, 'latest', {}]],
      ['debug_traceCall', [call, 'latest', { tracer: 'callTracer' }]],
    ]
    for (const [method, params] of requests) {
      const r = await rpcRaw(faulty.rpcUrl, method, params)
      expect(r.error?.code).toBe(-32603)
      expect(r.error?.message).toMatch(/execution failed internally: .*injected fault/)
    }
    await expectSameChain()
  })

  it('a transaction that faults is refused, dropped from the pool, logged once; the chain goes on', async () => {
    const raw = await sign(bob, 0, { to: probe, data: toHex(probeCall(mode, true, innerBytes())), value: 5n })
    const before = readFileSync(logFile, 'utf8')
    const sent = await rpcRaw(faulty.rpcUrl, 'eth_sendRawTransaction', [raw])
    expect(sent.error?.message).toMatch(/was not mined: execution failed internally: .*injected fault/)
    const hash = keccak256(raw)
    expect(await rpc(faulty.rpcUrl, 'eth_getTransactionReceipt', [hash])).toBeNull()
    expect(await rpc(faulty.rpcUrl, 'eth_getTransactionByHash', [hash])).toBeNull()
    // pino writes asynchronously: wait (bounded) for the line.
    const deadline = Date.now() + 10_000
    let added = ''
    while (Date.now() < deadline) {
      added = readFileSync(logFile, 'utf8').slice(before.length)
      if (added.includes(hash)) break
      await new Promise((r) => setTimeout(r, 25))
    }
    const lines = added.split('\n').filter((l) => l.includes('execution fault'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(hash)
    // The faulting block changed nothing: a good transaction lands identically on both nodes.
    await both(
      await sign(alice, nonce++, { to: probe, data: toHex(probeCall(mode, false, innerBytes())), value: 3n }),
    )
    await expectSameChain()
  })
})
