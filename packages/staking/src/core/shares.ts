/**
 * Delegation by shares. A validator holds `tokens` (bonded OPEN) owned pro rata by `shares`; a slash
 * lowers tokens, not shares, so every delegator loses the same fraction. Invariant kept by these
 * functions: shares = 0 ⟺ tokens = 0. Rounding always favours the shares that stay: a deposit mints
 * shares rounded down, a withdrawal burns shares rounded up, so tokens per share never decrease
 * except by a slash.
 */
import { fail } from './errors.ts'
import { mulDiv, mulDivUp } from './math.ts'

export interface SharePool {
  tokens: bigint
  shares: bigint
}

/** Shares minted for depositing `amount` tokens (1:1 into an empty pool). */
export function sharesForDeposit(pool: SharePool, amount: bigint): bigint {
  if (amount <= 0n) fail('ZeroAmount')
  if (pool.shares === 0n) return amount
  if (pool.tokens === 0n) fail('ValidatorInsolvent')
  const shares = mulDiv(amount, pool.shares, pool.tokens)
  if (shares === 0n) fail('AmountTooSmall', amount)
  return shares
}

/** Tokens that `shares` are worth (rounded down). */
export function tokensForShares(pool: SharePool, shares: bigint): bigint {
  if (pool.shares === 0n) return 0n
  return mulDiv(shares, pool.tokens, pool.shares)
}

/**
 * Shares to burn for withdrawing exactly `amount` tokens from a holder of `held` shares. The last
 * holder takes whatever remains (no dust is left behind in a pool without shares).
 */
export function sharesForWithdrawal(
  pool: SharePool,
  held: bigint,
  amount: bigint,
): { shares: bigint; tokens: bigint } {
  if (amount <= 0n) fail('ZeroAmount')
  const balance = tokensForShares(pool, held)
  if (amount > balance) fail('InsufficientDelegation', balance, amount)
  const shares = mulDivUp(amount, pool.shares, pool.tokens)
  if (shares > held) fail('InsufficientDelegation', balance, amount)
  if (shares === pool.shares) return { shares, tokens: pool.tokens }
  return { shares, tokens: amount }
}

/** Shares worth at most `amount` tokens, capped at `held` (redelegation slashing, rounded up). */
export function sharesCoveringTokens(pool: SharePool, held: bigint, amount: bigint): bigint {
  if (pool.tokens === 0n || amount <= 0n) return 0n
  const s = mulDivUp(amount, pool.shares, pool.tokens)
  return s > held ? held : s
}
