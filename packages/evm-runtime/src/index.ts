/** Public API of @openledger/evm-runtime. */
export type * from './api.ts'
export type { BlockBodyOptions } from './block/body.ts'
export { executeBlockBody } from './block/body.ts'
export { MAX_RLP_BLOCK_SIZE, TX_GAS_LIMIT_CAP } from './block/execute.ts'
export { EMPTY_REQUESTS_HASH, EMPTY_WITHDRAWALS_ROOT, PRAGUE_EMPTY_FIELDS } from './block/header.ts'
export type {
  BlockEnv,
  BlockHook,
  BlockHookContext,
  EndBlockContext,
  SystemState,
} from './block/hooks.ts'
export { Budget, CHECK_EVERY, withBudget } from './budget.ts'
export { type CallOptions, intrinsicGas } from './call.ts'
export { blockParams, createBlockOptions, createChainCommon, nextBaseFee } from './config.ts'
export {
  adoptRecovery,
  bindSender,
  CRYPTO_MODULE_URL,
  createCustomCrypto,
  ecdsaRecover,
  ecrecover,
  ecsign,
  initCrypto,
  keccak256,
  type RawTxRecovery,
  recoverSender,
  secp256k1PrivateKeyAdd,
  secp256k1PublicKey,
} from './crypto.ts'
export {
  BlockHookError,
  type BlockMismatch,
  BlockValidationError,
  ExecutionAborted,
  ExecutionError,
  ExecutionFault,
  ForkError,
  GenesisError,
  InvalidArgumentError,
  MissingStateError,
  NotInLocalStateError,
  RuntimeClosedError,
  TraceTooLargeError,
} from './errors.ts'
export {
  type ConsensusType,
  GENESIS_DEFAULTS,
  type GenesisAccount,
  type GenesisConfig,
  genesisToJson,
  HARDFORKS,
  type HardforkName,
  hardforkAt,
  parseGenesis,
  parseQuantity,
} from './genesis.ts'
export type {
  ModuleCallContext,
  ModuleLog,
  ModuleResult,
  ModuleState,
  ModuleSubcallResult,
  SystemModule,
} from './precompiles/module-types.ts'
export {
  type CreateExecutionRuntimeOptions,
  createExecutionRuntime,
  MODULE_ACCOUNT_CODE,
  type ResetOptions,
  withForkHash,
} from './runtime.ts'
export {
  ACCOUNT_TOMBSTONE,
  type ForkBlock,
  type ForkPoint,
  type ForkSource,
  REMOTE_STORAGE_MARKER,
  type RemoteAccount,
} from './state/fork.ts'
export { type LevelLike, LevelStateDB, type StateWriteOp, type TakenStateWrites } from './state/level-db.ts'
export { decodeRevertReason } from './trace.ts'
export { installSerializeCache, rememberSerialized } from './tx-bytes.ts'
