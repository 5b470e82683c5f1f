/**
 * StakingStore in memory, with native balances, for the ledger's property tests. `run` gives an
 * operation all-or-nothing semantics like a reverted call frame: on a throw every change is undone.
 */
import { hex } from '../src/core/bytes.ts'
import { type Checkpoint, upperLookup } from '../src/core/checkpoints.ts'
import type { SigningInfo } from '../src/core/liveness.ts'
import { DEFAULT_STAKING_PARAMS, type StakingParams } from '../src/core/params.ts'
import type {
  DelegationRecord,
  Description,
  EpochRecord,
  EpochState,
  GlobalRewards,
  QueueState,
  Totals,
  ValidatorRecord,
} from '../src/core/records.ts'
import type { SlashEvent } from '../src/core/slashing.ts'
import type { Series, StakingStore } from '../src/core/store.ts'
import type { Entry, EntryKind } from '../src/core/unbonding.ts'

export const STAKING = 'staking'

interface State {
  params: StakingParams
  rewards: GlobalRewards
  totals: Totals
  queue: QueueState
  epoch: EpochState
  validatorList: Uint8Array[]
  validators: Map<string, ValidatorRecord>
  operatorOf: Map<string, Uint8Array>
  descriptions: Map<string, Description>
  delegations: Map<string, DelegationRecord>
  delegatorValidators: Map<string, Uint8Array[]>
  entries: Map<bigint, Entry>
  entryIds: Map<string, bigint[]>
  incoming: Map<string, number>
  slashEvents: Map<string, SlashEvent[]>
  activeSet: Uint8Array[]
  epochs: EpochRecord[]
  signing: Map<string, SigningInfo>
  bitmap: Map<string, bigint>
  evidence: Set<string>
  checkpoints: Map<string, Checkpoint[]>
  balances: Map<string, bigint>
}

function seriesKey(s: Series): string {
  switch (s.kind) {
    case 'tokens':
    case 'shares':
      return `${s.kind}:${hex(s.validator)}`
    case 'delegation':
      return `d:${hex(s.delegator)}:${hex(s.validator)}`
    case 'totalBonded':
      return 'bonded'
  }
}

export class MemoryStakingStore implements StakingStore {
  s: State = {
    params: { ...DEFAULT_STAKING_PARAMS },
    rewards: { accPerToken: 0n, bondedTokens: 0n, carry: 0n, undistributed: 0n },
    totals: { staked: 0n, unbonding: 0n, rewardPool: 0n, minted: 0n, burned: 0n, pendingBurn: 0n },
    queue: { nextEntryId: 1n, head: 1n, lastCompletion: 0n },
    epoch: { number: 0n, startBlock: 0n, nextStartBlock: 0n, lastCoinbase: new Uint8Array(20) },
    validatorList: [],
    validators: new Map(),
    operatorOf: new Map(),
    descriptions: new Map(),
    delegations: new Map(),
    delegatorValidators: new Map(),
    entries: new Map(),
    entryIds: new Map(),
    incoming: new Map(),
    slashEvents: new Map(),
    activeSet: [],
    epochs: [],
    signing: new Map(),
    bitmap: new Map(),
    evidence: new Set(),
    checkpoints: new Map(),
    balances: new Map(),
  }
  /** Payouts of the running operation, applied when it succeeds. */
  private payouts: { to: Uint8Array; amount: bigint }[] = []

  /** Runs `op` all-or-nothing. */
  async run<T>(op: () => Promise<T>): Promise<T> {
    const saved = structuredClone(this.s)
    this.payouts = []
    try {
      const r = await op()
      for (const p of this.payouts) this.move(STAKING, hex(p.to), p.amount)
      return r
    } catch (e) {
      this.s = saved
      throw e
    } finally {
      this.payouts = []
    }
  }

  balance(key: string): bigint {
    return this.s.balances.get(key) ?? 0n
  }
  move(from: string, to: string, amount: bigint): void {
    if (this.balance(from) < amount) throw new Error(`insufficient balance of ${from}`)
    this.s.balances.set(from, this.balance(from) - amount)
    this.s.balances.set(to, this.balance(to) + amount)
  }
  mint(to: string, amount: bigint): void {
    this.s.balances.set(to, this.balance(to) + amount)
  }
  destroy(from: string, amount: bigint): void {
    if (this.balance(from) < amount) throw new Error('burn exceeds balance')
    this.s.balances.set(from, this.balance(from) - amount)
  }

  async params() {
    return { ...this.s.params }
  }
  async setParams(p: StakingParams) {
    this.s.params = { ...p }
  }
  async rewards() {
    return { ...this.s.rewards }
  }
  async setRewards(r: GlobalRewards) {
    this.s.rewards = { ...r }
  }
  async totals() {
    return { ...this.s.totals }
  }
  async pendingBurn() {
    return this.s.totals.pendingBurn
  }
  async setTotals(t: Totals) {
    this.s.totals = { ...t }
  }
  async queue() {
    return { ...this.s.queue }
  }
  async setQueue(q: QueueState) {
    this.s.queue = { ...q }
  }
  async epoch() {
    return { ...this.s.epoch }
  }
  async setEpoch(e: EpochState) {
    this.s.epoch = { ...e }
  }
  async validatorCount() {
    return this.s.validatorList.length
  }
  async validatorAt(i: number) {
    const v = this.s.validatorList[i]
    if (v === undefined) throw new Error(`no validator at ${i}`)
    return v
  }
  async validator(op: Uint8Array) {
    const v = this.s.validators.get(hex(op))
    return v === undefined ? undefined : { ...v }
  }
  async jailed(op: Uint8Array) {
    return this.s.validators.get(hex(op))?.jailed
  }
  async setValidator(v: ValidatorRecord, created?: boolean) {
    if (created) {
      if (v.index !== this.s.validatorList.length) throw new Error('bad index')
      this.s.validatorList.push(v.operator)
    }
    this.s.validators.set(hex(v.operator), { ...v })
  }
  async operatorOf(c: Uint8Array) {
    return this.s.operatorOf.get(hex(c))
  }
  async setOperatorOf(c: Uint8Array, op: Uint8Array) {
    this.s.operatorOf.set(hex(c), op)
  }
  async description(op: Uint8Array) {
    return {
      ...(this.s.descriptions.get(hex(op)) ?? {
        moniker: '',
        identity: '',
        website: '',
        securityContact: '',
        details: '',
      }),
    }
  }
  async setDescription(op: Uint8Array, d: Description) {
    this.s.descriptions.set(hex(op), { ...d })
  }
  async delegation(d: Uint8Array, v: Uint8Array) {
    return { ...(this.s.delegations.get(`${hex(d)}:${hex(v)}`) ?? { shares: 0n, accSnapshot: 0n }) }
  }
  async setDelegation(d: Uint8Array, v: Uint8Array, r: DelegationRecord) {
    this.s.delegations.set(`${hex(d)}:${hex(v)}`, { ...r })
  }
  async delegatorValidators(d: Uint8Array) {
    return [...(this.s.delegatorValidators.get(hex(d)) ?? [])]
  }
  async delegatorValidatorCount(d: Uint8Array) {
    return (await this.delegatorValidators(d)).length
  }
  async addDelegatorValidator(d: Uint8Array, v: Uint8Array) {
    this.s.delegatorValidators.set(hex(d), [...(await this.delegatorValidators(d)), v])
  }
  async removeDelegatorValidator(d: Uint8Array, v: Uint8Array) {
    this.s.delegatorValidators.set(
      hex(d),
      (await this.delegatorValidators(d)).filter((x) => hex(x) !== hex(v)),
    )
  }
  async entry(id: bigint) {
    const e = this.s.entries.get(id)
    return e === undefined ? undefined : { ...e }
  }
  async setEntry(e: Entry) {
    this.s.entries.set(e.id, { ...e })
  }
  async deleteEntry(id: bigint) {
    this.s.entries.delete(id)
  }
  private pairKey(kind: EntryKind, d: Uint8Array, v: Uint8Array, dst?: Uint8Array) {
    return `${kind}:${hex(d)}:${hex(v)}:${dst ? hex(dst) : ''}`
  }
  async entryIds(kind: EntryKind, d: Uint8Array, v: Uint8Array, dst?: Uint8Array) {
    return [...(this.s.entryIds.get(this.pairKey(kind, d, v, dst)) ?? [])]
  }
  async setEntryIds(
    kind: EntryKind,
    d: Uint8Array,
    v: Uint8Array,
    dst: Uint8Array | undefined,
    ids: bigint[],
  ) {
    this.s.entryIds.set(this.pairKey(kind, d, v, dst), [...ids])
  }
  async incoming(d: Uint8Array, v: Uint8Array) {
    return this.s.incoming.get(`${hex(d)}:${hex(v)}`) ?? 0
  }
  async setIncoming(d: Uint8Array, v: Uint8Array, n: number) {
    this.s.incoming.set(`${hex(d)}:${hex(v)}`, n)
  }
  async slashEvents(v: Uint8Array) {
    return [...(this.s.slashEvents.get(hex(v)) ?? [])]
  }
  async pushSlashEvent(v: Uint8Array, e: SlashEvent) {
    this.s.slashEvents.set(hex(v), [...(await this.slashEvents(v)), e])
  }
  async activeSet() {
    return [...this.s.activeSet]
  }
  async setActiveSet(set: Uint8Array[]) {
    this.s.activeSet = [...set]
  }
  async pushEpoch(e: EpochRecord) {
    this.s.epochs.push(e)
  }
  async epochAt(height: bigint) {
    let found: EpochRecord | undefined
    for (const e of this.s.epochs) if (e.startBlock <= height) found = e
    return found
  }
  async isEpochMember(epoch: bigint, c: Uint8Array) {
    const e = this.s.epochs.find((x) => x.number === epoch)
    return e?.members.some((m) => hex(m) === hex(c)) ?? false
  }
  async signingInfo(v: Uint8Array) {
    return { ...(this.s.signing.get(hex(v)) ?? { slots: 0n, missed: 0, generation: 0 }) }
  }
  async setSigningInfo(v: Uint8Array, s: SigningInfo) {
    this.s.signing.set(hex(v), { ...s })
  }
  async bitmapWord(v: Uint8Array, g: number, w: number) {
    return this.s.bitmap.get(`${hex(v)}:${g}:${w}`) ?? 0n
  }
  async setBitmapWord(v: Uint8Array, g: number, w: number, value: bigint) {
    this.s.bitmap.set(`${hex(v)}:${g}:${w}`, value)
  }
  async evidenceSeen(h: Uint8Array) {
    return this.s.evidence.has(hex(h))
  }
  async markEvidence(h: Uint8Array) {
    this.s.evidence.add(hex(h))
  }
  async checkpoint(series: Series, block: bigint, value: bigint) {
    const k = seriesKey(series)
    const list = this.s.checkpoints.get(k) ?? []
    const last = list[list.length - 1]
    if (last !== undefined && last.key > block) throw new Error('checkpoint keys must not decrease')
    if (last !== undefined && last.key === block) last.value = value
    else list.push({ key: block, value })
    this.s.checkpoints.set(k, list)
  }
  async valueAt(series: Series, block: bigint) {
    const list = this.s.checkpoints.get(seriesKey(series)) ?? []
    return upperLookup(BigInt(list.length), async (i) => list[Number(i)] as Checkpoint, block)
  }
  pay(to: Uint8Array, amount: bigint) {
    if (amount > 0n) this.payouts.push({ to, amount })
  }
}
