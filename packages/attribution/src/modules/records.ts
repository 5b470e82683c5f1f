/**
 * Typed records over the storage layout (layout.ts), shared by the modules and the read API.
 * Long file: one typed record codec per struct of the storage layout, all over the same slot helpers.
 */

import type { StorageReader, StorageWriter } from '@openledger/module-kit'
import { addressFromWord, addressToBigInt, field, isZero, pack, toBigInt, u256 } from '@openledger/module-kit'
import {
  ATTRIBUTION_ADDRESS,
  addSlot,
  approvalOrderSlot,
  CONTRIBUTION_FIELDS,
  contributionSlot,
  DATANET_FIELDS,
  DATANETS_ADDRESS,
  datanetSlot,
  MODEL_FIELDS,
  MODEL_VERSION_FIELDS,
  MODELS_ADDRESS,
  modelSlot,
  modelVersionSlot,
  providerBondSlot,
  RECEIPT_FIELDS,
  receiptSlot,
  versionSlot,
} from './layout.ts'

export const ContributionStatus = { None: 0, Pending: 1, Approved: 2, Rejected: 3 } as const

export interface DatanetHeader {
  owner: Uint8Array
  open: boolean
  contributionCount: bigint
  approvedCount: bigint
  versionCount: bigint
  createdAtBlock: bigint
  totalShares: bigint
}

export async function loadDatanet(r: StorageReader, id: bigint): Promise<DatanetHeader | undefined> {
  const w0 = toBigInt(await r.read(DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.ownerOpen)))
  if (w0 === 0n) return undefined // owners are never the zero address
  const w1 = toBigInt(await r.read(DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.counters)))
  const totalShares = toBigInt(await r.read(DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.totalShares)))
  return {
    owner: addressFromWord(w0),
    open: field(w0, 160, 8) === 1n,
    contributionCount: field(w1, 0, 64),
    approvedCount: field(w1, 64, 64),
    versionCount: field(w1, 128, 64),
    createdAtBlock: field(w1, 192, 64),
    totalShares,
  }
}

/** `fresh`: the datanet was just allocated (id = count + 1), so its slots are all still zero. */
export function storeDatanet(w: StorageWriter, id: bigint, d: DatanetHeader, fresh = false): void {
  const put = fresh ? w.writeFresh.bind(w) : w.write.bind(w)
  put(
    DATANETS_ADDRESS,
    datanetSlot(id, DATANET_FIELDS.ownerOpen),
    u256(pack([addressToBigInt(d.owner), 0, 160], [d.open ? 1n : 0n, 160, 8])),
  )
  put(
    DATANETS_ADDRESS,
    datanetSlot(id, DATANET_FIELDS.counters),
    u256(
      pack(
        [d.contributionCount, 0, 64],
        [d.approvedCount, 64, 64],
        [d.versionCount, 128, 64],
        [d.createdAtBlock, 192, 64],
      ),
    ),
  )
  put(DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.totalShares), u256(d.totalShares))
}

export interface ContributionCore {
  contributor: Uint8Array
  status: number
  inlined: boolean
  /** Approval votes it has (curation.ts). */
  approvals: number
  /** Inline content that is valid UTF-8 (recomputable on chain). */
  text: boolean
  size: bigint
  weight: bigint
  approvalIndex: bigint
  submittedAtBlock: bigint
}

/** Reads the two packed slots (not the content hash or URI). */
export async function loadContributionCore(
  r: StorageReader,
  id: bigint,
  cid: bigint,
): Promise<ContributionCore | undefined> {
  const w0 = toBigInt(
    await r.read(DATANETS_ADDRESS, contributionSlot(id, cid, CONTRIBUTION_FIELDS.contributorStatus)),
  )
  if (w0 === 0n) return undefined
  const w2 = toBigInt(await r.read(DATANETS_ADDRESS, contributionSlot(id, cid, CONTRIBUTION_FIELDS.sizes)))
  return {
    contributor: addressFromWord(w0),
    status: Number(field(w0, 160, 8)),
    inlined: field(w0, 168, 8) === 1n,
    approvals: Number(field(w0, 176, 8)),
    text: field(w0, 184, 8) === 1n,
    size: field(w2, 0, 64),
    weight: field(w2, 64, 64),
    approvalIndex: field(w2, 128, 64),
    submittedAtBlock: field(w2, 192, 64),
  }
}

export function storeContributionCore(w: StorageWriter, id: bigint, cid: bigint, c: ContributionCore): void {
  w.write(
    DATANETS_ADDRESS,
    contributionSlot(id, cid, CONTRIBUTION_FIELDS.contributorStatus),
    u256(
      pack(
        [addressToBigInt(c.contributor), 0, 160],
        [BigInt(c.status), 160, 8],
        [c.inlined ? 1n : 0n, 168, 8],
        [BigInt(c.approvals), 176, 8],
        [c.text ? 1n : 0n, 184, 8],
      ),
    ),
  )
  w.write(
    DATANETS_ADDRESS,
    contributionSlot(id, cid, CONTRIBUTION_FIELDS.sizes),
    u256(
      pack([c.size, 0, 64], [c.weight, 64, 64], [c.approvalIndex, 128, 64], [c.submittedAtBlock, 192, 64]),
    ),
  )
}

/** Curation and licence terms of a datanet (stored minus their defaults, so zero is the default). */
export interface DatanetTerms {
  /** Approval votes a contribution needs (1..16, default 1). */
  requiredApprovals: number
  /** 0: any model owner may train on it; 1: only allow-listed model owners. */
  licenceMode: number
  /** Least share of every fee (bps) a model trained on it must leave its contributors. */
  minContributorsBps: number
  /** Contributions must be inline UTF-8 text (recomputable on chain). */
  inlineTextOnly: boolean
}

export async function loadDatanetTerms(r: StorageReader, id: bigint): Promise<DatanetTerms> {
  const w = toBigInt(await r.read(DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.terms)))
  return {
    requiredApprovals: Number(field(w, 0, 8)) + 1,
    licenceMode: Number(field(w, 8, 8)),
    minContributorsBps: Number(field(w, 16, 16)),
    inlineTextOnly: field(w, 32, 8) === 1n,
  }
}

export function storeDatanetTerms(w: StorageWriter, id: bigint, terms: DatanetTerms): void {
  w.write(
    DATANETS_ADDRESS,
    datanetSlot(id, DATANET_FIELDS.terms),
    u256(
      pack(
        [BigInt(terms.requiredApprovals - 1), 0, 8],
        [BigInt(terms.licenceMode), 8, 8],
        [BigInt(terms.minContributorsBps), 16, 16],
        [terms.inlineTextOnly ? 1n : 0n, 32, 8],
      ),
    ),
  )
}

/** What the approval order keeps per approved contribution (one word, read when publishing). */
export interface ApprovalEntry {
  contributionId: bigint
  weight: bigint
  size: bigint
  inlined: boolean
  /** Inline UTF-8 text. */
  text: boolean
  /** Where its ContributionContent log is (inline contributions). */
  submittedAtBlock: bigint
}

export async function loadApprovalEntry(
  r: StorageReader,
  id: bigint,
  index: bigint,
): Promise<ApprovalEntry | undefined> {
  const w = toBigInt(await r.read(DATANETS_ADDRESS, approvalOrderSlot(id, index)))
  if (w === 0n) return undefined
  return {
    contributionId: field(w, 0, 64),
    weight: field(w, 64, 64),
    size: field(w, 128, 64),
    inlined: field(w, 192, 1) === 1n,
    text: field(w, 193, 1) === 1n,
    submittedAtBlock: field(w, 200, 48),
  }
}

export function approvalEntryWord(e: ApprovalEntry): Uint8Array {
  return u256(
    pack(
      [e.contributionId, 0, 64],
      [e.weight, 64, 64],
      [e.size, 128, 64],
      [e.inlined ? 1n : 0n, 192, 1],
      [e.text ? 1n : 0n, 193, 1],
      [e.submittedAtBlock, 200, 48],
    ),
  )
}

export interface VersionRecord {
  root: Uint8Array
  count: bigint
  publishedAtBlock: bigint
  /** Weight of all the contributions in the version: its pro-rata share supply. */
  totalWeight: bigint
  /** Bytes of content of all its contributions. */
  contentBytes: bigint
  /** Every contribution it holds is inline UTF-8 text. */
  recomputable: boolean
}

export async function loadVersion(
  r: StorageReader,
  id: bigint,
  version: bigint,
): Promise<VersionRecord | undefined> {
  const w1 = toBigInt(await r.read(DATANETS_ADDRESS, versionSlot(id, version, 1n)))
  if (w1 === 0n) return undefined // published versions have count ≥ 1
  const root = await r.read(DATANETS_ADDRESS, versionSlot(id, version, 0n))
  return {
    root,
    count: field(w1, 0, 64),
    publishedAtBlock: field(w1, 64, 64),
    totalWeight: field(w1, 128, 64),
    contentBytes: field(w1, 192, 48),
    recomputable: field(w1, 240, 1) === 1n,
  }
}

export function storeVersion(w: StorageWriter, id: bigint, version: bigint, v: VersionRecord): void {
  w.write(DATANETS_ADDRESS, versionSlot(id, version, 0n), v.root)
  w.write(
    DATANETS_ADDRESS,
    versionSlot(id, version, 1n),
    u256(
      pack(
        [v.count, 0, 64],
        [v.publishedAtBlock, 64, 64],
        [v.totalWeight, 128, 64],
        [v.contentBytes, 192, 48],
        [v.recomputable ? 1n : 0n, 240, 1],
      ),
    ),
  )
}

/** Count and total weight of a version (one read; both 0 for a version that is not published). */
export async function loadVersionTotals(
  r: StorageReader,
  id: bigint,
  version: bigint,
): Promise<{ count: bigint; totalWeight: bigint }> {
  const w1 = toBigInt(await r.read(DATANETS_ADDRESS, versionSlot(id, version, 1n)))
  return { count: field(w1, 0, 64), totalWeight: field(w1, 128, 64) }
}

/** Only the count of a version (one read). */
export async function loadVersionCount(r: StorageReader, id: bigint, version: bigint): Promise<bigint> {
  return (await loadVersionTotals(r, id, version)).count
}

/** The number of published versions of a datanet (one read of its counters word; 0 if none). */
export async function loadVersionCountOf(r: StorageReader, id: bigint): Promise<bigint> {
  return field(toBigInt(await r.read(DATANETS_ADDRESS, datanetSlot(id, DATANET_FIELDS.counters))), 128, 64)
}

export interface ModelHeader {
  owner: Uint8Array
  ownerShareBps: number
  depth: number
  /** Share of this model's owner part paid to its parent's owner (fixed at registration). */
  parentRoyaltyBps: number
  /** Terms for derivatives of this model, once its owner set them. */
  derivativeTermsSet: boolean
  derivativesAllowed: boolean
  derivativeRoyaltyBps: number
  provider: Uint8Array
  minFee: bigint
  parentId: bigint
  versionCount: bigint
  createdAtBlock: bigint
}

export async function loadModel(r: StorageReader, id: bigint): Promise<ModelHeader | undefined> {
  const w0 = toBigInt(await r.read(MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.ownerShareDepth)))
  if (w0 === 0n) return undefined
  const provider = addressFromWord(
    toBigInt(await r.read(MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.provider))),
  )
  const minFee = toBigInt(await r.read(MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.minFee)))
  const parentId = toBigInt(await r.read(MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.parentId)))
  const w4 = toBigInt(await r.read(MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.counters)))
  return {
    owner: addressFromWord(w0),
    ownerShareBps: Number(field(w0, 160, 16)),
    depth: Number(field(w0, 176, 8)),
    parentRoyaltyBps: Number(field(w0, 184, 16)),
    derivativeTermsSet: field(w0, 200, 1) === 1n,
    derivativesAllowed: field(w0, 201, 1) === 1n,
    derivativeRoyaltyBps: Number(field(w0, 208, 16)),
    provider,
    minFee,
    parentId,
    versionCount: field(w4, 0, 32),
    createdAtBlock: field(w4, 32, 64),
  }
}

export function storeModel(w: StorageWriter, id: bigint, m: ModelHeader): void {
  w.write(
    MODELS_ADDRESS,
    modelSlot(id, MODEL_FIELDS.ownerShareDepth),
    u256(
      pack(
        [addressToBigInt(m.owner), 0, 160],
        [BigInt(m.ownerShareBps), 160, 16],
        [BigInt(m.depth), 176, 8],
        [BigInt(m.parentRoyaltyBps), 184, 16],
        [m.derivativeTermsSet ? 1n : 0n, 200, 1],
        [m.derivativesAllowed ? 1n : 0n, 201, 1],
        [BigInt(m.derivativeRoyaltyBps), 208, 16],
      ),
    ),
  )
  w.write(MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.provider), u256(addressToBigInt(m.provider)))
  w.write(MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.minFee), u256(m.minFee))
  w.write(MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.parentId), u256(m.parentId))
  w.write(
    MODELS_ADDRESS,
    modelSlot(id, MODEL_FIELDS.counters),
    u256(pack([m.versionCount, 0, 32], [m.createdAtBlock, 32, 64])),
  )
}

export async function loadModelOwner(r: StorageReader, id: bigint): Promise<Uint8Array | undefined> {
  const w0 = toBigInt(await r.read(MODELS_ADDRESS, modelSlot(id, MODEL_FIELDS.ownerShareDepth)))
  return w0 === 0n ? undefined : addressFromWord(w0)
}

export interface ModelVersionHashes {
  trainingConfigHash: Uint8Array
  trainingLogHash: Uint8Array
  artifactHash: Uint8Array
  publishedAtBlock: bigint
}

export async function loadModelVersionHashes(
  r: StorageReader,
  id: bigint,
  v: bigint,
): Promise<ModelVersionHashes> {
  return {
    trainingConfigHash: await r.read(
      MODELS_ADDRESS,
      modelVersionSlot(id, v, MODEL_VERSION_FIELDS.trainingConfigHash),
    ),
    trainingLogHash: await r.read(
      MODELS_ADDRESS,
      modelVersionSlot(id, v, MODEL_VERSION_FIELDS.trainingLogHash),
    ),
    artifactHash: await r.read(MODELS_ADDRESS, modelVersionSlot(id, v, MODEL_VERSION_FIELDS.artifactHash)),
    publishedAtBlock: toBigInt(
      await r.read(MODELS_ADDRESS, modelVersionSlot(id, v, MODEL_VERSION_FIELDS.publishedAtBlock)),
    ),
  }
}

export interface ReceiptRecord {
  modelId: bigint
  modelVersion: number
  payer: Uint8Array
  settledAtBlock: bigint
  fee: bigint
  inputHash: Uint8Array
  outputHash: Uint8Array
  attributionCommitment: Uint8Array
  nonce: bigint
}

export async function receiptExists(r: StorageReader, receiptId: Uint8Array): Promise<boolean> {
  return !isZero(await r.read(ATTRIBUTION_ADDRESS, receiptSlot(receiptId, RECEIPT_FIELDS.payerVersionBlock)))
}

export async function loadReceipt(
  r: StorageReader,
  receiptId: Uint8Array,
): Promise<ReceiptRecord | undefined> {
  const w1 = toBigInt(
    await r.read(ATTRIBUTION_ADDRESS, receiptSlot(receiptId, RECEIPT_FIELDS.payerVersionBlock)),
  )
  if (w1 === 0n) return undefined
  const rd = (f: bigint) => r.read(ATTRIBUTION_ADDRESS, receiptSlot(receiptId, f))
  return {
    modelId: toBigInt(await rd(RECEIPT_FIELDS.modelId)),
    payer: addressFromWord(w1),
    modelVersion: Number(field(w1, 160, 32)),
    settledAtBlock: field(w1, 192, 64),
    fee: toBigInt(await rd(RECEIPT_FIELDS.fee)),
    inputHash: await rd(RECEIPT_FIELDS.inputHash),
    outputHash: await rd(RECEIPT_FIELDS.outputHash),
    attributionCommitment: await rd(RECEIPT_FIELDS.attributionCommitment),
    nonce: toBigInt(await rd(RECEIPT_FIELDS.nonce)),
  }
}

/** Writes a receipt the caller has checked does not exist (receiptExists read its marker slot as
 * zero): receipts are write-once, so every one of its slots is still zero. */
export function storeReceipt(w: StorageWriter, receiptId: Uint8Array, rec: ReceiptRecord): void {
  const base = receiptSlot(receiptId, 0n)
  const wr = (f: bigint, v: Uint8Array) => {
    const slot = addSlot(base, f)
    // The marker slot was read by receiptExists: an ordinary write; the others were never touched.
    if (f === RECEIPT_FIELDS.payerVersionBlock) w.write(ATTRIBUTION_ADDRESS, slot, v)
    else w.writeFresh(ATTRIBUTION_ADDRESS, slot, v)
  }
  wr(RECEIPT_FIELDS.modelId, u256(rec.modelId))
  wr(
    RECEIPT_FIELDS.payerVersionBlock,
    u256(
      pack(
        [addressToBigInt(rec.payer), 0, 160],
        [BigInt(rec.modelVersion), 160, 32],
        [rec.settledAtBlock, 192, 64],
      ),
    ),
  )
  wr(RECEIPT_FIELDS.fee, u256(rec.fee))
  wr(RECEIPT_FIELDS.inputHash, rec.inputHash)
  wr(RECEIPT_FIELDS.outputHash, rec.outputHash)
  wr(RECEIPT_FIELDS.attributionCommitment, rec.attributionCommitment)
  wr(RECEIPT_FIELDS.nonce, u256(rec.nonce))
}

/** Where a receipt settled with a challenge window stands (0 for one credited at settlement). */
export const ReceiptState = { Final: 0, Pending: 1, Challenged: 2, Finalized: 3, Corrected: 4 } as const

export interface ReceiptChallenge {
  state: number
  /** Until this timestamp the receipt may be challenged; after it, finalized. */
  windowEnds: bigint
  /** A challenged receipt's output must be revealed by this timestamp. */
  revealDeadline: bigint
  /** Block in which its fee was credited (0: not yet). */
  creditedAtBlock: bigint
  /** The provider that signed it. */
  signer: Uint8Array
  challenger: Uint8Array
  bond: bigint
}

export async function loadReceiptChallenge(
  r: StorageReader,
  receiptId: Uint8Array,
): Promise<ReceiptChallenge> {
  const w = toBigInt(await r.read(ATTRIBUTION_ADDRESS, receiptSlot(receiptId, RECEIPT_FIELDS.challenge)))
  const state = Number(field(w, 0, 8))
  if (state === ReceiptState.Final) {
    return {
      state,
      windowEnds: 0n,
      revealDeadline: 0n,
      creditedAtBlock: 0n,
      signer: new Uint8Array(20),
      challenger: new Uint8Array(20),
      bond: 0n,
    }
  }
  const signer = addressFromWord(
    toBigInt(await r.read(ATTRIBUTION_ADDRESS, receiptSlot(receiptId, RECEIPT_FIELDS.signer))),
  )
  const c = toBigInt(await r.read(ATTRIBUTION_ADDRESS, receiptSlot(receiptId, RECEIPT_FIELDS.challenger)))
  return {
    state,
    windowEnds: field(w, 8, 48),
    revealDeadline: field(w, 56, 48),
    creditedAtBlock: field(w, 104, 64),
    signer,
    challenger: addressFromWord(c),
    bond: field(c, 160, 96),
  }
}

/** Writes the state word (and, for `fresh` — the receipt was just stored — the signer). */
export function storeReceiptChallenge(
  w: StorageWriter,
  receiptId: Uint8Array,
  c: ReceiptChallenge,
  parts: { signer?: boolean; challenger?: boolean } = {},
): void {
  w.write(
    ATTRIBUTION_ADDRESS,
    receiptSlot(receiptId, RECEIPT_FIELDS.challenge),
    u256(
      pack(
        [BigInt(c.state), 0, 8],
        [c.windowEnds, 8, 48],
        [c.revealDeadline, 56, 48],
        [c.creditedAtBlock, 104, 64],
      ),
    ),
  )
  if (parts.signer === true)
    w.writeFresh(
      ATTRIBUTION_ADDRESS,
      receiptSlot(receiptId, RECEIPT_FIELDS.signer),
      u256(addressToBigInt(c.signer)),
    )
  if (parts.challenger === true) {
    w.write(
      ATTRIBUTION_ADDRESS,
      receiptSlot(receiptId, RECEIPT_FIELDS.challenger),
      u256(pack([addressToBigInt(c.challenger), 0, 160], [c.bond, 160, 96])),
    )
  }
}

/** A provider's bond and what keeps it locked. */
export interface ProviderBond {
  bond: bigint
  /** The end of the latest challenge window of its receipts: no withdrawal before. */
  lockedUntil: bigint
  /** Challenges of its receipts not yet resolved: no withdrawal while any is open. */
  openChallenges: number
}

export async function loadProviderBond(r: StorageReader, provider: Uint8Array): Promise<ProviderBond> {
  const w = toBigInt(await r.read(ATTRIBUTION_ADDRESS, providerBondSlot(provider)))
  return { bond: field(w, 0, 128), lockedUntil: field(w, 128, 64), openChallenges: Number(field(w, 192, 32)) }
}

export function storeProviderBond(w: StorageWriter, provider: Uint8Array, b: ProviderBond): void {
  w.write(
    ATTRIBUTION_ADDRESS,
    providerBondSlot(provider),
    u256(pack([b.bond, 0, 128], [b.lockedUntil, 128, 64], [BigInt(b.openChallenges), 192, 32])),
  )
}
