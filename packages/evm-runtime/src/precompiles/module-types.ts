/**
 * The SystemModule contract (packages/attribution/src/host.ts). Imported by relative path, type
 * only (erased at runtime), so this package type-checks whether or not @openledger/attribution's
 * index re-exports host.ts.
 */
export type { ModuleCallContext, ModuleLog, ModuleResult, ModuleState, SystemModule } from '../../../attribution/src/host.ts'
