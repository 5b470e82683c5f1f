/**
 * The parameter store: the values Governance has set, in the Attribution account's storage
 * (`parameters[word]`, slot 7), over the genesis values. A word packs the parameters of one group
 * (params.ts `PARAMETERS`) with bit 255 marking it as set; an unset word means "the genesis
 * values", so a chain that never voted on a parameter writes nothing. Read by all three modules;
 * written only by `IAttribution.setParameter`, whose caller must be the Governance module.
 */
import type { StorageReader, StorageWriter } from '@openledger/module-kit'
import { toBigInt, u256 } from '@openledger/module-kit'
import { ATTRIBUTION_ADDRESS, parameterSlot } from './layout.ts'
import {
  checkParamRelations,
  type ModuleParams,
  PARAM_WORDS,
  PARAMETERS,
  type ParamSpec,
  paramValue,
  withParam,
} from './params.ts'

const SET = 1n << 255n

function mask(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n
}

/** The current parameters: genesis values, overridden by every word Governance has set. Reads the
 * given words only (default: all). */
export async function loadParams(
  r: StorageReader,
  genesis: ModuleParams,
  words: readonly number[] = ALL_WORDS,
): Promise<ModuleParams> {
  let p = genesis
  for (const w of words) {
    const word = toBigInt(await r.read(ATTRIBUTION_ADDRESS, parameterSlot(BigInt(w))))
    if ((word & SET) === 0n) continue
    for (const spec of BY_WORD[w] ?? [])
      p = withParam(p, spec, (word >> BigInt(spec.shift)) & mask(spec.bits))
  }
  return p
}

const ALL_WORDS: readonly number[] = Array.from({ length: PARAM_WORDS }, (_, i) => i)
const BY_WORD: ParamSpec[][] = ALL_WORDS.map((w) => PARAMETERS.filter((s) => s.word === w))
/** Words by use: the fee split (with treasury and stakers pool), curation, challenges and bonds. */
export const SPLIT_WORDS: readonly number[] = [0, 1, 2]
export const CURATION_WORDS: readonly number[] = [0]
export const CHALLENGE_WORDS: readonly number[] = [0, 1, 2, 3, 4, 5]
/** Settlement: the split, the challenge window and the provider bond. */
export const SETTLE_WORDS: readonly number[] = [0, 1, 2, 3, 4]
/** ModelFactory jobs: the challenge bond rate and the arbiter. */
export const JOB_WORDS: readonly number[] = [0, 6]

/** A parameter name as the ABI carries it: ASCII, left-aligned in a bytes32, zero-padded. */
export function paramNameBytes(name: string): Uint8Array {
  const b = new TextEncoder().encode(name)
  if (b.length > 32) throw new RangeError('parameter name longer than 32 bytes')
  const out = new Uint8Array(32)
  out.set(b)
  return out
}

export function paramSpecOf(name: Uint8Array): ParamSpec | undefined {
  let end = name.length
  while (end > 0 && name[end - 1] === 0) end--
  const text = Buffer.from(name.subarray(0, end)).toString('latin1')
  return PARAMETERS.find((s) => s.name === text)
}

export type SetParamResult =
  | { ok: true; previous: bigint }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'invalid'; detail: string }

/**
 * Sets one parameter (the caller has checked that Governance asks): range of its kind, then the
 * relations between parameters on the whole new set; writes the word of its group, marking it set.
 */
export async function setParam(
  w: StorageWriter,
  genesis: ModuleParams,
  name: Uint8Array,
  value: bigint,
): Promise<SetParamResult> {
  const spec = paramSpecOf(name)
  if (spec === undefined) return { ok: false, reason: 'unknown' }
  if (value < spec.min || value > spec.max) {
    return { ok: false, reason: 'invalid', detail: `must lie in [${spec.min}, ${spec.max}]` }
  }
  const current = await loadParams(w, genesis)
  const next = withParam(current, spec, value)
  try {
    checkParamRelations(next)
  } catch (e) {
    return { ok: false, reason: 'invalid', detail: (e as Error & { reason?: string }).reason ?? String(e) }
  }
  let word = SET
  for (const s of BY_WORD[spec.word] ?? []) word |= paramValue(next, s) << BigInt(s.shift)
  w.write(ATTRIBUTION_ADDRESS, parameterSlot(BigInt(spec.word)), u256(word))
  return { ok: true, previous: paramValue(current, spec) }
}
