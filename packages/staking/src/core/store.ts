/**
 * What the staking ledger needs from storage, as typed records. The module implements it over its
 * account's storage (staking/storage-store.ts, metered); tests implement it in memory. Writes may be
 * buffered: a read after a write in the same operation must return the written value.
 */

import type { SigningInfo } from './liveness.ts'
import type { StakingParams } from './params.ts'
import type {
  DelegationRecord,
  Description,
  EpochRecord,
  EpochState,
  GlobalRewards,
  QueueState,
  Totals,
  ValidatorRecord,
} from './records.ts'
import type { SlashEvent } from './slashing.ts'
import type { Entry, EntryKind } from './unbonding.ts'

/** Checkpointed series (governance reads them at past blocks). */
export type Series =
  | { kind: 'tokens'; validator: Uint8Array }
  | { kind: 'shares'; validator: Uint8Array }
  | { kind: 'delegation'; delegator: Uint8Array; validator: Uint8Array }
  | { kind: 'totalBonded' }

export interface StakingStore {
  params(): Promise<StakingParams>
  setParams(p: StakingParams): Promise<void>

  rewards(): Promise<GlobalRewards>
  setRewards(r: GlobalRewards): Promise<void>
  totals(): Promise<Totals>
  setTotals(t: Totals): Promise<void>
  /** totals().pendingBurn alone (read at the end of every block). */
  pendingBurn(): Promise<bigint>
  queue(): Promise<QueueState>
  setQueue(q: QueueState): Promise<void>
  epoch(): Promise<EpochState>
  setEpoch(e: EpochState): Promise<void>

  validatorCount(): Promise<number>
  /** Operator of the validator at list position `index`. */
  validatorAt(index: number): Promise<Uint8Array>
  validator(operator: Uint8Array): Promise<ValidatorRecord | undefined>
  /** validator(operator)?.jailed alone, undefined when there is no such validator (read for the
   * proposer of every block). */
  jailed(operator: Uint8Array): Promise<boolean | undefined>
  /** Creates (appending to the list at v.index) or updates. */
  setValidator(v: ValidatorRecord, created?: boolean): Promise<void>
  operatorOf(consensus: Uint8Array): Promise<Uint8Array | undefined>
  setOperatorOf(consensus: Uint8Array, operator: Uint8Array): Promise<void>
  description(operator: Uint8Array): Promise<Description>
  setDescription(operator: Uint8Array, d: Description): Promise<void>

  delegation(delegator: Uint8Array, validator: Uint8Array): Promise<DelegationRecord>
  setDelegation(delegator: Uint8Array, validator: Uint8Array, d: DelegationRecord): Promise<void>
  delegatorValidators(delegator: Uint8Array): Promise<Uint8Array[]>
  delegatorValidatorCount(delegator: Uint8Array): Promise<number>
  addDelegatorValidator(delegator: Uint8Array, validator: Uint8Array): Promise<void>
  removeDelegatorValidator(delegator: Uint8Array, validator: Uint8Array): Promise<void>

  entry(id: bigint): Promise<Entry | undefined>
  setEntry(e: Entry): Promise<void>
  deleteEntry(id: bigint): Promise<void>
  /** Ids of the live entries of a (delegator, validator[, dst]) pair, oldest first. */
  entryIds(kind: EntryKind, delegator: Uint8Array, validator: Uint8Array, dst?: Uint8Array): Promise<bigint[]>
  setEntryIds(
    kind: EntryKind,
    delegator: Uint8Array,
    validator: Uint8Array,
    dst: Uint8Array | undefined,
    ids: bigint[],
  ): Promise<void>
  /** Redelegations into `validator` by `delegator` that have not matured yet. */
  incoming(delegator: Uint8Array, validator: Uint8Array): Promise<number>
  setIncoming(delegator: Uint8Array, validator: Uint8Array, n: number): Promise<void>

  slashEvents(validator: Uint8Array): Promise<SlashEvent[]>
  pushSlashEvent(validator: Uint8Array, e: SlashEvent): Promise<void>

  /** The set validating the next block (consensus addresses, sorted). */
  activeSet(): Promise<Uint8Array[]>
  setActiveSet(set: Uint8Array[]): Promise<void>
  pushEpoch(e: EpochRecord): Promise<void>
  /** The epoch containing block `height` (the last epoch that started at or before it). */
  epochAt(height: bigint): Promise<EpochRecord | undefined>
  isEpochMember(epoch: bigint, consensus: Uint8Array): Promise<boolean>

  signingInfo(validator: Uint8Array): Promise<SigningInfo>
  setSigningInfo(validator: Uint8Array, s: SigningInfo): Promise<void>
  bitmapWord(validator: Uint8Array, generation: number, word: number): Promise<bigint>
  setBitmapWord(validator: Uint8Array, generation: number, word: number, value: bigint): Promise<void>

  evidenceSeen(hash: Uint8Array): Promise<boolean>
  markEvidence(hash: Uint8Array): Promise<void>

  checkpoint(series: Series, block: bigint, value: bigint): Promise<void>
  valueAt(series: Series, block: bigint): Promise<bigint>

  /** Pays native OPEN from the Staking account (buffered until the operation succeeds). */
  pay(to: Uint8Array, amount: bigint): void
}
