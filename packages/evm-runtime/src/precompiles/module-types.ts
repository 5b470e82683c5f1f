/** The SystemModule contract, owned by packages/attribution (src/host.ts). */
export type {
  ModuleCallContext,
  ModuleLog,
  ModuleResult,
  ModuleState,
  SystemModule,
} from '@openledger/attribution'
