/**
 * How this node configures its execution runtime, apart from the database: genesis, system
 * modules, block hooks and dev options. The node's runtime (openCore) and the RPC execution
 * workers (backend/exec-worker.ts) both build theirs from this one function, so an eth_call on a
 * worker executes exactly as the chain does. Add new modules or hooks here (native ones in
 * genesis/native-modules.ts). The genesis is the one with the modules' genesis state already in
 * its allocation (nativeModules), so a worker does not redo that asynchronous step.
 */
import type { ModuleHistory } from '@openledger/attribution'
import {
  type CreateExecutionRuntimeOptions,
  type GenesisConfig,
  genesisToJson,
  parseGenesis,
} from '@openledger/evm-runtime'
import { nativeRuntime } from '../genesis/native-modules.ts'

/** The runtime's configuration in a form that crosses to a worker thread (structured clone). */
export interface RuntimeSpec {
  /** genesisToJson(genesis). */
  genesis: Record<string, unknown>
  allowUnlimitedContractSize?: boolean
  /** The node runs block hooks of its own (the L1 bridge's deposits): they hold node state (its L1
   * view) that a worker cannot rebuild, so what replays blocks (traces) stays on the main thread.
   * The native modules' hook (staking) is rebuilt from the genesis and does not count here. */
  blockHooks?: boolean
}

export function runtimeSpec(
  genesis: GenesisConfig,
  opts: { allowUnlimitedContractSize?: boolean; blockHooks?: boolean } = {},
): RuntimeSpec {
  return {
    genesis: genesisToJson(genesis),
    allowUnlimitedContractSize: opts.allowUnlimitedContractSize,
    blockHooks: opts.blockHooks,
  }
}

/** `history`: the chain's logs, which the Attribution module reads to re-run a challenged receipt
 * (attribution/history.ts over the chain keyspace, like getBlockHash). */
export function runtimeOptions(
  genesis: GenesisConfig,
  opts: { allowUnlimitedContractSize?: boolean; history?: ModuleHistory } = {},
): Omit<CreateExecutionRuntimeOptions, 'db' | 'getBlockHash'> {
  const native = nativeRuntime(genesis, { history: opts.history })
  return {
    genesis,
    modules: native.modules,
    blockHooks: native.blockHooks,
    baseFeeFloor: native.baseFeeFloor,
    allowUnlimitedContractSize: opts.allowUnlimitedContractSize,
  }
}

/** The same options on the other side of a worker boundary. */
export function runtimeOptionsFromSpec(
  spec: RuntimeSpec,
  history?: ModuleHistory,
): Omit<CreateExecutionRuntimeOptions, 'db' | 'getBlockHash'> {
  return runtimeOptions(parseGenesis(spec.genesis), { ...spec, history })
}
