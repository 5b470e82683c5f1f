/** Public API of the on-chain attribution modules. */
import type { SystemModule } from '@openledger/module-kit'
import { createAttributionModule } from './attribution.ts'
import { createDatanetsModule } from './datanets.ts'
import { createModelFactoryModule } from './jobs.ts'
import { createModelsModule } from './models.ts'
import type { ModuleDeps } from './module-history.ts'
import { type ModuleParams, parseModuleParams } from './params.ts'

export { ATTRIBUTION_LIMITS, createAttributionModule } from './attribution.ts'
export { createDatanetsModule, DATANET_LIMITS } from './datanets.ts'
export {
  domainSeparator,
  EIP712_DOMAIN_NAME,
  EIP712_DOMAIN_VERSION,
  ENTRY_TYPE,
  RECEIPT_EIP712_TYPES,
  RECEIPT_TYPE,
  type Receipt,
  type ReceiptEntry,
  receiptDigest,
  receiptStructHash,
  recoverSigner,
} from './eip712.ts'
export { GAS, keccakGas, logGas } from './gas.ts'
export {
  type AttributionEvent,
  decodeAttributionLog,
  decodeSettleCall,
  EVENT_TOPICS,
  SETTLE_SELECTOR,
} from './history.ts'
export {
  createModelFactoryModule,
  JOB_FIELDS,
  JOB_LIMITS,
  JOB_STATUS,
  type JobInfo,
  jobSlot,
  readJob,
} from './jobs.ts'
export * from './layout.ts'
export {
  computeContributionsRoot,
  contributionLeaf,
  contributionProof,
  type LeafInput,
  TREE_DEPTH,
  verifyContributionProof,
  ZERO_HASHES,
} from './merkle.ts'
export { createModelsModule, MODEL_LIMITS } from './models.ts'
export type { ModuleDeps, ModuleHistory } from './module-history.ts'
export {
  BPS_DENOMINATOR,
  DEFAULT_MODULE_PARAMS,
  type ModuleParams,
  ModuleParamsError,
  parseModuleParams,
  WEIGHT_DENOMINATOR,
} from './params.ts'
export * from './read.ts'
export { ContributionStatus, ReceiptState } from './records.ts'
export { takeAccrued } from './rewards.ts'
export {
  MAX_TRAINING_CONFIG_BYTES,
  readTrainingSpec,
  TRAINING_KIND,
  type TrainingSpecInfo,
} from './training.ts'

/** The four modules (Datanets, Models, Attribution, ModelFactory jobs) with the given genesis params, in address order, ready for the host to
 * register. Accounts at their addresses must exist from genesis (nonce 1, non-empty code). */
export function createSystemModules(
  params: ModuleParams | unknown = undefined,
  deps: ModuleDeps = {},
): SystemModule[] {
  const p = isParams(params) ? params : parseModuleParams(params)
  return [
    createDatanetsModule(p),
    createModelsModule(p),
    createAttributionModule(p, deps),
    createModelFactoryModule(p),
  ]
}

function isParams(v: unknown): v is ModuleParams {
  return typeof v === 'object' && v !== null && (v as ModuleParams).treasury instanceof Uint8Array
}
