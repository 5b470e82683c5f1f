import { AttributionError } from './errors.ts'

/** Fractional bits of the fixed-point log2 used for rarity (Q.32). */
export const LOG2_FRAC_BITS = 32n
// Working precision of the mantissa during repeated squaring; fixed so every implementation
// truncates at the same places and produces the same bits.
const MANTISSA_BITS = 64n
const ONE = 1n << MANTISSA_BITS
const TWO = ONE << 1n

function bitLength(x: bigint): bigint {
  return BigInt(x.toString(2).length)
}

/**
 * log2(p / q) in Q.32 fixed point for integers p >= q >= 1, computed ONLY with integer operations:
 *
 *   e = the integer with 2^e·q <= p < 2^(e+1)·q
 *   m = floor(p·2^64 / (q·2^e))            (mantissa in [2^64, 2^65), i.e. p/(q·2^e) in [1,2))
 *   repeat 32 times:  m = floor(m² / 2^64); f = 2f; if m >= 2^65 { m = floor(m / 2); f = f + 1 }
 *   result = e·2^32 + f
 *
 * The binary-digit algorithm for logarithms; each squaring truncates, so the result is a lower
 * approximation of 2^32·log2(p/q) (error well below 2^-24). It is the definition, not an estimate:
 * any re-implementation of these steps gives the same integer.
 */
export function log2Fixed(p: bigint, q: bigint): bigint {
  if (q < 1n || p < q) throw new AttributionError('INVALID_PARAMS', 'log2Fixed needs p >= q >= 1')
  let e = bitLength(p) - bitLength(q)
  if (e > 0n && p < q << e) e -= 1n
  else if (p >= q << (e + 1n)) e += 1n
  let m = (p << MANTISSA_BITS) / (q << e)
  let f = 0n
  for (let i = 0n; i < LOG2_FRAC_BITS; i++) {
    m = (m * m) >> MANTISSA_BITS
    f <<= 1n
    if (m >= TWO) {
      m >>= 1n
      f |= 1n
    }
  }
  return (e << LOG2_FRAC_BITS) | f
}

/**
 * Largest-remainder apportionment: integer parts of `denominator` proportional to `credits`, summing
 * exactly to `denominator` when the total credit is positive. Each item first gets
 * floor(c·D / T); the D − Σfloor units left over go one each to the items with the largest
 * remainder (c·D mod T), ties broken by the caller's order (callers sort by id ascending).
 */
export function largestRemainder(credits: readonly bigint[], denominator: bigint): bigint[] {
  let total = 0n
  for (const c of credits) {
    if (c < 0n) throw new AttributionError('INVALID_PARAMS', 'negative credit')
    total += c
  }
  if (total === 0n) throw new AttributionError('INVALID_PARAMS', 'total credit is zero')
  const out = new Array<bigint>(credits.length)
  const rems = new Array<bigint>(credits.length)
  let assigned = 0n
  for (let i = 0; i < credits.length; i++) {
    const num = credits[i]! * denominator
    out[i] = num / total
    rems[i] = num % total
    assigned += out[i]!
  }
  const left = Number(denominator - assigned) // < credits.length, so a safe number
  if (left > 0) {
    const order = credits.map((_, i) => i)
    // Stable sort keeps the caller's (id) order among equal remainders.
    order.sort((a, b) => (rems[a]! > rems[b]! ? -1 : rems[a]! < rems[b]! ? 1 : a - b))
    for (let j = 0; j < left; j++) out[order[j]!]! += 1n
  }
  return out
}

const DECIMAL_RE = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/
/** Largest number of fractional digits accepted in a decimal-string score. */
export const MAX_SCORE_DECIMALS = 36

/** A non-negative score as an exact rational `value / 10^decimals`. */
export interface ExactScore {
  value: bigint
  decimals: number
}

/**
 * Parses a citation score exactly: a non-negative bigint, a non-negative safe integer number, or a
 * plain decimal string ("12", "0.875"; no sign, exponent or spaces). Non-integer JS numbers are
 * refused because their binary value is not the decimal the caller meant.
 */
export function parseScore(score: unknown, what: string): ExactScore {
  if (typeof score === 'bigint') {
    if (score < 0n) throw new AttributionError('INVALID_SCORE', `${what}: score must be >= 0`)
    return { value: score, decimals: 0 }
  }
  if (typeof score === 'number') {
    if (!Number.isSafeInteger(score) || score < 0) {
      throw new AttributionError(
        'INVALID_SCORE',
        `${what}: numeric score must be a non-negative safe integer (use a decimal string for fractions)`,
      )
    }
    return { value: BigInt(score), decimals: 0 }
  }
  if (typeof score === 'string') {
    const m = DECIMAL_RE.exec(score)
    if (m === null) {
      throw new AttributionError('INVALID_SCORE', `${what}: "${score.slice(0, 40)}" is not a plain decimal`)
    }
    const frac = m[2] ?? ''
    if (frac.length > MAX_SCORE_DECIMALS) {
      throw new AttributionError('INVALID_SCORE', `${what}: more than ${MAX_SCORE_DECIMALS} decimals`)
    }
    return { value: BigInt(m[1]! + frac), decimals: frac.length }
  }
  throw new AttributionError('INVALID_SCORE', `${what}: score must be a bigint, integer or decimal string`)
}
