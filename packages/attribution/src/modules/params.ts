/**
 * The parameters of the Datanets, Models and Attribution modules, in one place: their genesis
 * values (`genesis.modules`, parsed strictly here) and the registry of what Governance may change
 * (param-store.ts keeps the changed values in the Attribution account's storage). Every node must
 * run with identical values, so parsing refuses anything unknown and errors name the field.
 */
import { fromHex, GOVERNANCE_ADDRESS, STAKING_ADDRESS, toHex } from '@openledger/module-kit'

export const BPS_DENOMINATOR = 10_000
/** Attribution entry weights (and named-contribution weights) sum to this. */
export const WEIGHT_DENOMINATOR = 1_000_000

export interface ModuleParams {
  /** Receives the protocol part of every fee. */
  treasury: Uint8Array
  /** Receives the stakers part (the Staking module sweeps it). */
  stakersPool: Uint8Array
  protocolBps: number
  stakersBps: number
  /** Part of every fee paid to the model's serving provider (may be 0). */
  providerBps: number
  /** Default owner share for new models (SDK default); the model chooses within [min, max]. */
  ownerBps: number
  /** Default contributors share: protocol + stakers + provider + ownerBps + this = 10000 (checked at
   * genesis only; at run time the contributors get what the other parts leave). */
  contributorsBps: number
  minOwnerBps: number
  maxOwnerBps: number
  /** Default share of the model-owner part paid to the direct parent's owner of a derivative
   * (a parent's own derivative terms override it). */
  parentRoyaltyBps: number
  /** Maximum derivative depth (an original model has depth 0). */
  maxLineageDepth: number
  /** No contribution a version adds may weigh more than this share of the version's total weight. */
  maxWeightShareBps: number
  /** Most contributions a version may add (publishing hashes them all into the version's root). */
  maxVersionBatch: number
  /** Minimum span length (tokens) of the on-chain attribution re-run (the engine's k). */
  spanK: number
  /** Seconds after settlement during which a receipt can be challenged (0: no challenges). */
  challengeWindow: number
  /** Seconds a challenged provider has to reveal the output. */
  revealWindow: number
  /** Largest training corpus (bytes) a challenge may ask the chain to recompute. */
  maxResolvableBytes: number
  /** Bond (wei) a model's provider must hold for its receipts to settle (0: none required). */
  minProviderBond: bigint
  /** Bond (wei) a challenger puts up; forfeited to the provider if the receipt was honest. */
  challengerBond: bigint
  /** Share of a slashed provider bond paid to the challenger (the rest to the harmed contributors). */
  challengerRewardBps: number
  /** Share of the provider's bond slashed for a receipt proven wrong (or not revealed). */
  slashBps: number
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
  providerBps: 0,
  ownerBps: 2000,
  contributorsBps: 5000,
  minOwnerBps: 0,
  maxOwnerBps: 5000,
  parentRoyaltyBps: 1000,
  maxLineageDepth: 8,
  maxWeightShareBps: 10_000,
  maxVersionBatch: 4096,
  spanK: 6,
  challengeWindow: 0,
  revealWindow: 3600,
  maxResolvableBytes: 16 * 1024 * 1024,
  minProviderBond: 0n,
  challengerBond: 0n,
  challengerRewardBps: 5000,
  slashBps: 10_000,
  jobArbiter: GOVERNANCE_ADDRESS,
  jobChallengeBondBps: 1000,
})

export class ModuleParamsError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`genesis.modules.${field}: ${reason}`)
    this.name = 'ModuleParamsError'
  }
}

export type ParamKind = 'address' | 'bps' | 'count' | 'seconds' | 'wei'

/** Where a governable parameter lives: word `word` of the parameter store, `bits` bits at `shift`. */
export interface ParamSpec {
  name: Exclude<keyof ModuleParams, 'contributorsBps'>
  kind: ParamKind
  word: number
  shift: number
  bits: number
  min: bigint
  max: bigint
}

const U48 = (1n << 48n) - 1n
const U128 = (1n << 128n) - 1n

/** Every parameter Governance may set, and how it is stored (param-store.ts). */
export const PARAMETERS: readonly ParamSpec[] = [
  { name: 'protocolBps', kind: 'bps', word: 0, shift: 0, bits: 16, min: 0n, max: 10_000n },
  { name: 'stakersBps', kind: 'bps', word: 0, shift: 16, bits: 16, min: 0n, max: 10_000n },
  { name: 'providerBps', kind: 'bps', word: 0, shift: 32, bits: 16, min: 0n, max: 10_000n },
  { name: 'ownerBps', kind: 'bps', word: 0, shift: 48, bits: 16, min: 0n, max: 10_000n },
  { name: 'minOwnerBps', kind: 'bps', word: 0, shift: 64, bits: 16, min: 0n, max: 10_000n },
  { name: 'maxOwnerBps', kind: 'bps', word: 0, shift: 80, bits: 16, min: 0n, max: 10_000n },
  { name: 'parentRoyaltyBps', kind: 'bps', word: 0, shift: 96, bits: 16, min: 0n, max: 10_000n },
  { name: 'maxLineageDepth', kind: 'count', word: 0, shift: 112, bits: 8, min: 0n, max: 32n },
  { name: 'maxWeightShareBps', kind: 'bps', word: 0, shift: 120, bits: 16, min: 1n, max: 10_000n },
  { name: 'challengerRewardBps', kind: 'bps', word: 0, shift: 136, bits: 16, min: 0n, max: 10_000n },
  { name: 'slashBps', kind: 'bps', word: 0, shift: 152, bits: 16, min: 0n, max: 10_000n },
  { name: 'spanK', kind: 'count', word: 0, shift: 168, bits: 16, min: 1n, max: 64n },
  { name: 'maxVersionBatch', kind: 'count', word: 0, shift: 184, bits: 32, min: 1n, max: 65_536n },
  { name: 'jobChallengeBondBps', kind: 'bps', word: 0, shift: 216, bits: 16, min: 0n, max: 10_000n },
  { name: 'treasury', kind: 'address', word: 1, shift: 0, bits: 160, min: 1n, max: (1n << 160n) - 1n },
  { name: 'stakersPool', kind: 'address', word: 2, shift: 0, bits: 160, min: 1n, max: (1n << 160n) - 1n },
  { name: 'challengeWindow', kind: 'seconds', word: 3, shift: 0, bits: 48, min: 0n, max: U48 },
  { name: 'revealWindow', kind: 'seconds', word: 3, shift: 48, bits: 48, min: 1n, max: U48 },
  { name: 'maxResolvableBytes', kind: 'count', word: 3, shift: 96, bits: 48, min: 0n, max: 1n << 40n },
  { name: 'minProviderBond', kind: 'wei', word: 4, shift: 0, bits: 128, min: 0n, max: U128 },
  { name: 'challengerBond', kind: 'wei', word: 5, shift: 0, bits: 128, min: 0n, max: (1n << 96n) - 1n },
  { name: 'jobArbiter', kind: 'address', word: 6, shift: 0, bits: 160, min: 1n, max: (1n << 160n) - 1n },
]
export const PARAM_WORDS = 7

/** A parameter's value as the integer the store and the ABI carry (addresses as uint160). */
export function paramValue(p: ModuleParams, spec: ParamSpec): bigint {
  const v = p[spec.name]
  if (v instanceof Uint8Array) return BigInt(toHex(v))
  return BigInt(v)
}

/** Sets one parameter from its integer value (assumed within its spec's range). */
export function withParam(p: ModuleParams, spec: ParamSpec, value: bigint): ModuleParams {
  const next = { ...p }
  if (spec.kind === 'address') (next as Record<string, unknown>)[spec.name] = addressOf(value)
  else if (spec.kind === 'wei') (next as Record<string, unknown>)[spec.name] = value
  else (next as Record<string, unknown>)[spec.name] = Number(value)
  return next
}

function addressOf(v: bigint): Uint8Array {
  return fromHex(`0x${v.toString(16).padStart(40, '0')}`)
}

/**
 * The rules that hold between parameters, at genesis and after every change: the fixed parts of a
 * fee leave room for the largest owner share, the default owner share lies within its bounds.
 * Throws ModuleParamsError naming the first field at fault.
 */
export function checkParamRelations(p: ModuleParams): void {
  if (p.minOwnerBps > p.maxOwnerBps) {
    throw new ModuleParamsError('minOwnerBps', `must not exceed maxOwnerBps (${p.maxOwnerBps})`)
  }
  if (p.ownerBps < p.minOwnerBps || p.ownerBps > p.maxOwnerBps) {
    throw new ModuleParamsError(
      'ownerBps',
      `must lie in [minOwnerBps, maxOwnerBps] = [${p.minOwnerBps}, ${p.maxOwnerBps}]`,
    )
  }
  if (p.protocolBps + p.stakersBps + p.providerBps + p.maxOwnerBps > BPS_DENOMINATOR) {
    throw new ModuleParamsError(
      'maxOwnerBps',
      `protocolBps + stakersBps + providerBps + maxOwnerBps must not exceed ${BPS_DENOMINATOR} (contributors' part would be negative)`,
    )
  }
}

function field(obj: Record<string, unknown>, spec: ParamSpec): ModuleParams[keyof ModuleParams] {
  const name = spec.name
  const v = obj[name]
  const def = DEFAULT_MODULE_PARAMS[name]
  if (v === undefined) return def
  const shown = def instanceof Uint8Array ? toHex(def) : String(def)
  if (spec.kind === 'address') {
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v)) {
      throw new ModuleParamsError(
        name,
        `expected a 0x-prefixed 20-byte hex address (default ${shown}), got ${JSON.stringify(v)}`,
      )
    }
    const a = fromHex(v)
    if (a.every((b) => b === 0)) throw new ModuleParamsError(name, 'the zero address would burn rewards')
    return a
  }
  let n: bigint | undefined
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v)
  else if (spec.kind === 'wei' && typeof v === 'string' && /^(0|[1-9][0-9]*)$/.test(v)) n = BigInt(v)
  if (n === undefined || n < spec.min || n > spec.max) {
    const what = spec.kind === 'wei' ? 'an integer (number or decimal string) of wei' : 'an integer'
    throw new ModuleParamsError(
      name,
      `expected ${what} in [${spec.min}, ${spec.max}] (default ${shown}), got ${JSON.stringify(v)}`,
    )
  }
  return spec.kind === 'wei' ? n : Number(n)
}

const KNOWN = new Set<string>([...PARAMETERS.map((s) => s.name), 'contributorsBps'])

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
  const p = { ...DEFAULT_MODULE_PARAMS } as ModuleParams
  for (const spec of PARAMETERS) (p as unknown as Record<string, unknown>)[spec.name] = field(obj, spec)
  const c = obj.contributorsBps
  if (c !== undefined && (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > BPS_DENOMINATOR)) {
    throw new ModuleParamsError(
      'contributorsBps',
      `expected an integer in [0, ${BPS_DENOMINATOR}] (default ${DEFAULT_MODULE_PARAMS.contributorsBps}), got ${JSON.stringify(c)}`,
    )
  }
  p.contributorsBps = c ?? DEFAULT_MODULE_PARAMS.contributorsBps
  const sum = p.protocolBps + p.stakersBps + p.providerBps + p.ownerBps + p.contributorsBps
  if (sum !== BPS_DENOMINATOR) {
    throw new ModuleParamsError(
      'contributorsBps',
      `protocolBps + stakersBps + providerBps + ownerBps + contributorsBps must be ${BPS_DENOMINATOR}, got ${sum}`,
    )
  }
  checkParamRelations(p)
  return p
}
