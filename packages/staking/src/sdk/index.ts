/** Typed TypeScript SDK for the Staking and Governance modules (viem-style actions). */
export { governanceAbi, stakingAbi } from '../sol/abi.ts'
export * from './actions.ts'
