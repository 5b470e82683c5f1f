/** Off-thread sender recovery: `recoverRawTransaction` against EthereumJS's own recovery on random
 * signed transactions of every admitted type (valid and damaged), the worker pool, and the
 * eth_sendRawTransaction path that uses it. */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Common, createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common'
import { RLP } from '@ethereumjs/rlp'
import {
  createAccessList2930Tx,
  createEOACode7702Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  createTxFromRLP,
  type TypedTransaction,
} from '@ethereumjs/tx'
import { type EOACode7702AuthorizationListBytes, privateToAddress, SECP256K1_ORDER } from '@ethereumjs/util'
import {
  adoptRecovery,
  CRYPTO_MODULE_URL,
  createCustomCrypto,
  ecdsaRecover,
  initCrypto,
  keccak256,
  parseGenesis,
  type RawTxRecovery,
  recoverSender,
} from '@openledger/evm-runtime'
import { buildDevGenesis, hex, NodeBackend, openCore, silentLogger } from '@openledger/node'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRawRecover, loadRawRecover } from '../src/backend/raw-recover.mjs'
import { RecoverPool } from '../src/backend/recover-pool.ts'
import { nativeRecover, nativeSigner } from '../src/consensus/crypto.ts'
import { txRule } from '../src/gossip/rules.ts'
import { encodeTxBatch } from '../src/gossip/tx-batch.ts'
import { TxIntake } from '../src/intake/tx-intake.ts'

// The worker's recovery, here with the node's own keccak and secp256k1 binding.
const recoverRawTransaction = createRawRecover({ RLP, keccak256, ecdsaRecover })

// Above 255 so that a chain id can carry a meaningful leading zero byte.
const CHAIN_ID = 31337n
// Signing uses the runtime's native crypto (fast); the reference decodes with plain EthereumJS.
const signing = createCustomCommon({ chainId: Number(CHAIN_ID) }, Mainnet, {
  hardfork: Hardfork.Prague,
  customCrypto: createCustomCrypto(),
})
const reference = createCustomCommon({ chainId: Number(CHAIN_ID) }, Mainnet, { hardfork: Hardfork.Prague })
// Pre-EIP-155 signatures (v = 27/28) come from a pre-Spurious-Dragon common.
const preEip155 = createCustomCommon({ chainId: Number(CHAIN_ID) }, Mainnet, {
  hardfork: Hardfork.TangerineWhistle,
  customCrypto: createCustomCrypto(),
})

beforeAll(async () => {
  await initCrypto()
})

type Kind = 'legacy155' | 'legacy' | 'accessList' | 'feeMarket' | 'eoaCode'
type Damage =
  | 'none'
  | 'highS'
  | 'randomR'
  | 'randomS'
  | 'zeroR'
  | 'zeroS'
  | 'rAboveOrder'
  | 'badV'
  | 'otherChainV'
  | 'paddedChainId'
  | 'paddedNonce'
  | 'shortR'

interface Case {
  kind: Kind
  key: Uint8Array
  nonce: bigint
  gasLimit: bigint
  fee: bigint
  tip: bigint
  value: bigint
  to: Uint8Array | undefined
  data: Uint8Array
  accessList: Array<[Uint8Array, Uint8Array[]]>
  authorizations: EOACode7702AuthorizationListBytes
  damage: Damage
  noise: Uint8Array
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const validKey = bytes(32).filter((k) => {
  const v = BigInt(hex(k))
  return v > 0n && v < SECP256K1_ORDER
})
const caseArb: fc.Arbitrary<Case> = fc.record({
  kind: fc.constantFrom<Kind>('legacy155', 'legacy', 'accessList', 'feeMarket', 'eoaCode'),
  key: validKey,
  nonce: fc.bigInt({ min: 0n, max: 2n ** 64n - 2n }),
  gasLimit: fc.bigInt({ min: 21_000n, max: 30_000_000n }),
  fee: fc.bigInt({ min: 0n, max: 2n ** 128n }),
  tip: fc.bigInt({ min: 0n, max: 2n ** 64n }),
  value: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
  to: fc.option(bytes(20), { nil: undefined }),
  data: fc.uint8Array({ maxLength: 200 }),
  accessList: fc.array(fc.tuple(bytes(20), fc.array(bytes(32), { maxLength: 3 })), { maxLength: 3 }),
  authorizations: fc.array(
    fc.tuple(
      fc.constantFrom(new Uint8Array(0), Uint8Array.of(0x7a, 0x69)),
      bytes(20),
      fc.uint8Array({ maxLength: 8 }).map((b) => stripZeros(b)),
      fc.constantFrom(new Uint8Array(0), Uint8Array.of(1)),
      bytes(32).map((b) => stripZeros(b)),
      bytes(32).map((b) => stripZeros(b)),
    ),
    { minLength: 1, maxLength: 2 },
  ),
  damage: fc.constantFrom<Damage>(
    'none',
    'none',
    'none',
    'highS',
    'randomR',
    'randomS',
    'zeroR',
    'zeroS',
    'rAboveOrder',
    'badV',
    'otherChainV',
    'paddedChainId',
    'paddedNonce',
    'shortR',
  ),
  noise: bytes(32),
})

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0
  while (i < b.length && b[i] === 0) i++
  return b.subarray(i)
}

function unpadded(v: bigint): Uint8Array {
  return v === 0n
    ? new Uint8Array(0)
    : stripZeros(Uint8Array.from(Buffer.from(v.toString(16).padStart(64, '0'), 'hex')))
}

function signedRaw(c: Case): Uint8Array {
  const to = c.to
  const base = { nonce: c.nonce, gasLimit: c.gasLimit, value: c.value, data: c.data, to }
  const accessList = c.accessList
  const gasPrice = c.fee / c.gasLimit + 1n
  switch (c.kind) {
    case 'legacy155':
      return createLegacyTx({ ...base, gasPrice }, { common: signing })
        .sign(c.key)
        .serialize()
    case 'legacy':
      return createLegacyTx({ ...base, gasPrice }, { common: preEip155 })
        .sign(c.key)
        .serialize()
    case 'accessList':
      return createAccessList2930Tx({ ...base, gasPrice, accessList, chainId: CHAIN_ID }, { common: signing })
        .sign(c.key)
        .serialize()
    case 'feeMarket':
      return createFeeMarket1559Tx(
        {
          ...base,
          maxFeePerGas: c.fee,
          maxPriorityFeePerGas: c.tip < c.fee ? c.tip : c.fee,
          accessList,
          chainId: CHAIN_ID,
        },
        { common: signing },
      )
        .sign(c.key)
        .serialize()
    case 'eoaCode':
      return createEOACode7702Tx(
        {
          ...base,
          to: to ?? new Uint8Array(20).fill(1),
          maxFeePerGas: c.fee,
          maxPriorityFeePerGas: c.tip < c.fee ? c.tip : c.fee,
          accessList,
          authorizationList: c.authorizations,
          chainId: CHAIN_ID,
        },
        { common: signing },
      )
        .sign(c.key)
        .serialize()
  }
}

/** Re-encodes `raw` with its signature or fields damaged as `damage` says. */
function damaged(raw: Uint8Array, damage: Damage, noise: Uint8Array): Uint8Array {
  if (damage === 'none') return raw
  const typed = raw[0]! <= 0x7f
  const fields = RLP.decode(typed ? raw.subarray(1) : raw) as Uint8Array[]
  const n = fields.length
  const v = BigInt(fields[n - 3]!.length === 0 ? 0 : hex(fields[n - 3]!))
  const s = BigInt(hex(fields[n - 1]!))
  const setV = (x: bigint) => {
    fields[n - 3] = unpadded(x)
  }
  switch (damage) {
    case 'highS':
      // The other valid form of the same signature: (r, N - s) with the parity flipped.
      fields[n - 1] = unpadded(SECP256K1_ORDER - s)
      setV(typed ? v ^ 1n : v === 27n || v === 28n ? 55n - v : v % 2n === 0n ? v - 1n : v + 1n)
      break
    case 'randomR':
      fields[n - 2] = stripZeros(noise)
      break
    case 'randomS':
      fields[n - 1] = stripZeros(noise)
      break
    case 'zeroR':
      fields[n - 2] = new Uint8Array(0)
      break
    case 'zeroS':
      fields[n - 1] = new Uint8Array(0)
      break
    case 'rAboveOrder':
      fields[n - 2] = unpadded(SECP256K1_ORDER + BigInt(noise[0]!))
      break
    case 'badV':
      setV(typed ? 2n + BigInt(noise[0]! % 30) : [0n, 1n, 26n, 29n, 35n, 36n][noise[0]! % 6]!)
      break
    case 'otherChainV':
      setV(typed ? v : (CHAIN_ID + 1n) * 2n + 35n + (v % 2n))
      break
    case 'paddedChainId':
      if (typed) fields[0] = Uint8Array.of(0, ...fields[0]!)
      break
    case 'paddedNonce':
      fields[typed ? 1 : 0] = Uint8Array.of(0, ...fields[typed ? 1 : 0]!)
      break
    case 'shortR':
      fields[n - 2] = fields[n - 2]!.subarray(1)
      break
  }
  const body = RLP.encode(fields)
  return typed ? Uint8Array.of(raw[0]!, ...body) : body
}

/** What EthereumJS says: undefined if it does not decode; else its key and hash, or 'invalid'. */
function ethereumjs(raw: Uint8Array): { publicKey: string; hash: string } | 'invalid' | undefined {
  let tx: TypedTransaction
  try {
    tx = createTxFromRLP(raw, { common: reference })
  } catch {
    return undefined
  }
  try {
    return { publicKey: hex(tx.getSenderPublicKey()), hash: hex(tx.hash()) }
  } catch {
    return 'invalid'
  }
}

function ours(raw: Uint8Array): { publicKey: string; hash: string } | 'invalid' {
  try {
    const r = recoverRawTransaction(raw)
    return { publicKey: hex(r.publicKey), hash: hex(r.hash) }
  } catch {
    return 'invalid'
  }
}

describe("raw transaction recovery (the worker's code)", () => {
  it('computes what EthereumJS computes for every decodable transaction, valid or not', () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(caseArb, (c) => {
        const raw = damaged(signedRaw(c), c.damage, c.noise)
        const expected = ethereumjs(raw)
        // Bytes EthereumJS refuses to decode never reach the pool's answer (the node decodes first).
        if (expected === undefined) return
        seen.add(`${c.kind}:${c.damage}:${expected === 'invalid' ? 'invalid' : 'valid'}`)
        expect(ours(raw)).toEqual(expected)
      }),
      { numRuns: 600, seed: 20261125 },
    )
    // The run covered every type, both outcomes, and the non-canonical chain id EthereumJS accepts.
    for (const kind of ['legacy155', 'legacy', 'accessList', 'feeMarket', 'eoaCode'])
      expect([...seen].some((k) => k.startsWith(`${kind}:none:valid`))).toBe(true)
    expect([...seen].some((k) => k.endsWith(':invalid'))).toBe(true)
    expect([...seen].some((k) => k.startsWith('feeMarket:paddedChainId:valid'))).toBe(true)
  })

  it('rejects what EthereumJS rejects: high s, bad y-parity and v, zero and out-of-range r', () => {
    const key = keccak256(Uint8Array.of(1))
    const c: Case = {
      kind: 'feeMarket',
      key,
      nonce: 3n,
      gasLimit: 21_000n,
      fee: 10n ** 11n,
      tip: 10n ** 9n,
      value: 1n,
      to: new Uint8Array(20).fill(2),
      data: new Uint8Array(0),
      accessList: [],
      authorizations: [],
      damage: 'none',
      noise: new Uint8Array(32).fill(0xff),
    }
    for (const kind of ['feeMarket', 'legacy155'] as const) {
      const raw = signedRaw({ ...c, kind })
      expect(ours(raw)).toEqual(ethereumjs(raw))
      for (const damage of ['highS', 'zeroR', 'zeroS', 'rAboveOrder', 'badV'] as const) {
        const bad = damaged(raw, damage, c.noise)
        expect(ours(bad)).toBe('invalid')
      }
    }
    expect(() => recoverRawTransaction(new Uint8Array(0))).toThrow(/empty/)
    expect(() => recoverRawTransaction(Uint8Array.of(3, 0xc0))).toThrow(/type 3/)
    expect(() => recoverRawTransaction(Uint8Array.of(2, 0xc1, 0x80))).toThrow(/expected length/)
    expect(() => recoverRawTransaction(Uint8Array.of(0x01, 0xff))).toThrow()
  })

  it('adoptRecovery makes the decoded transaction use the given key and hash', () => {
    const key = keccak256(Uint8Array.of(9))
    const raw = createFeeMarket1559Tx(
      { chainId: CHAIN_ID, nonce: 0n, gasLimit: 21_000n, maxFeePerGas: 7n, to: new Uint8Array(20) },
      { common: signing },
    )
      .sign(key)
      .serialize()
    const rec = recoverRawTransaction(raw)
    const tx = createTxFromRLP(raw, { common: signing })
    // A recognisably different key proves nothing is recovered again after adoption.
    const marker: RawTxRecovery = { publicKey: new Uint8Array(64).fill(7), hash: new Uint8Array(32).fill(8) }
    expect(adoptRecovery(tx, marker)).toBe(true)
    expect(hex(recoverSender(tx))).toBe(hex(keccak256(marker.publicKey).subarray(12)))
    expect(hex(tx.hash())).toBe(hex(marker.hash))
    const fresh = createTxFromRLP(raw, { common: signing })
    adoptRecovery(fresh, rec)
    expect(hex(recoverSender(fresh))).toBe(
      hex(createTxFromRLP(raw, { common: reference }).getSenderAddress().bytes),
    )
    const unfrozen = createFeeMarket1559Tx(
      { chainId: CHAIN_ID, gasLimit: 21_000n, maxFeePerGas: 7n },
      { common: signing, freeze: false },
    ).sign(key)
    expect(adoptRecovery(unfrozen, marker)).toBe(false)
  })
})

describe('loadRawRecover', () => {
  it("loads the runtime's own dependencies from its module URL and recovers like EthereumJS", async () => {
    const recover = await loadRawRecover(CRYPTO_MODULE_URL)
    const raw = transfers(1)[0]!
    const tx = createTxFromRLP(raw, { common: reference })
    const rec = recover(raw)
    expect(hex(rec.publicKey)).toBe(hex(tx.getSenderPublicKey()))
    expect(hex(rec.hash)).toBe(hex(tx.hash()))
  })
})

function transfers(count: number, common: Common = signing, chainId = CHAIN_ID): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    createFeeMarket1559Tx(
      {
        chainId,
        nonce: BigInt(i),
        gasLimit: 21_000n,
        maxFeePerGas: 10n ** 10n,
        to: new Uint8Array(20).fill(i),
      },
      { common },
    )
      .sign(keccak256(Uint8Array.of(i, 1)))
      .serialize(),
  )
}

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('RecoverPool', () => {
  it('recovers batches across workers exactly as EthereumJS, answering undefined for bad signatures', async () => {
    const pool = new RecoverPool({ threads: 2, maxBatch: 16, startAtRate: 0 })
    try {
      await until(() => pool.ready, 'workers')
      const raws = transfers(100)
      const bad = damaged(raws[0]!, 'highS', new Uint8Array(32))
      const answers = await Promise.all([...raws, bad].map((r) => pool.submit(r)))
      for (let i = 0; i < raws.length; i++) {
        const tx = createTxFromRLP(raws[i]!, { common: reference })
        expect(hex(answers[i]!.publicKey)).toBe(hex(tx.getSenderPublicKey()))
        expect(hex(answers[i]!.hash)).toBe(hex(tx.hash()))
      }
      expect(answers[raws.length]).toBeUndefined()
      expect(pool.offloaded).toBe(raws.length)
    } finally {
      await pool.close()
    }
  })

  it('holds batches beyond two per worker until one is answered, and answers them all', async () => {
    const pool = new RecoverPool({ threads: 1, maxBatch: 4, startAtRate: 0 })
    try {
      await until(() => pool.ready, 'worker')
      const raws = transfers(60)
      const answers = await Promise.all(raws.map((r) => pool.submit(r)))
      raws.forEach((raw, i) => {
        expect(hex(answers[i]!.hash)).toBe(hex(createTxFromRLP(raw, { common: reference }).hash()))
      })
    } finally {
      await pool.close()
    }
  })

  it('answers what it held for a worker that died: another worker, or undefined', async () => {
    const pool = new RecoverPool({ threads: 1, maxBatch: 2, startAtRate: 0 })
    try {
      await until(() => pool.ready, 'worker')
      const raws = transfers(40)
      const pending = raws.map((r) => pool.submit(r))
      // The only worker goes away with two batches owed and the rest held for its answers.
      const slots = (pool as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } }> }).slots
      await slots[0]!.worker.terminate()
      const answers = await Promise.all(pending)
      answers.forEach((a, i) => {
        if (a !== undefined)
          expect(hex(a.hash)).toBe(hex(createTxFromRLP(raws[i]!, { common: reference }).hash()))
      })
      expect(answers.some((a) => a === undefined)).toBe(true)
      expect(pool.submit(raws[0]!)).toBeUndefined()
    } finally {
      await pool.close()
    }
  })

  it('recovers commit-seal signers in one batch, undefined for what does not recover', async () => {
    const pool = new RecoverPool({ threads: 1, startAtRate: 1_000_000 })
    try {
      const keys = [1, 2, 3].map((i) => {
        const k = new Uint8Array(32)
        k[31] = i
        return k
      })
      const items = keys.map((k, i) => {
        const digest = keccak256(Uint8Array.of(i))
        const signer = privateToAddress(k)
        return { digest, seal: nativeSigner(k, signer).sign(digest), signer }
      })
      // A seal request starts the workers whatever the rate: until one is ready, recover in-thread.
      expect(await pool.recoverSeals(items)).toBeUndefined()
      await until(() => pool.ready, 'worker')
      const garbage = { digest: new Uint8Array(32), seal: new Uint8Array(65) }
      const got = await pool.recoverSeals([...items, garbage])
      expect(got).toHaveLength(4)
      items.forEach((it, i) => {
        expect(hex(got![i]!)).toBe(hex(it.signer))
        expect(hex(got![i]!)).toBe(hex(nativeRecover(it.digest, it.seal)))
      })
      expect(got![3]).toBeUndefined()
      expect(() => pool.recoverSeals([{ digest: new Uint8Array(31), seal: new Uint8Array(65) }])).toThrow(
        RangeError,
      )
    } finally {
      await pool.close()
    }
    expect(
      await pool.recoverSeals([{ digest: new Uint8Array(32), seal: new Uint8Array(65) }]),
    ).toBeUndefined()
  })

  it('stays in-thread under light load and starts its workers at the configured rate', async () => {
    const pool = new RecoverPool({ threads: 1, startAtRate: 5 })
    try {
      const raws = transfers(5)
      for (const raw of raws.slice(0, 4)) expect(pool.submit(raw)).toBeUndefined()
      expect(pool.submit(raws[4]!)).toBeUndefined() // the rate is reached: starting, not ready yet
      await until(() => pool.ready, 'worker')
      const rec = await pool.submit(raws[0]!)
      expect(rec && hex(rec.hash)).toBe(hex(createTxFromRLP(raws[0]!, { common: reference }).hash()))
    } finally {
      await pool.close()
    }
  })

  it('close and abort answer pending requests with undefined and refuse new ones', async () => {
    const ac = new AbortController()
    const pool = new RecoverPool({ threads: 1, startAtRate: 0, signal: ac.signal })
    await until(() => pool.ready, 'worker')
    const pending = transfers(40).map((r) => pool.submit(r))
    ac.abort()
    const answers = await Promise.all(pending)
    // Whatever the worker answered before the abort is right; the rest is undefined.
    expect(answers.every((a) => a === undefined || a.publicKey.length === 64)).toBe(true)
    expect(pool.submit(transfers(1)[0]!)).toBeUndefined()
    expect(pool.ready).toBe(false)
    await pool.close()
    const closedAtOnce = new RecoverPool({ startAtRate: 0, signal: AbortSignal.abort() })
    expect(closedAtOnce.submit(transfers(1)[0]!)).toBeUndefined()
  })

  it('validates its options', () => {
    expect(() => new RecoverPool({ threads: 0 })).toThrow(RangeError)
    expect(() => new RecoverPool({ maxBatch: 1.5 })).toThrow(RangeError)
    expect(() => new RecoverPool({ startAtRate: -1 })).toThrow(RangeError)
    expect(() => new RecoverPool({ maxInFlight: 0 })).toThrow(RangeError)
  })

  it('does not keep a process alive after use, even unclosed', async () => {
    const poolUrl = new URL('../src/backend/recover-pool.ts', import.meta.url).href
    const script = `
      import { RecoverPool } from ${JSON.stringify(poolUrl)}
      const pool = new RecoverPool({ threads: 1, startAtRate: 0 })
      // Started and ready but never used: must not hold the process either.
      const idle = new RecoverPool({ threads: 1, startAtRate: 0 })
      const t0 = Date.now()
      while (!(pool.ready && idle.ready) && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 10))
      const raw = Uint8Array.from(Buffer.from(${JSON.stringify(Buffer.from(transfers(1)[0]!).toString('hex'))}, 'hex'))
      const rec = await pool.submit(raw)
      console.log(rec ? 'recovered' : 'not recovered')
    `
    const t0 = Date.now()
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 30_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      )
    })
    expect(out.trim()).toBe('recovered')
    expect(Date.now() - t0).toBeLessThan(30_000)
  })
})

/** A signed 1-wei EIP-1559 transfer (raw bytes) from `key` at `nonce`. */
function signedTransfer(common: Common, chainId: bigint, key: Uint8Array, nonce: number): Uint8Array {
  return createFeeMarket1559Tx(
    {
      chainId,
      nonce: BigInt(nonce),
      gasLimit: 21_000n,
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 10n ** 9n,
      to: new Uint8Array(20).fill(nonce + 1),
      value: 1n,
    },
    { common },
  )
    .sign(key)
    .serialize()
}

describe('NodeBackend.sendRawTransaction with recovery workers', () => {
  const closers: Array<() => Promise<unknown>> = []
  let backend: NodeBackend
  let recovery: RecoverPool
  let intake: TxIntake
  let keys: Uint8Array[]
  let chainId: bigint

  beforeAll(async () => {
    const { json, accounts } = await buildDevGenesis({ accounts: 3 })
    const genesis = parseGenesis(json)
    chainId = genesis.chainId
    keys = accounts.map((a) => a.privateKey)
    const core = await openCore({ genesis, log: silentLogger() }, closers)
    recovery = new RecoverPool({ threads: 1, startAtRate: 0 })
    intake = new TxIntake(core)
    backend = new NodeBackend({
      ...core,
      intake,
      recovery,
      clientVersion: 'test',
      keys: new Map(),
    })
    await until(() => recovery.ready, 'recovery worker')
  })

  afterAll(async () => {
    await backend?.close()
    await recovery?.close()
    for (const close of closers) await close().catch(() => {})
  })

  it('admits concurrent raw transactions with the senders and hashes EthereumJS gives', async () => {
    const common = createCustomCommon({ chainId: Number(chainId) }, Mainnet, { hardfork: Hardfork.Prague })
    const raws = keys.flatMap((key) =>
      Array.from({ length: 8 }, (_, nonce) => signedTransfer(common, chainId, key, nonce)),
    )
    const before = recovery.offloaded
    const hashes = await Promise.all(raws.map((raw) => backend.sendRawTransaction(raw)))
    expect(recovery.offloaded - before).toBeGreaterThan(0)
    for (let i = 0; i < raws.length; i++) {
      const ref = createTxFromRLP(raws[i]!, { common })
      expect(hex(hashes[i]!)).toBe(hex(ref.hash()))
      const pooled = await backend.getTransaction(hashes[i]!)
      expect(pooled && hex(pooled.sender)).toBe(hex(ref.getSenderAddress().bytes))
    }
    // A damaged signature still gets the in-thread answer.
    const bad = damaged(raws[0]!, 'zeroR', new Uint8Array(32))
    await expect(backend.sendRawTransaction(bad)).rejects.toThrow(/invalid sender/)
  })

  it('counts raw transactions on their way to the pool until it has answered (automine gathers them)', async () => {
    const common = createCustomCommon({ chainId: Number(chainId) }, Mainnet, { hardfork: Hardfork.Prague })
    const raws = keys.map((key) => signedTransfer(common, chainId, key, 8))
    const sends = raws.map((raw) => backend.sendRawTransaction(raw))
    expect(intake.inFlight).toBe(raws.length)
    let settled = false
    const idle = intake.settled().then(() => {
      settled = true
    })
    await Promise.all(sends)
    await idle
    expect(settled).toBe(true)
    expect(intake.inFlight).toBe(0)
    // Refused ones leave too: a nonce already pooled, a damaged signature.
    const refused = [raws[0]!, damaged(raws[1]!, 'zeroR', new Uint8Array(32))]
    const results = await Promise.allSettled(refused.map((raw) => backend.sendRawTransaction(raw)))
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(intake.inFlight).toBe(0)
  })
})

describe('gossip txRule with recovery workers', () => {
  const closers: Array<() => Promise<unknown>> = []
  let recovery: RecoverPool
  let core: Awaited<ReturnType<typeof openCore>>
  let keys: Uint8Array[]
  let chainId: bigint

  beforeAll(async () => {
    const { json, accounts } = await buildDevGenesis({ accounts: 2 })
    const genesis = parseGenesis(json)
    chainId = genesis.chainId
    keys = accounts.map((a) => a.privateKey)
    core = await openCore({ genesis, log: silentLogger() }, closers)
    recovery = new RecoverPool({ threads: 1, startAtRate: 0 })
    await until(() => recovery.ready, 'recovery worker')
  })

  afterAll(async () => {
    await recovery?.close()
    for (const close of closers) await close().catch(() => {})
  })

  it('admits a batch recovered by the workers with the right senders; a bad signature rejects the batch', async () => {
    const common = createCustomCommon({ chainId: Number(chainId) }, Mainnet, { hardfork: Hardfork.Prague })
    const raw = (key: Uint8Array, nonce: number) => signedTransfer(common, chainId, key, nonce)
    const rule = txRule({ intake: new TxIntake(core), pool: core.pool, recovery })
    const raws = keys.flatMap((key) => Array.from({ length: 6 }, (_, n) => raw(key, n)))
    const before = recovery.offloaded
    expect(await rule(encodeTxBatch(raws))).toBe('accept')
    expect(recovery.offloaded - before).toBe(raws.length)
    for (const r of raws) {
      const ref = createTxFromRLP(r, { common })
      expect(core.pool.has(ref.hash())).toBe(true)
      expect(hex(core.pool.get(ref.hash())!.sender)).toBe(hex(ref.getSenderAddress().bytes))
    }
    // All known: ignored, and nothing recovered again.
    const known = recovery.offloaded
    expect(await rule(encodeTxBatch(raws))).toBe('ignore')
    expect(recovery.offloaded).toBe(known)
    // One entry whose signature does not recover: the relayer is penalised, nothing admitted.
    const fresh = raw(keys[0]!, 6)
    const bad = damaged(raw(keys[1]!, 6), 'zeroR', new Uint8Array(32))
    expect(await rule(encodeTxBatch([fresh, bad]))).toBe('reject')
    expect(core.pool.has(createTxFromRLP(fresh, { common }).hash())).toBe(false)
  })
})
