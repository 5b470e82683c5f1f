import { type Hex, hashTypedData, hexToBytes, keccak256, parseSignature, serializeSignature } from 'viem'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  ATTRIBUTION_ADDRESS,
  GOVERNANCE_ADDRESS,
  RECEIPT_EIP712_TYPES,
  readReceipt,
  readRewards,
  receiptDigest,
  receiptSlot,
  STAKING_ADDRESS,
  shareTokenId,
} from '../src/modules/index.ts'
import {
  ALICE,
  BOB,
  CAROL,
  CURATOR,
  hex,
  MODEL_OWNER,
  makeReceipt,
  OTHER_KEY,
  OWNER,
  PARENT_OWNER,
  provider,
  type ReceiptInput,
  STRANGER,
  signReceipt,
  USER,
  World,
} from './modules.fixture.ts'

const TREASURY = GOVERNANCE_ADDRESS
const STAKERS = STAKING_ADDRESS
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** Two datanets: D1 (Alice inline 600, Bob by hash 400, Carol rejected), D2 (Carol 1000); one model on both. */
async function scenario() {
  const w = new World()
  const d1 = await w.createDatanet()
  const alice = await w.contribute(d1, ALICE, 'alice: aspirin dosage', true)
  const bob = await w.contribute(d1, BOB, 'bob: ibuprofen dosage')
  const carolRejected = await w.contribute(d1, CAROL, 'carol: spam')
  await w.approve(d1, alice, 600n)
  await w.approve(d1, bob, 400n)
  await w.ok('datanets', 'rejectContribution', [d1, carolRejected], { from: CURATOR })
  await w.publish(d1)
  const d2 = await w.createDatanet()
  const carol = await w.contribute(d2, CAROL, 'carol: pharmacology notes')
  await w.approve(d2, carol, 1000n)
  await w.publish(d2)
  const model = await w.registerModel([
    { datanetId: d1, version: 1n },
    { datanetId: d2, version: 1n },
  ])
  return { w, d1, d2, alice, bob, carol, carolRejected, model }
}

type Scenario = Awaited<ReturnType<typeof scenario>>

function receiptFor(s: Scenario, over: Partial<ReceiptInput> = {}): ReceiptInput {
  return makeReceipt({
    modelId: s.model,
    entries: [
      {
        datanetId: s.d1,
        datanetVersion: 1n,
        weight: 700_000,
        contributionIds: [s.alice, s.bob],
        contributionWeights: [250_000, 750_000],
      },
      { datanetId: s.d2, datanetVersion: 1n, weight: 300_000, contributionIds: [], contributionWeights: [] },
    ],
    ...over,
  })
}

async function settle(s: Scenario, r: ReceiptInput, from = USER, sig?: Hex) {
  return s.w.ok<Hex>('attribution', 'settle', [r, sig ?? (await signReceipt(r))], { from, value: r.fee })
}

async function accrued(w: World, a: Uint8Array): Promise<bigint> {
  return (await readRewards(w.h.state, a)).claimable
}

describe('Attribution module: settlement', () => {
  let s: Scenario
  beforeEach(async () => {
    s = await scenario()
  })

  it('splits the fee exactly to the wei, stores the receipt and lets everyone claim', async () => {
    const fee = 1_000_000_000_000_000_003n
    const r = receiptFor(s, { fee })
    const moduleBefore = await s.w.balance(ATTRIBUTION_ADDRESS)
    const userBefore = await s.w.balance(USER)
    const res = await s.w.raw('attribution', 'settle', [r, await signReceipt(r)], { from: USER, value: fee })
    expect(res.status).toBe('success')
    expect(await s.w.balance(USER)).toBe(userBefore - fee)
    expect(await s.w.balance(ATTRIBUTION_ADDRESS)).toBe(moduleBefore + fee)

    // The documented split, level by level, by largest remainder (worked out by hand):
    // F·{1000, 2000, 2000, 5000}/10⁴ = {1e17 + 0.3, 2e17 + 0.6, 2e17 + 0.6, 5e17 + 1.5}: floors
    // leave 2 wei, which go to the two largest remainders (stakers and owner, 0.6 each).
    const protocol = 100_000_000_000_000_000n
    const stakers = 200_000_000_000_000_001n
    const owner = 200_000_000_000_000_001n
    const contributors = 500_000_000_000_000_001n
    // Entries 70 % / 30 %: {3.5e17 + 0.7, 1.5e17 + 0.3}: the 1 wei left goes to entry 1.
    const e1 = 350_000_000_000_000_001n
    const e2 = 150_000_000_000_000_000n
    // Entry 1 named 25 % / 75 %: {87.5e15 + 0.25, 262.5e15 + 0.75}: the 1 wei left goes to Bob.
    const alice = 87_500_000_000_000_000n
    const bob = 262_500_000_000_000_001n
    // Entry 2 is datanet-level on D2 version 1, whose 1,000 shares are all Carol's.
    const carol = e2
    expect(protocol + stakers + owner + contributors).toBe(fee)
    expect(e1 + e2).toBe(contributors)
    expect(alice + bob).toBe(e1)
    expect(await accrued(s.w, TREASURY)).toBe(protocol)
    expect(await accrued(s.w, STAKERS)).toBe(stakers)
    expect(await accrued(s.w, MODEL_OWNER)).toBe(owner)
    expect(await accrued(s.w, ALICE)).toBe(alice)
    expect(await accrued(s.w, BOB)).toBe(bob)
    expect(await accrued(s.w, CAROL)).toBe(carol)

    // The receipt is stored by its EIP-712 digest, which viem computes identically.
    const digest = hashTypedData({
      domain: {
        name: 'OpenLedger Attribution',
        version: '1',
        chainId: 1337n,
        verifyingContract: hex(ATTRIBUTION_ADDRESS),
      },
      types: RECEIPT_EIP712_TYPES,
      primaryType: 'InferenceReceipt',
      message: r,
    })
    const rec = await readReceipt(s.w.h.state, hexToBytes(digest))
    expect(rec).toMatchObject({
      receiptId: digest,
      modelId: s.model,
      fee,
      payer: hex(USER),
      nonce: 1n,
      modelVersion: 1,
    })
    expect(await s.w.ok('attribution', 'getReceipt', [digest], { from: STRANGER })).toMatchObject({ fee })
    // Its storage slot (for eth_getProof) is non-zero.
    const slot = await s.w.h.state.getStorage(ATTRIBUTION_ADDRESS, receiptSlot(hexToBytes(digest), 1n))
    expect(slot.some((b) => b !== 0)).toBe(true)

    // Claims pay out exactly and empty the module of these fees.
    for (const [who, amount] of [
      [ALICE, alice],
      [BOB, bob],
      [CAROL, carol],
      [MODEL_OWNER, owner],
      [TREASURY, protocol],
      [STAKERS, stakers],
    ] as const) {
      const before = await s.w.balance(who)
      expect(await s.w.ok('attribution', 'claim', [], { from: who })).toBe(amount)
      expect(await s.w.balance(who)).toBe(before + amount)
      await s.w.rejects('attribution', 'claim', [], { from: who }, 'NothingToClaim')
    }
    expect(await s.w.balance(ATTRIBUTION_ADDRESS)).toBe(moduleBefore)
  })

  it('emits decodable events from the module address with the split', async () => {
    const r = receiptFor(s)
    const res = await s.w.raw('attribution', 'settle', [r, await signReceipt(r)], {
      from: USER,
      value: r.fee,
    })
    const { decodeEventLog } = await import('viem')
    const { attributionAbi } = await import('../src/sol/abi.ts')
    const names = res.logs.map(
      (l) =>
        decodeEventLog({
          abi: attributionAbi,
          topics: l.topics.map((t) => hex(t)) as [Hex, ...Hex[]],
          data: hex(l.data),
        }).eventName,
    )
    expect(names).toEqual([
      'InferenceSettled',
      'FeeSplit',
      'ContributionPaid',
      'ContributionPaid',
      'AttributionPaid',
      'AttributionPaid',
      'VersionPoolPaid',
    ])
    const split = decodeEventLog({
      abi: attributionAbi,
      topics: res.logs[1]?.topics.map((t) => hex(t)) as [Hex, ...Hex[]],
      data: hex(res.logs[1]?.data as Uint8Array),
    }).args as {
      protocol: bigint
      stakers: bigint
      owner: bigint
      parentRoyalty: bigint
      contributors: bigint
      dust: bigint
    }
    expect(
      split.protocol + split.stakers + split.owner + split.parentRoyalty + split.contributors + split.dust,
    ).toBe(r.fee)
    expect(split.dust).toBe(0n) // every level is apportioned exactly
  })

  it('a share transfer moves future rewards and keeps past rewards with the sender', async () => {
    const v1 = shareTokenId(s.d2, 1n)
    const only = (fee: bigint, nonce: bigint) =>
      receiptFor(s, {
        fee,
        nonce,
        entries: [
          {
            datanetId: s.d2,
            datanetVersion: 1n,
            weight: 1_000_000,
            contributionIds: [],
            contributionWeights: [],
          },
        ],
      })
    await settle(s, only(10_000_000n, 1n)) // contributors part 5,000,000 → 5,000 per share
    expect(await accrued(s.w, CAROL)).toBe(5_000_000n)
    await s.w.ok('datanets', 'transferShares', [hex(CAROL), hex(BOB), v1, 250n], { from: CAROL })
    await settle(s, only(10_000_000n, 2n))
    expect(await accrued(s.w, CAROL)).toBe(5_000_000n + 750n * 5_000n)
    expect(await accrued(s.w, BOB)).toBe(250n * 5_000n)
    // Bob's pending follows him: a transfer back settles both sides first.
    await s.w.ok('datanets', 'transferShares', [hex(BOB), hex(CAROL), v1, 250n], { from: BOB })
    expect(await accrued(s.w, BOB)).toBe(250n * 5_000n)
    await settle(s, only(10_000_000n, 3n))
    expect(await accrued(s.w, BOB)).toBe(250n * 5_000n)
    expect(await accrued(s.w, CAROL)).toBe(5_000_000n + 750n * 5_000n + 5_000_000n)
  })

  it('pays the parent owner its royalty of the owner bucket for a derivative model', async () => {
    // The parent's owner allows derivatives, for 10 % of their owner part.
    await s.w.ok('models', 'setDerivativeTerms', [s.model, true, 1000], { from: MODEL_OWNER })
    const child = await s.w.registerModel([{ datanetId: s.d2, version: 1n }], {
      parentId: s.model,
      from: PARENT_OWNER,
    })
    const r = makeReceipt({
      modelId: child,
      fee: 1_000_000n,
      entries: [
        {
          datanetId: s.d2,
          datanetVersion: 1n,
          weight: 1_000_000,
          contributionIds: [],
          contributionWeights: [],
        },
      ],
    })
    await settle(s, r)
    // Owner bucket 200,000: 10% royalty to the parent's owner (MODEL_OWNER), the rest to the child's owner.
    expect(await accrued(s.w, MODEL_OWNER)).toBe(20_000n)
    expect(await accrued(s.w, PARENT_OWNER)).toBe(180_000n)
  })

  it('lets a Solidity-style app settle on behalf of users when payer is the app or zero', async () => {
    const r = receiptFor(s, { payer: hex(STRANGER) })
    await s.w.rejects(
      'attribution',
      'settle',
      [r, await signReceipt(r)],
      { from: USER, value: r.fee },
      'WrongPayer',
    )
    await settle(s, r, STRANGER)
  })
})

describe('Attribution module: every rejection is typed and leaves state unchanged', () => {
  let s: Scenario
  beforeEach(async () => {
    s = await scenario()
  })
  const reject = async (
    r: ReceiptInput,
    error: string,
    o: { sig?: Hex; value?: bigint; from?: Uint8Array } = {},
  ) =>
    s.w.rejects(
      'attribution',
      'settle',
      [r, o.sig ?? (await signReceipt(r))],
      { from: o.from ?? USER, value: o.value ?? r.fee },
      error,
    )

  it('unapproved, rejected or later-approved contributions', async () => {
    const pending = await s.w.contribute(s.d1, CAROL, 'carol: pending')
    const named = (cid: bigint) =>
      receiptFor(s, {
        entries: [
          {
            datanetId: s.d1,
            datanetVersion: 1n,
            weight: 1_000_000,
            contributionIds: [cid],
            contributionWeights: [1_000_000],
          },
        ],
      })
    await reject(named(pending), 'ContributionNotInVersion')
    await reject(named(s.carolRejected), 'ContributionNotInVersion')
    await reject(named(999n), 'ContributionNotInVersion')
    await s.w.approve(s.d1, pending, 10n) // approved after version 1 was published
    const args = await reject(named(pending), 'ContributionNotInVersion')
    expect(args).toEqual([s.d1, 1n, pending])
  })

  it('datanet versions the model did not declare', async () => {
    const extra = await s.w.contribute(s.d1, CAROL, 'more')
    await s.w.approve(s.d1, extra, 10n)
    await s.w.publish(s.d1) // version 2 exists but the model was trained on version 1
    const r = receiptFor(s, {
      entries: [
        {
          datanetId: s.d1,
          datanetVersion: 2n,
          weight: 1_000_000,
          contributionIds: [],
          contributionWeights: [],
        },
      ],
    })
    expect(await reject(r, 'DatanetVersionNotDeclared')).toEqual([s.model, 1, s.d1, 2n])
  })

  it('weights not summing to the total', async () => {
    const r = receiptFor(s)
    const bad = { ...r, entries: [{ ...r.entries[0]!, weight: 699_999 }, r.entries[1]!] }
    expect(await reject(bad, 'WeightsDoNotSumToTotal')).toEqual([999_999n, 1_000_000n])
    const badInner = {
      ...r,
      entries: [{ ...r.entries[0]!, contributionWeights: [250_000, 749_999] }, r.entries[1]!],
    }
    await reject(badInner, 'ContributionWeightsDoNotSumToTotal')
    const mismatch = {
      ...r,
      entries: [{ ...r.entries[0]!, contributionWeights: [1_000_000] }, r.entries[1]!],
    }
    await reject(mismatch, 'LengthMismatch')
    await reject({ ...r, entries: [] }, 'NoEntries')
  })

  it('replays: same receipt, same nonce, same signature against another model, datanet or chain', async () => {
    const r = receiptFor(s)
    const sig = await signReceipt(r)
    await settle(s, r, USER, sig)
    await reject(r, 'ReceiptAlreadySettled', { sig })
    await reject({ ...r, inputHash: keccak256('0x1234') }, 'NonceAlreadyUsed')
    // Another model with the same provider and training data: the signature does not carry over.
    const other = await s.w.registerModel([
      { datanetId: s.d1, version: 1n },
      { datanetId: s.d2, version: 1n },
    ])
    await reject({ ...r, modelId: other }, 'InvalidSigner', { sig })
    // Another datanet in an entry.
    const swapped = { ...r, nonce: 2n, entries: [r.entries[0]!, { ...r.entries[1]!, datanetId: s.d1 }] }
    await reject(swapped, 'InvalidSigner', { sig: await signReceipt({ ...swapped, entries: r.entries }) })
    // Another chain id: a receipt signed for chain 1 does not settle on chain 1337.
    const fresh = { ...r, nonce: 3n }
    await reject(fresh, 'InvalidSigner', { sig: await signReceipt(fresh, undefined, 1n) })
    // Another verifying contract.
    await reject(fresh, 'InvalidSigner', {
      sig: await signReceipt(fresh, undefined, 1337n, '0x4f50454e00000000000000000000000000000001'),
    })
    await settle(s, fresh) // the honest signature still works
  })

  it('expired deadline, wrong or malleable signature', async () => {
    await reject(receiptFor(s, { deadline: s.w.h.block.timestamp - 1n }), 'ReceiptExpired')
    const r = receiptFor(s)
    const wrong = await signReceipt(r, OTHER_KEY)
    const args = await reject(r, 'InvalidSigner', { sig: wrong })
    expect(args[0]).toBe(provider.address)
    const sig = parseSignature(await signReceipt(r))
    const highS = serializeSignature({
      r: sig.r,
      s: `0x${(N - BigInt(sig.s)).toString(16).padStart(64, '0')}`,
      yParity: sig.yParity === 0 ? 1 : 0,
    })
    await reject(r, 'MalleableSignature', { sig: highS })
    await reject(r, 'InvalidSignature', { sig: '0x1234' })
    await reject(r, 'InvalidSignature', { sig: `0x${'00'.repeat(65)}` })
    await settle(s, r) // the low-s original settles
  })

  it('fee below the minimum, wrong msg.value, unknown model or version', async () => {
    await reject(receiptFor(s, { fee: 999n }), 'FeeBelowMinimum')
    const r = receiptFor(s)
    expect(await reject(r, 'WrongValue', { value: r.fee - 1n })).toEqual([r.fee - 1n, r.fee])
    await reject(r, 'WrongValue', { value: 0n })
    await reject(receiptFor(s, { modelId: 42n }), 'ModelNotFound')
    await reject(receiptFor(s, { modelVersion: 2 }), 'ModelVersionNotFound')
  })

  it('non-curator curating', async () => {
    const c = await s.w.contribute(s.d1, STRANGER, 'x')
    await s.w.rejects('datanets', 'approveContribution', [s.d1, c, 1n], { from: STRANGER }, 'NotCurator')
    await s.w.rejects('datanets', 'rejectContribution', [s.d1, c], { from: ALICE }, 'NotCurator')
  })

  it('every mutating call under STATICCALL or DELEGATECALL, and value sent to non-payable functions', async () => {
    const r = receiptFor(s)
    const sig = await signReceipt(r)
    const calls: ['datanets' | 'models' | 'attribution', string, unknown[], Uint8Array][] = [
      ['datanets', 'createDatanet', ['n', '', true, []], OWNER],
      ['datanets', 'transferDatanetOwnership', [s.d1, hex(BOB)], OWNER],
      ['datanets', 'setContributionPolicy', [s.d1, false], OWNER],
      ['datanets', 'setCurator', [s.d1, hex(BOB), true], OWNER],
      ['datanets', 'setAllowListed', [s.d1, hex(BOB), true], OWNER],
      ['datanets', 'contribute', [s.d1, keccak256('0x01'), 1n, '', '0x'], ALICE],
      ['datanets', 'approveContribution', [s.d1, 3n, 1n], CURATOR],
      ['datanets', 'rejectContribution', [s.d1, 3n], CURATOR],
      ['datanets', 'publishVersion', [s.d1], CURATOR],
      ['datanets', 'transferShares', [hex(ALICE), hex(BOB), shareTokenId(s.d1, 1n), 1n], ALICE],
      ['datanets', 'setApprovalForAll', [hex(BOB), true], ALICE],
      ['models', 'transferModelOwnership', [s.model, hex(BOB)], MODEL_OWNER],
      ['models', 'setProvider', [s.model, hex(BOB)], MODEL_OWNER],
      ['models', 'setMinFee', [s.model, 1n], MODEL_OWNER],
      [
        'models',
        'publishModelVersion',
        [
          s.model,
          {
            datanets: [{ datanetId: s.d1, version: 1n }],
            trainingConfigHash: keccak256('0x01'),
            trainingLogHash: keccak256('0x02'),
            artifactHash: keccak256('0x03'),
            artifactURI: '',
          },
        ],
        MODEL_OWNER,
      ],
      ['attribution', 'settle', [r, sig], USER],
      ['attribution', 'claim', [], ALICE],
    ]
    for (const [target, fn, args, from] of calls) {
      await s.w.rejects(target, fn, args, { from, isStatic: true }, 'WriteProtection')
      await s.w.rejects(target, fn, args, { from, isDelegateCall: true }, 'WriteProtection')
      if (fn !== 'settle') await s.w.rejects(target, fn, args, { from, value: 1n }, 'NonPayable')
    }
    // registerModel too (built by the fixture helper normally).
    const reg = {
      name: 'm',
      baseModel: 'b',
      parentId: 0n,
      datanets: [{ datanetId: s.d1, version: 1n }],
      trainingConfigHash: keccak256('0x01'),
      trainingLogHash: keccak256('0x02'),
      artifactHash: keccak256('0x03'),
      artifactURI: '',
      provider: provider.address,
      minFeePerInference: 0n,
      ownerShareBps: 2000,
    }
    await s.w.rejects('models', 'registerModel', [reg], { from: OWNER, isStatic: true }, 'WriteProtection')
    await s.w.rejects(
      'models',
      'registerModel',
      [reg],
      { from: OWNER, isDelegateCall: true },
      'WriteProtection',
    )
    // Views still work under STATICCALL.
    expect(await s.w.ok('datanets', 'balanceOf', [hex(ALICE), s.d1], { from: USER, isStatic: true })).toBe(
      600n,
    )
    expect(await s.w.ok('attribution', 'receiptDigest', [r], { from: USER, isStatic: true })).toBe(
      hex(
        receiptDigest(
          {
            ...r,
            inputHash: hexToBytes(r.inputHash),
            outputHash: hexToBytes(r.outputHash),
            payer: hexToBytes(r.payer),
            attributionCommitment: hexToBytes(r.attributionCommitment),
          },
          1337n,
          ATTRIBUTION_ADDRESS,
        ),
      ),
    )
  })

  it('out of gas consumes the limit and writes nothing', async () => {
    const r = receiptFor(s)
    const sig = await signReceipt(r)
    const before = s.w.h.state.snapshot()
    for (const gasLimit of [500n, 5_000n, 60_000n, 150_000n]) {
      const res = await s.w.raw('attribution', 'settle', [r, sig], { from: USER, value: r.fee, gasLimit })
      expect(res).toMatchObject({ status: 'outOfGas', gasUsed: gasLimit, moduleWrites: 0 })
      expect(s.w.h.state.snapshot()).toEqual(before)
    }
    const full = await s.w.raw('attribution', 'settle', [r, sig], { from: USER, value: r.fee })
    const exact = await (async () => {
      const again = await scenario()
      return again.w.raw('attribution', 'settle', [r, sig], {
        from: USER,
        value: r.fee,
        gasLimit: full.gasUsed,
      })
    })()
    expect(exact.status).toBe('success') // exactly the reported gas is enough
  })
})
