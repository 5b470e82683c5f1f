/**
 * Storage layout of the Staking module (0x4f50454e…04), Solidity rules (see module-kit layout.ts):
 * every function is pure, so tools and light clients can locate any value for eth_getProof.
 * Packed words list their fields from the least significant bit. docs/staking.md has the table.
 */
import { addSlot, arrayElementSlot, type Key, mapSlot, nestedSlot, u256 } from '@openledger/module-kit'

export const STAKING_SLOTS = {
  /** Params, 4 slots: +0 epochLength|maxValidators<<64|minValidators<<80|maxCandidates<<96|
   * unbondingTime<<128|maxEntries<<192|slashFractionDoubleSignBps<<200|slashFractionDowntimeBps<<216|
   * reporterRewardBps<<232; +1 minSelfDelegation; +2 blockReward; +3 maxEvidenceAge|
   * signedBlocksWindow<<64|minSignedPerWindowBps<<96|downtimeJailDuration<<112. */
  params: 0n,
  accPerToken: 4n,
  bondedTokens: 5n,
  carry: 6n,
  undistributed: 7n,
  staked: 8n,
  unbonding: 9n,
  rewardPool: 10n,
  minted: 11n,
  burned: 12n,
  pendingBurn: 13n,
  /** nextEntryId | head<<64 | lastCompletion<<128 */
  queue: 14n,
  /** number | startBlock<<64 | nextStartBlock<<128 */
  epoch: 15n,
  lastCoinbase: 16n,
  /** address[]: operators in creation order */
  validatorList: 17n,
  /** mapping(address operator => Validator) */
  validators: 18n,
  /** mapping(address consensus => address operator) */
  operatorOf: 19n,
  /** mapping(address delegator => mapping(address validator => {shares, accSnapshot})) */
  delegations: 20n,
  /** mapping(address delegator => address[]) */
  delegatorValidators: 21n,
  /** mapping(address delegator => mapping(address validator => position + 1)) */
  delegatorValidatorIndex: 22n,
  /** mapping(uint256 id => Entry) */
  entries: 23n,
  /** mapping(uint8 kind => mapping(delegator => mapping(validator => mapping(dst => uint256[])))) */
  entryIds: 24n,
  /** mapping(address delegator => mapping(address validator => uint256)) */
  incoming: 25n,
  /** mapping(address validator => uint256[] infractionHeight | fractionBps<<64) */
  slashEvents: 26n,
  /** address[]: consensus addresses of the set validating the next block, sorted */
  activeSet: 27n,
  /** Epoch[] (2 slots each): +0 number|startBlock<<64|size<<128; +1 setHash */
  epochs: 28n,
  /** mapping(uint256 epoch => mapping(address consensus => bool)) */
  epochMembers: 29n,
  /** mapping(address validator => slots | missed<<64 | generation<<96) */
  signingInfo: 30n,
  /** mapping(address validator => mapping(uint256 generation => mapping(uint256 word => uint256))) */
  missedBitmap: 31n,
  /** mapping(bytes32 evidenceHash => bool) */
  evidence: 32n,
  /** mapping(address validator => Checkpoint[]) — tokens */
  tokensHistory: 33n,
  /** mapping(address validator => Checkpoint[]) — total shares */
  sharesHistory: 34n,
  /** mapping(address delegator => mapping(address validator => Checkpoint[])) — shares */
  delegationHistory: 35n,
  /** Checkpoint[] — bonded tokens */
  bondedHistory: 36n,
} as const

/** Validator struct fields. */
export const VALIDATOR_FIELDS = {
  /** consensus | status<<160 | jailed<<168 | tombstoned<<176 | commissionBps<<184 |
   * maxCommissionBps<<200 | maxCommissionChangeBps<<216 */
  head: 0n,
  /** index | slashEvents<<32 | jailedUntil<<64 | commissionUpdatedAt<<128 | unbondingHeight<<192 */
  counters: 1n,
  tokens: 2n,
  shares: 3n,
  minSelfDelegation: 4n,
  unbondingCompletion: 5n,
  accSnapshot: 6n,
  accPerShare: 7n,
  commission: 8n,
  /** Description strings: moniker, identity, website, securityContact, details. */
  description: 9n,
} as const
export const VALIDATOR_SLOTS = 14n

/** Entry struct: +0 delegator|kind<<160|eventsAtCreation<<168; +1 validator|creationHeight<<160;
 * +2 dst|completionTime<<160; +3 initialBalance; +4 sharesDst. */
export const ENTRY_SLOTS = 5n

export const slot = (n: bigint): Uint8Array => u256(n)

export function validatorSlot(operator: Uint8Array, field: bigint): Uint8Array {
  return addSlot(mapSlot(operator, STAKING_SLOTS.validators), field)
}
export function delegationSlot(delegator: Uint8Array, validator: Uint8Array, field: 0n | 1n): Uint8Array {
  return addSlot(nestedSlot(STAKING_SLOTS.delegations, delegator, validator), field)
}
export function entrySlot(id: bigint, field: bigint): Uint8Array {
  return addSlot(mapSlot(id, STAKING_SLOTS.entries), field)
}
export function entryIdsSlot(
  kind: number,
  delegator: Uint8Array,
  validator: Uint8Array,
  dst: Uint8Array | undefined,
): Uint8Array {
  return nestedSlot(STAKING_SLOTS.entryIds, BigInt(kind), delegator, validator, dst ?? new Uint8Array(20))
}
export function mappingSlot(base: bigint, ...keys: Key[]): Uint8Array {
  return nestedSlot(base, ...keys)
}
export function listElementSlot(lengthSlot: Uint8Array, index: bigint, elementSlots = 1n): Uint8Array {
  return arrayElementSlot(lengthSlot, index, elementSlots)
}
