/** Typed TypeScript SDK for the OpenLedger system modules (viem-style actions). */

/** Share token ids: `shareTokenId(datanetId, version)` = version << 128 | datanetId. */
export { shareTokenId, splitShareTokenId } from '../modules/layout.ts'
export { attributionAbi, datanetsAbi, modelFactoryAbi, modelsAbi } from '../sol/abi.ts'
export * from './actions.ts'
export * from './events.ts'
export * from './receipts.ts'
