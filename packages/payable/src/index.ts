/**
 * @openledger/payable: the client side of Payable AI — everything that talks to a node over
 * JSON-RPC rather than running one: the chain reader, the built-in model and trainer, the model
 * factory client, the inference providers (plain and OpenLoRA), settlement, receipt verification,
 * and the `openledger datanet|model|provider|infer|rewards|attribution` commands that drive them
 * (registered on the `openledger` program by @openledger/node's CLI). See docs/payable-ai.md.
 */
export * from './chain.ts'
export * from './cli-options.ts'
export * from './commands.ts'
export * from './corpus.ts'
export * from './demo-ml.ts'
export * from './errors.ts'
export * from './factory.ts'
export * from './format.ts'
export * from './jobs.ts'
export * from './keys.ts'
export * from './ngram.ts'
export * from './openlora.ts'
export * from './openlora-http.ts'
export { parseAddress, parseBps } from './parse.ts'
export * from './provider.ts'
export * from './receipts.ts'
export * from './settle.ts'
export * from './studio-service.ts'
export * from './trainer.ts'
export * from './trainer-loop.ts'
export * from './verify.ts'
