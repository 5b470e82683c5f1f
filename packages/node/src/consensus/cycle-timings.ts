/**
 * Wall-clock timestamps of each step of the block cycle, per height, as this validator's QBFT host
 * saw them (`qbft_getCycleTimings`; the devnet benchmark prints the breakdown). Wall-clock
 * (Date.now) rather than a monotonic clock so that the nodes of one machine can be lined up:
 * "proposal persisted on the proposer" → "validation started here" is the proposal's gossip time.
 *
 * Only the first occurrence of a step per height is kept (round 0 in a healthy network); `round`
 * is the highest round started at that height, so round changes stay visible.
 */

/** The steps, in cycle order. */
export const CYCLE_STEPS = [
  /** Round 0 started (the previous block became the head). */
  'roundStart',
  /** Proposer: the block period elapsed, building starts (queued behind imports). */
  'buildStart',
  /** Proposer: block executed, roots computed, state written. */
  'built',
  /** A signed message is being appended to the WAL / was fsynced (then broadcast). */
  'proposalWal',
  'proposalSent',
  /** Validator: the engine asked for the proposal to be executed / the answer. */
  'validateStart',
  'validated',
  'prepareWal',
  'prepareSent',
  'commitWal',
  'commitSent',
  /** A quorum of commits: the block is decided; then imported (stored, observers notified). */
  'decided',
  'imported',
] as const

export type CycleStep = (typeof CYCLE_STEPS)[number]

export interface CycleRecord {
  height: bigint
  /** Highest round started at this height. */
  round: number
  /** Transactions of the executed block (built or validated). */
  txs?: number
  at: Partial<Record<CycleStep, number>>
}

export class CycleTimings {
  readonly #byHeight = new Map<bigint, CycleRecord>()

  constructor(
    private readonly max = 2048,
    private readonly now: () => number = Date.now,
  ) {}

  #record(height: bigint): CycleRecord {
    let r = this.#byHeight.get(height)
    if (r === undefined) {
      r = { height, round: 0, at: {} }
      this.#byHeight.set(height, r)
      if (this.#byHeight.size > this.max) this.#byHeight.delete(this.#byHeight.keys().next().value as bigint)
    }
    return r
  }

  mark(height: bigint, step: CycleStep, at = this.now()): void {
    const r = this.#record(height)
    r.at[step] ??= at
  }

  round(height: bigint, round: number): void {
    const r = this.#record(height)
    if (round > r.round) r.round = round
  }

  txs(height: bigint, count: number): void {
    this.#record(height).txs ??= count
  }

  /** Records of heights `from..to` (inclusive) that have any step, in height order. */
  range(from: bigint, to: bigint): CycleRecord[] {
    const out: CycleRecord[] = []
    for (const r of this.#byHeight.values()) if (r.height >= from && r.height <= to) out.push(r)
    return out.sort((a, b) => (a.height < b.height ? -1 : a.height > b.height ? 1 : 0))
  }
}
