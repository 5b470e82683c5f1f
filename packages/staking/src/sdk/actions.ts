/**
 * viem-style actions for the Staking and Governance modules: `action(client, namedArgs)`, typed
 * from the ABI generated from IStaking.sol / IGovernance.sol (same helpers as the attribution SDK).
 * Payable calls take `value` (wei). Write actions resolve to the transaction hash; `simulate*`
 * returns the function's result without sending.
 */
import {
  type AnyClient,
  type NamedArgs,
  readAction,
  simulateAction,
  type WriteOptions,
  writeAction,
} from '@openledger/attribution/sdk'
import type { Address, Hash, Hex } from 'viem'
import { keccak256, toBytes } from 'viem'
import { governanceAbi, stakingAbi } from '../sol/abi.ts'

export const STAKING: Address = '0x4f50454e00000000000000000000000000000004'
export const GOVERNANCE: Address = '0x4f50454e00000000000000000000000000000005'

type Value = { value: bigint }
const value = (a: unknown) => (a as Partial<Value>).value ?? 0n

// ---- Staking: validators and delegations ----
const createValidatorTx = writeAction(STAKING, stakingAbi, 'createValidator', value)
/** Creates a validator operated by the sender, self-delegating `value`. */
export const createValidator = (
  c: AnyClient,
  p: NamedArgs<typeof stakingAbi, 'createValidator'> & WriteOptions & Value,
) => createValidatorTx(c, p)
export const editValidator = writeAction(STAKING, stakingAbi, 'editValidator')
const delegateTx = writeAction(STAKING, stakingAbi, 'delegate', value)
/** Delegates `value` to `validator`. */
export const delegate = (c: AnyClient, p: NamedArgs<typeof stakingAbi, 'delegate'> & WriteOptions & Value) =>
  delegateTx(c, p)
const simulateDelegateTx = simulateAction(STAKING, stakingAbi, 'delegate', value)
export const simulateDelegate = (
  c: AnyClient,
  p: NamedArgs<typeof stakingAbi, 'delegate'> & WriteOptions & Value,
) => simulateDelegateTx(c, p)
export const undelegate = writeAction(STAKING, stakingAbi, 'undelegate')
export const simulateUndelegate = simulateAction(STAKING, stakingAbi, 'undelegate')
export const redelegate = writeAction(STAKING, stakingAbi, 'redelegate')
export const cancelUnbonding = writeAction(STAKING, stakingAbi, 'cancelUnbonding')
export const withdrawRewards = writeAction(STAKING, stakingAbi, 'withdrawRewards')
export const simulateWithdrawRewards = simulateAction(STAKING, stakingAbi, 'withdrawRewards')
export const withdrawCommission = writeAction(STAKING, stakingAbi, 'withdrawCommission')
export const unjail = writeAction(STAKING, stakingAbi, 'unjail')
export const submitEvidence = writeAction(STAKING, stakingAbi, 'submitEvidence')

export const getValidator = readAction(STAKING, stakingAbi, 'validator')
export const getValidators = readAction(STAKING, stakingAbi, 'validators')
export const getDelegation = readAction(STAKING, stakingAbi, 'delegation')
export const getDelegatorValidators = readAction(STAKING, stakingAbi, 'delegatorValidators')
export const getUnbondingDelegations = readAction(STAKING, stakingAbi, 'unbondingDelegations')
export const getRedelegations = readAction(STAKING, stakingAbi, 'redelegations')
export const getPendingRewards = readAction(STAKING, stakingAbi, 'pendingRewards')
export const getActiveValidatorSet = readAction(STAKING, stakingAbi, 'activeValidatorSet')
export const getEpoch = readAction(STAKING, stakingAbi, 'epoch')
export const getSigningInfo = readAction(STAKING, stakingAbi, 'signingInfo')
export const getTotalBonded = readAction(STAKING, stakingAbi, 'totalBonded')
export const getSupply = readAction(STAKING, stakingAbi, 'supply')
export const getStakingParams = readAction(STAKING, stakingAbi, 'params')

// ---- Governance ----
export const propose = writeAction(GOVERNANCE, governanceAbi, 'propose')
export const simulatePropose = simulateAction(GOVERNANCE, governanceAbi, 'propose')
export const castVote = writeAction(GOVERNANCE, governanceAbi, 'castVote')
export const castVoteWithReason = writeAction(GOVERNANCE, governanceAbi, 'castVoteWithReason')
export const queue = writeAction(GOVERNANCE, governanceAbi, 'queue')
const executeTx = writeAction(GOVERNANCE, governanceAbi, 'execute', value)
/** Executes a queued proposal (`value`, optional, is added to the treasury first). */
export const execute = (
  c: AnyClient,
  p: NamedArgs<typeof governanceAbi, 'execute'> & WriteOptions & Partial<Value>,
) => executeTx(c, p as NamedArgs<typeof governanceAbi, 'execute'> & WriteOptions)
export const cancel = writeAction(GOVERNANCE, governanceAbi, 'cancel')

export const getProposalState = readAction(GOVERNANCE, governanceAbi, 'state')
export const getProposal = readAction(GOVERNANCE, governanceAbi, 'proposal')
export const getProposals = readAction(GOVERNANCE, governanceAbi, 'proposals')
export const getProposalVotes = readAction(GOVERNANCE, governanceAbi, 'proposalVotes')
export const hasVoted = readAction(GOVERNANCE, governanceAbi, 'hasVoted')
export const getVotes = readAction(GOVERNANCE, governanceAbi, 'getVotes')
export const getQuorum = readAction(GOVERNANCE, governanceAbi, 'quorum')
export const getGovernanceParams = readAction(GOVERNANCE, governanceAbi, 'params')
export const hashProposal = readAction(GOVERNANCE, governanceAbi, 'hashProposal')

/** keccak256 of a proposal description: what queue / execute / cancel take. */
export function descriptionHash(description: string): Hex {
  return keccak256(toBytes(description))
}

/** A proposal's actions and description, as propose takes them. */
export interface ProposalActions {
  targets: Address[]
  values: bigint[]
  calldatas: Hex[]
  description: string
}

/** queue / execute / cancel arguments of a proposal. */
export function proposalKey(p: ProposalActions) {
  return {
    targets: p.targets,
    values: p.values,
    calldatas: p.calldatas,
    descriptionHash: descriptionHash(p.description),
  }
}

export type { Hash }
