/**
 * Curation that cannot be gamed, licences and income terms, and governed parameters (issue 15,
 * scopes 4–6): no self-approval, k-of-n approvals, revocation until publication, the weight cap,
 * datanet licences and derivative terms enforced at registration, the provider's share, and
 * parameters that only the Governance module can change.
 */
import { decodeEventLog, getAddress, type Hex, keccak256, stringToHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  computeContributionsRoot,
  contributionLeaf,
  GOVERNANCE_ADDRESS,
  readContribution,
  readDatanet,
  readRewards,
  shareTokenId,
} from '../src/modules/index.ts'
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
  PARENT_OWNER,
  provider,
  STRANGER,
  signReceipt,
  USER,
  World,
} from './modules.fixture.ts'

const param = (name: string): Hex => stringToHex(name, { size: 32 })

async function govern(w: World, name: string, value: bigint): Promise<void> {
  await w.ok('attribution', 'setParameter', [param(name), value], { from: GOVERNANCE_ADDRESS })
}

describe('curation', () => {
  it('refuses self-approval, by curators and by the owner alike', async () => {
    const w = new World()
    const d = await w.createDatanet()
    const own = await w.contribute(d, CURATOR, 'the curator contributes')
    await w.rejects(
      'datanets',
      'approveContribution',
      [d, own, 1_000_000n],
      { from: CURATOR },
      'SelfApproval',
    )
    const owners = await w.contribute(d, OWNER, 'the owner contributes 1 byte')
    const args = await w.rejects(
      'datanets',
      'approveContribution',
      [d, owners, 1_000_000n],
      { from: OWNER },
      'SelfApproval',
    )
    expect(args).toEqual([d, owners])
    // Another curator may approve them.
    await w.approve(d, owners, 10n, CURATOR)
    expect((await readContribution(w.h.state, d, owners))?.status).toBe(2)
  })

  it('requires k of n approvals proposing one weight', async () => {
    const w = new World()
    const d = await w.createDatanet(true, [CURATOR, BOB])
    await w.rejects('datanets', 'setRequiredApprovals', [d, 2], { from: CURATOR }, 'NotDatanetOwner')
    await w.rejects('datanets', 'setRequiredApprovals', [d, 0], { from: OWNER }, 'InvalidRequiredApprovals')
    await w.rejects('datanets', 'setRequiredApprovals', [d, 17], { from: OWNER }, 'InvalidRequiredApprovals')
    await w.ok('datanets', 'setRequiredApprovals', [d, 2], { from: OWNER })
    expect(await w.ok('datanets', 'getDatanetTerms', [d], { from: STRANGER })).toEqual({
      requiredApprovals: 2,
      licenceMode: 0,
      minContributorsBps: 0,
      inlineTextOnly: false,
    })
    const c = await w.contribute(d, ALICE, 'alice')
    await w.approve(d, c, 70n, CURATOR)
    // One vote: still pending, no shares.
    expect((await readContribution(w.h.state, d, c))?.status).toBe(1)
    expect(await w.ok('datanets', 'balanceOf', [hex(ALICE), d], { from: STRANGER })).toBe(0n)
    expect(await w.ok('datanets', 'getApprovals', [d, c, hex(CURATOR)], { from: STRANGER })).toEqual([
      1,
      70n,
      70n,
    ])
    await w.rejects('datanets', 'approveContribution', [d, c, 70n], { from: CURATOR }, 'AlreadyApproved')
    expect(
      await w.rejects('datanets', 'approveContribution', [d, c, 71n], { from: BOB }, 'WeightMismatch'),
    ).toEqual([d, c, 70n, 71n])
    const res = await w.raw('datanets', 'approveContribution', [d, c, 70n], { from: BOB })
    expect(res.status).toBe('success')
    expect((await readContribution(w.h.state, d, c))?.status).toBe(2)
    expect(await w.ok('datanets', 'balanceOf', [hex(ALICE), shareTokenId(d, 1n)], { from: STRANGER })).toBe(
      70n,
    )
  })

  it('lets a curator revoke an approval until the version holding it is published', async () => {
    const w = new World()
    const d = await w.createDatanet()
    const [a, b, c] = [
      await w.contribute(d, ALICE, 'a'),
      await w.contribute(d, BOB, 'b'),
      await w.contribute(d, CAROL, 'c'),
    ]
    await w.approve(d, a, 10n)
    await w.approve(d, b, 20n)
    await w.approve(d, c, 30n)
    await w.rejects('datanets', 'revokeApproval', [d, a], { from: OWNER }, 'NotApproved')
    const res = await w.raw('datanets', 'revokeApproval', [d, a], { from: CURATOR })
    expect(res.status).toBe('success')
    // Pending again, its shares burnt, and the last staged contribution took its place.
    expect(await readContribution(w.h.state, d, a)).toMatchObject({ status: 1, weight: 0n })
    expect(await w.ok('datanets', 'balanceOf', [hex(ALICE), d], { from: STRANGER })).toBe(0n)
    expect(await w.ok('datanets', 'heldShareTokens', [hex(ALICE)], { from: STRANGER })).toEqual([])
    expect((await readDatanet(w.h.state, d))?.totalShares).toBe(50n)
    expect(await w.ok('datanets', 'approvedContributionAt', [d, 0n], { from: STRANGER })).toBe(c)
    expect((await readContribution(w.h.state, d, c))?.approvalIndex).toBe(0n)
    const [, root, count] = await w.publish(d)
    expect(count).toBe(2n)
    const leaf = (cid: bigint, who: Uint8Array, text: string, weight: bigint) =>
      contributionLeaf({
        datanetId: d,
        contributionId: cid,
        contributor: who,
        contentHash: new Uint8Array(Buffer.from(keccak256(new TextEncoder().encode(text)).slice(2), 'hex')),
        size: BigInt(text.length),
        weight,
      })
    expect(root).toBe(hex(computeContributionsRoot([leaf(c, CAROL, 'c', 30n), leaf(b, BOB, 'b', 20n)])))
    // Published: final.
    await w.rejects('datanets', 'revokeApproval', [d, b], { from: CURATOR }, 'AlreadyPublished')
    // The revoked contribution can be approved again, into the next version.
    await w.approve(d, a, 10n)
    expect(await w.ok('datanets', 'heldShareTokens', [hex(ALICE)], { from: STRANGER })).toEqual([
      shareTokenId(d, 2n),
    ])
  })

  it('caps a contribution at the governed share of its version and bounds a version', async () => {
    const w = new World()
    await govern(w, 'maxWeightShareBps', 5000n)
    const d = await w.createDatanet()
    for (const [who, weight] of [
      [ALICE, 300n],
      [BOB, 300n],
      [CAROL, 400n],
    ] as const)
      await w.approve(d, await w.contribute(d, who, `${weight}`), weight)
    await w.publish(d) // 40 % at most
    // The attack: a 1-byte contribution weighted 1,000,000 next to 1,000 of real data.
    const heavy = await w.contribute(d, OWNER, 'x')
    await w.approve(d, heavy, 1_000_000n)
    expect(
      await w.rejects('datanets', 'publishVersion', [d], { from: CURATOR }, 'WeightCapExceeded'),
    ).toEqual([d, heavy, 1_000_000n, 500_500n])
    await w.ok('datanets', 'revokeApproval', [d, heavy], { from: CURATOR })
    await w.approve(d, heavy, 1_000n)
    await w.publish(d) // 1,000 of 2,000: exactly the cap
    await govern(w, 'maxVersionBatch', 2n)
    await w.approve(d, await w.contribute(d, ALICE, 'one'), 1n)
    await w.approve(d, await w.contribute(d, ALICE, 'two'), 1n)
    const third = await w.contribute(d, ALICE, 'three')
    expect(
      await w.rejects(
        'datanets',
        'approveContribution',
        [d, third, 1n],
        { from: CURATOR },
        'VersionBatchFull',
      ),
    ).toEqual([d, 2n])
    await w.publish(d)
    await w.approve(d, third, 1n)
  })
})

describe('licences and income', () => {
  async function setup() {
    const w = new World()
    const d = await w.createDatanet()
    await w.approve(d, await w.contribute(d, ALICE, 'alice'), 10n)
    await w.publish(d)
    return { w, d }
  }

  it('refuses a model on a datanet whose licence forbids its owner', async () => {
    const { w, d } = await setup()
    await w.rejects('datanets', 'setLicence', [d, 1, 0], { from: CURATOR }, 'NotDatanetOwner')
    await w.rejects('datanets', 'setLicence', [d, 2, 0], { from: OWNER }, 'InvalidLicence')
    await w.ok('datanets', 'setLicence', [d, 1, 0], { from: OWNER })
    const register = (from: Uint8Array) =>
      w.raw(
        'models',
        'registerModel',
        [
          {
            name: 'm',
            baseModel: 'b',
            parentId: 0n,
            datanets: [{ datanetId: d, version: 1n }],
            trainingConfigHash: keccak256('0x01'),
            trainingLogHash: keccak256('0x02'),
            artifactHash: keccak256('0x03'),
            artifactURI: '',
            provider: provider.address,
            minFeePerInference: 0n,
            ownerShareBps: 2000,
          },
        ],
        { from },
      )
    const before = w.h.state.snapshot()
    const refused = await register(MODEL_OWNER)
    expect(refused.status).toBe('revert')
    const { decodeError } = await import('./modules.fixture.ts')
    expect(decodeError('models', refused.returnData)).toMatchObject({
      errorName: 'LicenceForbids',
      args: [d, getAddress(hex(MODEL_OWNER))],
    })
    expect(w.h.state.snapshot()).toEqual(before)
    expect((await register(OWNER)).status).toBe('success') // the datanet owner is always admitted
    await w.ok('datanets', 'setModelOwnerAllowed', [d, hex(MODEL_OWNER), true], { from: OWNER })
    expect(await w.ok('datanets', 'isModelOwnerAllowed', [d, hex(MODEL_OWNER)], { from: STRANGER })).toBe(
      true,
    )
    expect((await register(MODEL_OWNER)).status).toBe('success')
  })

  it('enforces a minimum contributors share on registration and new model versions', async () => {
    const { w, d } = await setup()
    await w.ok('datanets', 'setLicence', [d, 0, 6000], { from: OWNER })
    // 10⁴ − protocol 1,000 − stakers 2,000 − owner 2,000 leaves the contributors 5,000 bps.
    const args = await w.registerModel([{ datanetId: d, version: 1n }], { ownerShareBps: 2000 }).then(
      () => [] as unknown[],
      (e: Error) => [e.message],
    )
    expect(String(args[0])).toMatch(/RoyaltyBelowLicence/)
    const model = await w.registerModel([{ datanetId: d, version: 1n }], { ownerShareBps: 1000 })
    expect(model).toBe(1n)
    // A new version on another datanet with a stricter licence is checked too.
    const d2 = await w.createDatanet()
    await w.approve(d2, await w.contribute(d2, BOB, 'bob'), 1n)
    await w.publish(d2)
    await w.ok('datanets', 'setLicence', [d2, 0, 7000], { from: OWNER })
    await w.rejects(
      'models',
      'publishModelVersion',
      [
        model,
        {
          datanets: [{ datanetId: d2, version: 1n }],
          trainingConfigHash: keccak256('0x01'),
          trainingLogHash: keccak256('0x02'),
          artifactHash: keccak256('0x03'),
          artifactURI: '',
        },
      ],
      { from: MODEL_OWNER },
      'RoyaltyBelowLicence',
    )
  })

  it('needs the parent owner’s consent for a derivative and fixes its royalty at registration', async () => {
    const { w, d } = await setup()
    const parent = await w.registerModel([{ datanetId: d, version: 1n }])
    const derive = () =>
      w.registerModel([{ datanetId: d, version: 1n }], { parentId: parent, from: PARENT_OWNER })
    await expect(derive()).rejects.toThrow(/DerivativesNotAllowed/)
    // The parent's own owner may derive without terms.
    await w.registerModel([{ datanetId: d, version: 1n }], { parentId: parent })
    await w.rejects('models', 'setDerivativeTerms', [parent, true, 2500], { from: STRANGER }, 'NotModelOwner')
    await w.rejects(
      'models',
      'setDerivativeTerms',
      [parent, true, 10_001],
      { from: MODEL_OWNER },
      'InvalidRoyalty',
    )
    await w.ok('models', 'setDerivativeTerms', [parent, true, 2500], { from: MODEL_OWNER })
    const child = await derive()
    expect(await w.ok('models', 'getModelTerms', [child], { from: STRANGER })).toEqual({
      derivativesAllowed: false,
      derivativeRoyaltyBps: 1000, // the governed default, until the child's owner sets terms
      parentRoyaltyBps: 2500,
    })
    // Raising the royalty later does not change what an existing derivative pays.
    await w.ok('models', 'setDerivativeTerms', [parent, true, 9000], { from: MODEL_OWNER })
    const r = makeReceipt({
      modelId: child,
      fee: 1_000_000n,
      entries: [
        { datanetId: d, datanetVersion: 1n, weight: 1_000_000, contributionIds: [], contributionWeights: [] },
      ],
    })
    await w.ok('attribution', 'settle', [r, await signReceipt(r)], { from: USER, value: r.fee })
    // Owner part 200,000: 25 % to the parent's owner.
    expect((await readRewards(w.h.state, MODEL_OWNER)).claimable).toBe(50_000n)
    expect((await readRewards(w.h.state, PARENT_OWNER)).claimable).toBe(150_000n)
  })

  it('pays the serving provider its governed share', async () => {
    const { w, d } = await setup()
    await govern(w, 'providerBps', 500n)
    const model = await w.registerModel([{ datanetId: d, version: 1n }])
    const r = makeReceipt({
      modelId: model,
      fee: 1_000_000n,
      entries: [
        { datanetId: d, datanetVersion: 1n, weight: 1_000_000, contributionIds: [], contributionWeights: [] },
      ],
    })
    const res = await w.raw('attribution', 'settle', [r, await signReceipt(r)], { from: USER, value: r.fee })
    expect(res.status).toBe('success')
    const events = res.logs.map((l) =>
      decodeEventLog({
        abi: attributionAbi,
        topics: l.topics.map((t) => hex(t)) as [Hex, ...Hex[]],
        data: hex(l.data),
      }),
    )
    const paid = events.find((e) => e.eventName === 'ProviderPaid')
    expect(paid?.args).toMatchObject({ provider: provider.address, amount: 50_000n })
    const split = events.find((e) => e.eventName === 'FeeSplit')?.args as unknown as Record<string, bigint>
    // protocol 100,000 + stakers 200,000 + provider 50,000 + owner 200,000 + contributors 450,000.
    expect(split.contributors).toBe(450_000n)
    expect(
      split.protocol + split.stakers + split.owner + split.parentRoyalty + split.contributors + 50_000n,
    ).toBe(r.fee)
    expect(
      (await readRewards(w.h.state, new Uint8Array(Buffer.from(provider.address.slice(2), 'hex')))).claimable,
    ).toBe(50_000n)
  })
})

describe('governed parameters', () => {
  it('only the Governance module sets them, within range and consistent with each other', async () => {
    const w = new World()
    await w.rejects(
      'attribution',
      'setParameter',
      [param('protocolBps'), 500n],
      { from: OWNER },
      'OnlyGovernance',
    )
    await w.rejects(
      'attribution',
      'setParameter',
      [param('protcolBps'), 500n],
      { from: GOVERNANCE_ADDRESS },
      'UnknownParameter',
    )
    const [, , why] = await w.rejects(
      'attribution',
      'setParameter',
      [param('protocolBps'), 10_001n],
      { from: GOVERNANCE_ADDRESS },
      'InvalidParameter',
    )
    expect(why).toMatch(/\[0, 10000\]/)
    // 6,000 + stakers 2,000 + the largest owner share 5,000 would leave contributors negative.
    const [, , why2] = await w.rejects(
      'attribution',
      'setParameter',
      [param('protocolBps'), 6_000n],
      { from: GOVERNANCE_ADDRESS },
      'InvalidParameter',
    )
    expect(why2).toMatch(/maxOwnerBps/)
    const res = await w.raw('attribution', 'setParameter', [param('protocolBps'), 500n], {
      from: GOVERNANCE_ADDRESS,
    })
    expect(res.status).toBe('success')
    expect(
      decodeEventLog({
        abi: attributionAbi,
        topics: res.logs[0]!.topics.map((t) => hex(t)) as [Hex, ...Hex[]],
        data: hex(res.logs[0]!.data),
      }),
    ).toMatchObject({ eventName: 'ParameterSet', args: { name: param('protocolBps'), newValue: 500n } })
    expect(await w.ok('attribution', 'getParameter', [param('protocolBps')], { from: STRANGER })).toBe(500n)
    await govern(w, 'treasury', BigInt(hex(CAROL)))
    await govern(w, 'challengerBond', 10n ** 18n)
    const p = await w.ok<Record<string, unknown>>('attribution', 'parameters', [], { from: STRANGER })
    expect(p).toMatchObject({
      protocolBps: 500,
      stakersBps: 2000, // the other parameters of its word keep their genesis values
      treasury: getAddress(hex(CAROL)),
      challengerBond: 10n ** 18n,
    })
    expect(
      await w.ok<{ protocolBps: number; treasury: string }>('attribution', 'splitParams', [], {
        from: STRANGER,
      }),
    ).toMatchObject({
      protocolBps: 500,
      treasury: getAddress(hex(CAROL)),
    })
  })
})
