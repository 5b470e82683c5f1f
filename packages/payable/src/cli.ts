/**
 * `@openledger/payable/cli`: the payable-AI commands and the flag parsers of the `openledger`
 * program, without the rest of the package (the node's CLI imports this at start-up, so it stays
 * free of the model factory and providers until a command needs them).
 */
export * from './cli-options.ts'
export { registerPayableCommands } from './commands.ts'
