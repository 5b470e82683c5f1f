/**
 * StakingStore over the Staking account's storage (layout.ts), through a StorageWriter: the metered,
 * buffered overlay of a module call (module-kit Exec) or an unmetered one in the block hook. Payouts
 * go through `pay` (buffered by Exec until the call commits).
 * Long file: the StakingStore interface over one storage layout; one small accessor per record kind.
 */
import {
  addressFromWord,
  addressToBigInt,
  addSlot,
  field,
  keccak,
  pack,
  readString,
  STAKING_ADDRESS,
  type StorageWriter,
  toBigInt,
  u256,
  writeString,
} from '@openledger/module-kit'
import {
  type Checkpoint,
  checkpointSlotFor,
  packCheckpoint,
  unpackCheckpoint,
  upperLookup,
} from '../core/checkpoints.ts'
import type { SigningInfo } from '../core/liveness.ts'
import type { StakingParams } from '../core/params.ts'
import type {
  BondStatus,
  DelegationRecord,
  Description,
  EpochRecord,
  EpochState,
  GlobalRewards,
  QueueState,
  Totals,
  ValidatorRecord,
} from '../core/records.ts'
import type { SlashEvent } from '../core/slashing.ts'
import type { Series, StakingStore } from '../core/store.ts'
import type { Entry, EntryKind } from '../core/unbonding.ts'
import {
  delegationSlot,
  ENTRY_SLOTS,
  entryIdsSlot,
  entrySlot,
  VALIDATOR_FIELDS as F,
  listElementSlot,
  mappingSlot,
  STAKING_SLOTS as S,
  slot,
  validatorSlot,
} from './layout.ts'

const A = STAKING_ADDRESS
const DESCRIPTION_KEYS = ['moniker', 'identity', 'website', 'securityContact', 'details'] as const

export class StorageStakingStore implements StakingStore {
  /** Set by `params()` with `opts.keepParams` (until setParams). */
  #params: StakingParams | undefined

  /**
   * `opts.keepParams`: decode the parameters once per instance. Only for unmetered writers (the
   * end-of-block hook, one instance per block): under gas metering each read is charged, and
   * skipping the repeated reads would change the gas of a module call.
   */
  constructor(
    private readonly w: StorageWriter,
    private readonly payout: (to: Uint8Array, amount: bigint) => void,
    private readonly opts: { keepParams?: boolean } = {},
  ) {}

  private async u(s: Uint8Array): Promise<bigint> {
    return toBigInt(await this.w.read(A, s))
  }
  private put(s: Uint8Array, v: bigint): void {
    this.w.write(A, s, u256(v))
  }

  // ---- arrays ------------------------------------------------------------------------------------
  private async list(lengthSlot: Uint8Array): Promise<bigint[]> {
    const n = await this.u(lengthSlot)
    const out: bigint[] = []
    // Element i at keccak(lengthSlot) + i: the keccak once.
    const first = n > 0n ? listElementSlot(lengthSlot, 0n) : undefined
    for (let i = 0n; i < n; i++) out.push(await this.u(addSlot(first as Uint8Array, i)))
    return out
  }
  private async setList(lengthSlot: Uint8Array, values: bigint[]): Promise<void> {
    const old = await this.u(lengthSlot)
    values.forEach((v, i) => {
      this.put(listElementSlot(lengthSlot, BigInt(i)), v)
    })
    for (let i = BigInt(values.length); i < old; i++) this.put(listElementSlot(lengthSlot, i), 0n)
    this.put(lengthSlot, BigInt(values.length))
  }

  // ---- params ------------------------------------------------------------------------------------
  async params(): Promise<StakingParams> {
    if (this.#params !== undefined) return { ...this.#params }
    const p = await this.readParams()
    if (this.opts.keepParams) this.#params = p
    return { ...p }
  }
  private async readParams(): Promise<StakingParams> {
    const w0 = await this.u(slot(S.params))
    const w3 = await this.u(slot(S.params + 3n))
    return {
      epochLength: field(w0, 0, 64),
      maxValidators: Number(field(w0, 64, 16)),
      minValidators: Number(field(w0, 80, 16)),
      maxCandidates: Number(field(w0, 96, 32)),
      unbondingTime: field(w0, 128, 64),
      maxEntries: Number(field(w0, 192, 8)),
      slashFractionDoubleSignBps: Number(field(w0, 200, 16)),
      slashFractionDowntimeBps: Number(field(w0, 216, 16)),
      reporterRewardBps: Number(field(w0, 232, 16)),
      minSelfDelegation: await this.u(slot(S.params + 1n)),
      blockReward: await this.u(slot(S.params + 2n)),
      maxEvidenceAge: field(w3, 0, 64),
      signedBlocksWindow: Number(field(w3, 64, 32)),
      minSignedPerWindowBps: Number(field(w3, 96, 16)),
      downtimeJailDuration: field(w3, 112, 64),
    }
  }
  async setParams(p: StakingParams): Promise<void> {
    this.#params = undefined
    this.put(
      slot(S.params),
      pack(
        [p.epochLength, 0, 64],
        [BigInt(p.maxValidators), 64, 16],
        [BigInt(p.minValidators), 80, 16],
        [BigInt(p.maxCandidates), 96, 32],
        [p.unbondingTime, 128, 64],
        [BigInt(p.maxEntries), 192, 8],
        [BigInt(p.slashFractionDoubleSignBps), 200, 16],
        [BigInt(p.slashFractionDowntimeBps), 216, 16],
        [BigInt(p.reporterRewardBps), 232, 16],
      ),
    )
    this.put(slot(S.params + 1n), p.minSelfDelegation)
    this.put(slot(S.params + 2n), p.blockReward)
    this.put(
      slot(S.params + 3n),
      pack(
        [p.maxEvidenceAge, 0, 64],
        [BigInt(p.signedBlocksWindow), 64, 32],
        [BigInt(p.minSignedPerWindowBps), 96, 16],
        [p.downtimeJailDuration, 112, 64],
      ),
    )
  }

  // ---- globals -----------------------------------------------------------------------------------
  async rewards(): Promise<GlobalRewards> {
    return {
      accPerToken: await this.u(slot(S.accPerToken)),
      bondedTokens: await this.u(slot(S.bondedTokens)),
      carry: await this.u(slot(S.carry)),
      undistributed: await this.u(slot(S.undistributed)),
    }
  }
  async setRewards(r: GlobalRewards): Promise<void> {
    this.put(slot(S.accPerToken), r.accPerToken)
    this.put(slot(S.bondedTokens), r.bondedTokens)
    this.put(slot(S.carry), r.carry)
    this.put(slot(S.undistributed), r.undistributed)
  }
  async totals(): Promise<Totals> {
    return {
      staked: await this.u(slot(S.staked)),
      unbonding: await this.u(slot(S.unbonding)),
      rewardPool: await this.u(slot(S.rewardPool)),
      minted: await this.u(slot(S.minted)),
      burned: await this.u(slot(S.burned)),
      pendingBurn: await this.u(slot(S.pendingBurn)),
    }
  }
  async pendingBurn(): Promise<bigint> {
    return this.u(slot(S.pendingBurn))
  }
  async setTotals(t: Totals): Promise<void> {
    this.put(slot(S.staked), t.staked)
    this.put(slot(S.unbonding), t.unbonding)
    this.put(slot(S.rewardPool), t.rewardPool)
    this.put(slot(S.minted), t.minted)
    this.put(slot(S.burned), t.burned)
    this.put(slot(S.pendingBurn), t.pendingBurn)
  }
  async queue(): Promise<QueueState> {
    const w = await this.u(slot(S.queue))
    return {
      nextEntryId: field(w, 0, 64) || 1n,
      head: field(w, 64, 64) || 1n,
      lastCompletion: field(w, 128, 64),
    }
  }
  async setQueue(q: QueueState): Promise<void> {
    this.put(slot(S.queue), pack([q.nextEntryId, 0, 64], [q.head, 64, 64], [q.lastCompletion, 128, 64]))
  }
  async epoch(): Promise<EpochState> {
    const w = await this.u(slot(S.epoch))
    return {
      number: field(w, 0, 64),
      startBlock: field(w, 64, 64),
      nextStartBlock: field(w, 128, 64),
      lastCoinbase: addressFromWord(await this.u(slot(S.lastCoinbase))),
    }
  }
  async setEpoch(e: EpochState): Promise<void> {
    this.put(slot(S.epoch), pack([e.number, 0, 64], [e.startBlock, 64, 64], [e.nextStartBlock, 128, 64]))
    this.put(slot(S.lastCoinbase), addressToBigInt(e.lastCoinbase))
  }

  // ---- validators ----------------------------------------------------------------------------------
  async validatorCount(): Promise<number> {
    return Number(await this.u(slot(S.validatorList)))
  }
  async validatorAt(index: number): Promise<Uint8Array> {
    return addressFromWord(await this.u(listElementSlot(slot(S.validatorList), BigInt(index))))
  }
  async validator(operator: Uint8Array): Promise<ValidatorRecord | undefined> {
    // The record's base slot once (a keccak), then its fields at fixed offsets.
    const base = validatorSlot(operator, F.head)
    const at = (f: bigint) => this.u(addSlot(base, f))
    const head = await at(F.head)
    if (head === 0n) return undefined
    const c = await at(F.counters)
    return {
      operator,
      consensus: addressFromWord(head),
      status: Number(field(head, 160, 8)) as BondStatus,
      jailed: field(head, 168, 8) === 1n,
      tombstoned: field(head, 176, 8) === 1n,
      commissionBps: Number(field(head, 184, 16)),
      maxCommissionBps: Number(field(head, 200, 16)),
      maxCommissionChangeBps: Number(field(head, 216, 16)),
      index: Number(field(c, 0, 32)),
      slashEvents: Number(field(c, 32, 32)),
      jailedUntil: field(c, 64, 64),
      commissionUpdatedAt: field(c, 128, 64),
      unbondingHeight: field(c, 192, 64),
      tokens: await at(F.tokens),
      shares: await at(F.shares),
      minSelfDelegation: await at(F.minSelfDelegation),
      unbondingCompletion: await at(F.unbondingCompletion),
      accSnapshot: await at(F.accSnapshot),
      accPerShare: await at(F.accPerShare),
      commission: await at(F.commission),
    }
  }
  async jailed(operator: Uint8Array): Promise<boolean | undefined> {
    const head = await this.u(validatorSlot(operator, F.head))
    return head === 0n ? undefined : field(head, 168, 8) === 1n
  }
  async setValidator(v: ValidatorRecord, created?: boolean): Promise<void> {
    const op = v.operator
    const base = validatorSlot(op, F.head)
    this.put(
      base,
      pack(
        [addressToBigInt(v.consensus), 0, 160],
        [BigInt(v.status), 160, 8],
        [v.jailed ? 1n : 0n, 168, 8],
        [v.tombstoned ? 1n : 0n, 176, 8],
        [BigInt(v.commissionBps), 184, 16],
        [BigInt(v.maxCommissionBps), 200, 16],
        [BigInt(v.maxCommissionChangeBps), 216, 16],
      ),
    )
    this.put(
      addSlot(base, F.counters),
      pack(
        [BigInt(v.index), 0, 32],
        [BigInt(v.slashEvents), 32, 32],
        [v.jailedUntil, 64, 64],
        [v.commissionUpdatedAt, 128, 64],
        [v.unbondingHeight, 192, 64],
      ),
    )
    this.put(addSlot(base, F.tokens), v.tokens)
    this.put(addSlot(base, F.shares), v.shares)
    this.put(addSlot(base, F.minSelfDelegation), v.minSelfDelegation)
    this.put(addSlot(base, F.unbondingCompletion), v.unbondingCompletion)
    this.put(addSlot(base, F.accSnapshot), v.accSnapshot)
    this.put(addSlot(base, F.accPerShare), v.accPerShare)
    this.put(addSlot(base, F.commission), v.commission)
    if (created) {
      const len = slot(S.validatorList)
      this.put(listElementSlot(len, BigInt(v.index)), addressToBigInt(op))
      this.put(len, BigInt(v.index + 1))
    }
  }
  async operatorOf(consensus: Uint8Array): Promise<Uint8Array | undefined> {
    const w = await this.u(mappingSlot(S.operatorOf, consensus))
    return w === 0n ? undefined : addressFromWord(w)
  }
  async setOperatorOf(consensus: Uint8Array, operator: Uint8Array): Promise<void> {
    this.put(mappingSlot(S.operatorOf, consensus), addressToBigInt(operator))
  }
  async description(operator: Uint8Array): Promise<Description> {
    const out = {} as Description
    for (const [i, k] of DESCRIPTION_KEYS.entries())
      out[k] = await readString(this.w, A, validatorSlot(operator, F.description + BigInt(i)))
    return out
  }
  async setDescription(operator: Uint8Array, d: Description): Promise<void> {
    for (const [i, k] of DESCRIPTION_KEYS.entries()) {
      const s = validatorSlot(operator, F.description + BigInt(i))
      await clearString(this.w, s)
      writeString(this.w, A, s, new TextEncoder().encode(d[k]))
    }
  }

  // ---- delegations -----------------------------------------------------------------------------
  async delegation(delegator: Uint8Array, validator: Uint8Array): Promise<DelegationRecord> {
    return {
      shares: await this.u(delegationSlot(delegator, validator, 0n)),
      accSnapshot: await this.u(delegationSlot(delegator, validator, 1n)),
    }
  }
  async setDelegation(delegator: Uint8Array, validator: Uint8Array, d: DelegationRecord): Promise<void> {
    this.put(delegationSlot(delegator, validator, 0n), d.shares)
    this.put(delegationSlot(delegator, validator, 1n), d.accSnapshot)
  }
  async delegatorValidators(delegator: Uint8Array): Promise<Uint8Array[]> {
    return (await this.list(mappingSlot(S.delegatorValidators, delegator))).map(addressFromWord)
  }
  async delegatorValidatorCount(delegator: Uint8Array): Promise<number> {
    return Number(await this.u(mappingSlot(S.delegatorValidators, delegator)))
  }
  async addDelegatorValidator(delegator: Uint8Array, validator: Uint8Array): Promise<void> {
    const len = mappingSlot(S.delegatorValidators, delegator)
    const n = await this.u(len)
    this.put(listElementSlot(len, n), addressToBigInt(validator))
    this.put(len, n + 1n)
    this.put(mappingSlot(S.delegatorValidatorIndex, delegator, validator), n + 1n)
  }
  async removeDelegatorValidator(delegator: Uint8Array, validator: Uint8Array): Promise<void> {
    // Swap-and-pop, O(1).
    const len = mappingSlot(S.delegatorValidators, delegator)
    const idxSlot = mappingSlot(S.delegatorValidatorIndex, delegator, validator)
    const pos = (await this.u(idxSlot)) - 1n
    if (pos < 0n) return
    const last = (await this.u(len)) - 1n
    if (pos !== last) {
      const moved = await this.u(listElementSlot(len, last))
      this.put(listElementSlot(len, pos), moved)
      this.put(mappingSlot(S.delegatorValidatorIndex, delegator, addressFromWord(moved)), pos + 1n)
    }
    this.put(listElementSlot(len, last), 0n)
    this.put(idxSlot, 0n)
    this.put(len, last)
  }

  // ---- entries -----------------------------------------------------------------------------------
  async entry(id: bigint): Promise<Entry | undefined> {
    const w0 = await this.u(entrySlot(id, 0n))
    if (w0 === 0n) return undefined
    const w1 = await this.u(entrySlot(id, 1n))
    const w2 = await this.u(entrySlot(id, 2n))
    const kind = Number(field(w0, 160, 8)) as EntryKind
    const dst = field(w2, 0, 160)
    return {
      id,
      kind,
      delegator: addressFromWord(w0),
      eventsAtCreation: Number(field(w0, 168, 32)),
      validator: addressFromWord(w1),
      creationHeight: field(w1, 160, 64),
      dst: dst === 0n ? undefined : addressFromWord(dst),
      completionTime: field(w2, 160, 64),
      initialBalance: await this.u(entrySlot(id, 3n)),
      sharesDst: await this.u(entrySlot(id, 4n)),
    }
  }
  async setEntry(e: Entry): Promise<void> {
    this.put(
      entrySlot(e.id, 0n),
      pack(
        [addressToBigInt(e.delegator), 0, 160],
        [BigInt(e.kind), 160, 8],
        [BigInt(e.eventsAtCreation), 168, 32],
      ),
    )
    this.put(entrySlot(e.id, 1n), pack([addressToBigInt(e.validator), 0, 160], [e.creationHeight, 160, 64]))
    this.put(
      entrySlot(e.id, 2n),
      pack([e.dst === undefined ? 0n : addressToBigInt(e.dst), 0, 160], [e.completionTime, 160, 64]),
    )
    this.put(entrySlot(e.id, 3n), e.initialBalance)
    this.put(entrySlot(e.id, 4n), e.sharesDst)
  }
  async deleteEntry(id: bigint): Promise<void> {
    for (let i = 0n; i < ENTRY_SLOTS; i++) this.put(entrySlot(id, i), 0n)
  }
  async entryIds(kind: EntryKind, d: Uint8Array, v: Uint8Array, dst?: Uint8Array): Promise<bigint[]> {
    return this.list(entryIdsSlot(kind, d, v, dst))
  }
  async setEntryIds(
    kind: EntryKind,
    d: Uint8Array,
    v: Uint8Array,
    dst: Uint8Array | undefined,
    ids: bigint[],
  ) {
    await this.setList(entryIdsSlot(kind, d, v, dst), ids)
  }
  async incoming(d: Uint8Array, v: Uint8Array): Promise<number> {
    return Number(await this.u(mappingSlot(S.incoming, d, v)))
  }
  async setIncoming(d: Uint8Array, v: Uint8Array, n: number): Promise<void> {
    this.put(mappingSlot(S.incoming, d, v), BigInt(n))
  }
  async slashEvents(v: Uint8Array): Promise<SlashEvent[]> {
    return (await this.list(mappingSlot(S.slashEvents, v))).map((w) => ({
      infractionHeight: field(w, 0, 64),
      fractionBps: Number(field(w, 64, 16)),
    }))
  }
  async pushSlashEvent(v: Uint8Array, e: SlashEvent): Promise<void> {
    const len = mappingSlot(S.slashEvents, v)
    const n = await this.u(len)
    this.put(listElementSlot(len, n), pack([e.infractionHeight, 0, 64], [BigInt(e.fractionBps), 64, 16]))
    this.put(len, n + 1n)
  }

  // ---- set and epochs ----------------------------------------------------------------------------
  async activeSet(): Promise<Uint8Array[]> {
    return (await this.list(slot(S.activeSet))).map(addressFromWord)
  }
  async setActiveSet(set: Uint8Array[]): Promise<void> {
    await this.setList(slot(S.activeSet), set.map(addressToBigInt))
  }
  async pushEpoch(e: EpochRecord): Promise<void> {
    const len = slot(S.epochs)
    const n = await this.u(len)
    if (n !== e.number) throw new Error(`epoch ${e.number} pushed at position ${n}`)
    this.put(
      listElementSlot(len, n, 2n),
      pack([e.number, 0, 64], [e.startBlock, 64, 64], [BigInt(e.members.length), 128, 32]),
    )
    this.w.write(A, epochHashSlot(n), e.setHash)
    this.put(len, n + 1n)
    for (const m of e.members) this.put(mappingSlot(S.epochMembers, e.number, m), 1n)
  }
  async epochAt(height: bigint): Promise<EpochRecord | undefined> {
    const len = slot(S.epochs)
    let lo = 0n
    let hi = await this.u(len)
    // Last epoch whose start ≤ height (epochs start in increasing blocks).
    while (lo < hi) {
      const mid = (lo + hi) >> 1n
      const w = await this.u(listElementSlot(len, mid, 2n))
      if (field(w, 64, 64) > height) hi = mid
      else lo = mid + 1n
    }
    if (lo === 0n) return undefined
    const w = await this.u(listElementSlot(len, lo - 1n, 2n))
    return {
      number: field(w, 0, 64),
      startBlock: field(w, 64, 64),
      setHash: await this.w.read(A, epochHashSlot(lo - 1n)),
      members: [],
    }
  }
  async isEpochMember(epoch: bigint, consensus: Uint8Array): Promise<boolean> {
    return (await this.u(mappingSlot(S.epochMembers, epoch, consensus))) === 1n
  }

  // ---- liveness, evidence ------------------------------------------------------------------------
  async signingInfo(v: Uint8Array): Promise<SigningInfo> {
    const w = await this.u(mappingSlot(S.signingInfo, v))
    return { slots: field(w, 0, 64), missed: Number(field(w, 64, 32)), generation: Number(field(w, 96, 32)) }
  }
  async setSigningInfo(v: Uint8Array, s: SigningInfo): Promise<void> {
    this.put(
      mappingSlot(S.signingInfo, v),
      pack([s.slots, 0, 64], [BigInt(s.missed), 64, 32], [BigInt(s.generation), 96, 32]),
    )
  }
  async bitmapWord(v: Uint8Array, generation: number, word: number): Promise<bigint> {
    return this.u(mappingSlot(S.missedBitmap, v, BigInt(generation), BigInt(word)))
  }
  async setBitmapWord(v: Uint8Array, generation: number, word: number, value: bigint): Promise<void> {
    this.put(mappingSlot(S.missedBitmap, v, BigInt(generation), BigInt(word)), value)
  }
  async evidenceSeen(hash: Uint8Array): Promise<boolean> {
    return (await this.u(mappingSlot(S.evidence, hash))) === 1n
  }
  async markEvidence(hash: Uint8Array): Promise<void> {
    this.put(mappingSlot(S.evidence, hash), 1n)
  }

  // ---- checkpoints -------------------------------------------------------------------------------
  private seriesSlot(s: Series): Uint8Array {
    switch (s.kind) {
      case 'tokens':
        return mappingSlot(S.tokensHistory, s.validator)
      case 'shares':
        return mappingSlot(S.sharesHistory, s.validator)
      case 'delegation':
        return mappingSlot(S.delegationHistory, s.delegator, s.validator)
      case 'totalBonded':
        return slot(S.bondedHistory)
    }
  }
  async checkpoint(series: Series, block: bigint, value: bigint): Promise<void> {
    const len = this.seriesSlot(series)
    const n = await this.u(len)
    const last: Checkpoint | undefined =
      n === 0n ? undefined : unpackCheckpoint(await this.u(listElementSlot(len, n - 1n)))
    const at = checkpointSlotFor(n, last, block)
    this.put(listElementSlot(len, at), packCheckpoint({ key: block, value }))
    if (at === n) this.put(len, n + 1n)
  }
  async valueAt(series: Series, block: bigint): Promise<bigint> {
    const len = this.seriesSlot(series)
    const n = await this.u(len)
    return upperLookup(n, async (i) => unpackCheckpoint(await this.u(listElementSlot(len, i))), block)
  }

  pay(to: Uint8Array, amount: bigint): void {
    this.payout(to, amount)
  }
}

function epochHashSlot(index: bigint): Uint8Array {
  return addSlot(listElementSlot(slot(S.epochs), index, 2n), 1n)
}

/** Zeroes the long-string tail slots of a string about to be rewritten (writeString is write-once). */
async function clearString(w: StorageWriter, s: Uint8Array): Promise<void> {
  const head = toBigInt(await w.read(A, s))
  if ((head & 1n) === 0n) return
  const len = (head - 1n) >> 1n
  const base = keccak(s)
  for (let i = 0n; i * 32n < len; i++) w.write(A, addSlot(base, i), new Uint8Array(32))
}
