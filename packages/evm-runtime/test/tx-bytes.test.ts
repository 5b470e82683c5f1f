/** The cached serialize(): the same bytes as the library's encoder, for every transaction type. */
import { Common, Mainnet } from '@ethereumjs/common'
import {
  createAccessList2930Tx,
  createEOACode7702Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  createTxFromRLP,
  LegacyTx,
  type TypedTransaction,
} from '@ethereumjs/tx'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { installSerializeCache, rememberSerialized } from '../src/index.ts'
import { KEYS } from './helpers.ts'

installSerializeCache()
const common = new Common({ chain: Mainnet, hardfork: 'prague' })
const original = (tx: TypedTransaction) =>
  // The encoder itself, bypassing the cache: the class's un-patched logic via a fresh mutable copy.
  createTxFromRLP(tx.serialize(), { common, freeze: false }).serialize()

const fields = fc.record({
  type: fc.constantFrom(0, 1, 2, 4),
  nonce: fc.bigInt({ min: 0n, max: 2n ** 64n - 2n }),
  gasLimit: fc.bigInt({ min: 21_000n, max: 2n ** 24n }),
  fee: fc.bigInt({ min: 1n, max: 2n ** 128n }),
  value: fc.bigInt({ min: 0n, max: 2n ** 200n }),
  data: fc.uint8Array({ maxLength: 200 }),
  to: fc.uint8Array({ minLength: 20, maxLength: 20 }),
})

type Fields = typeof fields extends fc.Arbitrary<infer V> ? V : never

function build(f: Fields): TypedTransaction {
  const base = { nonce: f.nonce, gasLimit: f.gasLimit, value: f.value, data: f.data, to: f.to, chainId: 1n }
  const key = KEYS[0]!
  if (f.type === 0) return createLegacyTx({ ...base, gasPrice: f.fee }, { common }).sign(key)
  if (f.type === 1) return createAccessList2930Tx({ ...base, gasPrice: f.fee }, { common }).sign(key)
  const fee = { maxFeePerGas: f.fee, maxPriorityFeePerGas: f.fee / 2n }
  if (f.type === 2) return createFeeMarket1559Tx({ ...base, ...fee }, { common }).sign(key)
  return createEOACode7702Tx(
    {
      ...base,
      ...fee,
      authorizationList: [
        [Uint8Array.of(1), f.to, Uint8Array.of(), Uint8Array.of(), Uint8Array.of(1), Uint8Array.of(2)],
      ],
    },
    { common },
  ).sign(key)
}

describe('cached serialize()', () => {
  it("gives the encoder's bytes, every time, and the same hash", () => {
    fc.assert(
      fc.property(fields, (f) => {
        const tx = build(f)
        const first = tx.serialize()
        expect(tx.serialize()).toBe(first) // cached: the same array
        expect(first).toEqual(original(tx))
        const decoded = createTxFromRLP(first, { common })
        expect(rememberSerialized(decoded, first)).toBe(true)
        expect(decoded.serialize()).toBe(first)
        expect(decoded.hash()).toEqual(tx.hash())
      }),
      { numRuns: 200 },
    )
  })

  it('never caches a mutable transaction', () => {
    const tx = createLegacyTx({ gasPrice: 1n, gasLimit: 21_000n }, { common, freeze: false })
    expect(tx).toBeInstanceOf(LegacyTx)
    expect(rememberSerialized(tx, new Uint8Array([1]))).toBe(false)
    const a = tx.serialize()
    ;(tx as { nonce: bigint }).nonce = 5n
    expect(tx.serialize()).not.toEqual(a)
  })
})
