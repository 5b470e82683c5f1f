import { bytesEqual, compareBytes, toHex } from './bytes.ts'
import { QbftConfigError } from './errors.ts'

/** Block number. */
export type Height = bigint
/** QBFT round within a height, 0-based; Besu encodes it as a 32-bit int scalar. */
export type Round = number
/** 20-byte validator address (keccak(pubkey)[12..32]). */
export type Address = Uint8Array
/** 32-byte keccak digest. */
export type Hash = Uint8Array

export const MAX_ROUND = 0x7fff_ffff

/**
 * A block as the state machine sees it: opaque bytes plus the three facts consensus needs.
 * - `digest`: the hash validators PREPARE/COMMIT on and sign as commit seal. In Besu's QBFT this
 *   is the header hash with the extraData's commit seals emptied but the round kept
 *   (`hashForCommitSeal` in extra-data.ts), so it changes when a block is re-proposed in a later
 *   round with the round re-stamped.
 * - `round`: the round stamped into the block's extraData.
 * - `bytes`: the block's RLP encoding (a list), embedded as-is in PROPOSAL / ROUND-CHANGE.
 */
export interface Block {
  readonly height: Height
  readonly round: Round
  readonly digest: Hash
  readonly bytes: Uint8Array
}

/** How the node plugs its real block format in. Both functions must be pure and deterministic. */
export interface BlockCodec {
  /** Parse RLP block bytes; throw (anything) on garbage: callers wrap it in a typed error. */
  decode(bytes: Uint8Array): Block
  /** The same block with `round` stamped into its extraData (new digest, same content otherwise). */
  withRound(block: Block, round: Round): Block
}

/** The validator's key, injected so the node can put its WAL (and a remote signer) in front. */
export interface Signer {
  readonly address: Address
  /** secp256k1 over the 32-byte hash; 65 bytes r(32) ‖ s(32) ‖ recId(1), recId ∈ {0,1}, low-s. */
  sign(hash: Hash): Uint8Array
}

/** Recover the signer address of a 65-byte signature over a 32-byte hash; throws on bad input. */
export type RecoverFn = (hash: Hash, signature: Uint8Array) => Address

/**
 * The validator set, fed from genesis now and by the staking module later.
 * `validators(h)` is the set that validates block `h` (Besu: the tally after block h-1), sorted
 * ascending by address, no duplicates. `proposer(h, r)` must be deterministic across nodes.
 */
export interface ValidatorSet {
  validators(height: Height): readonly Address[]
  proposer(height: Height, round: Round): Address
}

/** Votes needed for a quorum: ceil(2n/3), integer-only. */
export function quorumSize(n: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new QbftConfigError(`validator count must be a positive integer, got ${n}`)
  return Math.floor((2 * n + 2) / 3)
}

/** Byzantine faults tolerated: floor((n-1)/3). */
export function maxFaulty(n: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new QbftConfigError(`validator count must be a positive integer, got ${n}`)
  return Math.floor((n - 1) / 3)
}

export function isValidator(validators: readonly Address[], a: Address): boolean {
  for (const v of validators) if (bytesEqual(v, a)) return true
  return false
}

/** Sorted ascending (Besu order), checked for 20-byte length and duplicates. */
export function sortValidators(list: readonly Address[]): Address[] {
  if (list.length === 0) throw new QbftConfigError('validator set is empty')
  const sorted = [...list].sort(compareBytes)
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i] as Address
    if (v.length !== 20) throw new QbftConfigError(`validator address must be 20 bytes, got ${v.length}`)
    if (i > 0 && bytesEqual(v, sorted[i - 1] as Address))
      throw new QbftConfigError(`duplicate validator ${toHex(v)}`)
  }
  return sorted
}

/**
 * Besu's proposer rule (ProposerSelector with changeEachBlock = true), which we follow:
 * - Let P be the proposer (coinbase) of block h-1 and V the sorted validators for h.
 * - If P ∈ V: proposer(h, r) = V[(index(P) + 1 + r) mod |V|].
 * - Else (genesis, whose coinbase is usually 0x0, or P was voted out): start from the first
 *   validator whose address is greater than P (wrapping to V[0]) and add r:
 *   proposer(h, r) = V[(index(next(P)) + r) mod |V|].
 * So round 0 rotates round-robin block by block, and each round change moves one validator on.
 */
export function selectProposer(
  validators: readonly Address[],
  previousProposer: Address | undefined,
  round: Round,
): Address {
  if (validators.length === 0) throw new QbftConfigError('validator set is empty')
  if (!Number.isInteger(round) || round < 0) throw new QbftConfigError(`invalid round ${round}`)
  const n = validators.length
  let base: number
  const prev = previousProposer ?? new Uint8Array(20)
  const idx = validators.findIndex((v) => bytesEqual(v, prev))
  if (idx >= 0) {
    base = idx + 1
  } else {
    base = validators.findIndex((v) => compareBytes(v, prev) > 0)
    if (base < 0) base = 0
  }
  return validators[(base + (round % n)) % n] as Address
}

/**
 * A fixed validator set (from genesis) with Besu's proposer rule. `proposerOf(h)` returns the
 * proposer (header coinbase) of committed block h, or undefined for an unknown block; the node
 * answers from its chain, tests from their simulated chain.
 */
export class StaticValidatorSet implements ValidatorSet {
  readonly #validators: Address[]
  readonly #proposerOf: (height: Height) => Address | undefined

  constructor(validators: readonly Address[], proposerOf: (height: Height) => Address | undefined) {
    this.#validators = sortValidators(validators)
    this.#proposerOf = proposerOf
  }

  validators(_height: Height): readonly Address[] {
    return this.#validators
  }

  proposer(height: Height, round: Round): Address {
    if (height < 1n) throw new QbftConfigError(`no proposer for height ${height}`)
    return selectProposer(this.#validators, this.#proposerOf(height - 1n), round)
  }
}
