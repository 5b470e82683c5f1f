/** Integer arithmetic of the staking accounting: every division floors unless it says otherwise. */

export const BPS = 10_000n
/** Fixed-point scale of the reward accumulators (reward per token / per share). 1e27 keeps a
 * per-block reward of 1 wei over 10^9 OPEN bonded representable (1e27 / 1e27 = 1 unit). */
export const ACC_PRECISION = 10n ** 27n

export function mulDiv(a: bigint, b: bigint, d: bigint): bigint {
  if (d <= 0n) throw new RangeError('mulDiv: non-positive divisor')
  return (a * b) / d
}

export function mulDivUp(a: bigint, b: bigint, d: bigint): bigint {
  if (d <= 0n) throw new RangeError('mulDivUp: non-positive divisor')
  const p = a * b
  return p === 0n ? 0n : (p - 1n) / d + 1n
}

/** `amount` × bps / 10⁴, floored. */
export function bpsOf(amount: bigint, bps: bigint | number): bigint {
  return (amount * BigInt(bps)) / BPS
}

export function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

export function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}
