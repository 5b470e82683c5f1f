/**
 * Curation of the Datanets module: approval votes (k of the datanet's curators, never the
 * contributor itself), revocation until publication, rejection, and publishing a version.
 *
 * A contribution is approved by the vote that brings its votes to the datanet's requirement: it
 * then takes the next approval index, its Merkle leaf is stored, and its weight in shares of the
 * next version is minted to its contributor (locked until that version is published). Until the
 * version is published a vote may be withdrawn; below the requirement the contribution is pending
 * again, the last staged contribution takes its approval index (staged indices are provisional)
 * and its shares are burnt. Publishing hashes the staged leaves into the datanet's incremental
 * tree (deposit-contract algorithm, merkle.ts) — O(contributions added), bounded by
 * `maxVersionBatch` — and checks the governed weight cap against the version's total weight.
 */
import type { CallEnv, Handler } from '@openledger/module-kit'
import { equalBytes, toHex, u256, ZERO_ADDRESS } from '@openledger/module-kit'
import { addr, bool, requireCurator, requireDatanet, requireOwner, t } from './datanets-common.ts'
import {
  approvalOrderSlot,
  approvalVoteSlot,
  CONTRIBUTION_FIELDS,
  contributionSlot,
  DATANETS_ADDRESS,
  leafHashSlot,
  modelOwnerAllowedSlot,
  shareTokenId,
} from './layout.ts'
import { branchRoot, contributionLeaf, insertLeaf } from './merkle.ts'
import { CURATION_WORDS, loadParams } from './param-store.ts'
import { BPS_DENOMINATOR, type ModuleParams } from './params.ts'
import { addTreeNode } from './pools.ts'
import {
  approvalEntryWord,
  ContributionStatus,
  type DatanetHeader,
  loadApprovalEntry,
  loadContributionCore,
  loadDatanetTerms,
  loadVersion,
  loadVersionCount,
  storeContributionCore,
  storeDatanet,
  storeDatanetTerms,
  storeVersion,
} from './records.ts'
import { burnShares, mintShares, readU } from './rewards.ts'

export const CURATION_LIMITS = {
  maxWeight: 1_000_000n,
  maxRequiredApprovals: 16,
} as const

/** Contributions approved before the datanet's last published version (0 if none). */
async function publishedCount(env: CallEnv, id: bigint, d: DatanetHeader): Promise<bigint> {
  return d.versionCount === 0n ? 0n : loadVersionCount(env.x, id, d.versionCount)
}

async function approve(env: CallEnv, genesis: ModuleParams, id: bigint, cid: bigint, weight: bigint) {
  if (weight === 0n || weight > CURATION_LIMITS.maxWeight)
    t.fail('InvalidWeight', weight, CURATION_LIMITS.maxWeight)
  const { x } = env
  const d = await requireDatanet(env, id)
  await requireCurator(env, id, d)
  const c = await loadContributionCore(x, id, cid)
  if (c === undefined) return t.fail('ContributionNotFound', id, cid)
  if (c.status !== ContributionStatus.Pending) t.fail('ContributionNotPending', id, cid, c.status)
  if (equalBytes(c.contributor, env.caller)) t.fail('SelfApproval', id, cid)
  const voteSlot = approvalVoteSlot(id, cid, env.caller)
  if ((await readU(x, DATANETS_ADDRESS, voteSlot)) !== 0n)
    t.fail('AlreadyApproved', id, cid, toHex(env.caller))
  if (c.approvals > 0 && c.weight !== weight) t.fail('WeightMismatch', id, cid, c.weight, weight)
  const approvals = c.approvals + 1
  x.write(DATANETS_ADDRESS, voteSlot, u256(weight))
  x.emit(
    t.log('ApprovalVoted', {
      datanetId: id,
      contributionId: cid,
      curator: toHex(env.caller),
      weight,
      approvals,
    }),
  )
  const terms = await loadDatanetTerms(x, id)
  if (approvals < terms.requiredApprovals) {
    storeContributionCore(x, id, cid, { ...c, approvals, weight })
    return
  }
  const params = await loadParams(x, genesis, CURATION_WORDS)
  const approvalIndex = d.approvedCount
  const staged = approvalIndex - (await publishedCount(env, id, d))
  if (staged >= BigInt(params.maxVersionBatch)) t.fail('VersionBatchFull', id, BigInt(params.maxVersionBatch))
  const contentHash = await x.read(
    DATANETS_ADDRESS,
    contributionSlot(id, cid, CONTRIBUTION_FIELDS.contentHash),
  )
  x.write(
    DATANETS_ADDRESS,
    leafHashSlot(id, approvalIndex),
    contributionLeaf({
      datanetId: id,
      contributionId: cid,
      contributor: c.contributor,
      contentHash,
      size: c.size,
      weight,
    }),
  )
  x.write(
    DATANETS_ADDRESS,
    approvalOrderSlot(id, approvalIndex),
    approvalEntryWord({
      contributionId: cid,
      weight,
      size: c.size,
      inlined: c.inlined,
      text: c.text,
      submittedAtBlock: c.submittedAtBlock,
    }),
  )
  storeContributionCore(x, id, cid, {
    ...c,
    approvals,
    status: ContributionStatus.Approved,
    weight,
    approvalIndex,
  })
  storeDatanet(x, id, { ...d, approvedCount: approvalIndex + 1n, totalShares: d.totalShares + weight })
  // Shares of the version that will first hold this contribution.
  const tokenId = shareTokenId(id, d.versionCount + 1n)
  await mintShares(x, tokenId, c.contributor, weight)
  x.emit(
    t.log('ContributionApproved', {
      datanetId: id,
      contributionId: cid,
      curator: toHex(env.caller),
      weight,
      approvalIndex,
    }),
  )
  x.emit(
    t.log('TransferSingle', {
      operator: toHex(env.caller),
      from: toHex(ZERO_ADDRESS),
      to: toHex(c.contributor),
      id: tokenId,
      value: weight,
    }),
  )
}

async function revoke(env: CallEnv, id: bigint, cid: bigint) {
  const { x } = env
  const d = await requireDatanet(env, id)
  const voteSlot = approvalVoteSlot(id, cid, env.caller)
  if ((await readU(x, DATANETS_ADDRESS, voteSlot)) === 0n) t.fail('NotApproved', id, cid, toHex(env.caller))
  const c = await loadContributionCore(x, id, cid)
  if (c === undefined) return t.fail('ContributionNotFound', id, cid)
  const published = await publishedCount(env, id, d)
  if (c.status === ContributionStatus.Approved && c.approvalIndex < published)
    t.fail('AlreadyPublished', id, cid)
  x.write(DATANETS_ADDRESS, voteSlot, u256(0n))
  const approvals = c.approvals - 1
  const terms = await loadDatanetTerms(x, id)
  if (c.status === ContributionStatus.Approved && approvals < terms.requiredApprovals) {
    // Un-approve: the last staged contribution takes this one's index; shares are burnt.
    const last = d.approvedCount - 1n
    if (c.approvalIndex !== last) {
      const moved = await loadApprovalEntry(x, id, last)
      if (moved === undefined) throw new Error(`approval order of datanet ${id} has no entry ${last}`)
      x.write(DATANETS_ADDRESS, approvalOrderSlot(id, c.approvalIndex), approvalEntryWord(moved))
      x.write(
        DATANETS_ADDRESS,
        leafHashSlot(id, c.approvalIndex),
        await x.read(DATANETS_ADDRESS, leafHashSlot(id, last)),
      )
      const mc = await loadContributionCore(x, id, moved.contributionId)
      if (mc === undefined) throw new Error(`approved contribution ${moved.contributionId} has no record`)
      storeContributionCore(x, id, moved.contributionId, { ...mc, approvalIndex: c.approvalIndex })
    }
    x.write(DATANETS_ADDRESS, approvalOrderSlot(id, last), u256(0n))
    x.write(DATANETS_ADDRESS, leafHashSlot(id, last), u256(0n))
    storeDatanet(x, id, { ...d, approvedCount: last, totalShares: d.totalShares - c.weight })
    const tokenId = shareTokenId(id, d.versionCount + 1n)
    await burnShares(x, tokenId, c.contributor, c.weight)
    x.emit(
      t.log('TransferSingle', {
        operator: toHex(env.caller),
        from: toHex(c.contributor),
        to: toHex(ZERO_ADDRESS),
        id: tokenId,
        value: c.weight,
      }),
    )
    storeContributionCore(x, id, cid, {
      ...c,
      status: ContributionStatus.Pending,
      approvals,
      approvalIndex: 0n,
      weight: approvals === 0 ? 0n : c.weight,
    })
  } else {
    const pendingWithout = c.status === ContributionStatus.Pending && approvals === 0
    storeContributionCore(x, id, cid, { ...c, approvals, weight: pendingWithout ? 0n : c.weight })
  }
  x.emit(
    t.log('ApprovalRevoked', { datanetId: id, contributionId: cid, curator: toHex(env.caller), approvals }),
  )
}

async function publish(env: CallEnv, genesis: ModuleParams, id: bigint) {
  const { x, ctx } = env
  const d = await requireDatanet(env, id)
  await requireCurator(env, id, d)
  const previous = await publishedCount(env, id, d)
  if (d.approvedCount === previous) t.fail('NothingToPublish', id, d.approvedCount)
  const params = await loadParams(x, genesis, CURATION_WORDS)
  const before = d.versionCount === 0n ? undefined : await loadVersion(x, id, d.versionCount)
  let contentBytes = before?.contentBytes ?? 0n
  let recomputable = before?.recomputable ?? true
  let heaviest = { contributionId: 0n, weight: 0n }
  for (let i = previous; i < d.approvedCount; i++) {
    const e = await loadApprovalEntry(x, id, i)
    if (e === undefined) throw new Error(`approval order of datanet ${id} has no entry ${i}`)
    if (e.weight > heaviest.weight) heaviest = e
    contentBytes += e.size
    recomputable &&= e.inlined && e.text
    await insertLeaf(x, id, i, await x.read(DATANETS_ADDRESS, leafHashSlot(id, i)))
  }
  // No contribution the version adds may weigh more than the governed share of its total.
  const cap = BigInt(params.maxWeightShareBps)
  if (heaviest.weight * BigInt(BPS_DENOMINATOR) > cap * d.totalShares) {
    t.fail(
      'WeightCapExceeded',
      id,
      heaviest.contributionId,
      heaviest.weight,
      (cap * d.totalShares) / BigInt(BPS_DENOMINATOR),
    )
  }
  const root = await branchRoot(x, id, d.approvedCount)
  const version = d.versionCount + 1n
  storeVersion(x, id, version, {
    root,
    count: d.approvedCount,
    publishedAtBlock: ctx.block.number,
    totalWeight: d.totalShares,
    contentBytes,
    recomputable,
  })
  storeDatanet(x, id, { ...d, versionCount: version })
  await addTreeNode(x, id, version)
  x.emit(t.log('VersionPublished', { datanetId: id, version, root: toHex(root), count: d.approvedCount }))
  return [version, toHex(root), d.approvedCount]
}

/** The curation and licence handlers of the Datanets module. */
export function curationHandlers(genesis: ModuleParams): Record<string, Handler> {
  return {
    approveContribution: {
      mutating: true,
      async run(env, args) {
        const [id, cid, weight] = args as [bigint, bigint, bigint]
        await approve(env, genesis, id, cid, weight)
      },
    },
    revokeApproval: {
      mutating: true,
      async run(env, args) {
        const [id, cid] = args as [bigint, bigint]
        await revoke(env, id, cid)
      },
    },
    rejectContribution: {
      mutating: true,
      async run(env, args) {
        const [id, cid] = args as [bigint, bigint]
        const d = await requireDatanet(env, id)
        await requireCurator(env, id, d)
        const c = await loadContributionCore(env.x, id, cid)
        if (c === undefined) return t.fail('ContributionNotFound', id, cid)
        if (c.status !== ContributionStatus.Pending) t.fail('ContributionNotPending', id, cid, c.status)
        storeContributionCore(env.x, id, cid, { ...c, status: ContributionStatus.Rejected })
        env.x.emit(
          t.log('ContributionRejected', { datanetId: id, contributionId: cid, curator: toHex(env.caller) }),
        )
      },
    },
    publishVersion: {
      mutating: true,
      async run(env, args) {
        return publish(env, genesis, args[0] as bigint)
      },
    },
    setRequiredApprovals: {
      mutating: true,
      async run(env, args) {
        const [id, required] = args as [bigint, number]
        if (required < 1 || required > CURATION_LIMITS.maxRequiredApprovals)
          t.fail('InvalidRequiredApprovals', required)
        const d = await requireDatanet(env, id)
        requireOwner(env, id, d)
        storeDatanetTerms(env.x, id, { ...(await loadDatanetTerms(env.x, id)), requiredApprovals: required })
        env.x.emit(t.log('RequiredApprovalsSet', { datanetId: id, requiredApprovals: required }))
      },
    },
    setLicence: {
      mutating: true,
      async run(env, args) {
        const [id, mode, minBps] = args as [bigint, number, number]
        if (mode > 1 || minBps > BPS_DENOMINATOR) t.fail('InvalidLicence', mode, minBps)
        const d = await requireDatanet(env, id)
        requireOwner(env, id, d)
        const terms = await loadDatanetTerms(env.x, id)
        storeDatanetTerms(env.x, id, { ...terms, licenceMode: mode, minContributorsBps: minBps })
        env.x.emit(t.log('LicenceSet', { datanetId: id, licenceMode: mode, minContributorsBps: minBps }))
      },
    },
    setContentPolicy: {
      mutating: true,
      async run(env, args) {
        const [id, inlineTextOnly] = args as [bigint, boolean]
        const d = await requireDatanet(env, id)
        requireOwner(env, id, d)
        storeDatanetTerms(env.x, id, { ...(await loadDatanetTerms(env.x, id)), inlineTextOnly })
        env.x.emit(t.log('ContentPolicySet', { datanetId: id, inlineTextOnly }))
      },
    },
    setModelOwnerAllowed: {
      mutating: true,
      async run(env, args) {
        const [id, accountHex, allowed] = args as [bigint, string, boolean]
        const account = addr(accountHex)
        if (equalBytes(account, ZERO_ADDRESS)) t.fail('ZeroAddress')
        const d = await requireDatanet(env, id)
        requireOwner(env, id, d)
        env.x.write(DATANETS_ADDRESS, modelOwnerAllowedSlot(id, account), bool(allowed))
        env.x.emit(t.log('ModelOwnerAllowed', { datanetId: id, modelOwner: toHex(account), allowed }))
      },
    },
    getDatanetTerms: {
      mutating: false,
      async run(env, args) {
        const [id] = args as [bigint]
        await requireDatanet(env, id)
        return loadDatanetTerms(env.x, id)
      },
    },
    isModelOwnerAllowed: {
      mutating: false,
      async run(env, args) {
        const [id, account] = args as [bigint, string]
        return (await readU(env.x, DATANETS_ADDRESS, modelOwnerAllowedSlot(id, addr(account)))) !== 0n
      },
    },
    getApprovals: {
      mutating: false,
      async run(env, args) {
        const [id, cid, curator] = args as [bigint, bigint, string]
        const c = await loadContributionCore(env.x, id, cid)
        if (c === undefined) return t.fail('ContributionNotFound', id, cid)
        const vote = await readU(env.x, DATANETS_ADDRESS, approvalVoteSlot(id, cid, addr(curator)))
        return [c.approvals, c.weight, vote]
      },
    },
  }
}
