/**
 * The QBFT validator set, as the Staking module elects it (packages/staking): the set that
 * validates block h is the module's `activeSet` in the state after block h−1. It changes only at
 * epoch boundaries, where the end-of-block hook of an epoch's last block stores the next set, so it
 * is a persisted snapshot: after a restart it is read back from the state, never recomputed.
 *
 * `validators(h)` must answer synchronously (the QBFT machine and gossip rules ask), so the sets
 * are read ahead: `prepare(parent)` (after a block is executed, before the next one is verified or
 * consensus starts on it) loads the set valid from parent + 1 to the epoch's last block. Heights
 * outside the loaded ranges throw UnknownValidatorSetError (a future epoch not yet elected, or one
 * long past): callers treat such messages as unverifiable, not as invalid.
 * Proposer rotation also needs the proposer (coinbase) of the previous block, kept here for
 * recent heights from the chain's own commits.
 */
import type { Block } from '@ethereumjs/block'
import {
  type Address,
  type Height,
  selectProposer,
  sortValidators,
  type ValidatorSet,
} from '@openledger/consensus'
import type { StakingStore } from '@openledger/staking'

const KEEP_COINBASES = 256
const KEEP_RANGES = 64

export class UnknownValidatorSetError extends Error {
  constructor(readonly height: bigint) {
    super(`the validator set of block ${height} is not known here yet`)
    this.name = 'UnknownValidatorSetError'
  }
}

interface Range {
  from: bigint
  /** Inclusive: the last block of the epoch. */
  to: bigint
  set: Address[]
}

export class ChainValidatorSet implements ValidatorSet {
  readonly #coinbase = new Map<bigint, Address>()
  readonly #ranges: Range[] = []

  /** `stateAt(root)`: the Staking module's storage at a state root. */
  constructor(private readonly stateAt: (stateRoot: Uint8Array) => StakingStore) {}

  /** A set ready for the block after `head`. */
  static async open(
    stateAt: (stateRoot: Uint8Array) => StakingStore,
    head: Block,
  ): Promise<ChainValidatorSet> {
    const s = new ChainValidatorSet(stateAt)
    await s.prepare(head)
    return s
  }

  /** Loads the set of `parent.number + 1` (and the rest of its epoch) from `parent`'s state. */
  async prepare(parent: Block): Promise<void> {
    this.onBlock(parent)
    const next = parent.header.number + 1n
    if (this.#find(next) !== undefined) return
    const store = this.stateAt(parent.header.stateRoot)
    const epoch = await store.epoch()
    const set = sortValidators(await store.activeSet())
    // The set elected after block nextStartBlock − 1 takes over at nextStartBlock.
    const to = epoch.nextStartBlock > next ? epoch.nextStartBlock - 1n : next
    this.#ranges.push({ from: next, to, set })
    this.#ranges.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0))
    if (this.#ranges.length > KEEP_RANGES) this.#ranges.shift()
  }

  /** Records the proposer of a committed block. */
  onBlock(block: Block): void {
    const n = block.header.number
    this.#coinbase.set(n, block.header.coinbase.bytes)
    this.#coinbase.delete(n - BigInt(KEEP_COINBASES))
  }

  #find(height: Height): Range | undefined {
    for (let i = this.#ranges.length - 1; i >= 0; i--) {
      const r = this.#ranges[i] as Range
      if (r.from <= height && height <= r.to) return r
    }
    return undefined
  }

  /** Whether validators(h) can answer. */
  knows(height: Height): boolean {
    return this.#find(height) !== undefined
  }

  validators(height: Height): readonly Address[] {
    const r = this.#find(height)
    if (r === undefined) throw new UnknownValidatorSetError(height)
    return r.set
  }

  proposer(height: Height, round: number): Address {
    return selectProposer(this.validators(height), this.#coinbase.get(height - 1n), round)
  }
}
