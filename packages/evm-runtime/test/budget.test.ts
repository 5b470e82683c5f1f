/**
 * Execution requested over RPC is bounded inside the interpreter: a wall-clock limit, cancellation
 * and time slices in our fast loop and in the library's (tracing), before precompile and module
 * calls, and between the transactions of a trace's replayed prefix (plain transfers skip the EVM);
 * a gas cap; trace memory. Block building carries no budget.
 */
import type { Block, BlockHeader } from '@ethereumjs/block'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ExecutionAborted, type ExecutionRuntime, TraceTooLargeError } from '../src/index.ts'
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

/** JUMPDEST PUSH1 0 JUMP: loops until out of gas. */
const LOOP = bytes('0x5b600056')
/** Loops on STATICCALL to the identity precompile (0x04): JUMPDEST, STATICCALL(gas, 4, 0, 0, 0, 0), POP, JUMP 0. */
const PRECOMPILE_LOOP = bytes('0x5b6000600060006000600460fffa50600056')
const LOOPER = bytes(`0x${'11'.repeat(20)}`)
const ALSO_LOOPER = bytes(`0x${'12'.repeat(20)}`)

const genesis = makeGenesis({
  alloc: {
    [hex(ADDRS[0])]: { balance: (10n ** 24n).toString() },
    [hex(LOOPER)]: { balance: '0', code: hex(LOOP) },
    [hex(ALSO_LOOPER)]: { balance: '0', code: hex(PRECOMPILE_LOOP) },
  },
})

let rt: Awaited<ReturnType<typeof openRuntime>>
let runtime: ExecutionRuntime
let head: BlockHeader
/** Block 1: 150 plain transfers, then a 10M-gas call of the loop (out of gas). */
let block1: Block
const LOOP_TX = 150

/** Runs `fn` while a 5 ms timer ticks; returns its outcome and the longest gap between ticks. */
async function withTimer<T>(
  fn: () => Promise<T>,
): Promise<{ value?: T; error?: unknown; maxGapMs: number; ms: number }> {
  let last = performance.now()
  let maxGapMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    maxGapMs = Math.max(maxGapMs, now - last)
    last = now
  }, 5)
  const t0 = performance.now()
  try {
    const value = await fn()
    return { value, maxGapMs, ms: performance.now() - t0 }
  } catch (error) {
    return { error, maxGapMs, ms: performance.now() - t0 }
  } finally {
    clearInterval(timer)
  }
}

beforeAll(async () => {
  rt = await openRuntime(genesis)
  runtime = rt.runtime
  const g = runtime.genesisBlock.header
  const txs = Array.from({ length: LOOP_TX }, (_, i) =>
    transfer(runtime.common, KEYS[0], BigInt(i), ADDRS[1], 1n),
  )
  txs.push(txData(runtime.common, KEYS[0], BigInt(LOOP_TX), LOOPER, new Uint8Array(), { gas: 10_000_000n }))
  // Blocks never carry a budget: the looping transaction runs to its gas limit.
  const built = await runtime.buildBlock(g, txs, { timestamp: g.timestamp + 1n, coinbase: ADDRS[2] })
  expect(built.executed).toHaveLength(LOOP_TX + 1)
  expect(built.executed[LOOP_TX]!.status).toBe(0)
  expect(built.executed[LOOP_TX]!.gasUsed).toBe(10_000_000n)
  block1 = built.block
  head = block1.header
  rt.hashes.set(1n, block1.hash())
}, 120_000)

afterAll(async () => {
  await runtime.close()
  await rt.db.level.close()
  cleanupDirs()
})

describe('eth_call bounds', () => {
  test('an endless loop with unbounded gas stops at the time limit; the event loop keeps running', async () => {
    const r = await withTimer(() =>
      runtime.call({ to: LOOPER, gas: 2n ** 64n - 1n }, head, {
        limits: { timeoutMs: 1000, sliceMs: 5 },
      }),
    )
    expect(r.error).toBeInstanceOf(ExecutionAborted)
    expect((r.error as ExecutionAborted).reason).toBe('timeout')
    expect((r.error as Error).message).toBe('execution aborted (timeout = 1s)')
    expect(r.ms).toBeGreaterThanOrEqual(990)
    // Without time slices the timer would not run for the whole second.
    expect(r.maxGapMs).toBeLessThan(500)
    // The call VM is clean afterwards.
    const ok = await runtime.call({ to: ADDRS[1] }, head)
    expect(ok.error).toBeUndefined()
  })

  test('the gas cap lowers a larger gas, given or default (geth --rpc.gascap)', async () => {
    const given = await runtime.call({ to: LOOPER, gas: 2n ** 64n - 1n }, head, {
      limits: { gasCap: 1_000_000n },
    })
    expect(given.error?.message).toBe('out of gas')
    expect(given.gasUsed).toBe(1_000_000n)
    const dflt = await runtime.call({ to: LOOPER }, head, { limits: { gasCap: 2_000_000n } })
    expect(dflt.gasUsed).toBe(2_000_000n)
    // Below the cap, the gas asked for is used.
    const small = await runtime.call({ to: LOOPER, gas: 100_000n }, head, { limits: { gasCap: 2_000_000n } })
    expect(small.gasUsed).toBe(100_000n)
    await expect(
      runtime.estimateGas({ to: LOOPER, gas: 2n ** 63n }, head, { limits: { gasCap: 500_000n } }),
    ).rejects.toThrow('gas required exceeds allowance (500000)')
  })

  test('cancellation stops a running call', async () => {
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 100)
    const r = await withTimer(() =>
      runtime.call({ to: LOOPER, gas: 2n ** 60n }, head, { limits: { signal: abort.signal, sliceMs: 5 } }),
    )
    expect((r.error as ExecutionAborted).reason).toBe('cancelled')
    expect(r.ms).toBeLessThan(2000)
    // Already cancelled: refused before any execution.
    await expect(
      runtime.call({ to: ADDRS[1] }, head, { limits: { signal: AbortSignal.abort() } }),
    ).rejects.toBeInstanceOf(ExecutionAborted)
  })

  test('a loop of precompile calls is bounded too', async () => {
    const r = await withTimer(() =>
      runtime.call({ to: ALSO_LOOPER, gas: 2n ** 60n }, head, { limits: { timeoutMs: 300, sliceMs: 5 } }),
    )
    expect(r.error).toBeInstanceOf(ExecutionAborted)
    expect(r.maxGapMs).toBeLessThan(250)
  })

  test('one budget covers every run of an estimate', async () => {
    const r = await withTimer(() =>
      runtime.estimateGas({ to: LOOPER, gas: 2n ** 60n }, head, { limits: { timeoutMs: 300, sliceMs: 5 } }),
    )
    expect(r.error).toBeInstanceOf(ExecutionAborted)
    expect(r.ms).toBeLessThan(2000)
  })
})

describe('trace bounds', () => {
  const parent = () => runtime.genesisBlock.header

  test('the struct logger (library interpreter loop) stops at the time limit', async () => {
    const r = await withTimer(() =>
      runtime.traceTransaction(block1, parent(), LOOP_TX, {}, { timeoutMs: 200, sliceMs: 5 }),
    )
    expect(r.error).toBeInstanceOf(ExecutionAborted)
    expect(r.maxGapMs).toBeLessThan(250)
  })

  test('the replayed prefix of plain transfers is bounded by the same budget', async () => {
    const abort = new AbortController()
    abort.abort()
    await expect(
      runtime.traceTransaction(
        block1,
        parent(),
        LOOP_TX - 1,
        { tracer: 'callTracer' },
        { signal: abort.signal },
      ),
    ).rejects.toBeInstanceOf(ExecutionAborted)
    // A deadline in the past is hit before the first transaction of the prefix completes the block.
    await expect(
      runtime.traceTransaction(block1, parent(), LOOP_TX - 1, { tracer: 'callTracer' }, { timeoutMs: 1 }),
    ).rejects.toBeInstanceOf(ExecutionAborted)
    // Unbounded, the same trace succeeds.
    const ok = (await runtime.traceTransaction(block1, parent(), LOOP_TX - 1, { tracer: 'callTracer' })) as {
      type: string
    }
    expect(ok.type).toBe('CALL')
  })

  test("geth's limit stops recording; the node's budget fails the trace", async () => {
    const limited = (await runtime.traceTransaction(block1, parent(), LOOP_TX, { limit: 20_000 })) as {
      failed: boolean
      gas: number
      structLogs: unknown[]
    }
    expect(limited.failed).toBe(true)
    expect(limited.gas).toBe(10_000_000)
    const size = JSON.stringify(limited.structLogs).length
    expect(size).toBeGreaterThan(15_000)
    expect(size).toBeLessThan(25_000)
    await expect(
      runtime.traceTransaction(block1, parent(), LOOP_TX, { maxBytes: 100_000 }),
    ).rejects.toBeInstanceOf(TraceTooLargeError)
    // A limit below the budget keeps the trace within it.
    const both = (await runtime.traceTransaction(block1, parent(), LOOP_TX, {
      limit: 50_000,
      maxBytes: 100_000,
    })) as {
      structLogs: unknown[]
    }
    expect(both.structLogs.length).toBeGreaterThan(0)
  })
})
