/**
 * Bonded providers and optimistic challenges (issue 15, scope 3): fees wait out the challenge
 * window; a challenge makes the output revealed and the chain re-run span attribution over the
 * corpus's content from its history; a skewed receipt is corrected and its provider slashed, an
 * honest one's challenger loses its bond; nobody revealing is a fault too.
 */
import { decodeEventLog, type Hex, keccak256, toHex as viemHex } from 'viem'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  applyReceiptLimits,
  attributeSpans,
  type CorpusRecord,
  SpanIndex,
  toReceiptEntries,
} from '../src/engine/index.ts'
import {
  ATTRIBUTION_ADDRESS,
  ATTRIBUTION_LIMITS,
  GAS,
  GOVERNANCE_ADDRESS,
  readRewards,
  STAKING_ADDRESS,
} from '../src/modules/index.ts'
import { resolutionGasBound } from '../src/modules/judge.ts'
import {
  ALICE,
  attributionAbi,
  BOB,
  CAROL,
  CURATOR,
  hex,
  MODEL_OWNER,
  makeReceipt,
  OWNER,
  provider,
  type ReceiptInput,
  STRANGER,
  signReceipt,
  USER,
  World,
} from './modules.fixture.ts'

const FOX =
  'A famished Fox saw some clusters of ripe black grapes hanging from a trellised vine. She resorted to all her tricks to get at them, but wearied herself in vain, for she could not reach them.'
const CROW =
  'A Crow perishing with thirst saw a pitcher, and hoping to find water, flew to it with delight. When he reached it, he discovered to his grief that it contained so little water that he could not possibly get at it.'
const ANT =
  'An Ant went to the bank of a river to quench its thirst, and being carried away by the rush of the stream, was on the point of drowning.'
const OUTPUT = `Once upon a time a famished Fox saw some clusters of ripe black grapes hanging from a trellised vine, and then a Crow perishing with thirst saw a pitcher.`

const E18 = 10n ** 18n
const PARAMS = {
  challengeWindow: 3600,
  revealWindow: 600,
  minProviderBond: (10n * E18).toString(),
  challengerBond: E18.toString(),
}
const PROVIDER_ADDR = provider.address
const PROVIDER = new Uint8Array(Buffer.from(PROVIDER_ADDR.slice(2), 'hex'))

async function setup() {
  const w = new World(PARAMS)
  w.h.state.setBalance(PROVIDER, 10n ** 24n)
  w.h.state.setBalance(GOVERNANCE_ADDRESS, 10n ** 24n)
  const d = await w.createDatanet()
  await w.ok('datanets', 'setContentPolicy', [d, true], { from: OWNER })
  const fox = await w.contribute(d, ALICE, FOX, true)
  const crow = await w.contribute(d, BOB, CROW, true)
  const ant = await w.contribute(d, CAROL, ANT, true)
  await w.approve(d, fox, 100n)
  await w.approve(d, crow, 100n)
  await w.approve(d, ant, 100n)
  await w.publish(d)
  const model = await w.registerModel([{ datanetId: d, version: 1n }], { minFee: 0n })
  const records: CorpusRecord[] = [
    { datanetId: d, contributionId: fox, text: FOX },
    { datanetId: d, contributionId: crow, text: CROW },
    { datanetId: d, contributionId: ant, text: ANT },
  ]
  const honest = attributeSpans(SpanIndex.build(records), OUTPUT, {
    k: 6,
    denominator: 1_000_000n,
    fallbackShares: [{ datanetId: d, shares: 300n }],
  })
  const entries = applyReceiptLimits(toReceiptEntries(honest, new Map([[d, 1n]])), ATTRIBUTION_LIMITS)
  const receipt = (over: Partial<ReceiptInput> = {}): ReceiptInput =>
    makeReceipt({
      modelId: model,
      fee: E18,
      outputHash: viemHex(honest.outputHash),
      attributionCommitment: viemHex(honest.commitment),
      entries,
      ...over,
    })
  return { w, d, fox, crow, ant, model, honest, entries, receipt }
}

type Setup = Awaited<ReturnType<typeof setup>>

async function settle(s: Setup, r: ReceiptInput) {
  return s.w.ok<Hex>('attribution', 'settle', [r, await signReceipt(r)], { from: USER, value: r.fee })
}

const claimable = async (w: World, a: Uint8Array) => (await readRewards(w.h.state, a)).claimable
const output = viemHex(new TextEncoder().encode(OUTPUT))

function events(res: { logs: { topics: Uint8Array[]; data: Uint8Array }[] }) {
  return res.logs.map((l) =>
    decodeEventLog({
      abi: attributionAbi,
      topics: l.topics.map((t) => hex(t)) as [Hex, ...Hex[]],
      data: hex(l.data),
    }),
  )
}

describe('bonded providers', () => {
  let s: Setup
  beforeEach(async () => {
    s = await setup()
  })

  it('settles only for a bonded provider, defers the fee and locks the bond until the window closes', async () => {
    const r = s.receipt()
    const args = await s.w.rejects(
      'attribution',
      'settle',
      [r, await signReceipt(r)],
      { from: USER, value: r.fee },
      'ProviderNotBonded',
    )
    expect(args).toEqual([PROVIDER_ADDR, 0n, 10n * E18])
    await s.w.ok('attribution', 'bondProvider', [], { from: PROVIDER, value: 10n * E18 })
    const id = await settle(s, r)
    // Nothing credited yet: the fee waits in the module.
    expect(await claimable(s.w, ALICE)).toBe(0n)
    expect(await claimable(s.w, GOVERNANCE_ADDRESS)).toBe(0n)
    const c = await s.w.ok<{ state: number; windowEnds: bigint }>('attribution', 'getChallenge', [id], {
      from: STRANGER,
    })
    expect(c).toMatchObject({ state: 1, windowEnds: s.w.h.block.timestamp + 3600n })
    expect(await s.w.ok('attribution', 'providerBond', [PROVIDER_ADDR], { from: STRANGER })).toEqual([
      10n * E18,
      s.w.h.block.timestamp + 3600n,
      0,
    ])
    await s.w.rejects('attribution', 'unbondProvider', [1n], { from: PROVIDER }, 'BondLocked')
    await s.w.rejects('attribution', 'finalize', [r], { from: STRANGER }, 'ChallengeWindowOpen')
    // Unchallenged, it becomes claimable after the window, by anyone's finalize.
    s.w.h.block.timestamp += 3601n
    await s.w.rejects(
      'attribution',
      'challenge',
      [id],
      { from: STRANGER, value: E18 },
      'ChallengeWindowClosed',
    )
    const res = await s.w.raw('attribution', 'finalize', [r], { from: STRANGER })
    expect(res.status).toBe('success')
    expect(events(res).map((e) => e.eventName)).toContain('FeeSplit')
    expect(await claimable(s.w, GOVERNANCE_ADDRESS)).toBe(E18 / 10n)
    expect(await claimable(s.w, ALICE)).toBeGreaterThan(0n)
    await s.w.rejects('attribution', 'finalize', [r], { from: STRANGER }, 'ReceiptNotPending')
    // And the bond can leave.
    await s.w.ok('attribution', 'unbondProvider', [4n * E18], { from: PROVIDER })
    await s.w.rejects('attribution', 'unbondProvider', [7n * E18], { from: PROVIDER }, 'InsufficientBond')
  })
})

describe('challenges', () => {
  let s: Setup
  beforeEach(async () => {
    s = await setup()
    await s.w.ok('attribution', 'bondProvider', [], { from: PROVIDER, value: 10n * E18 })
  })

  it('an honest receipt: the revealed output gives the signed entries; the challenger loses its bond', async () => {
    const r = s.receipt()
    const id = await settle(s, r)
    await s.w.rejects('attribution', 'challenge', [id], { from: STRANGER, value: 1n }, 'WrongBond')
    await s.w.ok('attribution', 'challenge', [id], { from: STRANGER, value: E18 })
    await s.w.rejects('attribution', 'unbondProvider', [1n], { from: PROVIDER }, 'BondLocked')
    await s.w.rejects(
      'attribution',
      'reveal',
      [r, viemHex('not the output')],
      { from: USER },
      'OutputMismatch',
    )
    // Executed in the block that holds the content (history has committed blocks only): a typed
    // revert on every node, and the reveal can be sent again later.
    const now = s.w.h.block
    s.w.h.block = { ...now, number: 1n }
    await s.w.rejects('attribution', 'reveal', [r, output], { from: USER }, 'ContentNotYetInHistory')
    s.w.h.block = now
    const reads = s.w.history.reads
    const res = await s.w.raw('attribution', 'reveal', [r, output], { from: USER })
    expect(res.status).toBe('success')
    expect(s.w.history.reads).toBeGreaterThan(reads) // content came from history
    const resolved = events(res).find((e) => e.eventName === 'ChallengeResolved')
    expect(resolved?.args).toMatchObject({
      providerAtFault: false,
      revealed: true,
      recomputedCommitment: viemHex(s.honest.commitment),
      slashed: 0n,
    })
    // Credited as signed; the challenger's bond went to the provider.
    expect(await claimable(s.w, PROVIDER)).toBe(E18)
    expect(await claimable(s.w, STRANGER)).toBe(0n)
    const [bond, , open] = await s.w.ok<[bigint, bigint, number]>(
      'attribution',
      'providerBond',
      [PROVIDER_ADDR],
      {
        from: STRANGER,
      },
    )
    expect([bond, open]).toEqual([10n * E18, 0])
    const contributors = (E18 * 5000n) / 10000n
    const fox = s.entries[0]!.contributionWeights[s.entries[0]!.contributionIds.indexOf(s.fox)]!
    expect(await claimable(s.w, ALICE)).toBe((contributors * BigInt(fox)) / 1_000_000n)
  })

  it('a skewed receipt: the chain recomputes, corrects the payouts and slashes the provider', async () => {
    // The provider routes everything to the Ant story, which the output does not quote.
    const skewed = s.receipt({
      nonce: 2n,
      entries: [
        {
          datanetId: s.d,
          datanetVersion: 1n,
          weight: 1_000_000,
          contributionIds: [s.ant],
          contributionWeights: [1_000_000],
        },
      ],
    })
    const id = await settle(s, skewed)
    await s.w.ok('attribution', 'challenge', [id], { from: STRANGER, value: E18 })
    const challengerBefore = await claimable(s.w, STRANGER)
    const res = await s.w.raw('attribution', 'reveal', [skewed, output], { from: USER })
    expect(res.status).toBe('success')
    const ev = events(res)
    const resolved = ev.find((e) => e.eventName === 'ChallengeResolved')
    expect(resolved?.args).toMatchObject({
      providerAtFault: true,
      revealed: true,
      recomputedCommitment: viemHex(s.honest.commitment),
      slashed: 10n * E18,
      challengerReward: 5n * E18,
    })
    // Slashed to the challenger (its bond back + half) and the harmed contributors (the other half).
    expect((await claimable(s.w, STRANGER)) - challengerBefore).toBe(E18 + 5n * E18)
    expect(await s.w.ok('attribution', 'providerBond', [PROVIDER_ADDR], { from: STRANGER })).toEqual([
      0n,
      expect.any(BigInt),
      0,
    ])
    expect(await claimable(s.w, CAROL)).toBe(0n) // the Ant story earns nothing
    // Fox and Crow share the contributors' part (5e17) and the harmed side's 5e18, by the honest weights.
    const pot = (E18 * 5000n) / 10000n + 5n * E18
    const split = ev.find((e) => e.eventName === 'FeeSplit')?.args as unknown as { contributors: bigint }
    expect(split.contributors).toBe(pot)
    expect((await claimable(s.w, ALICE)) + (await claimable(s.w, BOB))).toBe(pot)
    expect(await claimable(s.w, ALICE)).toBeGreaterThan(0n)
    expect(await claimable(s.w, BOB)).toBeGreaterThan(0n)
    // Everything the module holds is owed to someone (fees and the remaining bonds).
    let owed = 0n
    for (const a of [
      ALICE,
      BOB,
      CAROL,
      STRANGER,
      PROVIDER,
      MODEL_OWNER,
      GOVERNANCE_ADDRESS,
      STAKING_ADDRESS,
      USER,
      CURATOR,
    ])
      owed += await claimable(s.w, a)
    expect(await s.w.balance(ATTRIBUTION_ADDRESS)).toBe(owed)
  })

  it('nobody reveals: after the deadline the provider is at fault and the fee goes by version weights', async () => {
    const r = s.receipt({ nonce: 3n })
    const id = await settle(s, r)
    await s.w.ok('attribution', 'challenge', [id], { from: STRANGER, value: E18 })
    await s.w.rejects('attribution', 'resolveUnrevealed', [r], { from: STRANGER }, 'RevealWindowOpen')
    s.w.h.block.timestamp += 601n
    await s.w.rejects('attribution', 'reveal', [r, output], { from: USER }, 'RevealTooLate')
    const res = await s.w.raw('attribution', 'resolveUnrevealed', [r], { from: STRANGER })
    expect(res.status).toBe('success')
    expect(events(res).find((e) => e.eventName === 'ChallengeResolved')?.args).toMatchObject({
      providerAtFault: true,
      revealed: false,
    })
    // Datanet-level: every holder of the version's shares by weight (100 each of 300).
    const each = await claimable(s.w, CAROL)
    expect(each).toBeGreaterThan(0n)
    expect(await claimable(s.w, ALICE)).toBe(each)
    expect(await claimable(s.w, BOB)).toBe(each)
  })

  it('refuses to challenge what the chain cannot recompute', async () => {
    const d2 = await s.w.createDatanet()
    const byHash = await s.w.contribute(d2, ALICE, 'referenced by hash only')
    await s.w.approve(d2, byHash, 10n)
    await s.w.publish(d2)
    expect(
      await s.w.ok<{ recomputable: boolean }>('datanets', 'getVersionDetails', [d2, 1n], { from: STRANGER }),
    ).toMatchObject({ recomputable: false })
    const m2 = await s.w.registerModel([{ datanetId: d2, version: 1n }], { minFee: 0n })
    const r = makeReceipt({
      modelId: m2,
      fee: E18,
      entries: [
        {
          datanetId: d2,
          datanetVersion: 1n,
          weight: 1_000_000,
          contributionIds: [],
          contributionWeights: [],
        },
      ],
    })
    const id = await s.w.ok<Hex>('attribution', 'settle', [r, await signReceipt(r)], {
      from: USER,
      value: r.fee,
    })
    expect(
      await s.w.rejects('attribution', 'challenge', [id], { from: STRANGER, value: E18 }, 'NotRecomputable'),
    ).toEqual([d2, 1n])
    // An inline-text-only datanet refuses content it could not recompute.
    await s.w.rejects(
      'datanets',
      'contribute',
      [s.d, keccak256('0x01'), 1n, '', '0x'],
      { from: ALICE },
      'ContentNotRecomputable',
    )
  })

  it('admits a challenge only if one transaction can answer it (EIP-7825 gas cap)', () => {
    // Every record may sit in its own history block: the bound charges one block read per record.
    const v = (count: bigint, contentBytes: bigint) => ({
      datanetId: 1n,
      version: 1n,
      count,
      totalWeight: count,
      contentBytes,
      recomputable: true,
    })
    const perRecord = GAS.JUDGE_RECORD + GAS.JUDGE_HISTORY_BLOCK
    expect(resolutionGasBound([v(3n, 500n)])).toBe(GAS.JUDGE_BASE + 3n * perRecord + 500n * GAS.JUDGE_BYTE)
    expect(GAS.JUDGE_BUDGET + 2_000_000n).toBe(1n << 24n)
    // ~480 records of 4 KiB (1.9 MB) fit; 550 do not, nor does 8 MB in 90 large records.
    expect(resolutionGasBound([v(450n, 450n * 4096n)]) <= GAS.JUDGE_BUDGET).toBe(true)
    expect(resolutionGasBound([v(550n, 550n * 4096n)]) > GAS.JUDGE_BUDGET).toBe(true)
    expect(resolutionGasBound([v(90n, 8n << 20n)]) > GAS.JUDGE_BUDGET).toBe(true)
  })
})
