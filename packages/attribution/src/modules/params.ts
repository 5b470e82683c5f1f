/**
 * Genesis `modules` section: the fee split and its bounds. Changed only by governance (a later
 * module); every node must run with identical values, so parsing is strict and errors name the field.
 */
import { fromHex, toHex } from '@openledger/module-kit'
import { GOVERNANCE_ADDRESS, STAKING_ADDRESS } from './layout.ts'

export const BPS_DENOMINATOR = 10_000
/** Attribution entry weights (and named-contribution weights) sum to this. */
export const WEIGHT_DENOMINATOR = 1_000_000

export interface ModuleParams {
  /** Receives the protocol bucket and all rounding dust. */
  treasury: Uint8Array
  /** Receives the stakers bucket until the staking module distributes it. */
  stakersPool: Uint8Array
  protocolBps: number
  stakersBps: number
  /** Default owner share for new models (SDK default); the model chooses within [min, max]. */
  ownerBps: number
  /** Default contributors share, = 10000 − protocol − stakers − ownerBps. */
  contributorsBps: number
  minOwnerBps: number
  maxOwnerBps: number
  /** Share of the model-owner bucket paid to the direct parent's owner of a derivative model. */
  parentRoyaltyBps: number
  /** Maximum derivative depth (an original model has depth 0). */
  maxLineageDepth: number
  /** Rules on challenged ModelFactory jobs (default: the Governance module). */
  jobArbiter: Uint8Array
  /** Bond a requester posts to challenge a job, in basis points of its payment. */
  jobChallengeBondBps: number
}

export const DEFAULT_MODULE_PARAMS: Readonly<ModuleParams> = Object.freeze({
  treasury: GOVERNANCE_ADDRESS,
  stakersPool: STAKING_ADDRESS,
  protocolBps: 1000,
  stakersBps: 2000,
  ownerBps: 2000,
  contributorsBps: 5000,
  minOwnerBps: 0,
  maxOwnerBps: 5000,
  parentRoyaltyBps: 1000,
  maxLineageDepth: 8,
  jobArbiter: GOVERNANCE_ADDRESS,
  jobChallengeBondBps: 1000,
})

export class ModuleParamsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`genesis.modules.${field}: ${message}`)
    this.name = 'ModuleParamsError'
  }
}

const KNOWN = new Set([
  'treasury',
  'stakersPool',
  'protocolBps',
  'stakersBps',
  'ownerBps',
  'contributorsBps',
  'minOwnerBps',
  'maxOwnerBps',
  'parentRoyaltyBps',
  'maxLineageDepth',
  'jobArbiter',
  'jobChallengeBondBps',
])

function bps(obj: Record<string, unknown>, name: keyof ModuleParams, max = BPS_DENOMINATOR): number {
  const v = obj[name]
  const def = DEFAULT_MODULE_PARAMS[name] as number
  if (v === undefined) return def
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ModuleParamsError(
      name,
      `expected an integer in [0, ${max}] (default ${def}), got ${JSON.stringify(v)}`,
    )
  }
  return v
}

function address(obj: Record<string, unknown>, name: 'treasury' | 'stakersPool' | 'jobArbiter'): Uint8Array {
  const v = obj[name]
  const def = DEFAULT_MODULE_PARAMS[name]
  if (v === undefined) return def
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v)) {
    throw new ModuleParamsError(
      name,
      `expected a 0x-prefixed 20-byte hex address (default ${toHex(def)}), got ${JSON.stringify(v)}`,
    )
  }
  const a = fromHex(v)
  if (a.every((b) => b === 0)) throw new ModuleParamsError(name, 'the zero address cannot be used')
  return a
}

/** Validates the genesis `modules` object (undefined → all defaults). Unknown keys are refused so
 * a typo cannot silently fall back to a default. */
export function parseModuleParams(input: unknown): ModuleParams {
  if (input === undefined || input === null) return { ...DEFAULT_MODULE_PARAMS }
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new ModuleParamsError(
      '(root)',
      `expected an object, got ${Array.isArray(input) ? 'array' : typeof input}`,
    )
  }
  const obj = input as Record<string, unknown>
  for (const k of Object.keys(obj)) {
    if (!KNOWN.has(k)) throw new ModuleParamsError(k, `unknown field (known: ${[...KNOWN].join(', ')})`)
  }
  const p: ModuleParams = {
    treasury: address(obj, 'treasury'),
    stakersPool: address(obj, 'stakersPool'),
    protocolBps: bps(obj, 'protocolBps'),
    stakersBps: bps(obj, 'stakersBps'),
    ownerBps: bps(obj, 'ownerBps'),
    contributorsBps: bps(obj, 'contributorsBps'),
    minOwnerBps: bps(obj, 'minOwnerBps'),
    maxOwnerBps: bps(obj, 'maxOwnerBps'),
    parentRoyaltyBps: bps(obj, 'parentRoyaltyBps'),
    maxLineageDepth: bps(obj, 'maxLineageDepth', 32),
    jobArbiter: address(obj, 'jobArbiter'),
    jobChallengeBondBps: bps(obj, 'jobChallengeBondBps'),
  }
  const sum = p.protocolBps + p.stakersBps + p.ownerBps + p.contributorsBps
  if (sum !== BPS_DENOMINATOR) {
    throw new ModuleParamsError(
      'contributorsBps',
      `protocolBps + stakersBps + ownerBps + contributorsBps must be ${BPS_DENOMINATOR}, got ${sum}`,
    )
  }
  if (p.minOwnerBps > p.maxOwnerBps) {
    throw new ModuleParamsError('minOwnerBps', `must not exceed maxOwnerBps (${p.maxOwnerBps})`)
  }
  if (p.ownerBps < p.minOwnerBps || p.ownerBps > p.maxOwnerBps) {
    throw new ModuleParamsError(
      'ownerBps',
      `must lie in [minOwnerBps, maxOwnerBps] = [${p.minOwnerBps}, ${p.maxOwnerBps}]`,
    )
  }
  if (p.protocolBps + p.stakersBps + p.maxOwnerBps > BPS_DENOMINATOR) {
    throw new ModuleParamsError(
      'maxOwnerBps',
      `protocolBps + stakersBps + maxOwnerBps must not exceed ${BPS_DENOMINATOR} (contributors' part would be negative)`,
    )
  }
  return p
}
