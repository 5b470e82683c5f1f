/**
 * Read API over a read-only ModuleState: the same decoded records the modules' view functions
 * return (field names as in the Solidity structs; bytes and addresses as 0x hex, integers as
 * bigint). Used by the module views (metered) and by the ol_* JSON-RPC methods (unmetered).
 * Long file: one decoded view per record kind, mirroring the interfaces' view functions one to one.
 */

import type { ModuleState } from '@openledger/module-kit'
import { fromHex, keccak, type StorageReader, stateReader, toHex, u256 } from '@openledger/module-kit'
import { decodeFunctionData } from 'viem/utils'
import { datanetsAbi } from '../sol/abi.ts'
import {
  ATTRIBUTION_ADDRESS,
  allowListSlot,
  arrayElementSlot,
  CONTRIBUTION_FIELDS,
  contributionSlot,
  curatorSlot,
  DATANET_FIELDS,
  DATANETS_ADDRESS,
  DATANETS_SLOTS,
  datanetSlot,
  MODEL_FIELDS,
  MODEL_VERSION_FIELDS,
  MODELS_ADDRESS,
  MODELS_SLOTS,
  modelSlot,
  modelVersionSlot,
  operatorApprovalSlot,
  readString,
  shareBalanceSlot,
  splitShareTokenId,
  trainedOnSlot,
  usedNonceSlot,
} from './layout.ts'
import { loadParams } from './param-store.ts'
import type { ModuleParams } from './params.ts'
import { poolCarry, REWARD_SCALE_BITS } from './pools.ts'
import {
  type DatanetTerms,
  loadApprovalEntry,
  loadContributionCore,
  loadDatanet,
  loadDatanetTerms,
  loadModel,
  loadModelVersionHashes,
  loadReceipt,
  loadVersion,
  loadVersionTotals,
} from './records.ts'
import { heldList, pendingReward, readAccrued, readU, tokenIndex } from './rewards.ts'

export type Hex = `0x${string}`

export interface DatanetInfo {
  id: bigint
  owner: Hex
  open: boolean
  name: string
  metadataURI: string
  contributionCount: bigint
  approvedCount: bigint
  versionCount: bigint
  createdAtBlock: bigint
  totalShares: bigint
}

export interface ContributionInfo {
  datanetId: bigint
  contributionId: bigint
  contributor: Hex
  contentHash: Hex
  size: bigint
  metadataURI: string
  inlined: boolean
  /** 1 pending, 2 approved, 3 rejected. */
  status: number
  weight: bigint
  approvalIndex: bigint
  submittedAtBlock: bigint
}

export interface VersionInfo {
  datanetId: bigint
  version: bigint
  root: Hex
  count: bigint
  publishedAtBlock: bigint
}

export interface VersionDetails extends VersionInfo {
  /** Weight of all the contributions in the version: the supply its pro-rata payments divide by. */
  totalWeight: bigint
  /** Bytes of content of all its contributions. */
  contentBytes: bigint
  /** Every contribution it holds is inline UTF-8 text: the chain can re-run attribution over it. */
  recomputable: boolean
}

export interface DatanetRef {
  datanetId: bigint
  version: bigint
}

export interface ModelInfo {
  id: bigint
  owner: Hex
  name: string
  baseModel: string
  parentId: bigint
  depth: number
  provider: Hex
  minFeePerInference: bigint
  ownerShareBps: number
  versionCount: number
  createdAtBlock: bigint
}

export interface ModelVersionInfo {
  modelId: bigint
  version: number
  trainingConfigHash: Hex
  trainingLogHash: Hex
  artifactHash: Hex
  artifactURI: string
  datanets: DatanetRef[]
  publishedAtBlock: bigint
}

export interface ReceiptInfo {
  receiptId: Hex
  modelId: bigint
  modelVersion: number
  payer: Hex
  fee: bigint
  inputHash: Hex
  outputHash: Hex
  attributionCommitment: Hex
  nonce: bigint
  settledAtBlock: bigint
}

export interface RewardsInfo {
  account: Hex
  /** Settled whole wei, claimable now. */
  accrued: bigint
  /** Per held share token: its datanet and version, the shares, and the reward not yet moved into
   * accrued, in whole wei rounded down (`pendingScaled`: exact, ×2^-64 wei). */
  datanets: {
    datanetId: bigint
    version: bigint
    tokenId: bigint
    shares: bigint
    pending: bigint
    pendingScaled: bigint
  }[]
  /** What claim() would pay: accrued + ⌊(remainder + Σ pendingScaled) / 2^64⌋. */
  claimable: bigint
  /** Sub-wei part of the account's balance not yet a whole wei, ×2^-64 wei (after claimable). */
  remainder: bigint
}

export type Readable = StorageReader | Pick<ModuleState, 'getStorage'>
export function reader(s: Readable): StorageReader {
  return 'read' in s ? s : stateReader(s)
}

export async function readDatanetCount(s: Readable): Promise<bigint> {
  return readU(reader(s), DATANETS_ADDRESS, u256(DATANETS_SLOTS.datanetCount))
}

export async function readDatanet(s: Readable, id: bigint): Promise<DatanetInfo | undefined> {
  const r = reader(s)
  const d = await loadDatanet(r, id)
  if (d === undefined) return undefined
  return {
    id,
    owner: toHex(d.owner),
    open: d.open,
    name: await readString(r, DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.name)),
    metadataURI: await readString(r, DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.metadataURI)),
    contributionCount: d.contributionCount,
    approvedCount: d.approvedCount,
    versionCount: d.versionCount,
    createdAtBlock: d.createdAtBlock,
    totalShares: d.totalShares,
  }
}

/** Datanets with ids offset+1 … offset+limit that exist (ids are dense, from 1). */
export async function listDatanets(s: Readable, offset: bigint, limit: number): Promise<DatanetInfo[]> {
  if (offset < 0n || !Number.isInteger(limit) || limit < 0)
    throw new RangeError('offset must be ≥ 0, limit an integer ≥ 0')
  const count = await readDatanetCount(s)
  const out: DatanetInfo[] = []
  for (let id = offset + 1n; id <= count && out.length < limit; id++) {
    const d = await readDatanet(s, id)
    if (d !== undefined) out.push(d)
  }
  return out
}

export async function readContribution(
  s: Readable,
  datanetId: bigint,
  contributionId: bigint,
): Promise<ContributionInfo | undefined> {
  const r = reader(s)
  const c = await loadContributionCore(r, datanetId, contributionId)
  if (c === undefined) return undefined
  return {
    datanetId,
    contributionId,
    contributor: toHex(c.contributor),
    contentHash: toHex(
      await r.read(
        DATANETS_ADDRESS,
        contributionSlot(datanetId, contributionId, CONTRIBUTION_FIELDS.contentHash),
      ),
    ),
    size: c.size,
    metadataURI: await readString(
      r,
      DATANETS_ADDRESS,
      contributionSlot(datanetId, contributionId, CONTRIBUTION_FIELDS.metadataURI),
    ),
    inlined: c.inlined,
    status: c.status,
    weight: c.weight,
    approvalIndex: c.approvalIndex,
    submittedAtBlock: c.submittedAtBlock,
  }
}

export async function readDatanetVersion(
  s: Readable,
  datanetId: bigint,
  version: bigint,
): Promise<VersionInfo | undefined> {
  const v = await loadVersion(reader(s), datanetId, version)
  if (v === undefined) return undefined
  return { datanetId, version, root: toHex(v.root), count: v.count, publishedAtBlock: v.publishedAtBlock }
}

export async function readVersionDetails(
  s: Readable,
  datanetId: bigint,
  version: bigint,
): Promise<VersionDetails | undefined> {
  const v = await loadVersion(reader(s), datanetId, version)
  if (v === undefined) return undefined
  return {
    datanetId,
    version,
    root: toHex(v.root),
    count: v.count,
    publishedAtBlock: v.publishedAtBlock,
    totalWeight: v.totalWeight,
    contentBytes: v.contentBytes,
    recomputable: v.recomputable,
  }
}

/** ERC-1155 total supply: of a share token (the weight its version added), or of a bare datanet id
 * (all versions, including contributions approved since the last version). */
export async function readShareSupply(s: Readable, id: bigint): Promise<bigint> {
  const r = reader(s)
  const { datanetId, version } = splitShareTokenId(id)
  const d = await loadDatanet(r, datanetId)
  if (d === undefined) return 0n
  if (version === 0n) return d.totalShares
  if (version > d.versionCount + 1n) return 0n
  const upTo =
    version > d.versionCount ? d.totalShares : (await loadVersionTotals(r, datanetId, version)).totalWeight
  const before = version === 1n ? 0n : (await loadVersionTotals(r, datanetId, version - 1n)).totalWeight
  return upTo - before
}

/** Contribution id approved at position `approvalIndex` (0-based), or undefined. */
export async function readApprovedContributionAt(
  s: Readable,
  datanetId: bigint,
  approvalIndex: bigint,
): Promise<bigint | undefined> {
  const e = await loadApprovalEntry(reader(s), datanetId, approvalIndex)
  return e?.contributionId
}

export async function readIsCurator(s: Readable, datanetId: bigint, account: Uint8Array): Promise<boolean> {
  return (await readU(reader(s), DATANETS_ADDRESS, curatorSlot(datanetId, account))) !== 0n
}

export async function readIsAllowListed(
  s: Readable,
  datanetId: bigint,
  account: Uint8Array,
): Promise<boolean> {
  return (await readU(reader(s), DATANETS_ADDRESS, allowListSlot(datanetId, account))) !== 0n
}

export async function readShareBalance(s: Readable, datanetId: bigint, account: Uint8Array): Promise<bigint> {
  return readU(reader(s), DATANETS_ADDRESS, shareBalanceSlot(datanetId, account))
}

export async function readIsApprovedForAll(
  s: Readable,
  account: Uint8Array,
  operator: Uint8Array,
): Promise<boolean> {
  return (await readU(reader(s), DATANETS_ADDRESS, operatorApprovalSlot(account, operator))) !== 0n
}

/** Distinct datanets of the share tokens the account holds, in `held` order. */
export async function readHeldDatanets(s: Readable, account: Uint8Array): Promise<bigint[]> {
  const ids = (await heldList(reader(s), account)).map((id) => splitShareTokenId(id).datanetId)
  return [...new Set(ids)]
}

export async function readHeldShareTokens(s: Readable, account: Uint8Array): Promise<bigint[]> {
  return heldList(reader(s), account)
}

export async function readModelCount(s: Readable): Promise<bigint> {
  return readU(reader(s), MODELS_ADDRESS, u256(MODELS_SLOTS.modelCount))
}

export async function readModel(s: Readable, id: bigint): Promise<ModelInfo | undefined> {
  const r = reader(s)
  const m = await loadModel(r, id)
  if (m === undefined) return undefined
  return {
    id,
    owner: toHex(m.owner),
    name: await readString(r, MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.name)),
    baseModel: await readString(r, MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.baseModel)),
    parentId: m.parentId,
    depth: m.depth,
    provider: toHex(m.provider),
    minFeePerInference: m.minFee,
    ownerShareBps: m.ownerShareBps,
    versionCount: Number(m.versionCount),
    createdAtBlock: m.createdAtBlock,
  }
}

export async function listModels(s: Readable, offset: bigint, limit: number): Promise<ModelInfo[]> {
  if (offset < 0n || !Number.isInteger(limit) || limit < 0)
    throw new RangeError('offset must be ≥ 0, limit an integer ≥ 0')
  const count = await readModelCount(s)
  const out: ModelInfo[] = []
  for (let id = offset + 1n; id <= count && out.length < limit; id++) {
    const m = await readModel(s, id)
    if (m !== undefined) out.push(m)
  }
  return out
}

export async function readModelVersion(
  s: Readable,
  modelId: bigint,
  version: number,
): Promise<ModelVersionInfo | undefined> {
  const r = reader(s)
  const m = await loadModel(r, modelId)
  if (m === undefined || version < 1 || BigInt(version) > m.versionCount) return undefined
  const v = BigInt(version)
  const h = await loadModelVersionHashes(r, modelId, v)
  const listSlot = modelVersionSlot(modelId, v, MODEL_VERSION_FIELDS.datanets)
  const len = await readU(r, MODELS_ADDRESS, listSlot)
  const datanets: DatanetRef[] = []
  for (let i = 0n; i < len; i++) {
    datanets.push({
      datanetId: await readU(r, MODELS_ADDRESS, arrayElementSlot(listSlot, i, 2n)),
      version: await readU(r, MODELS_ADDRESS, arrayElementSlot(listSlot, i * 2n + 1n)),
    })
  }
  return {
    modelId,
    version,
    trainingConfigHash: toHex(h.trainingConfigHash),
    trainingLogHash: toHex(h.trainingLogHash),
    artifactHash: toHex(h.artifactHash),
    artifactURI: await readString(
      r,
      MODELS_ADDRESS,
      modelVersionSlot(modelId, v, MODEL_VERSION_FIELDS.artifactURI),
    ),
    datanets,
    publishedAtBlock: h.publishedAtBlock,
  }
}

export async function readIsTrainedOn(
  s: Readable,
  modelId: bigint,
  modelVersion: bigint,
  datanetId: bigint,
  datanetVersion: bigint,
): Promise<boolean> {
  return (
    (await readU(
      reader(s),
      MODELS_ADDRESS,
      trainedOnSlot(modelId, modelVersion, datanetId, datanetVersion),
    )) !== 0n
  )
}

export async function readReceipt(s: Readable, receiptId: Uint8Array): Promise<ReceiptInfo | undefined> {
  const rec = await loadReceipt(reader(s), receiptId)
  if (rec === undefined) return undefined
  return {
    receiptId: toHex(receiptId),
    modelId: rec.modelId,
    modelVersion: rec.modelVersion,
    payer: toHex(rec.payer),
    fee: rec.fee,
    inputHash: toHex(rec.inputHash),
    outputHash: toHex(rec.outputHash),
    attributionCommitment: toHex(rec.attributionCommitment),
    nonce: rec.nonce,
    settledAtBlock: rec.settledAtBlock,
  }
}

export async function readIsNonceUsed(s: Readable, modelId: bigint, nonce: bigint): Promise<boolean> {
  return (await readU(reader(s), ATTRIBUTION_ADDRESS, usedNonceSlot(modelId, nonce))) !== 0n
}

/** Reward index (×2^64 wei per share) of a share token; a bare datanet id means its version 1. */
export async function readRewardIndex(s: Readable, id: bigint): Promise<bigint> {
  const { datanetId, version } = splitShareTokenId(id)
  return tokenIndex(reader(s), version === 0n ? (1n << 128n) | datanetId : id)
}

/** What the pool of a datanet version holds but has not yet credited per share, ×2^-64 wei. */
export async function readPoolCarry(s: Readable, datanetId: bigint, version: bigint): Promise<bigint> {
  return poolCarry(reader(s), datanetId, version)
}

/** Cumulative whole wei per share of a share token (see readRewardIndex). */
export async function readRewardPerShare(s: Readable, id: bigint): Promise<bigint> {
  return (await readRewardIndex(s, id)) >> REWARD_SCALE_BITS
}

export async function readRewards(s: Readable, account: Uint8Array): Promise<RewardsInfo> {
  const r = reader(s)
  const { wei, remainder } = await readAccrued(r, account)
  const datanets: RewardsInfo['datanets'] = []
  let scaled = remainder
  for (const tokenId of await heldList(r, account)) {
    const { datanetId, version } = splitShareTokenId(tokenId)
    const shares = await readU(r, DATANETS_ADDRESS, shareBalanceSlot(tokenId, account))
    const pendingScaled = await pendingReward(r, tokenId, account)
    datanets.push({
      datanetId,
      version,
      tokenId,
      shares,
      pending: pendingScaled >> REWARD_SCALE_BITS,
      pendingScaled,
    })
    scaled += pendingScaled
  }
  return {
    account: toHex(account),
    accrued: wei,
    datanets,
    claimable: wei + (scaled >> REWARD_SCALE_BITS),
    remainder: scaled & ((1n << REWARD_SCALE_BITS) - 1n),
  }
}

/**
 * Inline content of a contribution from the calldata of the transaction (or internal call) that
 * submitted it: decodes `contribute(...)` calldata and checks the content against its hash.
 * Returns undefined for other calldata or a by-hash contribution.
 */
export function extractInlineContent(
  calldata: Uint8Array,
): { datanetId: bigint; contentHash: Hex; content: Uint8Array } | undefined {
  let decoded: { functionName: string; args?: readonly unknown[] }
  try {
    decoded = decodeFunctionData({ abi: datanetsAbi, data: toHex(calldata) })
  } catch {
    return undefined
  }
  if (decoded.functionName !== 'contribute' || decoded.args === undefined) return undefined
  const [datanetId, contentHash, , , content] = decoded.args as [bigint, Hex, bigint, string, Hex]
  const bytes = fromHex(content)
  if (bytes.length === 0 || toHex(keccak(bytes)) !== contentHash.toLowerCase()) return undefined
  return { datanetId, contentHash, content: bytes }
}

/** The parameters in force: genesis values overridden by what Governance set. */
export async function readParameters(s: Readable, genesis: ModuleParams): Promise<ModuleParams> {
  return loadParams(reader(s), genesis)
}

/** Curation and licence terms of a datanet (undefined if it does not exist). */
export async function readDatanetTerms(s: Readable, datanetId: bigint): Promise<DatanetTerms | undefined> {
  const r = reader(s)
  if ((await loadDatanet(r, datanetId)) === undefined) return undefined
  return loadDatanetTerms(r, datanetId)
}

export interface ModelTermsInfo {
  derivativesAllowed: boolean
  /** What a derivative registered now would pay this model's owner (bps of its owner part). */
  derivativeRoyaltyBps: number
  /** What this model pays its parent's owner (bps of its owner part; 0 for an original model). */
  parentRoyaltyBps: number
}

export async function readModelTerms(
  s: Readable,
  genesis: ModuleParams,
  modelId: bigint,
): Promise<ModelTermsInfo | undefined> {
  const r = reader(s)
  const m = await loadModel(r, modelId)
  if (m === undefined) return undefined
  const params = await loadParams(r, genesis)
  return {
    derivativesAllowed: m.derivativesAllowed,
    derivativeRoyaltyBps: m.derivativeTermsSet ? m.derivativeRoyaltyBps : params.parentRoyaltyBps,
    parentRoyaltyBps: m.parentRoyaltyBps,
  }
}
