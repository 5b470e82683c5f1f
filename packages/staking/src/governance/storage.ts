/**
 * Storage layout of the Governance module (0x4f50454e…05), Solidity rules:
 *
 * | slot | variable                                   | value                                                    |
 * | ---- | ------------------------------------------ | -------------------------------------------------------- |
 * | 0    | params                                     | votingDelay \| votingPeriod<<64 \| timelockDelay<<128 \| gracePeriod<<192 |
 * | 1    | quorumBps                                  | uint16                                                   |
 * | 2    | proposalThreshold                          | uint256                                                  |
 * | 3    | minBaseFee                                 | uint256 (wei): the chain's base-fee floor                 |
 * | 4    | proposalIds                                | uint256[] in creation order                              |
 * | 5    | proposals[id]                              | +0 proposer \| executed<<160 \| canceled<<168 \| actions<<176 \| quorumBps<<208; +1 voteStart \| voteEnd<<64 \| eta<<128 \| createdAt<<192; +2 against; +3 for; +4 abstain; +5 descriptionHash |
 * | 6    | receipts[id][account]                      | support + 1 (0: has not voted)                           |
 * | 7    | validatorVotes[id][operator]               | support + 1 of the vote cast as a validator              |
 * | 8    | deducted[id][operator]                     | tokens of that validator's delegators who voted themselves |
 */
import {
  addressFromWord,
  addressToBigInt,
  addSlot,
  arrayElementSlot,
  field,
  GOVERNANCE_ADDRESS,
  mapSlot,
  nestedSlot,
  pack,
  type StorageReader,
  type StorageWriter,
  toBigInt,
  u256,
} from '@openledger/module-kit'
import type { GovernanceParams } from '../core/params.ts'
import type { Votes } from '../core/tally.ts'

const G = GOVERNANCE_ADDRESS

export const GOVERNANCE_SLOTS = {
  params: 0n,
  quorumBps: 1n,
  proposalThreshold: 2n,
  minBaseFee: 3n,
  proposalIds: 4n,
  proposals: 5n,
  receipts: 6n,
  validatorVotes: 7n,
  deducted: 8n,
} as const

/** Slot of the base-fee floor: block building and validation read it from the parent's state. */
export const MIN_BASE_FEE_SLOT = u256(GOVERNANCE_SLOTS.minBaseFee)

async function u(r: StorageReader, slot: Uint8Array): Promise<bigint> {
  return toBigInt(await r.read(G, slot))
}

export async function readGovernanceParams(r: StorageReader): Promise<GovernanceParams> {
  const w = await u(r, u256(GOVERNANCE_SLOTS.params))
  return {
    votingDelay: field(w, 0, 64),
    votingPeriod: field(w, 64, 64),
    timelockDelay: field(w, 128, 64),
    gracePeriod: field(w, 192, 64),
    quorumBps: Number(await u(r, u256(GOVERNANCE_SLOTS.quorumBps))),
    proposalThreshold: await u(r, u256(GOVERNANCE_SLOTS.proposalThreshold)),
    minBaseFee: await u(r, MIN_BASE_FEE_SLOT),
  }
}

export function writeGovernanceParams(w: StorageWriter, p: GovernanceParams): void {
  w.write(
    G,
    u256(GOVERNANCE_SLOTS.params),
    u256(
      pack(
        [p.votingDelay, 0, 64],
        [p.votingPeriod, 64, 64],
        [p.timelockDelay, 128, 64],
        [p.gracePeriod, 192, 64],
      ),
    ),
  )
  w.write(G, u256(GOVERNANCE_SLOTS.quorumBps), u256(BigInt(p.quorumBps)))
  w.write(G, u256(GOVERNANCE_SLOTS.proposalThreshold), u256(p.proposalThreshold))
  w.write(G, MIN_BASE_FEE_SLOT, u256(p.minBaseFee))
}

export interface ProposalRecord {
  id: bigint
  proposer: Uint8Array
  executed: boolean
  canceled: boolean
  actions: number
  quorumBps: number
  voteStart: bigint
  voteEnd: bigint
  eta: bigint
  /** Block of the propose transaction (its ProposalCreated log carries the actions). */
  createdAt: bigint
  votes: Votes
  descriptionHash: Uint8Array
}

export function proposalSlot(id: bigint, f: bigint): Uint8Array {
  return addSlot(mapSlot(id, GOVERNANCE_SLOTS.proposals), f)
}

export async function readProposal(r: StorageReader, id: bigint): Promise<ProposalRecord | undefined> {
  const w0 = await u(r, proposalSlot(id, 0n))
  if (w0 === 0n) return undefined
  const w1 = await u(r, proposalSlot(id, 1n))
  return {
    id,
    proposer: addressFromWord(w0),
    executed: field(w0, 160, 8) === 1n,
    canceled: field(w0, 168, 8) === 1n,
    actions: Number(field(w0, 176, 32)),
    quorumBps: Number(field(w0, 208, 16)),
    voteStart: field(w1, 0, 64),
    voteEnd: field(w1, 64, 64),
    eta: field(w1, 128, 64),
    createdAt: field(w1, 192, 64),
    votes: {
      against: await u(r, proposalSlot(id, 2n)),
      for: await u(r, proposalSlot(id, 3n)),
      abstain: await u(r, proposalSlot(id, 4n)),
    },
    descriptionHash: await r.read(G, proposalSlot(id, 5n)),
  }
}

export function writeProposal(w: StorageWriter, p: ProposalRecord): void {
  w.write(
    G,
    proposalSlot(p.id, 0n),
    u256(
      pack(
        [addressToBigInt(p.proposer), 0, 160],
        [p.executed ? 1n : 0n, 160, 8],
        [p.canceled ? 1n : 0n, 168, 8],
        [BigInt(p.actions), 176, 32],
        [BigInt(p.quorumBps), 208, 16],
      ),
    ),
  )
  w.write(
    G,
    proposalSlot(p.id, 1n),
    u256(pack([p.voteStart, 0, 64], [p.voteEnd, 64, 64], [p.eta, 128, 64], [p.createdAt, 192, 64])),
  )
  w.write(G, proposalSlot(p.id, 2n), u256(p.votes.against))
  w.write(G, proposalSlot(p.id, 3n), u256(p.votes.for))
  w.write(G, proposalSlot(p.id, 4n), u256(p.votes.abstain))
  w.write(G, proposalSlot(p.id, 5n), p.descriptionHash)
}

export async function proposalCount(r: StorageReader): Promise<bigint> {
  return u(r, u256(GOVERNANCE_SLOTS.proposalIds))
}

export async function proposalIdAt(r: StorageReader, index: bigint): Promise<bigint> {
  return u(r, arrayElementSlot(u256(GOVERNANCE_SLOTS.proposalIds), index))
}

export async function pushProposalId(w: StorageWriter, id: bigint): Promise<void> {
  const len = u256(GOVERNANCE_SLOTS.proposalIds)
  const n = await u(w, len)
  w.write(G, arrayElementSlot(len, n), u256(id))
  w.write(G, len, u256(n + 1n))
}

export const receiptSlot = (id: bigint, account: Uint8Array) =>
  nestedSlot(GOVERNANCE_SLOTS.receipts, id, account)
export const validatorVoteSlot = (id: bigint, operator: Uint8Array) =>
  nestedSlot(GOVERNANCE_SLOTS.validatorVotes, id, operator)
export const deductedSlot = (id: bigint, operator: Uint8Array) =>
  nestedSlot(GOVERNANCE_SLOTS.deducted, id, operator)

export async function readU(r: StorageReader, slot: Uint8Array): Promise<bigint> {
  return u(r, slot)
}
