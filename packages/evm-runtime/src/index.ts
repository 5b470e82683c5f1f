/** Public API of @openledger/evm-runtime. */
export type * from './api.ts'
export { createExecutionRuntime, MODULE_ACCOUNT_CODE, type CreateExecutionRuntimeOptions } from './runtime.ts'
export { parseGenesis, genesisToJson, parseQuantity, GENESIS_DEFAULTS, type GenesisConfig, type GenesisAccount, type ConsensusType } from './genesis.ts'
export { createChainCommon, createBlockOptions, blockParams, nextBaseFee } from './config.ts'
export { recoverSender, keccak256, ecrecover, ecsign, initCrypto, createCustomCrypto } from './crypto.ts'
export {
  GenesisError,
  BlockValidationError,
  ExecutionError,
  MissingStateError,
  InvalidArgumentError,
  RuntimeClosedError,
  type BlockMismatch,
} from './errors.ts'
export { LevelStateDB, type LevelLike } from './state/level-db.ts'
export { PRAGUE_EMPTY_FIELDS, EMPTY_REQUESTS_HASH, EMPTY_WITHDRAWALS_ROOT } from './block/header.ts'
export { decodeRevertReason } from './trace.ts'
export { intrinsicGas } from './call.ts'
export type { SystemModule, ModuleCallContext, ModuleResult, ModuleState, ModuleLog } from './precompiles/module-types.ts'
