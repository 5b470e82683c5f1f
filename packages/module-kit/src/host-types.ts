/**
 * The native-module interface is the host's (packages/evm-runtime, src/precompiles/module-types.ts
 * and src/block/hooks.ts): the kit only re-exports its types, so a module package needs no other
 * import to implement it. Type-only: nothing of the runtime is loaded.
 */
export type {
  BlockEnv,
  BlockHook,
  BlockHookContext,
  EndBlockContext,
  ModuleCallContext,
  ModuleLog,
  ModuleResult,
  ModuleState,
  ModuleSubcallResult,
  SystemModule,
  SystemState,
} from '@openledger/evm-runtime'
