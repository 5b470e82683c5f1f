/** Typed TypeScript SDK for the OpenLedger system modules (viem-style actions). */

export { attributionAbi, datanetsAbi, modelFactoryAbi, modelsAbi } from '../sol/abi.ts'
export * from './actions.ts'
export * from './events.ts'
export * from './receipts.ts'
