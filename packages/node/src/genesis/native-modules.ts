/**
 * The native modules of a chain, from its genesis: Datanets/Models/Attribution (genesis.modules,
 * minus the two sections below), Staking and Governance (genesis.modules.staking /
 * .governance), the Staking end-of-block hook, and the genesis allocation with the modules' genesis
 * state applied (initial validators' self-delegations moved from their allocations to the Staking
 * account, module storage written). Every node of a chain derives the same from the same file.
 */
import {
  createSystemModules,
  type ModuleHistory,
  type ModuleParams,
  parseModuleParams,
} from '@openledger/attribution'
import type { BlockHook, GenesisConfig, SystemModule } from '@openledger/evm-runtime'
import {
  type ChainFacts,
  createGovernanceModule,
  createStakingHook,
  createStakingModule,
  expandModuleGenesis,
  GOVERNANCE_ADDRESS,
  type GovernanceParams,
  MIN_BASE_FEE_SLOT,
  minBlockInterval,
  parseGovernanceGenesis,
  parseStakingGenesis,
  type StakingGenesis,
} from '@openledger/staking'

export interface NativeModules {
  /** The genesis with the modules' genesis state in its allocation. */
  genesis: GenesisConfig
  modules: SystemModule[]
  blockHooks: BlockHook[]
  /** Governance's minimum base fee: the runtime's base-fee floor. */
  baseFeeFloor: { account: Uint8Array; slot: Uint8Array }
  moduleParams: ModuleParams
  staking: StakingGenesis
  governance: GovernanceParams
}

export function chainFacts(genesis: GenesisConfig): ChainFacts {
  return {
    epochLength: genesis.consensus.epochLength,
    blockPeriodSeconds: genesis.consensus.type === 'qbft' ? genesis.consensus.blockPeriodSeconds : 1,
    validators: genesis.validators,
  }
}

/**
 * The runtime side of the native modules (modules, hooks, base-fee floor, parsed parameters), from
 * a genesis with or without its module state: synchronous, so that an execution worker derives it
 * from the genesis it is handed (chain/runtime-spec.ts).
 */
export function nativeRuntime(
  genesis: GenesisConfig,
  opts: { history?: ModuleHistory } = {},
): Omit<NativeModules, 'genesis'> {
  const { staking: stakingSection, governance: governanceSection, ...attribution } = genesis.modules
  const moduleParams = parseModuleParams(attribution)
  const chain = chainFacts(genesis)
  return {
    modules: [
      ...createSystemModules(moduleParams, { history: opts.history }),
      createStakingModule({ minBlockInterval: minBlockInterval(chain) }),
      createGovernanceModule(),
    ],
    blockHooks: [createStakingHook()],
    baseFeeFloor: { account: GOVERNANCE_ADDRESS, slot: MIN_BASE_FEE_SLOT },
    moduleParams,
    staking: parseStakingGenesis(stakingSection, chain),
    governance: parseGovernanceGenesis(governanceSection),
  }
}

export async function nativeModules(genesis: GenesisConfig): Promise<NativeModules> {
  const native = nativeRuntime(genesis)
  const chain = chainFacts(genesis)
  const alloc = await expandModuleGenesis(
    genesis.alloc,
    native.staking,
    native.governance,
    chain,
    genesis.timestamp,
  )
  return { ...native, genesis: { ...genesis, alloc: alloc as GenesisConfig['alloc'] } }
}
