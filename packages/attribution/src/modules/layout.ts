/**
 * Storage layout of the three modules, derived exactly like Solidity's with the kit's helpers
 * (packages/module-kit/src/layout.ts: mappings, nested mappings, structs, strings, arrays). Every
 * function here is pure so a light client can compute the slot to pass to eth_getProof. See
 * docs/attribution-modules.md for the full table.
 */
import { addSlot, arrayElementSlot, nestedSlot } from '@openledger/module-kit'

// The kit's layout helpers and the system address table, re-exported with the slots built on them.
export {
  ATTRIBUTION_ADDRESS,
  addSlot,
  arrayElementSlot,
  DATANETS_ADDRESS,
  GOVERNANCE_ADDRESS,
  type Key,
  MODEL_FACTORY_ADDRESS,
  MODELS_ADDRESS,
  mapSlot,
  nestedSlot,
  readString,
  STAKING_ADDRESS,
  writeString,
} from '@openledger/module-kit'

// ---- Datanets (0x…01) ----------------------------------------------------------------------
export const DATANETS_SLOTS = {
  datanetCount: 0n,
  datanets: 1n,
  contributions: 2n,
  curators: 3n,
  allowList: 4n,
  versions: 5n,
  merkleBranch: 6n,
  balances: 7n,
  operatorApprovals: 8n,
  approvalOrder: 9n,
  held: 10n,
  heldIndex: 11n,
  approvalVotes: 12n,
  modelOwnerAllowed: 13n,
  leafHashes: 14n,
} as const

/** Datanet struct fields: 0 owner|open<<160; 1 contributionCount|approvedCount<<64|versionCount<<128|
 * createdAtBlock<<192; 2 totalShares; 3 name (string); 4 metadataURI (string);
 * 5 terms: requiredApprovals − 1 | licenceMode<<8 | minContributorsBps<<16 | inlineTextOnly<<32
 * (zero: the defaults). */
export const DATANET_FIELDS = {
  ownerOpen: 0n,
  counters: 1n,
  totalShares: 2n,
  name: 3n,
  metadataURI: 4n,
  terms: 5n,
} as const
export function datanetSlot(datanetId: bigint, field: bigint): Uint8Array {
  return addSlot(nestedSlot(DATANETS_SLOTS.datanets, datanetId), field)
}
/** Contribution struct fields: 0 contributor|status<<160|inlined<<168|approvals<<176|text<<184; 1 contentHash;
 * 2 size|weight<<64|approvalIndex<<128|submittedAtBlock<<192 (weight: the proposed weight while
 * pending with votes); 3 metadataURI (string). */
export const CONTRIBUTION_FIELDS = {
  contributorStatus: 0n,
  contentHash: 1n,
  sizes: 2n,
  metadataURI: 3n,
} as const
export function contributionSlot(datanetId: bigint, contributionId: bigint, field: bigint): Uint8Array {
  return addSlot(nestedSlot(DATANETS_SLOTS.contributions, datanetId, contributionId), field)
}
export function curatorSlot(datanetId: bigint, account: Uint8Array): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.curators, datanetId, account)
}
export function allowListSlot(datanetId: bigint, account: Uint8Array): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.allowList, datanetId, account)
}
/** Version struct fields: 0 root; 1 count|publishedAtBlock<<64|totalWeight<<128|contentBytes<<192|
 * recomputable<<240 (totalWeight: the weight of every contribution the version holds, fixed when it
 * is published, its pro-rata share supply; recomputable: all of them inline UTF-8 text). */
export function versionSlot(datanetId: bigint, version: bigint, field: bigint): Uint8Array {
  return addSlot(nestedSlot(DATANETS_SLOTS.versions, datanetId, version), field)
}
/** bytes32[32] incremental Merkle branch of a datanet. */
export function merkleBranchSlot(datanetId: bigint, height: number): Uint8Array {
  return addSlot(nestedSlot(DATANETS_SLOTS.merkleBranch, datanetId), BigInt(height))
}
/** ERC-1155 order: balances[id][account]. `id` is a share token id (version shares) or a bare
 * datanet id (the account's total over all versions of that datanet: a view, not a token). */
export function shareBalanceSlot(id: bigint, account: Uint8Array): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.balances, id, account)
}

/** Datanet ids stay below 2^128 (they are counters); versions are uint64. */
const TOKEN_VERSION_SHIFT = 128n
const DATANET_ID_MASK = (1n << TOKEN_VERSION_SHIFT) - 1n

/**
 * ERC-1155 id of the shares of datanet `datanetId` minted for contributions that entered it in
 * version `version` (its "version shares"): `version << 128 | datanetId`. Shares of version v earn
 * the pro-rata income of every receipt naming a version ≥ v, never of an earlier one.
 */
export function shareTokenId(datanetId: bigint, version: bigint): bigint {
  if (datanetId < 0n || datanetId > DATANET_ID_MASK) throw new RangeError('datanet id out of range')
  if (version < 1n || version >= 1n << 64n) throw new RangeError('share version must be a uint64 ≥ 1')
  return (version << TOKEN_VERSION_SHIFT) | datanetId
}

/** Inverse of shareTokenId; version 0 for a bare datanet id (or any id above the token range). */
export function splitShareTokenId(id: bigint): { datanetId: bigint; version: bigint } {
  const version = id >> TOKEN_VERSION_SHIFT
  if (version >= 1n << 64n) return { datanetId: id, version: 0n }
  return { datanetId: id & DATANET_ID_MASK, version }
}
export function operatorApprovalSlot(account: Uint8Array, operator: Uint8Array): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.operatorApprovals, account, operator)
}
/** approvalOrder[id][approvalIndex] = contributionId | weight<<64 | size<<128 | inlined<<192 |
 * text<<193 | submittedAtBlock<<200 (48 bits). */
export function approvalOrderSlot(datanetId: bigint, approvalIndex: bigint): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.approvalOrder, datanetId, approvalIndex)
}
/** approvalVotes[id][contributionId][curator] = the weight the curator's vote proposes (0: none). */
export function approvalVoteSlot(datanetId: bigint, contributionId: bigint, curator: Uint8Array): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.approvalVotes, datanetId, contributionId, curator)
}
export function modelOwnerAllowedSlot(datanetId: bigint, account: Uint8Array): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.modelOwnerAllowed, datanetId, account)
}
/** leafHashes[id][approvalIndex]: the Merkle leaf of the contribution approved at that index,
 * hashed into the tree when the version holding it is published. */
export function leafHashSlot(datanetId: bigint, approvalIndex: bigint): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.leafHashes, datanetId, approvalIndex)
}
/** held[account] is a uint256[] of the share token ids the account has a non-zero balance of. */
export function heldLengthSlot(account: Uint8Array): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.held, account)
}
export function heldElementSlot(account: Uint8Array, index: bigint): Uint8Array {
  return arrayElementSlot(heldLengthSlot(account), index)
}
/** heldIndex[account][tokenId] = position in held[account] + 1 (0: not held). */
export function heldIndexSlot(account: Uint8Array, tokenId: bigint): Uint8Array {
  return nestedSlot(DATANETS_SLOTS.heldIndex, account, tokenId)
}

// ---- Models (0x…02) -------------------------------------------------------------------------
export const MODELS_SLOTS = {
  modelCount: 0n,
  models: 1n,
  versions: 2n,
  trainedOn: 3n,
  trainingSpecs: 4n,
} as const
/** Model struct fields: 0 owner|ownerShareBps<<160|depth<<176|parentRoyaltyBps<<184|
 * derivativeTermsSet<<200|derivativesAllowed<<201|derivativeRoyaltyBps<<208; 1 provider; 2 minFeePerInference;
 * 3 parentId; 4 versionCount|createdAtBlock<<32; 5 name (string); 6 baseModel (string). */
export const MODEL_FIELDS = {
  ownerShareDepth: 0n,
  provider: 1n,
  minFee: 2n,
  parentId: 3n,
  counters: 4n,
  name: 5n,
  baseModel: 6n,
} as const
export function modelSlot(modelId: bigint, field: bigint): Uint8Array {
  return addSlot(nestedSlot(MODELS_SLOTS.models, modelId), field)
}
/** ModelVersion struct fields: 0 trainingConfigHash; 1 trainingLogHash; 2 artifactHash;
 * 3 publishedAtBlock; 4 artifactURI (string); 5 DatanetRef[] (2 slots per element: id, version). */
export const MODEL_VERSION_FIELDS = {
  trainingConfigHash: 0n,
  trainingLogHash: 1n,
  artifactHash: 2n,
  publishedAtBlock: 3n,
  artifactURI: 4n,
  datanets: 5n,
} as const
export function modelVersionSlot(modelId: bigint, version: bigint, field: bigint): Uint8Array {
  return addSlot(nestedSlot(MODELS_SLOTS.versions, modelId, version), field)
}
/** trainedOn[modelId][modelVersion][datanetId][datanetVersion] = true. */
export function trainedOnSlot(
  modelId: bigint,
  modelVersion: bigint,
  datanetId: bigint,
  version: bigint,
): Uint8Array {
  return nestedSlot(MODELS_SLOTS.trainedOn, modelId, modelVersion, datanetId, version)
}

/** trainingSpecs[modelId][version]: 0 kind|rank<<8|alpha<<24|steps<<40|seed<<72; 1 baseModelId. */
export function trainingSpecSlot(modelId: bigint, version: bigint, field: bigint): Uint8Array {
  return addSlot(nestedSlot(MODELS_SLOTS.trainingSpecs, modelId, version), field)
}

// ---- Attribution (0x…03) --------------------------------------------------------------------
/** Slot 0 is unused: a global settlement counter there was written by every settle (a read and a
 * write on one hot slot, ~7k gas) and read by nothing; receipts are enumerated from the logs. */
export const ATTRIBUTION_SLOTS = {
  receipts: 1n,
  usedNonces: 2n,
  accrued: 3n,
  /** Held a per-datanet reward-per-share before version-exact accounting; no longer written. */
  rewardPerShare: 4n,
  rewardSnapshot: 5n,
  rewardTree: 6n,
  parameters: 7n,
  providerBonds: 8n,
} as const
/** Receipt struct fields: 0 modelId; 1 payer|modelVersion<<160|settledAtBlock<<192; 2 fee;
 * 3 inputHash; 4 outputHash; 5 attributionCommitment; 6 nonce. Slot 1 is never zero for a
 * settled receipt (settledAtBlock ≥ 1 … or modelVersion ≥ 1), which is what a proof checks. */
export const RECEIPT_FIELDS = {
  modelId: 0n,
  payerVersionBlock: 1n,
  fee: 2n,
  inputHash: 3n,
  outputHash: 4n,
  attributionCommitment: 5n,
  nonce: 6n,
  /** Receipts settled with a challenge window: state|windowEnds<<8|revealDeadline<<56|creditedAtBlock<<104. */
  challenge: 7n,
  /** The provider that signed it (a windowed receipt's bond to slash). */
  signer: 8n,
  /** challenger|bond<<160 once challenged. */
  challenger: 9n,
} as const
export function receiptSlot(receiptId: Uint8Array, field: bigint): Uint8Array {
  return addSlot(nestedSlot(ATTRIBUTION_SLOTS.receipts, receiptId), field)
}
export function usedNonceSlot(modelId: bigint, nonce: bigint): Uint8Array {
  return nestedSlot(ATTRIBUTION_SLOTS.usedNonces, modelId, nonce)
}
/** Settled OPEN of an account: claimable wei in the low 192 bits, and a sub-wei remainder in units
 * of 2^-64 wei in the high 64 bits (what pro-rata rounding has not yet made a whole wei). */
export function accruedSlot(account: Uint8Array): Uint8Array {
  return nestedSlot(ATTRIBUTION_SLOTS.accrued, account)
}
/** providerBonds[provider] = bond | lockedUntil<<128 | openChallenges<<192. */
export function providerBondSlot(provider: Uint8Array): Uint8Array {
  return nestedSlot(ATTRIBUTION_SLOTS.providerBonds, provider)
}
/** parameters[word]: a word of the parameter store (param-store.ts). */
export function parameterSlot(word: bigint): Uint8Array {
  return nestedSlot(ATTRIBUTION_SLOTS.parameters, word)
}
/** Reward index (cumulative reward per share, ×2^64) of a share token at the holder's last settlement. */
export function rewardSnapshotSlot(tokenId: bigint, account: Uint8Array): Uint8Array {
  return nestedSlot(ATTRIBUTION_SLOTS.rewardSnapshot, tokenId, account)
}
/** Node `index` (a version number ≥ 1) of a datanet's binary indexed tree over its versions'
 * reward-per-share (see pools.ts): the node sum in the low 192 bits, and in the high 64 bits the
 * division remainder carried by the pool of version `index`. */
export function rewardTreeSlot(datanetId: bigint, index: bigint): Uint8Array {
  return nestedSlot(ATTRIBUTION_SLOTS.rewardTree, datanetId, index)
}
