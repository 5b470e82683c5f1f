/**
 * Addresses of the native system modules: the bytes of "OPEN" (0x4f50454e) followed by the
 * module's number. One table for every module package, so that a new module takes a free number.
 */
import { fromHex } from './bytes.ts'

export const SYSTEM_MODULE_NUMBERS = {
  datanets: 1,
  models: 2,
  attribution: 3,
  staking: 4,
  governance: 5,
  modelFactory: 6,
} as const

/** 0x4f50454e followed by `n` as a 16-byte big-endian number. */
export function systemAddress(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`system module number must be ≥ 1, got ${n}`)
  return fromHex(`0x4f50454e${n.toString(16).padStart(32, '0')}`)
}

export const DATANETS_ADDRESS = systemAddress(SYSTEM_MODULE_NUMBERS.datanets)
export const MODELS_ADDRESS = systemAddress(SYSTEM_MODULE_NUMBERS.models)
export const ATTRIBUTION_ADDRESS = systemAddress(SYSTEM_MODULE_NUMBERS.attribution)
export const STAKING_ADDRESS = systemAddress(SYSTEM_MODULE_NUMBERS.staking)
export const GOVERNANCE_ADDRESS = systemAddress(SYSTEM_MODULE_NUMBERS.governance)
export const MODEL_FACTORY_ADDRESS = systemAddress(SYSTEM_MODULE_NUMBERS.modelFactory)
