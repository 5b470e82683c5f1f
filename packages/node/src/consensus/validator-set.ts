/**
 * The validator set of a QBFT chain, fixed by genesis until the staking module feeds changes.
 * Proposer rotation needs the proposer (coinbase) of the previous block, which is kept here for
 * recent heights from the chain's own commits.
 */
import type { Block } from '@ethereumjs/block'
import { type Address, type Height, StaticValidatorSet, type ValidatorSet } from '@openledger/consensus'

const KEEP = 256

export class ChainValidatorSet implements ValidatorSet {
  readonly #set: StaticValidatorSet
  readonly #coinbase = new Map<bigint, Address>()

  constructor(validators: readonly Address[], head: Block) {
    this.#set = new StaticValidatorSet(validators, (h) => this.#coinbase.get(h))
    this.onBlock(head)
  }

  /** Record the proposer of a committed block. */
  onBlock(block: Block): void {
    const n = block.header.number
    this.#coinbase.set(n, block.header.coinbase.bytes)
    this.#coinbase.delete(n - BigInt(KEEP))
  }

  validators(height: Height): readonly Address[] {
    return this.#set.validators(height)
  }

  proposer(height: Height, round: number): Address {
    return this.#set.proposer(height, round)
  }
}
