/**
 * Election of the next epoch's QBFT set: the top `maxValidators` eligible validators by bonded
 * tokens (ties: lower operator address first), presented as their consensus addresses sorted
 * ascending (Besu order). Eligible = not jailed, tokens > 0, self-delegation ≥ its declared minimum.
 * QBFT gives each member one vote; stake only decides membership.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { compareBytes } from './bytes.ts'

export interface Candidate {
  operator: Uint8Array
  consensus: Uint8Array
  tokens: bigint
  selfTokens: bigint
  minSelfDelegation: bigint
  jailed: boolean
}

export function isEligible(c: Candidate): boolean {
  return !c.jailed && c.tokens > 0n && c.selfTokens >= c.minSelfDelegation
}

export interface Election {
  /** The members, by rank (highest stake first). */
  elected: Candidate[]
  /** Consensus addresses, sorted ascending: the QBFT validator list. */
  set: Uint8Array[]
  /** False when fewer than `minValidators` were eligible: the previous set stays. */
  installed: boolean
}

export function rank(a: Candidate, b: Candidate): number {
  if (a.tokens !== b.tokens) return a.tokens > b.tokens ? -1 : 1
  return compareBytes(a.operator, b.operator)
}

export function elect(
  candidates: readonly Candidate[],
  maxValidators: number,
  minValidators: number,
): Election {
  const elected = candidates.filter(isEligible).sort(rank).slice(0, maxValidators)
  const set = elected.map((c) => c.consensus).sort(compareBytes)
  return { elected, set, installed: elected.length >= minValidators && elected.length > 0 }
}

/** keccak256 of the concatenated addresses of a sorted set: what an epoch-end header's vanity
 * carries for the next epoch, so a light client can follow the hand-over. */
export function validatorSetHash(set: readonly Uint8Array[]): Uint8Array {
  const buf = new Uint8Array(20 * set.length)
  set.forEach((a, i) => {
    buf.set(a, 20 * i)
  })
  return keccak_256(buf)
}
