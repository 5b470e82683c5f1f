/**
 * @openledger/module-kit: what a native-module package (attribution, staking, governance, an L1
 * bridge …) is written with. The interface it implements belongs to the host
 * (@openledger/evm-runtime; re-exported here as types); the kit supplies selector dispatch over an
 * interface ABI, gas charging, a strict ABI decoder, typed custom errors and events, a metered and
 * buffered storage overlay, Solidity storage-layout helpers, the system address table, and an
 * in-memory host for unit tests. See docs/native-modules.md.
 */
export { AbiDecodeError, type ArgsDecoder, compileArgsDecoder } from './abi-decode.ts'
export * from './addresses.ts'
export * from './bytes.ts'
export {
  Exec,
  ModuleRevert,
  OutOfGas,
  type StorageReader,
  type StorageWriter,
  stateReader,
} from './exec.ts'
export {
  type AbiTools,
  abiTools,
  type CallEnv,
  type DefinedModule,
  defineModule,
  type Handler,
  type ModuleDefinition,
} from './framework.ts'
export { GAS, keccakGas, logGas, words } from './gas.ts'
export { type HarnessCall, type HarnessResult, ModuleHarness } from './harness.ts'
export type * from './host-types.ts'
export * from './layout.ts'
export { MemoryState } from './memory-state.ts'
