/**
 * Version-exact payouts and exact rounding (issue 15, scopes 1 and 2): a receipt naming a datanet
 * version pays exactly the contributions that version holds, by their weights at publication; and
 * over many small settlements every account's claimable is its exact rational share rounded down
 * (within 1 wei), with the module's balance equal to what it owes in units of 2^-64 wei.
 */
import native from 'secp256k1'
import { decodeEventLog, type Hex, hexToBytes, keccak256 } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  ATTRIBUTION_ADDRESS,
  GOVERNANCE_ADDRESS,
  readDatanet,
  readPoolCarry,
  readRewards,
  receiptDigest,
  STAKING_ADDRESS,
  shareTokenId,
} from '../src/modules/index.ts'
import {
  ALICE,
  attributionAbi,
  BOB,
  CAROL,
  hex,
  MODEL_OWNER,
  makeReceipt,
  PROVIDER_KEY,
  type ReceiptInput,
  STRANGER,
  signReceipt,
  USER,
  World,
} from './modules.fixture.ts'

const proRata = (datanetId: bigint, datanetVersion: bigint, weight: number) => ({
  datanetId,
  datanetVersion,
  weight,
  contributionIds: [] as bigint[],
  contributionWeights: [] as number[],
})

async function claimable(w: World, a: Uint8Array): Promise<bigint> {
  return (await readRewards(w.h.state, a)).claimable
}

describe('version-exact attribution', () => {
  it('a contribution approved after v1 earns 0 from a receipt naming v1, and its share from v2', async () => {
    const w = new World()
    const d = await w.createDatanet()
    await w.approve(d, await w.contribute(d, ALICE, 'alice'), 600n)
    await w.approve(d, await w.contribute(d, BOB, 'bob'), 400n)
    await w.publish(d)
    const onV1 = await w.registerModel([{ datanetId: d, version: 1n }], { minFee: 0n })
    // Carol's contribution is approved after version 1 was published.
    const late = await w.contribute(d, CAROL, 'carol, approved later')
    await w.approve(d, late, 1_000_000n)
    expect(await w.ok('datanets', 'balanceOf', [hex(CAROL), d], { from: STRANGER })).toBe(1_000_000n)

    const settle = async (r: ReceiptInput) =>
      w.ok('attribution', 'settle', [r, await signReceipt(r)], { from: USER, value: r.fee })
    // Contributors' part: 5,000,000 wei of a 10,000,000-wei fee.
    await settle(makeReceipt({ modelId: onV1, fee: 10_000_000n, entries: [proRata(d, 1n, 1_000_000)] }))
    expect(await claimable(w, CAROL)).toBe(0n)
    expect(await claimable(w, ALICE)).toBe(3_000_000n)
    expect(await claimable(w, BOB)).toBe(2_000_000n)
    // Still nothing once version 2 (which holds Carol's contribution) is published, for v1 receipts.
    await w.publish(d)
    await settle(
      makeReceipt({ modelId: onV1, nonce: 2n, fee: 10_000_000n, entries: [proRata(d, 1n, 1_000_000)] }),
    )
    expect(await claimable(w, CAROL)).toBe(0n)
    expect(await claimable(w, ALICE)).toBe(6_000_000n)
    // Named payments to a contribution outside the version are refused (it is not in v1).
    const named = makeReceipt({
      modelId: onV1,
      nonce: 3n,
      entries: [{ ...proRata(d, 1n, 1_000_000), contributionIds: [late], contributionWeights: [1_000_000] }],
    })
    await w.rejects(
      'attribution',
      'settle',
      [named, await signReceipt(named)],
      { from: USER, value: named.fee },
      'ContributionNotInVersion',
    )
    // A model trained on v2 pays all three by their weights at v2: 600 / 400 / 1,000,000.
    const onV2 = await w.registerModel([{ datanetId: d, version: 2n }], { minFee: 0n })
    await settle(makeReceipt({ modelId: onV2, fee: 2_002_000n, entries: [proRata(d, 2n, 1_000_000)] }))
    expect(await claimable(w, CAROL)).toBe(1_000_000n)
    expect(await claimable(w, ALICE)).toBe(6_000_000n + 600n)
    expect(await claimable(w, BOB)).toBe(4_000_000n + 400n)
    // Carol's version-2 shares keep earning nothing from v1 receipts after she sells them to Alice.
    await w.ok('datanets', 'transferShares', [hex(CAROL), hex(ALICE), shareTokenId(d, 2n), 1_000_000n], {
      from: CAROL,
    })
    await settle(
      makeReceipt({ modelId: onV1, nonce: 4n, fee: 10_000_000n, entries: [proRata(d, 1n, 1_000_000)] }),
    )
    expect(await claimable(w, ALICE)).toBe(9_000_600n)
    expect(await claimable(w, CAROL)).toBe(1_000_000n)
  })

  it('gives a small fee to the holders instead of losing it to rounding', async () => {
    // The issue's case: a 1,200-wei contributors' part over 4,340 shares paid nobody before.
    const w = new World()
    const d = await w.createDatanet()
    await w.approve(d, await w.contribute(d, ALICE, 'a'), 2_170n)
    await w.approve(d, await w.contribute(d, BOB, 'b'), 2_170n)
    await w.publish(d)
    const model = await w.registerModel([{ datanetId: d, version: 1n }], { minFee: 0n })
    for (let n = 1n; n <= 3n; n++) {
      const r = makeReceipt({ modelId: model, nonce: n, fee: 2_400n, entries: [proRata(d, 1n, 1_000_000)] })
      await w.ok('attribution', 'settle', [r, await signReceipt(r)], { from: USER, value: r.fee })
    }
    // 3 × 1,200 wei over two equal halves is 1,800 each. The pool's rate is exact to 2^-64 wei
    // per share and rounds down, so each claimable is 1,800 rounded down from just below: 1,799;
    // the last wei is the holder's sub-wei remainder plus what the pool carries, not lost.
    const rate = ((3n * 1_200n) << 64n) / 4_340n
    expect(await claimable(w, ALICE)).toBe((2_170n * rate) >> 64n)
    expect(await claimable(w, ALICE)).toBe(1_799n)
    expect(await claimable(w, BOB)).toBe(1_799n)
    const r = await readRewards(w.h.state, ALICE)
    expect((r.claimable << 64n) + r.remainder).toBe(2_170n * rate)
    expect(await claimable(w, GOVERNANCE_ADDRESS)).toBe(720n) // protocol 10 %, no dust
  })
})

/** Exact rationals over a common denominator (the LCM of the version supplies used below). */
const L = 2_730n // lcm(10, 21, 26, 15)

describe('exact rounding', () => {
  it('over 10,000 small random settlements each claimable is the exact share rounded down', async () => {
    const w = new World()
    const D = await w.createDatanet()
    const E = await w.createDatanet()
    const a1 = await w.contribute(D, ALICE, 'a1')
    const b1 = await w.contribute(D, BOB, 'b1')
    await w.approve(D, a1, 3n)
    await w.approve(D, b1, 7n)
    await w.publish(D) // D v1: supply 10
    await w.approve(D, await w.contribute(D, CAROL, 'c2'), 11n)
    await w.publish(D) // D v2: 21
    const a3 = await w.contribute(D, ALICE, 'a3')
    await w.approve(D, a3, 5n)
    await w.publish(D) // D v3: 26 (Alice holds version-1 and version-3 shares)
    await w.approve(E, await w.contribute(E, CAROL, 'e1'), 13n)
    await w.approve(E, await w.contribute(E, BOB, 'e2'), 2n)
    await w.publish(E) // E v1: 15
    const supply: Record<string, bigint> = {
      [`${D}:1`]: 10n,
      [`${D}:2`]: 21n,
      [`${D}:3`]: 26n,
      [`${E}:1`]: 15n,
    }
    const model = await w.registerModel(
      [
        { datanetId: D, version: 1n },
        { datanetId: E, version: 1n },
      ],
      { minFee: 0n },
    )
    const version = (datanets: { datanetId: bigint; version: bigint }[]) =>
      w.ok(
        'models',
        'publishModelVersion',
        [
          model,
          {
            datanets,
            trainingConfigHash: keccak256('0x01'),
            trainingLogHash: keccak256('0x02'),
            artifactHash: keccak256('0x03'),
            artifactURI: '',
          },
        ],
        { from: MODEL_OWNER },
      )
    await version([
      { datanetId: D, version: 2n },
      { datanetId: E, version: 1n },
    ])
    await version([{ datanetId: D, version: 3n }])
    const declared: Record<number, { datanetId: bigint; version: bigint }[]> = {
      1: [
        { datanetId: D, version: 1n },
        { datanetId: E, version: 1n },
      ],
      2: [
        { datanetId: D, version: 2n },
        { datanetId: E, version: 1n },
      ],
      3: [{ datanetId: D, version: 3n }],
    }

    const people = [ALICE, BOB, CAROL]
    const everyone = [...people, MODEL_OWNER, GOVERNANCE_ADDRESS, STAKING_ADDRESS]
    // Current version-share balances, to compute each pro-rata payment's exact split.
    const shares = new Map<string, bigint>()
    const key = (who: Uint8Array, d: bigint, v: bigint) => `${hex(who)}:${d}:${v}`
    const addShares = (who: Uint8Array, d: bigint, v: bigint, n: bigint) =>
      shares.set(key(who, d, v), (shares.get(key(who, d, v)) ?? 0n) + n)
    addShares(ALICE, D, 1n, 3n)
    addShares(BOB, D, 1n, 7n)
    addShares(CAROL, D, 2n, 11n)
    addShares(ALICE, D, 3n, 5n)
    addShares(CAROL, E, 1n, 13n)
    addShares(BOB, E, 1n, 2n)
    const exact = new Map<string, bigint>() // account → entitlement × L
    const owe = (who: string, numerator: bigint) => exact.set(who, (exact.get(who) ?? 0n) + numerator)

    let seed = 0x2545f491
    const rand = (n: number) => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) % n
    }
    const key32 = hexToBytes(PROVIDER_KEY)
    const sign = (r: ReceiptInput): Hex => {
      const digest = receiptDigest(
        {
          ...r,
          inputHash: hexToBytes(r.inputHash),
          outputHash: hexToBytes(r.outputHash),
          payer: hexToBytes(r.payer),
          attributionCommitment: hexToBytes(r.attributionCommitment),
        },
        w.h.chainId,
        ATTRIBUTION_ADDRESS,
      )
      const { signature, recid } = native.ecdsaSign(digest, key32)
      return `${hex(signature)}${(27 + recid).toString(16)}` as Hex
    }

    let paidIn = 0n
    const SETTLEMENTS = 10_000
    for (let n = 1; n <= SETTLEMENTS; n++) {
      if (n === 3_000) {
        await w.ok('datanets', 'transferShares', [hex(BOB), hex(CAROL), shareTokenId(D, 1n), 3n], {
          from: BOB,
        })
        addShares(BOB, D, 1n, -3n)
        addShares(CAROL, D, 1n, 3n)
      }
      if (n === 6_000) {
        await w.ok('datanets', 'transferShares', [hex(CAROL), hex(ALICE), shareTokenId(E, 1n), 5n], {
          from: CAROL,
        })
        addShares(CAROL, E, 1n, -5n)
        addShares(ALICE, E, 1n, 5n)
      }
      const mv = 1 + rand(3)
      const refs = declared[mv] as { datanetId: bigint; version: bigint }[]
      const w0 = refs.length === 1 ? 1_000_000 : rand(1_000_001)
      const entries = refs.map((ref, i) => {
        const weight = i === 0 ? w0 : 1_000_000 - w0
        // D version 1 is sometimes paid to named contributions instead of pro rata.
        if (ref.datanetId === D && ref.version === 1n && rand(4) === 0) {
          const cw = rand(1_000_001)
          return {
            ...proRata(D, 1n, weight),
            contributionIds: [a1, b1],
            contributionWeights: [cw, 1_000_000 - cw],
          }
        }
        return proRata(ref.datanetId, ref.version, weight)
      })
      const fee = BigInt(1 + rand(5_000))
      const r = makeReceipt({ modelId: model, modelVersion: mv, nonce: BigInt(n), fee, entries })
      const res = await w.raw('attribution', 'settle', [r, sign(r)], { from: USER, value: fee })
      expect(res.status).toBe('success')
      paidIn += fee
      // The exact entitlement each payment creates, from the amounts the events report.
      for (const log of res.logs) {
        const ev = decodeEventLog({
          abi: attributionAbi,
          topics: log.topics.map((t) => hex(t)) as [Hex, ...Hex[]],
          data: hex(log.data),
        })
        const args = ev.args as Record<string, bigint | string>
        if (ev.eventName === 'FeeSplit') {
          owe(hex(GOVERNANCE_ADDRESS), (args.protocol as bigint) * L)
          owe(hex(STAKING_ADDRESS), (args.stakers as bigint) * L)
          owe(hex(MODEL_OWNER), (args.owner as bigint) * L)
        } else if (ev.eventName === 'ContributionPaid') {
          owe((args.contributor as string).toLowerCase(), (args.amount as bigint) * L)
        } else if (ev.eventName === 'AttributionPaid') {
          const d = args.datanetId as bigint
          const v = args.datanetVersion as bigint
          const entry = entries.find((e) => e.datanetId === d && e.datanetVersion === v)
          if (entry === undefined || entry.contributionIds.length > 0) continue
          const S = supply[`${d}:${v}`] as bigint
          for (const who of people) {
            let held = 0n
            for (let c = 1n; c <= v; c++) held += shares.get(key(who, d, c)) ?? 0n
            owe(hex(who), ((args.amount as bigint) * held * L) / S)
          }
        }
      }
    }

    let sumClaimable = 0n
    let exactScaled = 0n
    for (const who of everyone) {
      const r = await readRewards(w.h.state, who)
      const e = exact.get(hex(who)) ?? 0n
      // claimable = ⌊e⌋ or ⌊e⌋ − 1 (the pools' per-share rates are exact to 2^-64 wei).
      expect(r.claimable * L <= e).toBe(true)
      expect(e - r.claimable * L < 2n * L).toBe(true)
      expect(r.claimable).toBeGreaterThanOrEqual(e / L - 1n)
      sumClaimable += r.claimable
      exactScaled += (r.claimable << 64n) + r.remainder
    }
    let carried = 0n
    for (const d of [D, E]) {
      const versions = (await readDatanet(w.h.state, d))?.versionCount ?? 0n
      for (let v = 1n; v <= versions; v++) carried += await readPoolCarry(w.h.state, d, v)
    }
    const moduleBalance = await w.balance(ATTRIBUTION_ADDRESS)
    expect(moduleBalance).toBe(paidIn)
    // The module balance is the sum of what every account may claim, exactly in units of 2^-64
    // wei once the sub-wei remainders are counted; in whole wei, less than one per account/pool.
    expect(moduleBalance << 64n).toBe(exactScaled + carried)
    expect(moduleBalance - sumClaimable).toBeLessThan(BigInt(everyone.length + 4))
    // Everyone claims exactly their claimable.
    for (const who of everyone) {
      const expected = await claimable(w, who)
      const before = await w.balance(who)
      if (expected > 0n) await w.ok('attribution', 'claim', [], { from: who })
      expect((await w.balance(who)) - before).toBe(expected)
    }
    expect(await w.balance(ATTRIBUTION_ADDRESS)).toBe(moduleBalance - sumClaimable)
  }, 300_000)
})
