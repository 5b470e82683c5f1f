/**
 * Every execution entry point is all-or-nothing: a module that writes state and then throws, at
 * the top of a transaction, inside a nested call or after nested calls, leaves the runtime exactly
 * as a runtime that never saw the faulty work. Two runtimes get the same good work; `faulty` also
 * gets the faulty work, `clean` never does; their blocks (hash = state root, receipts, bloom, gas)
 * and answers must stay identical.
 */
import type { BlockHeader } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'
import { Address } from '@ethereumjs/util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { BlockValidationError, ExecutionFault, type ExecutionRuntime } from '../src/index.ts'
import { FAULT_MODULE, faultModule, MODES, probeCall, probeContracts } from './faults.ts'
import {
  ADDRS,
  bytes,
  cleanupDirs,
  hex,
  KEYS,
  makeGenesis,
  openRuntime,
  transfer,
  txData,
} from './helpers.ts'

const TREASURY = bytes('0x7e5f4552091a69125d5dfcb7b8c2659029395bdf')
const genesis = makeGenesis({ feeRecipient: { treasury: hex(TREASURY) } })

type Rt = Awaited<ReturnType<typeof openRuntime>>
let faulty: Rt
let clean: Rt
/** Never throws: builds blocks that contain the faulty transactions, for import and tracing. */
let lenient: Rt
let head: BlockHeader
let probe: Uint8Array
let inner: Uint8Array
const nonces = [0n, 0n, 0n]
const coinbase = ADDRS[2]

function sameExecution(a: Awaited<ReturnType<ExecutionRuntime['buildBlock']>>, b: typeof a) {
  expect(hex(a.block.hash())).toBe(hex(b.block.hash()))
  const shape = (r: typeof a) =>
    r.executed.map((e) => ({ hash: hex(e.hash), status: e.status, gas: e.gasUsed, logs: e.logs.length }))
  expect(shape(a)).toEqual(shape(b))
}

/** The same good transactions into `faulty` (with `extra` mixed in) and `clean`; heads must agree. */
async function step(good: TypedTransaction[], extra: TypedTransaction[] = []) {
  const opts = { timestamp: head.timestamp + 1n, coinbase }
  const a = await faulty.runtime.buildBlock(
    head,
    [...extra, ...good.slice(0, 1), ...extra, ...good.slice(1)],
    opts,
  )
  const b = await clean.runtime.buildBlock(head, good, opts)
  sameExecution(a, b)
  await lenient.runtime.executeBlock(a.block, head)
  head = a.block.header
  return a
}

async function expectSameState() {
  const root = head.stateRoot
  for (const who of [...ADDRS, TREASURY, FAULT_MODULE, probe, inner]) {
    expect(await faulty.runtime.getAccount(root, who)).toEqual(await clean.runtime.getAccount(root, who))
  }
  // The call VM too: a good call and its estimate answer the same on both.
  for (const mode of Object.values(MODES)) {
    const params = { from: ADDRS[0], to: probe, data: probeCall(mode, false, inner), value: 3n }
    const x = await faulty.runtime.call(params, head)
    const y = await clean.runtime.call(params, head)
    expect(x).toEqual(y)
    expect(await faulty.runtime.estimateGas(params, head)).toBe(await clean.runtime.estimateGas(params, head))
  }
}

const good = (mode: number) =>
  txData(faulty.runtime.common, KEYS[0], nonces[0]++, probe, probeCall(mode, false, inner), { value: 3n })
const bad = (mode: number, key = 1) =>
  txData(faulty.runtime.common, KEYS[key], nonces[key], probe, probeCall(mode, true, inner), { value: 5n })

beforeAll(async () => {
  faulty = await openRuntime(genesis, { modules: [faultModule({ on: true })] })
  clean = await openRuntime(genesis, { modules: [faultModule({ on: true })] })
  lenient = await openRuntime(genesis, { modules: [faultModule({ on: false })] })
  head = faulty.runtime.genesisBlock.header
  const { Probe, Inner } = probeContracts()
  const common = faulty.runtime.common
  const deployed = await step([
    txData(common, KEYS[0], nonces[0]++, undefined, Inner.bytecode),
    txData(common, KEYS[0], nonces[0]++, undefined, Probe.bytecode),
  ])
  inner = deployed.executed[0].contractAddress!
  probe = deployed.executed[1].contractAddress!
  // Fund the module so that its 1-wei payback runs too.
  await step([transfer(common, KEYS[0], nonces[0]++, FAULT_MODULE, 1000n, { gas: 100_000n })])
}, 60_000)

afterAll(async () => {
  for (const r of [faulty, clean, lenient]) await r?.db.level.close()
  cleanupDirs()
})

describe.each(Object.entries(MODES))('a module fault %s nested calls', (_name, mode) => {
  test('eth_call and eth_estimateGas answer an ExecutionFault and change nothing', async () => {
    const params = { from: ADDRS[1], to: probe, data: probeCall(mode, true, inner), value: 5n }
    for (const run of [
      () => faulty.runtime.call(params, head),
      () => faulty.runtime.estimateGas(params, head),
    ]) {
      const err = await run().catch((e) => e)
      expect(err).toBeInstanceOf(ExecutionFault)
      expect(err.message).toContain('injected fault')
    }
    await expectSameState()
  })

  test('block building leaves the transaction out, rolled back, and seals the rest', async () => {
    const built = await step([good(mode), good(mode)], [bad(mode)])
    expect(built.rejected).toHaveLength(2)
    for (const r of built.rejected) {
      expect(r.retry).toBe(false)
      expect(r.fault).toBeInstanceOf(ExecutionFault)
      expect(r.reason).toContain('injected fault')
    }
    await expectSameState()
  })

  test("a peer's block whose execution throws is rejected and not applied", async () => {
    const opts = { timestamp: head.timestamp + 1n, coinbase }
    const peer = await lenient.runtime.buildBlock(head, [good(mode), bad(mode)], opts)
    expect(peer.executed).toHaveLength(2)
    const err = await faulty.runtime.executeBlock(peer.block, head).catch((e) => e)
    expect(err).toBeInstanceOf(BlockValidationError)
    expect(err.field).toBe('txs')
    expect(err.message).toContain('injected fault')
    await expectSameState()
    // Tracing the faulty transaction fails the same way and disturbs nothing.
    const trace = await faulty.runtime.traceTransaction(peer.block, head, 1, {}).catch((e) => e)
    expect(trace).toBeInstanceOf(ExecutionFault)
    await expectSameState()
    // The good transaction is still to be mined: the heads go on identically.
    nonces[0]--
    await step([good(mode)])
    await expectSameState()
  })
})

describe('faults in the node’s own code', () => {
  /** Makes the block VM's state manager throw on a write to `target`, once armed. */
  function breakWrites(target: Uint8Array) {
    type Put = (address: Address, account: unknown) => Promise<void>
    const sm = (faulty.runtime as unknown as { blockVm: { stateManager: { putAccount: Put } } }).blockVm
      .stateManager
    const put = sm.putAccount
    sm.putAccount = async function (this: unknown, address: Address, account: unknown) {
      if (address.equals(new Address(target))) throw new Error('injected write failure')
      return put.call(this, address, account)
    }
    return () => {
      sm.putAccount = put
    }
  }

  test('a plain transfer that fails half-way (recipient write) is left out and rolled back', async () => {
    const victim = bytes('0x00000000000000000000000000000000000b0b0b')
    const common = faulty.runtime.common
    const restore = breakWrites(victim)
    try {
      const opts = { timestamp: head.timestamp + 1n, coinbase }
      const tx = transfer(common, KEYS[1], nonces[1], victim, 7n)
      const ok = transfer(common, KEYS[0], nonces[0]++, ADDRS[1], 9n)
      const a = await faulty.runtime.buildBlock(head, [tx, ok], opts)
      const b = await clean.runtime.buildBlock(head, [ok], opts)
      sameExecution(a, b)
      expect(a.rejected.map((r) => r.fault?.message)).toEqual([
        'execution failed internally: injected write failure',
      ])
      await lenient.runtime.executeBlock(a.block, head)
      head = a.block.header
    } finally {
      restore()
    }
    await expectSameState()
  })

  test('a failing base-fee credit to the treasury leaves the transaction out', async () => {
    const restore = breakWrites(TREASURY)
    const common = faulty.runtime.common
    try {
      const opts = { timestamp: head.timestamp + 1n, coinbase }
      const tx = txData(common, KEYS[1], nonces[1], probe, probeCall(0, false, inner))
      const a = await faulty.runtime.buildBlock(head, [tx], opts)
      expect(a.executed).toHaveLength(0)
      expect(a.rejected[0].fault).toBeInstanceOf(ExecutionFault)
      const b = await clean.runtime.buildBlock(head, [], opts)
      sameExecution(a, b)
      await lenient.runtime.executeBlock(a.block, head)
      head = a.block.header
    } finally {
      restore()
    }
    await expectSameState()
  })

  test('a block abandoned after its transactions ran (state commit fails) leaves no trace', async () => {
    const sm = (faulty.runtime as unknown as { blockVm: { stateManager: { flush: () => Promise<void> } } })
      .blockVm.stateManager
    const flush = sm.flush
    sm.flush = async () => {
      throw new Error('injected flush failure')
    }
    const opts = { timestamp: head.timestamp + 1n, coinbase }
    try {
      const err = await faulty.runtime.buildBlock(head, [good(0)], opts).catch((e) => e)
      expect(err.message).toContain('injected flush failure')
    } finally {
      sm.flush = flush
      nonces[0]--
    }
    await expectSameState()
    await step([good(0)])
  })
})
