/** Staking (with slashing) and Governance: the accounting core, the ledger, the native modules. */

export type { StorageReader } from '@openledger/module-kit'
export { GOVERNANCE_ADDRESS, STAKING_ADDRESS } from '@openledger/module-kit'
export * from './core/checkpoints.ts'
export * from './core/election.ts'
export * from './core/errors.ts'
export * from './core/liveness.ts'
export * from './core/math.ts'
export * from './core/params.ts'
export * from './core/records.ts'
export * from './core/rewards.ts'
export * from './core/shares.ts'
export * from './core/slashing.ts'
export type { Series, StakingStore } from './core/store.ts'
export * from './core/tally.ts'
export * from './core/unbonding.ts'
export * from './genesis.ts'
export {
  CLOCK_MODE,
  COUNTING_MODE,
  createGovernanceModule,
  GOVERNOR_NAME,
  hashProposal,
} from './governance/module.ts'
export { type Now, proposalStateAt, proposalView, stakingThrough } from './governance/read.ts'
export {
  GOVERNANCE_SLOTS,
  MIN_BASE_FEE_SLOT,
  proposalCount,
  proposalIdAt,
  readGovernanceParams,
  readProposal,
} from './governance/storage.ts'
export * from './ledger/power.ts'
export { governanceAbi, stakingAbi } from './sol/abi.ts'
export { checkEquivocation } from './staking/evidence.ts'
export { createStakingHook, STAKING_HOOK_NAME } from './staking/hook.ts'
export * from './staking/layout.ts'
export { createStakingModule, type StakingModuleOptions } from './staking/module.ts'
export * from './staking/read.ts'
export { StorageStakingStore } from './staking/storage-store.ts'
