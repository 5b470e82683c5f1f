/**
 * Read API of the Governance module over any storage reader (module views, ol_* RPC): a proposal's
 * state as of a block, its quorum (from the Staking checkpoints at its snapshot), voting power.
 */
import { type StorageReader, toHex } from '@openledger/module-kit'
import { PROPOSAL_STATE_NAMES, type ProposalState, proposalState, quorumOf } from '../core/tally.ts'
import { totalBondedAt } from '../ledger/power.ts'
import { StorageStakingStore } from '../staking/storage-store.ts'
import { type ProposalRecord, readGovernanceParams, readProposal } from './storage.ts'

export interface Now {
  block: bigint
  time: bigint
}

/** The Staking storage through the same reader (governance never writes it). */
export function stakingThrough(r: StorageReader): StorageStakingStore {
  const refuse = () => {
    throw new Error('read-only staking store')
  }
  return new StorageStakingStore({ read: (a, s) => r.read(a, s), write: refuse, writeFresh: refuse }, refuse)
}

/** Quorum of a proposal: known once its snapshot block is past (0 before). */
export async function proposalQuorum(r: StorageReader, p: ProposalRecord, now: Now): Promise<bigint> {
  if (now.block <= p.voteStart) return 0n
  return quorumOf(await totalBondedAt(stakingThrough(r), p.voteStart), p.quorumBps)
}

export async function proposalStateAt(r: StorageReader, p: ProposalRecord, now: Now): Promise<ProposalState> {
  const params = await readGovernanceParams(r)
  return proposalState(
    { snapshot: p.voteStart, deadline: p.voteEnd, eta: p.eta, executed: p.executed, canceled: p.canceled },
    p.votes,
    await proposalQuorum(r, p, now),
    now,
    params.gracePeriod,
  )
}

export async function proposalView(r: StorageReader, id: bigint, now: Now) {
  const p = await readProposal(r, id)
  if (p === undefined) return undefined
  const state = await proposalStateAt(r, p, now)
  return {
    id: p.id,
    proposer: toHex(p.proposer),
    createdAt: p.createdAt,
    voteStart: p.voteStart,
    voteEnd: p.voteEnd,
    eta: p.eta,
    state,
    stateName: PROPOSAL_STATE_NAMES[state],
    againstVotes: p.votes.against,
    forVotes: p.votes.for,
    abstainVotes: p.votes.abstain,
    quorum: await proposalQuorum(r, p, now),
    quorumBps: p.quorumBps,
    descriptionHash: toHex(p.descriptionHash),
    actions: p.actions,
  }
}
