import { encodeFunctionData, hexToBytes, keccak256, toFunctionSelector, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  computeContributionsRoot,
  contributionLeaf,
  contributionProof,
  DATANETS_ADDRESS,
  extractInlineContent,
  readContribution,
  readDatanet,
  readHeldDatanets,
  readRewards,
  shareTokenId,
  verifyContributionProof,
} from '../src/modules/index.ts'
import { datanetsAbi } from '../src/sol/abi.ts'
import { ALICE, BOB, CAROL, CURATOR, decodeError, hex, OWNER, STRANGER, World } from './modules.fixture.ts'

describe('Datanets module', () => {
  it('creates a datanet, takes inline and by-hash contributions, curates and publishes a version', async () => {
    const w = new World()
    const id = await w.createDatanet()
    expect(id).toBe(1n)
    const c1 = await w.contribute(id, ALICE, 'alice row', true)
    const c2 = await w.contribute(id, BOB, 'bob row')
    const c3 = await w.contribute(id, CAROL, 'carol row')
    await w.approve(id, c2, 300n)
    await w.approve(id, c1, 700n)
    await w.ok('datanets', 'rejectContribution', [id, c3], { from: CURATOR })
    const [version, root, count] = await w.publish(id)
    expect(version).toBe(1n)
    expect(count).toBe(2n)

    // Anyone can recompute the root from the documented leaf encoding, in approval order.
    const leaf = (cid: bigint, who: Uint8Array, content: string, weight: bigint) =>
      contributionLeaf({
        datanetId: id,
        contributionId: cid,
        contributor: who,
        contentHash: new Uint8Array(
          Buffer.from(keccak256(new TextEncoder().encode(content)).slice(2), 'hex'),
        ),
        size: BigInt(new TextEncoder().encode(content).length),
        weight,
      })
    const leaves = [leaf(c2, BOB, 'bob row', 300n), leaf(c1, ALICE, 'alice row', 700n)]
    expect(toHex(computeContributionsRoot(leaves))).toBe(root)
    const proof = contributionProof(leaves, 1)
    expect(verifyContributionProof(leaves[1] as Uint8Array, 1, proof, computeContributionsRoot(leaves))).toBe(
      true,
    )
    expect(verifyContributionProof(leaves[0] as Uint8Array, 1, proof, computeContributionsRoot(leaves))).toBe(
      false,
    )

    const info = await readDatanet(w.h.state, id)
    expect(info).toMatchObject({
      owner: hex(OWNER),
      name: 'Medical QA',
      contributionCount: 3n,
      approvedCount: 2n,
      versionCount: 1n,
      totalShares: 1000n,
    })
    const a = await readContribution(w.h.state, id, c1)
    expect(a).toMatchObject({
      contributor: hex(ALICE),
      inlined: true,
      status: 2,
      weight: 700n,
      approvalIndex: 1n,
    })
    expect((await readContribution(w.h.state, id, c2))?.inlined).toBe(false)
    expect((await readContribution(w.h.state, id, c3))?.status).toBe(3)
    // The view returns the same record through the ABI.
    const viaAbi = await w.ok<{ name: string; totalShares: bigint }>('datanets', 'getDatanet', [id], {
      from: STRANGER,
    })
    expect(viaAbi.totalShares).toBe(1000n)
    expect(await w.ok('datanets', 'balanceOf', [hex(ALICE), id], { from: STRANGER })).toBe(700n)
    expect(await w.ok('datanets', 'approvedContributionAt', [id, 0n], { from: STRANGER })).toBe(c2)

    // A second version needs new approvals; its root covers all approvals so far.
    await w.rejects('datanets', 'publishVersion', [id], { from: CURATOR }, 'NothingToPublish')
    const c4 = await w.contribute(id, CAROL, 'carol again')
    await w.approve(id, c4, 50n)
    const [v2, root2, count2] = await w.publish(id)
    expect([v2, count2]).toEqual([2n, 3n])
    expect(root2).toBe(toHex(computeContributionsRoot([...leaves, leaf(c4, CAROL, 'carol again', 50n)])))
  })

  it('rebuilds inline content from the contributing calldata', async () => {
    const content = new TextEncoder().encode('row carried inline')
    const data = encodeFunctionData({
      abi: datanetsAbi,
      functionName: 'contribute',
      args: [5n, keccak256(content), BigInt(content.length), '', toHex(content)],
    })
    expect(extractInlineContent(hexToBytes(data))).toEqual({
      datanetId: 5n,
      contentHash: keccak256(content),
      content,
    })
    const byHash = encodeFunctionData({
      abi: datanetsAbi,
      functionName: 'contribute',
      args: [5n, keccak256(content), BigInt(content.length), '', '0x'],
    })
    expect(extractInlineContent(hexToBytes(byHash))).toBeUndefined()
    expect(extractInlineContent(new Uint8Array([1, 2, 3]))).toBeUndefined()
  })

  it('incremental on-chain root equals the recomputed root for many approvals', async () => {
    const w = new World()
    const id = await w.createDatanet()
    const leaves: Uint8Array[] = []
    for (let i = 0; i < 37; i++) {
      const content = `row ${i}`
      const cid = await w.contribute(id, ALICE, content)
      await w.approve(id, cid, BigInt(i + 1))
      const bytes = new TextEncoder().encode(content)
      leaves.push(
        contributionLeaf({
          datanetId: id,
          contributionId: cid,
          contributor: ALICE,
          contentHash: new Uint8Array(Buffer.from(keccak256(bytes).slice(2), 'hex')),
          size: BigInt(bytes.length),
          weight: BigInt(i + 1),
        }),
      )
      if (i === 4 || i === 15 || i === 36) {
        const [, root] = await w.publish(id)
        expect(root).toBe(toHex(computeContributionsRoot(leaves)))
      }
    }
  })

  it('enforces roles, the allow list and input bounds with typed errors and no state change', async () => {
    const w = new World()
    const id = await w.createDatanet(false)
    await w.rejects(
      'datanets',
      'contribute',
      [id, keccak256('0x01'), 1n, '', '0x'],
      { from: ALICE },
      'NotAllowListed',
    )
    await w.rejects('datanets', 'setAllowListed', [id, hex(ALICE), true], { from: ALICE }, 'NotCurator')
    await w.ok('datanets', 'setAllowListed', [id, hex(ALICE), true], { from: CURATOR })
    const cid = await w.contribute(id, ALICE, 'allowed row')
    await w.rejects('datanets', 'approveContribution', [id, cid, 10n], { from: STRANGER }, 'NotCurator')
    await w.rejects('datanets', 'rejectContribution', [id, cid], { from: ALICE }, 'NotCurator')
    await w.rejects('datanets', 'approveContribution', [id, cid, 0n], { from: CURATOR }, 'InvalidWeight')
    await w.rejects(
      'datanets',
      'approveContribution',
      [id, cid, 1_000_001n],
      { from: CURATOR },
      'InvalidWeight',
    )
    await w.rejects(
      'datanets',
      'approveContribution',
      [id, 99n, 1n],
      { from: CURATOR },
      'ContributionNotFound',
    )
    await w.rejects('datanets', 'approveContribution', [7n, cid, 1n], { from: CURATOR }, 'DatanetNotFound')
    await w.rejects('datanets', 'publishVersion', [id], { from: CURATOR }, 'NothingToPublish')
    await w.ok('datanets', 'rejectContribution', [id, cid], { from: CURATOR })
    const args = await w.rejects(
      'datanets',
      'approveContribution',
      [id, cid, 5n],
      { from: CURATOR },
      'ContributionNotPending',
    )
    expect(args[2]).toBe(3)
    // Owner-only administration.
    await w.rejects('datanets', 'setCurator', [id, hex(BOB), true], { from: CURATOR }, 'NotDatanetOwner')
    await w.rejects(
      'datanets',
      'transferDatanetOwnership',
      [id, hex(BOB)],
      { from: CURATOR },
      'NotDatanetOwner',
    )
    await w.rejects('datanets', 'setContributionPolicy', [id, true], { from: CURATOR }, 'NotDatanetOwner')
    await w.rejects(
      'datanets',
      'transferDatanetOwnership',
      [id, '0x0000000000000000000000000000000000000000'],
      { from: OWNER },
      'ZeroAddress',
    )
    await w.ok('datanets', 'transferDatanetOwnership', [id, hex(BOB)], { from: OWNER })
    await w.rejects('datanets', 'setCurator', [id, hex(CAROL), true], { from: OWNER }, 'NotDatanetOwner')
    await w.ok('datanets', 'setCurator', [id, hex(CURATOR), false], { from: BOB })
    expect(await w.ok('datanets', 'isCurator', [id, hex(CURATOR)], { from: STRANGER })).toBe(false)
    // Bounds.
    await w.rejects(
      'datanets',
      'createDatanet',
      ['x'.repeat(65), '', true, []],
      { from: OWNER },
      'StringTooLong',
    )
    await w.rejects(
      'datanets',
      'createDatanet',
      ['n', '', true, Array.from({ length: 17 }, () => hex(CURATOR))],
      { from: OWNER },
      'TooManyItems',
    )
    await w.rejects(
      'datanets',
      'contribute',
      [id, keccak256('0x01'), 0n, '', '0x'],
      { from: BOB },
      'InvalidContentSize',
    )
    await w.rejects(
      'datanets',
      'contribute',
      [id, keccak256('0x01'), 1n, '', '0x02'],
      { from: BOB },
      'InlineContentMismatch',
    )
    await w.rejects(
      'datanets',
      'contribute',
      [id, keccak256('0x01'), 2n, '', '0x01'],
      { from: BOB },
      'InlineContentMismatch',
    )
  })

  it('refuses calldata it cannot decode and selectors it does not know', async () => {
    const w = new World()
    const before = w.h.state.snapshot()
    const short = await w.h.call({ from: ALICE, to: DATANETS_ADDRESS, data: new Uint8Array([1, 2]) })
    expect(short.status).toBe('revert')
    expect(decodeError('datanets', short.returnData).errorName).toBe('MalformedCalldata')
    const unknown = await w.h.call({
      from: ALICE,
      to: DATANETS_ADDRESS,
      data: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
    })
    expect(decodeError('datanets', unknown.returnData)).toMatchObject({
      errorName: 'UnknownSelector',
      args: ['0xdeadbeef'],
    })
    // A known selector with truncated arguments.
    const selector = toFunctionSelector('approveContribution(uint256,uint256,uint64)')
    const truncated = await w.h.call({
      from: ALICE,
      to: DATANETS_ADDRESS,
      data: hexToBytes(`${selector}0102`),
    })
    expect(decodeError('datanets', truncated.returnData).errorName).toBe('MalformedCalldata')
    expect(w.h.state.snapshot()).toEqual(before)
  })

  it('version shares transfer with operator approval and keep the held lists exact', async () => {
    const w = new World()
    const d1 = await w.createDatanet()
    const d2 = await w.createDatanet()
    const c = await w.contribute(d1, ALICE, 'a')
    await w.approve(d1, c, 100n)
    const c2 = await w.contribute(d2, ALICE, 'b')
    await w.approve(d2, c2, 5n)
    const t1 = shareTokenId(d1, 1n)
    const t2 = shareTokenId(d2, 1n)
    expect(await w.ok('datanets', 'shareTokenId', [d1, 1n], { from: STRANGER })).toBe(t1)
    expect(await readHeldDatanets(w.h.state, ALICE)).toEqual([d1, d2])
    expect(await w.ok('datanets', 'heldShareTokens', [hex(ALICE)], { from: STRANGER })).toEqual([t1, t2])
    // Shares of a version that is not published yet cannot move (they may still be revoked).
    await w.rejects(
      'datanets',
      'transferShares',
      [hex(ALICE), hex(BOB), t1, 1n],
      { from: ALICE },
      'SharesLocked',
    )
    await w.publish(d1)
    await w.publish(d2)
    // A bare datanet id is the total over versions, not a token.
    expect(await w.ok('datanets', 'balanceOf', [hex(ALICE), d1], { from: STRANGER })).toBe(100n)
    await w.rejects(
      'datanets',
      'transferShares',
      [hex(ALICE), hex(BOB), d1, 1n],
      { from: ALICE },
      'InvalidShareToken',
    )
    await w.rejects(
      'datanets',
      'transferShares',
      [hex(ALICE), hex(BOB), shareTokenId(99n, 1n), 1n],
      { from: ALICE },
      'InvalidShareToken',
    )
    await w.rejects(
      'datanets',
      'transferShares',
      [hex(ALICE), hex(BOB), t1, 101n],
      { from: ALICE },
      'InsufficientShares',
    )
    await w.rejects(
      'datanets',
      'transferShares',
      [hex(ALICE), hex(BOB), t1, 1n],
      { from: BOB },
      'NotOwnerNorApproved',
    )
    await w.ok('datanets', 'setApprovalForAll', [hex(BOB), true], { from: ALICE })
    const res = await w.raw('datanets', 'transferShares', [hex(ALICE), hex(BOB), t1, 100n], { from: BOB })
    expect(res.status).toBe('success')
    expect(res.logs).toHaveLength(1)
    expect(await readHeldDatanets(w.h.state, ALICE)).toEqual([d2])
    expect(await readHeldDatanets(w.h.state, BOB)).toEqual([d1])
    await w.ok('datanets', 'transferShares', [hex(ALICE), hex(CAROL), t2, 2n], { from: ALICE })
    expect(await readHeldDatanets(w.h.state, ALICE)).toEqual([d2])
    expect(await readHeldDatanets(w.h.state, CAROL)).toEqual([d2])
    expect(await w.ok('datanets', 'totalSupply', [d2], { from: STRANGER })).toBe(5n)
    expect(await w.ok('datanets', 'totalSupply', [t2], { from: STRANGER })).toBe(5n)
    expect(await w.ok('datanets', 'balanceOf', [hex(CAROL), t2], { from: STRANGER })).toBe(2n)
    expect(await w.ok('datanets', 'balanceOf', [hex(CAROL), d2], { from: STRANGER })).toBe(2n)
    expect(await w.ok('datanets', 'balanceOf', [hex(ALICE), d2], { from: STRANGER })).toBe(3n)
    expect((await readRewards(w.h.state, CAROL)).datanets).toEqual([
      { datanetId: d2, version: 1n, tokenId: t2, shares: 2n, pending: 0n, pendingScaled: 0n },
    ])
  })

  it('mints the shares of the version that will first hold a contribution', async () => {
    const w = new World()
    const d = await w.createDatanet()
    const a = await w.contribute(d, ALICE, 'a')
    await w.approve(d, a, 10n)
    await w.publish(d)
    const b = await w.contribute(d, ALICE, 'b')
    await w.approve(d, b, 30n)
    const res = await w.raw('datanets', 'approveContribution', [d, await w.contribute(d, BOB, 'c'), 5n], {
      from: CURATOR,
    })
    const { decodeEventLog } = await import('viem')
    const mint = res.logs
      .map((l) =>
        decodeEventLog({
          abi: datanetsAbi,
          topics: l.topics.map((t) => toHex(t)) as [`0x${string}`, ...`0x${string}`[]],
          data: toHex(l.data),
        }),
      )
      .find((e) => e.eventName === 'TransferSingle')
    expect(mint?.args).toMatchObject({ id: shareTokenId(d, 2n), value: 5n, to: hex(BOB) })
    await w.publish(d)
    expect(await w.ok('datanets', 'heldShareTokens', [hex(ALICE)], { from: STRANGER })).toEqual([
      shareTokenId(d, 1n),
      shareTokenId(d, 2n),
    ])
    expect(await w.ok('datanets', 'totalSupply', [shareTokenId(d, 1n)], { from: STRANGER })).toBe(10n)
    expect(await w.ok('datanets', 'totalSupply', [shareTokenId(d, 2n)], { from: STRANGER })).toBe(35n)
    expect(await w.ok('datanets', 'totalSupply', [d], { from: STRANGER })).toBe(45n)
    expect(
      await w.ok<{ totalWeight: bigint }>('datanets', 'getVersionDetails', [d, 1n], { from: STRANGER }),
    ).toMatchObject({ totalWeight: 10n, count: 1n })
    expect(
      await w.ok<{ totalWeight: bigint }>('datanets', 'getVersionDetails', [d, 2n], { from: STRANGER }),
    ).toMatchObject({ totalWeight: 45n, count: 3n })
  })
})
