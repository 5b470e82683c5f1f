/**
 * Deterministic elementary functions on binary64 numbers.
 *
 * ECMAScript defines +, -, *, / as IEEE 754 binary64 operations with round-to-nearest-even and
 * forbids contracting them (no fused multiply-add), so a fixed sequence of them gives the same bits
 * on every conforming engine and processor. `Math.exp`, `Math.log` and even `Math.sqrt` are only
 * "implementation-approximated" by the specification: V8 versions and platforms may differ in the
 * last bit. Training must be bit-exact for a seed, so the functions a training run needs (exp for
 * softmax, log for the loss, sqrt for RMSNorm and AdamW) are computed here from basic operations in a
 * fixed order. They are accurate to about one unit in the last place of binary64, far below the
 * float32 precision the model stores.
 */

const view = new DataView(new ArrayBuffer(8))

/** 2^k for an integer k in [-1022, 1023], built from its bit pattern (exact). */
export function pow2(k: number): number {
  view.setUint32(0, 0, true)
  view.setUint32(4, ((k + 1023) << 20) >>> 0, true)
  return view.getFloat64(0, true)
}

/** Unbiased binary exponent of a positive normal number (its bit pattern). */
function exponentOf(x: number): number {
  view.setFloat64(0, x, true)
  return ((view.getUint32(4, true) >>> 20) & 0x7ff) - 1023
}

// ln 2 split in two (fdlibm's constants): k·LN2_HI is exact for |k| < 2^20.
const LN2_HI = 0.6931471803691238
const LN2_LO = 1.9082149292705877e-10
const INV_LN2 = Math.LOG2E
const SQRT2 = Math.SQRT2

// 1/n! for n = 0 … 13, each by one IEEE division from the previous.
const EXP_COEF: number[] = (() => {
  const c = [1]
  for (let n = 1; n <= 13; n++) c.push((c[n - 1] as number) / n)
  return c
})()

/**
 * e^x. Range reduction x = k·ln2 + r with |r| ≤ ln2/2 (Cody–Waite, two-part ln 2), then the
 * degree-13 Taylor polynomial of e^r by Horner's rule (truncation error < 2^-60 relative), then an
 * exact scaling by 2^k.
 */
export function exp64(x: number): number {
  if (Number.isNaN(x)) return Number.NaN
  if (x > 709.7) return Number.POSITIVE_INFINITY
  if (x < -708) {
    // Below the normal range of 2^k: the model never needs these (softmax inputs are ≥ -1e4 after
    // the max is subtracted, and e^-708 is already 0 in float32).
    return 0
  }
  const k = Math.floor(x * INV_LN2 + 0.5)
  const r = x - k * LN2_HI - k * LN2_LO
  let p = EXP_COEF[13] as number
  for (let n = 12; n >= 0; n--) p = p * r + (EXP_COEF[n] as number)
  return p * pow2(k)
}

/**
 * Natural logarithm of x > 0. x = 2^e·m with m in [√½, √2), then
 * log m = 2·atanh(s) with s = (m−1)/(m+1), |s| ≤ 0.1716, summed to s^25 (error < 2^-60).
 */
export function log64(x: number): number {
  if (Number.isNaN(x) || x < 0) return Number.NaN
  if (x === 0) return Number.NEGATIVE_INFINITY
  if (x === Number.POSITIVE_INFINITY) return x
  let e = 0
  if (x < 2.2250738585072014e-308) {
    // Subnormal: scale into the normal range first (exact).
    x *= pow2(54)
    e = -54
  }
  const ex = exponentOf(x)
  let m = x * pow2(-ex)
  e += ex
  if (m > SQRT2) {
    m *= 0.5
    e += 1
  }
  const f = m - 1
  const s = f / (2 + f)
  const s2 = s * s
  let sum = 1 / 25
  for (let n = 23; n >= 1; n -= 2) sum = sum * s2 + 1 / n
  const logm = 2 * s * sum
  return e * LN2_HI + (logm + e * LN2_LO)
}

/**
 * √x for x ≥ 0: Newton's iteration y ← (y + x/y)/2 from an upper bound built from the exponent,
 * a fixed number of steps (six suffice from a start within a factor of two: the relative error
 * squares at each step).
 */
export function sqrt64(x: number): number {
  if (Number.isNaN(x) || x < 0) return Number.NaN
  if (x === 0 || x === Number.POSITIVE_INFINITY) return x
  let scale = 1
  if (x < 2.2250738585072014e-308) {
    x *= pow2(54)
    scale = pow2(-27)
  }
  const e = exponentOf(x)
  // 2^ceil((e+1)/2) ≥ √x.
  let y = pow2(Math.floor((e + 2) / 2))
  for (let i = 0; i < 7; i++) y = 0.5 * (y + x / y)
  return y * scale
}

/** Index of the largest element (first one on ties). */
export function argmax(a: ArrayLike<number>, offset = 0, length = a.length - offset): number {
  let best = 0
  let bv = a[offset] as number
  for (let i = 1; i < length; i++) {
    const v = a[offset + i] as number
    if (v > bv) {
      bv = v
      best = i
    }
  }
  return best
}
