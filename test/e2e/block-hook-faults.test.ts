/**
 * Block hook faults on a real dev node (docs/evm-runtime.md, "Block hook faults"): a test-only
 * hook writes state and then throws in endBlock when the block holds a transfer to POISON, or in
 * beginBlock while armed. The builder never produces a block it would refuse to import:
 * - the transaction that makes endBlock fail is left out of the block and the pool, logged once;
 *   the node's chain (hashes, state roots), balances and nonces equal those of a node that never
 *   saw it;
 * - when beginBlock fails, no block is mined (evm_mine answers -32603 naming the hook) and the
 *   chain is untouched; once the hook recovers, mining resumes exactly like the clean node;
 * - a trace replays its block with the hooks: while beginBlock fails, debug_traceTransaction
 *   answers -32603 naming the hook (a named fault, not a bare internal error) and traces again,
 *   exactly like the clean node, once it recovers.
 */
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BlockHook, parseGenesis } from '@openledger/evm-runtime'
import { buildDevGenesis, createLogger, OpenLedgerNode, silentLogger } from '@openledger/node'
import { type Hex, keccak256, pad } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_KEYS } from '../helpers/dev-node.ts'
import { rpc, rpcRaw } from '../helpers/hardhat.ts'

const POISON = pad('0xba', { size: 20 })
const TALLY = pad('0x7a11', { size: 20 })
const [alice, bob] = DEV_KEYS.slice(0, 2).map((k) => privateKeyToAccount(k as Hex))

/** endBlock mints 1 wei per executed transaction to TALLY (state), then refuses POISON transfers;
 * beginBlock, while armed, mints and throws. */
function faultyHook(armed: { poison: boolean; begin: boolean }): BlockHook {
  const tally = Uint8Array.from(Buffer.from(TALLY.slice(2), 'hex'))
  return {
    name: 'fault-hook',
    // Writes only when it then throws: an empty block changes no state, so automine skips it.
    async beginBlock(ctx) {
      if (!armed.begin) return
      await ctx.state.mint(tally, 1n)
      throw new Error('injected beginBlock fault')
    },
    async endBlock(ctx) {
      await ctx.state.mint(tally, BigInt(ctx.executed.length))
      const poisoned = ctx.executed.some((e) => e.tx.to?.toString() === POISON)
      if (armed.poison && poisoned) throw new Error('injected endBlock fault')
    },
  }
}

const faultyArmed = { poison: true, begin: false }
let faulty: OpenLedgerNode
let clean: OpenLedgerNode
let dir: string
let logFile: string
let logFd: number
let timestamp = 2_000_000_000
let nonce = 0
/** The first transaction, mined on both nodes before the tests. */
let firstTx: Hex

async function start(log: ReturnType<typeof silentLogger>, hook: BlockHook) {
  const { json, accounts } = await buildDevGenesis({})
  return OpenLedgerNode.startDev({
    genesis: parseGenesis(json),
    rpc: { host: '127.0.0.1', port: 0 },
    mining: { kind: 'auto' },
    accounts,
    log,
    extraBlockHooks: [hook],
  })
}

const sign = (who: typeof alice, n: number, to: Hex, value: bigint) =>
  who!.signTransaction({
    chainId: 31337,
    nonce: n,
    type: 'eip1559',
    maxFeePerGas: 10_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    gas: 21_000n,
    to,
    value,
  })

async function both(raw: Hex) {
  timestamp++
  for (const node of [faulty, clean]) {
    await rpc(node.rpcUrl, 'evm_setNextBlockTimestamp', [timestamp])
    await rpc(node.rpcUrl, 'eth_sendRawTransaction', [raw])
  }
}

async function expectSameChain() {
  const get = (n: OpenLedgerNode, m: string, p: unknown[]) => rpc<unknown>(n.rpcUrl, m, p)
  expect(await get(faulty, 'eth_getBlockByNumber', ['latest', false])).toEqual(
    await get(clean, 'eth_getBlockByNumber', ['latest', false]),
  )
  for (const who of [alice!.address, bob!.address, POISON, TALLY])
    for (const m of ['eth_getBalance', 'eth_getTransactionCount'])
      expect(await get(faulty, m, [who, 'latest'])).toEqual(await get(clean, m, [who, 'latest']))
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hook-fault-e2e-'))
  logFile = join(dir, 'node.log')
  logFd = openSync(logFile, 'a')
  ;[faulty, clean] = await Promise.all([
    start(createLogger({ level: 'warn', destination: logFd }), faultyHook(faultyArmed)),
    start(silentLogger(), faultyHook({ poison: false, begin: false })),
  ])
  const first = await sign(alice, nonce++, bob!.address, 5n)
  firstTx = keccak256(first)
  await both(first)
}, 120_000)

afterAll(async () => {
  await Promise.all([faulty?.close(), clean?.close()])
  if (logFd !== undefined) closeSync(logFd)
  await rm(dir, { recursive: true, force: true })
})

describe('block hook faults', () => {
  it('a transaction that makes endBlock fail is left out and dropped, logged once; the chain goes on', async () => {
    const raw = await sign(bob, 0, POISON, 7n)
    const before = readFileSync(logFile, 'utf8')
    await rpc(faulty.rpcUrl, 'evm_setNextBlockTimestamp', [timestamp + 1])
    const sent = await rpcRaw(faulty.rpcUrl, 'eth_sendRawTransaction', [raw])
    expect(sent.error?.message).toMatch(/was not mined: block hook fault-hook failed in endBlock: injected/)
    const hash = keccak256(raw)
    expect(await rpc(faulty.rpcUrl, 'eth_getTransactionReceipt', [hash])).toBeNull()
    expect(await rpc(faulty.rpcUrl, 'eth_getTransactionByHash', [hash])).toBeNull()
    const deadline = Date.now() + 10_000
    let added = ''
    while (Date.now() < deadline) {
      added = readFileSync(logFile, 'utf8').slice(before.length)
      if (added.includes(hash)) break
      await new Promise((r) => setTimeout(r, 25))
    }
    expect(added.split('\n').filter((l) => l.includes('execution fault'))).toHaveLength(1)
    await expectSameChain()
    await both(await sign(alice, nonce++, bob!.address, 3n))
    await expectSameChain()
  })

  it('while beginBlock fails no block is mined, evm_mine says why; mining resumes when it recovers', async () => {
    const head = await rpc<Hex>(faulty.rpcUrl, 'eth_blockNumber', [])
    faultyArmed.begin = true
    try {
      const r = await rpcRaw(faulty.rpcUrl, 'evm_mine', [])
      expect(r.error?.code).toBe(-32603)
      expect(r.error?.message).toMatch(/no block mined: block hook fault-hook failed in beginBlock: injected/)
      expect(await rpc(faulty.rpcUrl, 'eth_blockNumber', [])).toBe(head)
    } finally {
      faultyArmed.begin = false
    }
    timestamp++
    for (const node of [faulty, clean]) await rpc(node.rpcUrl, 'evm_mine', [timestamp])
    await expectSameChain()
    await both(await sign(alice, nonce++, bob!.address, 2n))
    await expectSameChain()
  })

  it('while beginBlock fails, debug_traceTransaction answers -32603 naming the hook; it traces again on recovery', async () => {
    const options = [{}, { tracer: 'callTracer' }]
    faultyArmed.begin = true
    try {
      for (const opts of options) {
        const r = await rpcRaw(faulty.rpcUrl, 'debug_traceTransaction', [firstTx, opts])
        expect(r.error).toEqual({
          code: -32603,
          message:
            'execution failed internally: block hook fault-hook failed in beginBlock: injected beginBlock fault',
        })
      }
    } finally {
      faultyArmed.begin = false
    }
    for (const opts of options)
      expect(await rpc(faulty.rpcUrl, 'debug_traceTransaction', [firstTx, opts])).toEqual(
        await rpc(clean.rpcUrl, 'debug_traceTransaction', [firstTx, opts]),
      )
    await expectSameChain()
  })
})
