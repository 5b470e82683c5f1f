/** Payable AI off-chain side: chain reader, built-in model and trainer, provider, settlement,
 * verification and the CLI commands that drive them. */
export * from './chain.ts'
export * from './commands.ts'
export * from './corpus.ts'
export * from './demo.ts'
export * from './errors.ts'
export * from './keys.ts'
export * from './ngram.ts'
export * from './provider.ts'
export * from './receipts.ts'
export * from './settle.ts'
export * from './trainer.ts'
export * from './verify.ts'
