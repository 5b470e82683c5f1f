/** Proof of Attribution: the native system modules (on-chain), their SDK, and the off-chain
 * attribution engine whose results the receipts commit to. */

export * from './engine/index.ts'
export * from './modules/index.ts'
