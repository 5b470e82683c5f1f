/**
 * The plain-transfer fast path (src/block/transfer.ts) against EthereumJS runTx: the same random
 * block built twice from the same parent, once through runTx only and once with the fast path,
 * must give the same block hash (state root, receipts root, bloom, gas used) and the same
 * included/rejected transactions with the same reasons.
 */
import type { Common } from '@ethereumjs/common'
import {
  createAccessList2930Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  type TypedTransaction,
} from '@ethereumjs/tx'
import { privateToAddress } from '@ethereumjs/util'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { setPlainTransfers } from '../src/block/transfer.ts'
import { parseGenesis } from '../src/index.ts'
import { cleanupDirs, ETH, hex, openRuntime } from './helpers.ts'

const key = (i: number) => {
  const k = new Uint8Array(32)
  k[31] = i + 1
  k[0] = 0x42
  return k
}
const KEYS = [0, 1, 2, 3, 4, 5, 6, 7].map(key)
const SENDERS = KEYS.map((k) => privateToAddress(k))
const addr = (last: number) => {
  const a = new Uint8Array(20)
  a[0] = 0x77
  a[19] = last
  return a
}
const PRECOMPILE = (n: number) => {
  const a = new Uint8Array(20)
  a[19] = n
  return a
}
const EMPTY_EXISTING = addr(1) // in the alloc with balance 0: touched-empty rules apply
const CONTRACT = addr(2) // STOP
const REVERTER = addr(3) // REVERT(0, 0)
const FRESH = addr(4) // never allocated
const POOR = SENDERS[7]! // almost no funds
const RECIPIENTS = [
  ...SENDERS,
  EMPTY_EXISTING,
  CONTRACT,
  REVERTER,
  FRESH,
  PRECOMPILE(1),
  PRECOMPILE(4),
  PRECOMPILE(0x0a),
]
const COINBASES = [new Uint8Array(20), SENDERS[0]!, EMPTY_EXISTING, FRESH, addr(9)]
const CHAIN_ID = 4242n
const BASE_FEE = 1_000_000_000n

function genesis(treasury: boolean, hardfork: 'prague' | 'osaka') {
  const alloc: Record<string, unknown> = {}
  for (const a of SENDERS) alloc[hex(a)] = { balance: (1000n * ETH).toString() }
  alloc[hex(POOR)] = { balance: (25_000n * BASE_FEE).toString() }
  alloc[hex(EMPTY_EXISTING)] = { balance: '0' }
  alloc[hex(CONTRACT)] = { balance: '0', code: '0x00' }
  alloc[hex(REVERTER)] = { balance: '5', code: '0x60006000fd' }
  return parseGenesis({
    name: 'transfer-test',
    hardfork,
    chainId: Number(CHAIN_ID),
    timestamp: 1000,
    gasLimit: 1_000_000,
    baseFeePerGas: BASE_FEE.toString(),
    alloc,
    ...(treasury ? { feeRecipient: { treasury: hex(addr(0x7e)) } } : {}),
  })
}

const txSpec = fc.record({
  sender: fc.nat(SENDERS.length - 1),
  // Mostly valid transfers, with every way of falling off the fast path mixed in.
  nonceDelta: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, 1, -1),
  to: fc.nat(RECIPIENTS.length - 1),
  value: fc.constantFrom(0n, 1n, 1n, 10n ** 15n, 10n ** 15n, 10n ** 15n, 10n ** 15n, 2000n * ETH),
  type: fc.constantFrom(0, 1, 2, 2),
  accessList: fc.constantFrom(false, false, false, true),
  data: fc.constantFrom(0, 0, 0, 0, 0, 1),
  gas: fc.constantFrom(21_000n, 21_000n, 21_000n, 21_000n, 60_000n, 60_000n, 20_999n, 2_000_000n),
  // fee cap / gas price relative to the base fee, and the tip of type-2 txs
  fee: fc.constantFrom(BASE_FEE, BASE_FEE * 3n, BASE_FEE * 3n, BASE_FEE * 3n, BASE_FEE - 1n),
  tip: fc.constantFrom(0n, 1n, BASE_FEE, BASE_FEE * 5n),
})

type Spec = typeof txSpec extends fc.Arbitrary<infer T> ? T : never

function makeTxs(specs: Spec[], common: Common): TypedTransaction[] {
  const nonces = SENDERS.map(() => 0n)
  return specs.map((s) => {
    const n = nonces[s.sender]! + BigInt(s.nonceDelta)
    const nonce = n < 0n ? 0n : n
    if (s.nonceDelta === 0) nonces[s.sender]! += 1n
    const base = {
      nonce,
      to: RECIPIENTS[s.to]!,
      value: s.value,
      gasLimit: s.gas,
      data: s.data === 0 ? new Uint8Array(0) : Uint8Array.of(1),
    }
    const accessList = s.accessList ? [{ address: hex(addr(5)), storageKeys: [] }] : []
    const k = KEYS[s.sender]!
    if (s.type === 0) return createLegacyTx({ ...base, gasPrice: s.fee }, { common }).sign(k)
    if (s.type === 1)
      return createAccessList2930Tx(
        { ...base, gasPrice: s.fee, accessList, chainId: CHAIN_ID },
        { common },
      ).sign(k)
    return createFeeMarket1559Tx(
      {
        ...base,
        maxFeePerGas: s.fee,
        maxPriorityFeePerGas: s.tip < s.fee ? s.tip : s.fee,
        accessList,
        chainId: CHAIN_ID,
      },
      { common },
    ).sign(k)
  })
}

describe('plain transfer fast path', () => {
  afterAll(() => {
    setPlainTransfers(true)
    cleanupDirs()
  })

  it('gives the same block, receipts and rejections as runTx on random transfers', async () => {
    let fastApplied = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(txSpec, { minLength: 1, maxLength: 30 }),
        fc.nat(COINBASES.length - 1),
        fc.boolean(),
        // Both forks the chain runs (Osaka: EIP-7825's cap applies to transfers as to any tx).
        fc.constantFrom('prague' as const, 'osaka' as const),
        async (specs, cb, treasury, hardfork) => {
          const g = genesis(treasury, hardfork)
          const { runtime, db } = await openRuntime(g)
          try {
            const txs = makeTxs(specs, runtime.common)
            const build = () =>
              runtime.buildBlock(runtime.genesisBlock.header, txs, {
                timestamp: 1001n,
                coinbase: COINBASES[cb]!,
              })
            setPlainTransfers(false)
            const want = await build()
            setPlainTransfers(true)
            const got = await build()
            const summary = (r: typeof want) => ({
              hash: hex(r.block.hash()),
              executed: r.executed.map((e) => [hex(e.hash), e.status, e.gasUsed, e.cumulativeGasUsed]),
              rejected: r.rejected.map((x) => [hex(x.tx.hash()), x.reason, x.retry]),
            })
            expect(summary(got)).toEqual(summary(want))
            fastApplied += got.executed.filter(
              (e) =>
                e.tx.data.length === 0 &&
                e.tx.value > 0n &&
                !('accessList' in e.tx && (e.tx.accessList as unknown[]).length > 0) &&
                ![CONTRACT, REVERTER, PRECOMPILE(1), PRECOMPILE(4), PRECOMPILE(0x0a)].some(
                  (a) => hex(a) === hex(e.tx.to!.bytes),
                ),
            ).length
          } finally {
            await runtime.close()
            await db.level.close()
          }
        },
      ),
      { numRuns: 150 },
    )
    // The generator must actually reach the fast path, not only its fallbacks.
    expect(fastApplied).toBeGreaterThan(100)
  })
})
