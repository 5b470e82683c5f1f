/**
 * Unbonding and redelegation entries. They mature in creation order: an entry's completion time is
 * max(now + unbondingTime, the previous entry's completion time), so a single FIFO queue is always
 * sorted by completion even when governance shortens the unbonding time (a shorter time then takes
 * effect once the older entries have matured). Matured entries are paid out by the end-of-block hook,
 * at most STAKING_LIMITS.maturitiesPerBlock per block.
 */

export const EntryKind = { Unbonding: 1, Redelegation: 2 } as const
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind]

export interface Entry {
  id: bigint
  kind: EntryKind
  delegator: Uint8Array
  /** The validator the stake left (the source of a redelegation). */
  validator: Uint8Array
  /** Redelegation only: the validator the stake went to. */
  dst?: Uint8Array
  creationHeight: bigint
  completionTime: bigint
  /** Tokens when the entry was created. */
  initialBalance: bigint
  /** Redelegation: shares received at `dst`. Unbonding: unused (0). */
  sharesDst: bigint
  /** Number of slash events of `validator` when the entry was created (see slashing.ts). */
  eventsAtCreation: number
}

export function completionTime(now: bigint, unbondingTime: bigint, previousCompletion: bigint): bigint {
  const t = now + unbondingTime
  return t > previousCompletion ? t : previousCompletion
}
