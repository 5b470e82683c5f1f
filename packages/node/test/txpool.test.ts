import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import {
  createBlob4844Tx,
  createEOACode7702Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  type TypedTransaction,
} from '@ethereumjs/tx'
import { bytesToHex } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import {
  type PooledTx,
  TxPool,
  type TxPoolAccount,
  TxPoolError,
  type TxPoolOptions,
} from '../src/txpool/index.ts'

const common = createCustomCommon({ chainId: 4242 }, Mainnet, { hardfork: Hardfork.Prague })
const otherChain = createCustomCommon({ chainId: 1 }, Mainnet, { hardfork: Hardfork.Prague })
const TO = new Uint8Array(20).fill(0x42)
const RICH = 10n ** 24n

function addr(i: number): Uint8Array {
  const a = new Uint8Array(20)
  a[0] = 0xa0
  a[18] = i >> 8
  a[19] = i & 0xff
  return a
}

interface TxOpts {
  nonce: bigint
  tip?: bigint
  feeCap?: bigint
  gas?: bigint
  value?: bigint
  data?: Uint8Array
  salt?: number
}

// Fake signatures carry no sender, so vary the recipient to keep hashes distinct across senders.
let counter = 0
function recipient(): Uint8Array {
  const a = TO.slice()
  counter++
  a[18] = (counter >> 8) & 0xff
  a[19] = counter & 0xff
  return a
}

// The pool trusts the caller's sender, so a syntactically valid signature is enough (and fast).
function tx1559(o: TxOpts, c = common): TypedTransaction {
  return createFeeMarket1559Tx(
    {
      nonce: o.nonce,
      to: recipient(),
      gasLimit: o.gas ?? 21_000n,
      maxPriorityFeePerGas: o.tip ?? 1n,
      maxFeePerGas: o.feeCap ?? 100n,
      value: o.value ?? BigInt(o.salt ?? 0),
      data: o.data,
      chainId: c.chainId(),
    },
    { common: c },
  ).addSignature(0n, 1n, 1n)
}

function legacy(o: TxOpts & { gasPrice: bigint }): TypedTransaction {
  return createLegacyTx(
    {
      nonce: o.nonce,
      to: recipient(),
      gasLimit: o.gas ?? 21_000n,
      gasPrice: o.gasPrice,
      value: BigInt(o.salt ?? 0),
    },
    { common },
  ).addSignature(0n, 1n, 1n, true)
}

class State {
  readonly accounts = new Map<string, TxPoolAccount>()
  set(a: Uint8Array, nonce: bigint, balance = RICH) {
    this.accounts.set(bytesToHex(a), { nonce, balance })
  }
  getAccount = async (a: Uint8Array): Promise<TxPoolAccount> =>
    this.accounts.get(bytesToHex(a)) ?? { nonce: 0n, balance: RICH }
}

function makePool(opts: Partial<TxPoolOptions> = {}, state = new State()) {
  const pool = new TxPool({ common, blockGasLimit: 30_000_000n, getAccount: state.getAccount, ...opts })
  const added: string[] = []
  pool.on('added', (h) => added.push(bytesToHex(h)))
  return { pool, state, added }
}

async function rejection(p: Promise<unknown>): Promise<TxPoolError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(TxPoolError)
  return err as TxPoolError
}

const hex = (t: TypedTransaction) => bytesToHex(t.hash())
const nonces = (txs: TypedTransaction[] | undefined) => (txs ?? []).map((t) => Number(t.nonce))

describe('TxPool: pending, queued and promotion', () => {
  it('keeps contiguous nonces pending, gaps queued, and promotes when the gap fills', async () => {
    const { pool, added } = makePool()
    const a = addr(1)
    const t0 = tx1559({ nonce: 0n })
    const t2 = tx1559({ nonce: 2n })
    const t3 = tx1559({ nonce: 3n })
    const t1 = tx1559({ nonce: 1n })
    expect(await pool.add(t0, a)).toBe('pending')
    expect(await pool.add(t2, a)).toBe('queued')
    expect(await pool.add(t3, a)).toBe('queued')
    expect(pool.status()).toEqual({ pending: 1, queued: 2 })
    expect(added).toEqual([hex(t0)])
    expect(await pool.add(t1, a)).toBe('pending')
    expect(pool.status()).toEqual({ pending: 4, queued: 0 })
    expect(added).toEqual([hex(t0), hex(t1), hex(t2), hex(t3)])
    expect(pool.size).toBe(4)
    expect(pool.pendingNonce(a, 0n)).toBe(4n)
    expect(pool.pendingNonce(addr(9), 5n)).toBe(5n)
    expect(nonces(pool.content().pending.get(bytesToHex(a)))).toEqual([0, 1, 2, 3])
  })

  it('starts pending at the account nonce and queues anything above a gap', async () => {
    const { pool, state } = makePool()
    const a = addr(1)
    state.set(a, 5n)
    expect(await pool.add(tx1559({ nonce: 7n }), a)).toBe('queued')
    expect(await pool.add(tx1559({ nonce: 5n }), a)).toBe('pending')
    const c = pool.content()
    expect(nonces(c.pending.get(bytesToHex(a)))).toEqual([5])
    expect(nonces(c.queued.get(bytesToHex(a)))).toEqual([7])
  })

  it('drops mined and stale transactions after a block and promotes the queue', async () => {
    const { pool, state, added } = makePool()
    const a = addr(1)
    const b = addr(2)
    const a0 = tx1559({ nonce: 0n })
    const a1 = tx1559({ nonce: 1n })
    const b1 = tx1559({ nonce: 1n })
    const b2 = tx1559({ nonce: 2n })
    await pool.add(a0, a)
    await pool.add(a1, a)
    await pool.add(b1, b)
    await pool.add(b2, b)
    expect(pool.status()).toEqual({ pending: 2, queued: 2 })
    // a0 mined; b's nonce 0 was mined from elsewhere, so b1, b2 become executable.
    state.set(a, 1n)
    state.set(b, 1n)
    const dropped: string[] = []
    pool.on('dropped', (h, reason) => dropped.push(`${bytesToHex(h)}:${reason}`))
    await pool.onBlockCommitted([
      { sender: a, nonce: 0n, hash: a0.hash() },
      { sender: b, nonce: 0n, hash: new Uint8Array(32) },
    ])
    expect(pool.has(a0.hash())).toBe(false)
    expect(dropped).toEqual([`${hex(a0)}:mined`])
    expect(pool.status()).toEqual({ pending: 3, queued: 0 })
    expect(added).toEqual([hex(a0), hex(a1), hex(b1), hex(b2)])
  })

  it('after a block, re-reads only the senders with transactions left', async () => {
    const { pool, state } = makePool()
    const a = addr(1)
    const b = addr(2)
    const a0 = tx1559({ nonce: 0n })
    const a1 = tx1559({ nonce: 1n })
    const b0 = tx1559({ nonce: 0n })
    const b1 = tx1559({ nonce: 1n })
    for (const [t, s] of [
      [a0, a],
      [a1, a],
      [b0, b],
      [b1, b],
    ] as const)
      await pool.add(t, s)
    state.set(a, 2n)
    state.set(b, 1n)
    const read: string[] = []
    const dropped: string[] = []
    pool.on('dropped', (h, reason) => dropped.push(`${bytesToHex(h)}:${reason}`))
    await pool.onBlockCommitted(
      [
        { sender: a, nonce: 0n, hash: a0.hash() },
        { sender: a, nonce: 1n, hash: a1.hash() },
        { sender: b, nonce: 0n, hash: b0.hash() },
      ],
      async (address) => {
        read.push(bytesToHex(address))
        return state.getAccount(address)
      },
    )
    // a left entirely (both mined): no state read; b keeps b1, so b is re-read and b1 stays pending.
    expect(read).toEqual([bytesToHex(b)])
    expect(dropped.sort()).toEqual([`${hex(a0)}:mined`, `${hex(a1)}:mined`, `${hex(b0)}:mined`].sort())
    expect(pool.status()).toEqual({ pending: 1, queued: 0 })
    expect(
      pool
        .content()
        .pending.get(bytesToHex(b))
        ?.map((t) => t.nonce),
    ).toEqual([1n])
    expect(pool.pendingNonce(a, 2n)).toBe(2n)
  })

  it('drops transactions the balance can no longer pay for and queues their successors', async () => {
    const { pool, state } = makePool()
    const a = addr(1)
    state.set(a, 0n, 10_000_000n)
    await pool.add(tx1559({ nonce: 0n, feeCap: 100n }), a) // cost 2.1M
    const big = tx1559({ nonce: 1n, feeCap: 300n }) // cost 6.3M
    await pool.add(big, a)
    await pool.add(tx1559({ nonce: 2n, feeCap: 10n }), a)
    state.set(a, 1n, 3_000_000n)
    await pool.onBlockCommitted([{ sender: a, nonce: 0n, hash: new Uint8Array(32) }])
    expect(pool.has(big.hash())).toBe(false)
    expect(pool.status()).toEqual({ pending: 0, queued: 1 })
  })

  it('removes a transaction and demotes the ones above it', async () => {
    const { pool } = makePool()
    const a = addr(1)
    const txs = [0n, 1n, 2n].map((n) => tx1559({ nonce: n }))
    for (const t of txs) await pool.add(t, a)
    expect(pool.remove(txs[1]!.hash())).toBe(true)
    expect(pool.remove(txs[1]!.hash())).toBe(false)
    expect(pool.status()).toEqual({ pending: 1, queued: 1 })
    expect(pool.get(txs[2]!.hash())?.sender).toEqual(a)
    expect(pool.get(txs[1]!.hash())).toBeUndefined()
    // Re-adding the missing nonce promotes again.
    expect(await pool.add(txs[1]!, a)).toBe('pending')
    expect(pool.status()).toEqual({ pending: 3, queued: 0 })
    pool.clear()
    expect(pool.size).toBe(0)
    expect(pool.status()).toEqual({ pending: 0, queued: 0 })
  })

  it('resets to a snapshot, re-validating every transaction', async () => {
    const { pool, state } = makePool()
    const a = addr(1)
    for (const n of [0n, 1n, 2n]) await pool.add(tx1559({ nonce: n }), a)
    const snap = pool.all()
    expect(snap.map((p) => Number(p.tx.nonce))).toEqual([0, 1, 2])
    pool.clear()
    state.set(a, 1n)
    const rejected = await pool.reset(snap)
    expect(rejected.map((r) => r.error.code)).toEqual(['NONCE_TOO_LOW'])
    expect(pool.status()).toEqual({ pending: 2, queued: 0 })
  })
})

describe('TxPool: admission errors (geth messages)', () => {
  it('reports each rejection with a stable code and geth text', async () => {
    const { pool, state } = makePool({ minGasPrice: 2n, blockGasLimit: 1_000_000n })
    const a = addr(1)
    state.set(a, 3n, 5_000_000n)
    const ok = tx1559({ nonce: 3n, tip: 2n })
    await pool.add(ok, a)

    const cases: Array<[TypedTransaction, string, string | RegExp]> = [
      [ok, 'ALREADY_KNOWN', 'already known'],
      [tx1559({ nonce: 2n, tip: 2n }), 'NONCE_TOO_LOW', 'nonce too low: next nonce 3, tx nonce 2'],
      [tx1559({ nonce: 4n, tip: 2n, gas: 1_000_001n }), 'GAS_LIMIT', 'exceeds block gas limit'],
      [
        tx1559({ nonce: 4n, tip: 2n, gas: 20_999n }),
        'INTRINSIC_GAS',
        'intrinsic gas too low: gas 20999, minimum needed 21000',
      ],
      [
        // 1000 non-zero bytes: intrinsic 37,000, EIP-7623 floor 21,000 + 10·4·1000 = 61,000.
        tx1559({ nonce: 4n, tip: 2n, gas: 40_000n, data: new Uint8Array(1000).fill(1) }),
        'FLOOR_DATA_GAS',
        'insufficient gas for floor data gas cost: gas 40000, minimum needed 61000',
      ],
      [
        tx1559({ nonce: 4n, tip: 1n }),
        'UNDERPRICED',
        'transaction underpriced: gas tip cap 1, minimum needed 2',
      ],
      [
        tx1559({ nonce: 4n, tip: 2n, value: 3_000_000n }),
        'INSUFFICIENT_FUNDS',
        'insufficient funds for gas * price + value: balance 5000000, tx cost 5100000, overshot 100000',
      ],
      [
        // 2.1M already committed by `ok`: 2.1M + 3.1M > 5M.
        tx1559({ nonce: 4n, tip: 2n, value: 1_000_000n }),
        'INSUFFICIENT_FUNDS',
        'insufficient funds for gas * price + value: balance 5000000, queued cost 2100000, tx cost 3100000, overshot 200000',
      ],
      [
        tx1559({ nonce: 4n, tip: 2n }, otherChain),
        'INVALID_CHAIN_ID',
        'invalid chain id for signer: have 1 want 4242',
      ],
      [
        tx1559({ nonce: 4n, tip: 2n, gas: 500_000n, data: new Uint8Array(129 * 1024) }),
        'OVERSIZED_DATA',
        /^oversized data: transaction size \d+, limit 131072$/,
      ],
    ]
    for (const [t, code, message] of cases) {
      const err = await rejection(pool.add(t, a))
      expect(err.code, String(message)).toBe(code)
      if (typeof message === 'string') expect(err.message).toBe(message)
      else expect(err.message).toMatch(message)
    }
    expect((await rejection(pool.add(tx1559({ nonce: 4n, tip: 2n }), new Uint8Array(19)))).code).toBe(
      'INVALID_SENDER',
    )
    const unsigned = createFeeMarket1559Tx(
      { nonce: 4n, to: TO, gasLimit: 21_000n, maxFeePerGas: 9n, chainId: 4242n },
      { common },
    )
    expect((await rejection(pool.add(unsigned, a))).code).toBe('INVALID_SENDER')
    expect(pool.size).toBe(1)
  })

  it('refuses blob transactions (no sidecar handling)', async () => {
    const { pool } = makePool()
    // Only construction needs a KZG backend, and without blobs it is never called.
    const blobCommon = createCustomCommon({ chainId: 4242 }, Mainnet, {
      hardfork: Hardfork.Prague,
      customCrypto: { kzg: {} as never },
    })
    const blob = createBlob4844Tx(
      {
        nonce: 0n,
        to: TO,
        gasLimit: 21_000n,
        maxFeePerGas: 10n,
        maxPriorityFeePerGas: 1n,
        maxFeePerBlobGas: 1n,
        blobVersionedHashes: [new Uint8Array(32).fill(0x01)],
        chainId: 4242n,
      },
      { common: blobCommon },
    ).addSignature(0n, 1n, 1n)
    const err = await rejection(pool.add(blob, addr(1)))
    expect(err).toMatchObject({ code: 'TX_TYPE_NOT_SUPPORTED', message: 'transaction type not supported' })
  })

  it('accepts legacy, access-list-free 1559 and 7702 transactions', async () => {
    const { pool } = makePool()
    expect(await pool.add(legacy({ nonce: 0n, gasPrice: 5n }), addr(1))).toBe('pending')
    const auth = createEOACode7702Tx(
      {
        nonce: 0n,
        to: TO,
        gasLimit: 100_000n,
        maxFeePerGas: 10n,
        maxPriorityFeePerGas: 1n,
        chainId: 4242n,
        authorizationList: [
          {
            chainId: '0x1092',
            address: `0x${'11'.repeat(20)}`,
            nonce: '0x0',
            yParity: '0x0',
            r: '0x01',
            s: '0x01',
          },
        ],
      },
      { common },
    ).addSignature(0n, 1n, 1n)
    expect(await pool.add(auth, addr(2))).toBe('pending')
  })
})

describe('TxPool: replacement', () => {
  it('needs +10% on both fee cap and tip (strictly higher)', async () => {
    const { pool } = makePool()
    const a = addr(1)
    const orig = tx1559({ nonce: 0n, tip: 10n, feeCap: 100n })
    await pool.add(orig, a)
    for (const [tip, feeCap] of [
      [10n, 200n], // tip unchanged
      [11n, 109n], // fee cap +9 %
      [20n, 100n], // fee cap unchanged
      [10n, 110n],
    ] as const) {
      const err = await rejection(pool.add(tx1559({ nonce: 0n, tip, feeCap }), a))
      expect(err).toMatchObject({
        code: 'REPLACE_UNDERPRICED',
        message: 'replacement transaction underpriced',
      })
    }
    const dropped: string[] = []
    pool.on('dropped', (h, r) => dropped.push(`${bytesToHex(h)}:${r}`))
    const repl = tx1559({ nonce: 0n, tip: 11n, feeCap: 110n })
    expect(await pool.add(repl, a)).toBe('pending')
    expect(pool.has(orig.hash())).toBe(false)
    expect(pool.get(repl.hash())?.tx.hash()).toEqual(repl.hash())
    expect(dropped).toEqual([`${hex(orig)}:replaced`])
    expect(pool.status()).toEqual({ pending: 1, queued: 0 })
  })

  it('replaces legacy transactions by gas price and keeps queued replacements queued', async () => {
    const { pool } = makePool()
    const a = addr(1)
    await pool.add(legacy({ nonce: 2n, gasPrice: 100n }), a)
    expect((await rejection(pool.add(legacy({ nonce: 2n, gasPrice: 109n, salt: 1 }), a))).code).toBe(
      'REPLACE_UNDERPRICED',
    )
    expect(await pool.add(legacy({ nonce: 2n, gasPrice: 110n, salt: 1 }), a)).toBe('queued')
    expect(pool.status()).toEqual({ pending: 0, queued: 1 })
  })

  it('allows replacement at the per-account limit and counts the replaced cost out', async () => {
    const { pool, state } = makePool({ maxPerSender: 2 })
    const a = addr(1)
    state.set(a, 0n, 21_000n * 300n)
    await pool.add(tx1559({ nonce: 0n, feeCap: 100n }), a)
    await pool.add(tx1559({ nonce: 1n, feeCap: 100n }), a)
    const err = await rejection(pool.add(tx1559({ nonce: 2n }), a))
    expect(err.code).toBe('ACCOUNT_LIMIT')
    expect(err.message).toMatch(/^exceeds max per-account limit/)
    // Balance 6.3M: two txs at 2.1M, replacing one with 4.2M fits only because its own cost is excluded.
    expect(await pool.add(tx1559({ nonce: 1n, feeCap: 200n, tip: 2n }), a)).toBe('pending')
  })
})

describe('TxPool: capacity and eviction', () => {
  it('evicts the cheapest tail of another sender, never for a cheaper transaction', async () => {
    const { pool } = makePool({ maxTotal: 4, maxQueued: 4 })
    for (let i = 1; i <= 4; i++) await pool.add(tx1559({ nonce: 0n, tip: BigInt(i) }), addr(i))
    const cheapest = pool.content().pending.get(bytesToHex(addr(1)))![0]!
    const under = await rejection(pool.add(tx1559({ nonce: 0n, tip: 1n }), addr(9)))
    expect(under.code).toBe('UNDERPRICED')
    expect(under.message).toMatch(/^transaction underpriced/)
    expect(await pool.add(tx1559({ nonce: 0n, tip: 3n }), addr(9))).toBe('pending')
    expect(pool.has(cheapest.hash())).toBe(false)
    expect(pool.size).toBe(4)
  })

  it('says "txpool is full" when only the sender itself could make room', async () => {
    const { pool } = makePool({ maxTotal: 3, maxQueued: 3 })
    const a = addr(1)
    for (const n of [0n, 1n, 2n]) await pool.add(tx1559({ nonce: n, tip: 1n }), a)
    const err = await rejection(pool.add(tx1559({ nonce: 3n, tip: 50n }), a))
    expect(err).toMatchObject({ code: 'TXPOOL_FULL', message: 'txpool is full' })
  })

  it('evicts a tail, so no sender is left with a gap', async () => {
    const { pool } = makePool({ maxTotal: 3, maxQueued: 3 })
    const a = addr(1)
    await pool.add(tx1559({ nonce: 0n, tip: 1n }), a)
    await pool.add(tx1559({ nonce: 1n, tip: 5n }), a)
    await pool.add(tx1559({ nonce: 0n, tip: 4n }), addr(2))
    // a's tail (tip 5) is pricier than b's (tip 4): b's goes.
    await pool.add(tx1559({ nonce: 0n, tip: 6n }), addr(3))
    expect(pool.content().pending.has(bytesToHex(addr(2)))).toBe(false)
    expect(nonces(pool.content().pending.get(bytesToHex(a)))).toEqual([0, 1])
  })

  it('caps the queue separately and evicts only queued tails for queued arrivals', async () => {
    const { pool } = makePool({ maxTotal: 10, maxQueued: 2 })
    await pool.add(tx1559({ nonce: 0n, tip: 1n }), addr(1)) // pending, not evictable for the queue
    await pool.add(tx1559({ nonce: 5n, tip: 2n }), addr(2))
    await pool.add(tx1559({ nonce: 5n, tip: 3n }), addr(3))
    expect((await rejection(pool.add(tx1559({ nonce: 5n, tip: 2n }), addr(4)))).code).toBe('UNDERPRICED')
    expect(await pool.add(tx1559({ nonce: 5n, tip: 4n }), addr(4))).toBe('queued')
    expect(pool.status()).toEqual({ pending: 1, queued: 2 })
    expect(pool.content().queued.has(bytesToHex(addr(2)))).toBe(false)
    // Pending arrivals are not limited by the queue cap.
    expect(await pool.add(tx1559({ nonce: 0n, tip: 1n }), addr(5))).toBe('pending')
  })

  it('keeps the queue cap when a removal or an unpayable transaction demotes a pending run', async () => {
    // The shrunk counterexample of txpool.property.test.ts (seed -994449099): removing the first of
    // four pending transactions demoted three into a queue that already held two, with a cap of 4.
    const { pool } = makePool({ maxTotal: 8, maxQueued: 4 })
    await pool.add(tx1559({ nonce: 1n, tip: 2n }), addr(1))
    await pool.add(tx1559({ nonce: 1n, tip: 3n }), addr(2))
    const run = [0n, 1n, 2n, 3n].map((n) => tx1559({ nonce: n, tip: 1n }))
    for (const t of run) await pool.add(t, addr(3))
    expect(pool.status()).toEqual({ pending: 4, queued: 2 })
    const dropped: string[] = []
    pool.on('dropped', (h, reason) => dropped.push(`${bytesToHex(h)} ${reason}`))
    expect(pool.remove(run[0]!.hash())).toBe(true)
    // Cheapest queued tails go first: addr(3)'s nonce 3 (tip 1) leaves, the rest fits.
    expect(pool.status()).toEqual({ pending: 0, queued: 4 })
    expect(dropped).toEqual([`${hex(run[0]!)} removed`, `${hex(run[3]!)} evicted`])

    // Same through a balance drop: nonce 0 becomes unpayable, its successors are demoted.
    const b = makePool({ maxTotal: 8, maxQueued: 2 })
    const a = addr(4)
    b.state.set(a, 0n, RICH)
    const big = tx1559({ nonce: 0n, tip: 1n, feeCap: 1_000n })
    await b.pool.add(big, a)
    for (const n of [1n, 2n, 3n]) await b.pool.add(tx1559({ nonce: n, tip: 1n, feeCap: 100n }), a)
    b.state.set(a, 0n, 21_000n * 500n)
    await b.pool.revalidate([a])
    expect(b.pool.has(big.hash())).toBe(false)
    expect(b.pool.status()).toEqual({ pending: 0, queued: 2 })
  })

  it('drops transactions below a raised minimum tip', async () => {
    const { pool } = makePool()
    const a = addr(1)
    await pool.add(tx1559({ nonce: 0n, tip: 5n }), a)
    await pool.add(tx1559({ nonce: 1n, tip: 1n }), a)
    await pool.add(tx1559({ nonce: 2n, tip: 5n }), a)
    pool.setMinGasPrice(2n)
    expect(pool.minGasPrice).toBe(2n)
    expect(pool.status()).toEqual({ pending: 1, queued: 1 })
  })
})

describe('TxPool: block ordering', () => {
  it('orders by effective tip across senders and by nonce within a sender', async () => {
    const { pool } = makePool()
    const [a, b, c] = [addr(1), addr(2), addr(3)]
    await pool.add(tx1559({ nonce: 0n, tip: 5n, feeCap: 1000n }), a)
    await pool.add(tx1559({ nonce: 1n, tip: 50n, feeCap: 1000n }), a)
    await pool.add(tx1559({ nonce: 0n, tip: 10n, feeCap: 1000n }), b)
    await pool.add(tx1559({ nonce: 1n, tip: 1n, feeCap: 1000n }), b)
    // c's tip is high but its fee cap leaves only 3 above a base fee of 97.
    await pool.add(tx1559({ nonce: 0n, tip: 40n, feeCap: 100n }), c)
    await pool.add(legacy({ nonce: 0n, gasPrice: 104n }), addr(4)) // effective tip 7
    await pool.add(tx1559({ nonce: 0n, tip: 90n, feeCap: 96n }), addr(5)) // below base fee: skipped
    await pool.add(tx1559({ nonce: 1n, tip: 90n, feeCap: 200n }), addr(5)) // behind it: skipped too
    const order = [...pool.pending(97n)].map((p) => `${p.sender[19]}:${p.tx.nonce}`)
    expect(order).toEqual(['2:0', '4:0', '1:0', '1:1', '3:0', '2:1'])
    // With no base fee the nominal tips rule.
    const order0 = [...pool.pending(0n)].map((p) => `${p.sender[19]}:${p.tx.nonce}`)
    expect(order0).toEqual(['4:0', '5:0', '5:1', '3:0', '2:0', '1:0', '1:1', '2:1'])
  })

  it('breaks price ties by arrival and snapshots the set when iteration starts', async () => {
    const { pool } = makePool()
    await pool.add(tx1559({ nonce: 0n, tip: 3n }), addr(2))
    await pool.add(tx1559({ nonce: 0n, tip: 3n }), addr(1))
    const it = pool.pending(0n)[Symbol.iterator]()
    expect(it.next().value?.sender[19]).toBe(2)
    await pool.add(tx1559({ nonce: 0n, tip: 99n }), addr(3))
    expect(it.next().value?.sender[19]).toBe(1)
    expect(it.next().done).toBe(true)
  })

  it('orders 5,000 pending transactions quickly', async () => {
    const { pool } = makePool({ maxPerSender: 64 })
    const txs: Array<[TypedTransaction, Uint8Array]> = []
    for (let s = 0; s < 500; s++) {
      for (let n = 0; n < 10; n++)
        txs.push([tx1559({ nonce: BigInt(n), tip: BigInt(1 + ((s * 7 + n) % 50)) }), addr(s)])
    }
    const t0 = performance.now()
    for (const [t, a] of txs) await pool.add(t, a)
    const addMs = performance.now() - t0
    expect(pool.status()).toEqual({ pending: 5000, queued: 0 })
    // Best of several passes: the first warms the JIT, and on a shared machine any single pass can
    // be hit by GC or preemption. A node mining continuously sees the warm figure.
    let out: PooledTx[] = []
    const times: number[] = []
    for (let i = 0; i < 5; i++) {
      const t1 = performance.now()
      out = [...pool.pending(0n)]
      times.push(performance.now() - t1)
    }
    const orderMs = Math.min(...times)
    expect(out).toHaveLength(5000)
    const last = new Map<number, bigint>()
    for (const p of out) {
      const s = p.sender[18]! * 256 + p.sender[19]!
      expect(p.tx.nonce).toBe((last.get(s) ?? -1n) + 1n)
      last.set(s, p.tx.nonce)
    }
    console.log(
      `txpool: add 5000 txs ${addMs.toFixed(0)} ms; order 5000 pending ${times[0]!.toFixed(1)} ms cold, ${orderMs.toFixed(1)} ms best`,
    )
    // Generous bound for a shared 2-core machine (a few ms when idle).
    expect(orderMs).toBeLessThan(250)
  })
})
