/**
 * `@openledger/payable/cli`: the flag parsers of the `openledger` program and the registration of
 * the payable-AI commands. The node's CLI imports this at start-up, so the commands' modules (chain
 * client, model factory, providers) load only when they are registered, not with the parsers.
 */
import type { Command } from 'commander'

export * from './cli-options.ts'

/** Adds the `datanet|model|provider|infer|rewards|attribution|…` commands to `program`. */
export async function registerPayableCommands(program: Command): Promise<void> {
  const { registerPayableCommands: register } = await import('./commands.ts')
  register(program)
}
