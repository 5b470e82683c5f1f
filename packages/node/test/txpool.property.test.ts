/**
 * Property test: random sequences of admissions, mined blocks, removals and balance drains keep
 * the pool's invariants (pending contiguous from the account nonce, queued strictly above a gap,
 * one transaction per sender and nonce, counters exact, every limit respected, block order valid).
 */
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import { createFeeMarket1559Tx, type TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '@ethereumjs/util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TxPool, type TxPoolAccount, TxPoolError } from '../src/txpool/index.ts'

const common = createCustomCommon({ chainId: 4242 }, Mainnet, { hardfork: Hardfork.Prague })
const LIMITS = { maxPerSender: 4, maxTotal: 8, maxQueued: 4 }
const SENDERS = [1, 2, 3, 4].map((i) => new Uint8Array(20).fill(i))
const RICH = 10n ** 24n

type Cmd =
  | { kind: 'add'; sender: number; offset: number; tip: number; extraFee: number }
  | { kind: 'mine'; count: number }
  | { kind: 'remove'; pick: number }
  | { kind: 'drain'; sender: number }

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      sender: fc.integer({ min: 0, max: 3 }),
      offset: fc.integer({ min: -1, max: 5 }),
      tip: fc.integer({ min: 1, max: 6 }),
      extraFee: fc.integer({ min: 0, max: 20 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('mine' as const), count: fc.integer({ min: 0, max: 6 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('drain' as const), sender: fc.integer({ min: 0, max: 3 }) }),
  },
)

let salt = 0
function makeTx(nonce: bigint, tip: bigint, feeCap: bigint): TypedTransaction {
  salt++
  const to = new Uint8Array(20)
  new DataView(to.buffer).setUint32(16, salt)
  return createFeeMarket1559Tx(
    { nonce, to, gasLimit: 21_000n, maxPriorityFeePerGas: tip, maxFeePerGas: feeCap, chainId: 4242n },
    { common },
  ).addSignature(0n, 1n, 1n)
}

function checkInvariants(pool: TxPool, state: Map<string, TxPoolAccount>): void {
  const { pending, queued } = pool.content()
  let p = 0
  let q = 0
  const hashes = new Set<string>()
  for (const sender of SENDERS) {
    const key = bytesToHex(sender)
    const stateNonce = state.get(key)!.nonce
    const pend = (pending.get(key) ?? []).map((t) => t.nonce)
    const queue = (queued.get(key) ?? []).map((t) => t.nonce)
    expect(pend).toEqual(pend.map((_, i) => stateNonce + BigInt(i)))
    const pendingEnd = stateNonce + BigInt(pend.length)
    // Queued nonces sit strictly above a gap, sorted and unique.
    for (let i = 0; i < queue.length; i++) {
      expect(queue[i]! > pendingEnd).toBe(true)
      if (i > 0) expect(queue[i]! > queue[i - 1]!).toBe(true)
    }
    expect(pend.length + queue.length).toBeLessThanOrEqual(LIMITS.maxPerSender)
    for (const t of [...(pending.get(key) ?? []), ...(queued.get(key) ?? [])])
      hashes.add(bytesToHex(t.hash()))
    p += pend.length
    q += queue.length
  }
  expect(hashes.size).toBe(p + q)
  expect(pool.status()).toEqual({ pending: p, queued: q })
  expect(pool.size).toBe(p + q)
  expect(pool.size).toBeLessThanOrEqual(LIMITS.maxTotal)
  expect(q).toBeLessThanOrEqual(LIMITS.maxQueued)
  // Block order: every pending tx exactly once, nonce order within each sender.
  const seen = new Map<string, bigint>()
  let count = 0
  for (const { tx, sender } of pool.pending(0n)) {
    const key = bytesToHex(sender)
    const expected = seen.get(key) ?? state.get(key)!.nonce
    expect(tx.nonce).toBe(expected)
    seen.set(key, expected + 1n)
    count++
  }
  expect(count).toBe(p)
}

describe('TxPool properties', () => {
  it('keeps its invariants under random add / mine / remove / drain sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 60 }), async (cmds) => {
        const state = new Map<string, TxPoolAccount>(
          SENDERS.map((s) => [bytesToHex(s), { nonce: 0n, balance: RICH }]),
        )
        const getAccount = async (a: Uint8Array) => ({ ...state.get(bytesToHex(a))! })
        const pool = new TxPool({ common, blockGasLimit: 30_000_000n, getAccount, ...LIMITS })
        for (const c of cmds) {
          if (c.kind === 'add') {
            const sender = SENDERS[c.sender]!
            const nonce = state.get(bytesToHex(sender))!.nonce + BigInt(c.offset)
            if (nonce < 0n) continue
            const tip = BigInt(c.tip)
            try {
              await pool.add(makeTx(nonce, tip, tip + BigInt(c.extraFee)), sender)
            } catch (err) {
              if (!(err instanceof TxPoolError)) throw err
            }
          } else if (c.kind === 'mine') {
            const mined = [...pool.pending(0n)].slice(0, c.count)
            for (const { tx, sender } of mined) {
              const acc = state.get(bytesToHex(sender))!
              expect(tx.nonce).toBe(acc.nonce)
              acc.nonce++
            }
            await pool.onBlockCommitted(
              mined.map(({ tx, sender }) => ({ sender, nonce: tx.nonce, hash: tx.hash() })),
            )
            for (const { tx } of mined) expect(pool.has(tx.hash())).toBe(false)
          } else if (c.kind === 'remove') {
            const all = pool.all()
            if (all.length > 0) expect(pool.remove(all[c.pick % all.length]!.tx.hash())).toBe(true)
          } else {
            // Enough for about one 21,000-gas tx at the highest fee used here.
            const sender = SENDERS[c.sender]!
            state.get(bytesToHex(sender))!.balance = 21_000n * 26n
            await pool.revalidate([sender])
          }
          checkInvariants(pool, state)
        }
      }),
      { numRuns: 150 },
    )
  })
})
