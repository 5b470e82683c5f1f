/**
 * QBFT state machine (EEA QBFT specification; Besu's qbft-core as the reference behaviour).
 *
 * Pure and deterministic: `handle(input)` mutates internal state and returns the outputs to
 * execute, in order. No clock, network, disk or randomness inside; signatures go through the
 * injected Signer, block checks and building are requested as outputs.
 *
 * WAL contract (see docs/consensus.md): every output list that releases a new signature of ours
 * contains `{ type: 'persist', record }` BEFORE the `broadcast` carrying it. The driver executes
 * outputs strictly in order and must not run anything after a `persist` (for this input or any
 * later one) until the record is durably written (fsync). After a restart, pass the records of
 * heights above the committed head as `history`: the machine restores its round and lock and
 * never signs a different value for a (type, height, round) it already signed.
 * Long file: one cohesive, pure state machine (QBFT); its transitions share the round and lock state.
 */
import { bytesEqual, compareBytes, toHex } from './bytes.ts'
import { QbftConfigError } from './errors.ts'
import {
  type CodecContext,
  type CommitMessage,
  type CommitPayload,
  createCommit,
  createPrepare,
  createProposal,
  createRoundChange,
  decodeMessage,
  decodePreparedCertificate,
  decodeSigned as decodeSignedFor,
  encodeMessage,
  encodePayload,
  encodePreparedCertificate,
  type MessageType,
  messageDigest,
  type Payload,
  type PreparedCertificate,
  type PreparePayload,
  type ProposalMessage,
  type QbftMessage,
  type RoundChangeMessage,
  type RoundChangePayload,
  type Signed,
  signingHash,
} from './messages.ts'
import {
  type Address,
  type Block,
  type BlockCodec,
  type Hash,
  type Height,
  isValidator,
  MAX_ROUND,
  maxFaulty,
  quorumSize,
  type RecoverFn,
  type Round,
  type Signer,
  type ValidatorSet,
} from './types.ts'

// ---------------------------------------------------------------------------------------------
// Public types

export type QbftInput =
  | { readonly type: 'message'; readonly msg: QbftMessage }
  | { readonly type: 'timeout'; readonly height: Height; readonly round: Round }
  | { readonly type: 'blockValidated'; readonly digest: Hash; readonly valid: boolean }
  /** Block `height` is now the committed head (our own decision, or imported by sync). */
  | { readonly type: 'newHead'; readonly height: Height }
  /** The block the node built after `requestBlock`. */
  | { readonly type: 'proposalReady'; readonly block: Block }

/** What the WAL must hold durably before the signature inside `message` is released. */
export interface SignedRecord {
  readonly kind: MessageType
  readonly height: Height
  readonly round: Round
  /** The value signed for (block digest; the signing hash for ROUND_CHANGE). */
  readonly digest: Hash
  /** Wire bytes (encodeMessage) of the signed message, re-broadcast as-is after a restart. */
  readonly message: Uint8Array
  /** COMMIT only: the prepared certificate (lock) that justified it (encodePreparedCertificate). */
  readonly certificate?: Uint8Array
}

/** Two signed messages of one type from one validator for the same (height, round), different values. */
export interface Equivocation {
  readonly kind: MessageType
  readonly height: Height
  readonly round: Round
  readonly author: Address
  readonly first: Signed<Payload>
  readonly second: Signed<Payload>
}

export type RoundStartReason = 'newHeight' | 'timeout' | 'roundChanges' | 'proposal' | 'restored'

export type QbftOutput =
  | { readonly type: 'persist'; readonly record: SignedRecord }
  | { readonly type: 'broadcast'; readonly msg: QbftMessage; readonly bytes: Uint8Array }
  | { readonly type: 'scheduleTimeout'; readonly height: Height; readonly round: Round; readonly ms: number }
  | { readonly type: 'requestBlock'; readonly height: Height; readonly round: Round }
  | { readonly type: 'validateBlock'; readonly block: Block }
  /** Decided: write `block` with `seals` (ordered by signer address) into extraData and import it. */
  | {
      readonly type: 'commit'
      readonly block: Block
      readonly round: Round
      readonly seals: readonly Uint8Array[]
      readonly signers: readonly Address[]
    }
  | { readonly type: 'evidence'; readonly evidence: Equivocation }
  | {
      readonly type: 'roundStarted'
      readonly height: Height
      readonly round: Round
      readonly reason: RoundStartReason
    }
  /** A message that is invalid (not merely late or duplicate): the node may penalise its relayer. */
  | { readonly type: 'rejected'; readonly msg: QbftMessage; readonly reason: string }

export interface QbftTimeouts {
  /** Round 0 timeout; must exceed block period + build + validation time. Default 2000. */
  readonly baseMs?: number
  /** Cap for base × 2^round. Default 60000. */
  readonly maxMs?: number
}

export interface QbftLimits {
  /** PROPOSAL/PREPARE/COMMIT accepted at most this many rounds ahead. Default 16. */
  readonly maxFutureRounds?: number
  /** Messages for heights above the current one are buffered up to this distance. Default 4. */
  readonly maxFutureHeights?: number
  /** Buffered future-height messages per author. Default 64. */
  readonly maxBufferedPerAuthor?: number
  /** Distinct rounds for which one author's round changes are kept. Default 8. */
  readonly maxRoundChangeRoundsPerAuthor?: number
}

export interface QbftConfig {
  readonly chainId: bigint
  /** Absent for an observer: it tracks consensus but never signs. */
  readonly signer?: Signer
  readonly validators: ValidatorSet
  readonly blocks: BlockCodec
  /** Used only to decode `history`. */
  readonly recover?: RecoverFn
  readonly timeouts?: QbftTimeouts
  readonly limits?: QbftLimits
  /** WAL records read at startup (any heights; older ones are ignored). */
  readonly history?: readonly SignedRecord[]
}

/** Round timer: base × 2^round, capped. Integer arithmetic only. */
export function roundTimeoutMs(round: Round, baseMs: number, maxMs: number): number {
  let ms = baseMs
  for (let i = 0; i < round && ms < maxMs; i++) ms *= 2
  return Math.min(ms, maxMs)
}

// ---------------------------------------------------------------------------------------------
// Internal state

interface RoundState {
  proposal?: ProposalMessage
  /** undefined while the node validates the block. */
  valid?: boolean
  prepareSent: boolean
  commitSent: boolean
  readonly prepares: Map<string, Signed<PreparePayload>>
  readonly commits: Map<string, Signed<CommitPayload>>
}

interface PendingBuild {
  readonly round: Round
  /** Round changes justifying the proposal, snapshotted when the block was requested. */
  readonly roundChanges: readonly Signed<RoundChangePayload>[]
}

interface SignedSlot {
  readonly digest: Hash
  readonly msg: QbftMessage
}

const slotKey = (kind: MessageType, height: Height, round: Round) => `${kind}:${height}:${round}`

export class QbftStateMachine {
  readonly #cfg: QbftConfig
  readonly #ctx: CodecContext
  readonly #baseMs: number
  readonly #maxMs: number
  readonly #maxFutureRounds: number
  readonly #maxFutureHeights: number
  readonly #maxBufferedPerAuthor: number
  readonly #maxRcRounds: number

  #out: QbftOutput[] = []
  #started = false
  #height: Height = 0n
  #round: Round = 0
  #decided = false
  #rounds = new Map<Round, RoundState>()
  #roundChanges = new Map<Round, Map<string, RoundChangeMessage>>()
  #lock: PreparedCertificate | undefined
  #seen = new Map<string, Signed<Payload>>()
  #evidenceKeys = new Set<string>()
  #validity = new Map<string, boolean>()
  #pendingBuild: PendingBuild | undefined
  #future = new Map<Height, QbftMessage[]>()
  #bufferedPerAuthor = new Map<string, number>()
  /** Everything we signed (or restored from the WAL) per (type, height, round). */
  #signed = new Map<string, SignedSlot>()
  #restoredLocks = new Map<Height, PreparedCertificate>()

  constructor(cfg: QbftConfig) {
    if (typeof cfg.chainId !== 'bigint' || cfg.chainId < 0n)
      throw new QbftConfigError('chainId must be a non-negative bigint')
    this.#cfg = cfg
    this.#ctx =
      cfg.recover === undefined
        ? { chainId: cfg.chainId, blocks: cfg.blocks }
        : { chainId: cfg.chainId, blocks: cfg.blocks, recover: cfg.recover }
    this.#baseMs = cfg.timeouts?.baseMs ?? 2000
    this.#maxMs = cfg.timeouts?.maxMs ?? 60_000
    if (
      !Number.isSafeInteger(this.#baseMs) ||
      this.#baseMs <= 0 ||
      !Number.isSafeInteger(this.#maxMs) ||
      this.#maxMs < this.#baseMs
    )
      throw new QbftConfigError('timeouts: need integers 0 < baseMs <= maxMs')
    this.#maxFutureRounds = cfg.limits?.maxFutureRounds ?? 16
    this.#maxFutureHeights = cfg.limits?.maxFutureHeights ?? 4
    this.#maxBufferedPerAuthor = cfg.limits?.maxBufferedPerAuthor ?? 64
    this.#maxRcRounds = cfg.limits?.maxRoundChangeRoundsPerAuthor ?? 8
    for (const rec of cfg.history ?? []) this.#restore(rec)
  }

  get height(): Height {
    return this.#height
  }
  get round(): Round {
    return this.#round
  }
  get decided(): boolean {
    return this.#decided
  }
  /** The current lock (latest prepared certificate at this height), if any. */
  get lock(): PreparedCertificate | undefined {
    return this.#lock
  }

  /** Feed one input; returns the outputs to execute in order. */
  handle(input: QbftInput): QbftOutput[] {
    this.#out = []
    switch (input.type) {
      case 'newHead':
        this.#onNewHead(input.height)
        break
      case 'message':
        this.#onMessage(input.msg, false)
        break
      case 'timeout':
        this.#onTimeout(input.height, input.round)
        break
      case 'blockValidated':
        this.#onBlockValidated(input.digest, input.valid)
        break
      case 'proposalReady':
        this.#onProposalReady(input.block)
        break
    }
    const out = this.#out
    this.#out = []
    return out
  }

  // -------------------------------------------------------------------------------------------
  // Restore from WAL

  #restore(rec: SignedRecord): void {
    const signer = this.#cfg.signer
    if (signer === undefined) throw new QbftConfigError('history given without a signer')
    const msg = decodeMessage(rec.message, this.#ctx)
    const p = msg.signed.payload
    if (!bytesEqual(msg.signed.author, signer.address))
      throw new QbftConfigError('WAL record not signed by this signer')
    if (msg.type !== rec.kind || p.height !== rec.height || p.round !== rec.round)
      throw new QbftConfigError('WAL record fields disagree with its message')
    this.#signed.set(slotKey(rec.kind, p.height, p.round), { digest: messageDigest(msg), msg })
    if (rec.kind === 'COMMIT' && rec.certificate !== undefined) {
      const cert = decodePreparedCertificate(rec.certificate, this.#ctx)
      const prev = this.#restoredLocks.get(p.height)
      if (prev === undefined || prev.round < cert.round) this.#restoredLocks.set(p.height, cert)
    }
  }

  // -------------------------------------------------------------------------------------------
  // Height and round transitions

  #onNewHead(head: Height): void {
    if (head < 0n) return
    const next = head + 1n
    if (this.#started && next <= this.#height) return
    this.#startHeight(next)
  }

  #startHeight(h: Height): void {
    this.#started = true
    this.#height = h
    this.#decided = false
    this.#rounds = new Map()
    this.#roundChanges = new Map()
    this.#seen = new Map()
    this.#evidenceKeys = new Set()
    this.#validity = new Map()
    this.#pendingBuild = undefined
    this.#lock = this.#restoredLocks.get(h)
    for (const k of [...this.#restoredLocks.keys()]) if (k <= h - 1n) this.#restoredLocks.delete(k)
    let restoredRound = -1
    for (const [k, slot] of this.#signed) {
      const p = slot.msg.signed.payload
      if (p.height < h) this.#signed.delete(k)
      else if (p.height === h && p.round > restoredRound) restoredRound = p.round
    }
    if (restoredRound >= 0) {
      this.#startRound(restoredRound, restoredRound === 0 ? 'newHeight' : 'restored', restoredRound > 0)
      // Re-send what we had signed in this round so peers that missed it can still count it.
      for (const slot of [...this.#signed.values()]) {
        const p = slot.msg.signed.payload
        if (p.height === h && p.round === restoredRound && slot.msg.type !== 'ROUND_CHANGE') {
          this.#out.push({ type: 'broadcast', msg: slot.msg, bytes: encodeMessage(slot.msg) })
          this.#onMessage(slot.msg, true)
        }
      }
    } else {
      this.#startRound(0, 'newHeight', false)
    }
    this.#replayFuture(h)
  }

  #replayFuture(h: Height): void {
    const buffered = this.#future.get(h) ?? []
    for (const [fh, list] of [...this.#future]) {
      if (fh > h) continue
      this.#future.delete(fh)
      for (const m of list) {
        const a = toHex(m.signed.author)
        const c = (this.#bufferedPerAuthor.get(a) ?? 1) - 1
        if (c <= 0) this.#bufferedPerAuthor.delete(a)
        else this.#bufferedPerAuthor.set(a, c)
      }
    }
    for (const m of buffered) this.#onMessage(m, false)
  }

  #startRound(r: Round, reason: RoundStartReason, sendRoundChange: boolean): void {
    this.#round = r
    if (this.#pendingBuild !== undefined && this.#pendingBuild.round !== r) this.#pendingBuild = undefined
    for (const k of [...this.#roundChanges.keys()]) if (k < r) this.#roundChanges.delete(k)
    this.#out.push({ type: 'roundStarted', height: this.#height, round: r, reason })
    this.#out.push({
      type: 'scheduleTimeout',
      height: this.#height,
      round: r,
      ms: roundTimeoutMs(r, this.#baseMs, this.#maxMs),
    })
    if (sendRoundChange && r > 0) this.#sendRoundChange(r)
    if (this.#isProposer(r)) {
      if (r === 0) this.#startBuild(0, [])
      else this.#tryProposeForRoundChanges()
    }
    // Messages buffered for this round may now complete a prepare/commit quorum.
    if (this.#rounds.get(r)?.proposal !== undefined) {
      this.#checkPrepared(r)
      this.#checkCommitted(r)
    }
  }

  #onTimeout(h: Height, r: Round): void {
    if (!this.#started || this.#decided || h !== this.#height || r !== this.#round || r >= MAX_ROUND) return
    this.#startRound(r + 1, 'timeout', true)
  }

  // -------------------------------------------------------------------------------------------
  // Validators and helpers

  #validators(h: Height): readonly Address[] {
    return this.#cfg.validators.validators(h)
  }

  #quorum(): number {
    return quorumSize(this.#validators(this.#height).length)
  }

  #me(): Address | undefined {
    const s = this.#cfg.signer
    if (s === undefined) return undefined
    return isValidator(this.#validators(this.#height), s.address) ? s.address : undefined
  }

  #isProposer(r: Round): boolean {
    const me = this.#me()
    return me !== undefined && bytesEqual(this.#cfg.validators.proposer(this.#height, r), me)
  }

  #roundState(r: Round): RoundState {
    let rs = this.#rounds.get(r)
    if (rs === undefined) {
      rs = { prepareSent: false, commitSent: false, prepares: new Map(), commits: new Map() }
      this.#rounds.set(r, rs)
    }
    return rs
  }

  #reject(msg: QbftMessage, reason: string): void {
    this.#out.push({ type: 'rejected', msg, reason })
  }

  /** `list` holds distinct validators of the current height and at least a quorum of them. */
  #isQuorumOfValidators(list: readonly Signed<Payload>[]): boolean {
    const vals = this.#validators(this.#height)
    const seen = new Set<string>()
    for (const s of list) {
      if (!isValidator(vals, s.author)) return false
      const a = toHex(s.author)
      if (seen.has(a)) return false
      seen.add(a)
    }
    return seen.size >= quorumSize(vals.length)
  }

  // -------------------------------------------------------------------------------------------
  // Signing (the WAL choke point)

  /**
   * Every signature we produce goes through here. A slot (type, height, round) is signed at most
   * once per value: the same value re-sends the stored message, a different value is refused
   * (this is what prevents double-signing after a restart with the WAL history).
   */
  #sign<M extends QbftMessage>(
    kind: MessageType,
    round: Round,
    digest: Hash,
    make: () => M,
    certificate?: PreparedCertificate,
  ): M | undefined {
    const key = slotKey(kind, this.#height, round)
    const prev = this.#signed.get(key)
    if (prev !== undefined) {
      if (!bytesEqual(prev.digest, digest)) return undefined
      this.#out.push({ type: 'broadcast', msg: prev.msg, bytes: encodeMessage(prev.msg) })
      return prev.msg as M
    }
    const msg = make()
    const bytes = encodeMessage(msg)
    this.#signed.set(key, { digest, msg })
    const record: SignedRecord =
      certificate === undefined
        ? { kind, height: this.#height, round, digest, message: bytes }
        : {
            kind,
            height: this.#height,
            round,
            digest,
            message: bytes,
            certificate: encodePreparedCertificate(certificate),
          }
    this.#out.push({ type: 'persist', record })
    this.#out.push({ type: 'broadcast', msg, bytes })
    return msg
  }

  #signer(): Signer {
    const s = this.#cfg.signer
    if (s === undefined) throw new QbftConfigError('no signer')
    return s
  }

  #sendRoundChange(r: Round): void {
    if (this.#me() === undefined) return
    const lock = this.#lock
    const payload: RoundChangePayload =
      lock === undefined
        ? { type: 'ROUND_CHANGE', height: this.#height, round: r }
        : {
            type: 'ROUND_CHANGE',
            height: this.#height,
            round: r,
            prepared: { round: lock.round, digest: lock.block.digest },
          }
    const digest = signingHash(this.#cfg.chainId, 'ROUND_CHANGE', encodePayload(payload))
    const msg = this.#sign('ROUND_CHANGE', r, digest, () =>
      createRoundChange(this.#signer(), this.#cfg.chainId, this.#height, r, lock),
    )
    if (msg !== undefined) this.#onMessage(msg, true)
  }

  #sendPrepare(r: Round, digest: Hash): void {
    if (this.#me() === undefined) return
    const msg = this.#sign('PREPARE', r, digest, () =>
      createPrepare(this.#signer(), this.#cfg.chainId, this.#height, r, digest),
    )
    if (msg !== undefined) this.#onMessage(msg, true)
  }

  #sendCommit(r: Round, digest: Hash, cert: PreparedCertificate): void {
    if (this.#me() === undefined) return
    const msg = this.#sign(
      'COMMIT',
      r,
      digest,
      () => createCommit(this.#signer(), this.#cfg.chainId, this.#height, r, digest),
      cert,
    )
    if (msg !== undefined) this.#onMessage(msg, true)
  }

  #sendProposal(
    r: Round,
    block: Block,
    rcs: readonly Signed<RoundChangePayload>[],
    prepares: readonly Signed<PreparePayload>[],
  ): void {
    if (this.#me() === undefined) return
    const msg = this.#sign('PROPOSAL', r, block.digest, () =>
      createProposal(this.#signer(), this.#cfg.chainId, block, r, rcs, prepares),
    )
    if (msg !== undefined) this.#onMessage(msg, true)
  }

  // -------------------------------------------------------------------------------------------
  // Proposing

  #startBuild(r: Round, roundChanges: readonly Signed<RoundChangePayload>[]): void {
    // After a restart, re-send the proposal we already signed instead of building a new block.
    const prev = this.#signed.get(slotKey('PROPOSAL', this.#height, r))
    if (prev !== undefined && prev.msg.type === 'PROPOSAL') {
      this.#out.push({ type: 'broadcast', msg: prev.msg, bytes: encodeMessage(prev.msg) })
      this.#onMessage(prev.msg, true)
      return
    }
    this.#pendingBuild = { round: r, roundChanges }
    this.#out.push({ type: 'requestBlock', height: this.#height, round: r })
  }

  #onProposalReady(block: Block): void {
    const pb = this.#pendingBuild
    if (pb === undefined || this.#decided || pb.round !== this.#round || block.height !== this.#height) return
    this.#pendingBuild = undefined
    const b = block.round === pb.round ? block : this.#cfg.blocks.withRound(block, pb.round)
    this.#sendProposal(pb.round, b, pb.roundChanges, [])
  }

  /** Round r > 0 proposer: once a quorum of round changes is in, propose the justified value. */
  #tryProposeForRoundChanges(): void {
    const r = this.#round
    if (r === 0 || this.#decided || !this.#isProposer(r)) return
    if (this.#rounds.get(r)?.proposal !== undefined || this.#pendingBuild?.round === r) return
    const rcs = [...(this.#roundChanges.get(r)?.values() ?? [])]
    if (rcs.length < this.#quorum()) return
    let best: RoundChangeMessage | undefined
    for (const rc of rcs) {
      const pr = rc.signed.payload.prepared
      if (
        pr !== undefined &&
        (best === undefined || pr.round > (best.signed.payload.prepared as { round: Round }).round)
      )
        best = rc
    }
    const justification = rcs.map((rc) => rc.signed)
    if (best?.preparedBlock !== undefined) {
      // Re-propose the highest prepared value: the lock that may already be decided elsewhere.
      this.#sendProposal(r, this.#cfg.blocks.withRound(best.preparedBlock, r), justification, best.prepares)
    } else {
      this.#startBuild(r, justification)
    }
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  #onMessage(msg: QbftMessage, own: boolean): void {
    if (!this.#started) return
    const p = msg.signed.payload
    if (p.height < this.#height) return
    if (p.height > this.#height) {
      this.#bufferFuture(msg)
      return
    }
    const author = msg.signed.author
    if (!isValidator(this.#validators(p.height), author)) {
      this.#reject(msg, 'author is not a validator')
      return
    }
    if (!own && this.#cfg.signer !== undefined && bytesEqual(author, this.#cfg.signer.address)) return // our own echo
    const key = `${msg.type}:${p.round}:${toHex(author)}`
    const first = this.#seen.get(key)
    if (first !== undefined) {
      if (!bytesEqual(messageDigest(first), messageDigest(msg)))
        this.#emitEvidence(key, msg.type, first, msg.signed)
      return // duplicates ignored; for equivocation the first keeps counting
    }
    if (this.#decided) {
      this.#seen.set(key, msg.signed)
      return
    }
    // Record before validation: an invalid message is not counted, but does bind its author.
    switch (msg.type) {
      case 'PROPOSAL':
        if (this.#onProposal(msg, own)) this.#seen.set(key, msg.signed)
        break
      case 'PREPARE':
        if (this.#onPrepare(msg)) this.#seen.set(key, msg.signed)
        break
      case 'COMMIT':
        if (this.#onCommit(msg)) this.#seen.set(key, msg.signed)
        break
      case 'ROUND_CHANGE':
        if (this.#onRoundChange(msg)) this.#seen.set(key, msg.signed)
        break
    }
  }

  #emitEvidence(key: string, kind: MessageType, first: Signed<Payload>, second: Signed<Payload>): void {
    if (this.#evidenceKeys.has(key)) return
    this.#evidenceKeys.add(key)
    this.#out.push({
      type: 'evidence',
      evidence: {
        kind,
        height: first.payload.height,
        round: first.payload.round,
        author: first.author,
        first,
        second,
      },
    })
  }

  #bufferFuture(msg: QbftMessage): void {
    const h = msg.signed.payload.height
    if (h > this.#height + BigInt(this.#maxFutureHeights)) return
    let vals: readonly Address[]
    try {
      vals = this.#validators(h)
    } catch {
      vals = this.#validators(this.#height) // set for a far height not known yet: use the current one
    }
    if (!isValidator(vals, msg.signed.author)) {
      this.#reject(msg, 'author is not a validator')
      return
    }
    const a = toHex(msg.signed.author)
    const n = this.#bufferedPerAuthor.get(a) ?? 0
    if (n >= this.#maxBufferedPerAuthor) return
    this.#bufferedPerAuthor.set(a, n + 1)
    let list = this.#future.get(h)
    if (list === undefined) {
      list = []
      this.#future.set(h, list)
    }
    list.push(msg)
  }

  /** Returns true when the message was valid and recorded. */
  #onProposal(msg: ProposalMessage, own: boolean): boolean {
    const { round: r, block } = msg.signed.payload
    if (r < this.#round) return true // late: irrelevant, but it binds the author for equivocation
    if (r > this.#round + this.#maxFutureRounds) return false
    if (!bytesEqual(msg.signed.author, this.#cfg.validators.proposer(this.#height, r))) {
      this.#reject(msg, `not the proposer of round ${r}`)
      return false
    }
    if (block.round !== r || block.height !== this.#height) {
      this.#reject(msg, 'block height/round does not match the proposal')
      return false
    }
    const why = this.#checkJustification(msg)
    if (why !== undefined) {
      this.#reject(msg, why)
      return false
    }
    if (r > this.#round) this.#startRound(r, 'proposal', false)
    const rs = this.#roundState(r)
    if (rs.proposal !== undefined) return true
    rs.proposal = msg
    if (own) {
      rs.valid = true
      this.#validity.set(toHex(block.digest), true)
    } else {
      const known = this.#validity.get(toHex(block.digest))
      if (known === undefined) this.#out.push({ type: 'validateBlock', block })
      else rs.valid = known
    }
    this.#afterValidity(r)
    return true
  }

  /**
   * QBFT proposal justification. Round 0: none. Round r > 0: a quorum of round changes for
   * (h, r) from distinct validators; if any of them reports a prepared round, the proposed
   * block must be the value of the highest one (re-stamped to round r) and `prepares` a quorum
   * of prepares for it. Returns the reason when unjustified.
   */
  #checkJustification(msg: ProposalMessage): string | undefined {
    const { height: h, round: r, block } = msg.signed.payload
    if (r === 0)
      return msg.roundChanges.length === 0 && msg.prepares.length === 0
        ? undefined
        : 'round 0 proposal carries a justification'
    if (!this.#isQuorumOfValidators(msg.roundChanges))
      return 'round changes are not a quorum of distinct validators'
    for (const rc of msg.roundChanges)
      if (rc.payload.height !== h || rc.payload.round !== r) return 'round change for another round'
    let best: { round: Round; digest: Hash } | undefined
    for (const rc of msg.roundChanges) {
      const pr = rc.payload.prepared
      if (pr !== undefined && (best === undefined || pr.round > best.round)) best = pr
    }
    if (best === undefined)
      return msg.prepares.length === 0 ? undefined : 'prepares without a prepared round change'
    const atPrepared = this.#cfg.blocks.withRound(block, best.round)
    if (!bytesEqual(atPrepared.digest, best.digest)) return 'block is not the highest prepared value'
    if (!this.#isQuorumOfValidators(msg.prepares)) return 'prepared certificate is not a quorum'
    for (const p of msg.prepares)
      if (
        p.payload.height !== h ||
        p.payload.round !== best.round ||
        !bytesEqual(p.payload.digest, best.digest)
      )
        return 'prepare does not match the highest prepared round'
    return undefined
  }

  #onBlockValidated(digest: Hash, valid: boolean): void {
    if (!this.#started) return
    this.#validity.set(toHex(digest), valid)
    for (const [r, rs] of this.#rounds) {
      if (
        rs.proposal !== undefined &&
        rs.valid === undefined &&
        bytesEqual(rs.proposal.signed.payload.block.digest, digest)
      ) {
        rs.valid = valid
        this.#afterValidity(r)
      }
    }
  }

  #afterValidity(r: Round): void {
    const rs = this.#rounds.get(r)
    if (rs?.proposal === undefined || this.#decided) return
    if (rs.valid === true && r === this.#round && !rs.prepareSent) {
      rs.prepareSent = true
      this.#sendPrepare(r, rs.proposal.signed.payload.block.digest)
    }
    this.#checkPrepared(r)
    this.#checkCommitted(r)
  }

  #onPrepare(msg: { signed: Signed<PreparePayload> }): boolean {
    const r = msg.signed.payload.round
    if (r > this.#round + this.#maxFutureRounds) return false
    if (r < this.#round) return true
    this.#roundState(r).prepares.set(toHex(msg.signed.author), msg.signed)
    this.#checkPrepared(r)
    return true
  }

  #onCommit(msg: CommitMessage): boolean {
    const r = msg.signed.payload.round
    if (r > this.#round + this.#maxFutureRounds) return false
    // Commits of earlier rounds still count: a quorum of them decides whatever round we are in.
    this.#roundState(r).commits.set(toHex(msg.signed.author), msg.signed)
    this.#checkCommitted(r)
    return true
  }

  #matching<P extends PreparePayload | CommitPayload>(m: Map<string, Signed<P>>, digest: Hash): Signed<P>[] {
    const out: Signed<P>[] = []
    for (const s of m.values()) if (bytesEqual(s.payload.digest, digest)) out.push(s)
    return out
  }

  /** Quorum of prepares for the accepted, valid proposal of the current round: lock and commit. */
  #checkPrepared(r: Round): void {
    const rs = this.#rounds.get(r)
    if (
      rs?.proposal === undefined ||
      rs.valid !== true ||
      rs.commitSent ||
      r !== this.#round ||
      this.#decided
    )
      return
    const block = rs.proposal.signed.payload.block
    const prepares = this.#matching(rs.prepares, block.digest)
    if (prepares.length < this.#quorum()) return
    rs.commitSent = true
    const cert: PreparedCertificate = { round: r, block, prepares }
    this.#lock = cert
    this.#sendCommit(r, block.digest, cert)
  }

  #checkCommitted(r: Round): void {
    const rs = this.#rounds.get(r)
    if (rs?.proposal === undefined || this.#decided) return
    const block = rs.proposal.signed.payload.block
    const commits = this.#matching(rs.commits, block.digest)
    if (commits.length < this.#quorum()) return
    this.#decided = true
    this.#pendingBuild = undefined
    commits.sort((a, b) => compareBytes(a.author, b.author))
    this.#out.push({
      type: 'commit',
      block,
      round: r,
      seals: commits.map((c) => c.payload.commitSeal),
      signers: commits.map((c) => c.author),
    })
  }

  #onRoundChange(msg: RoundChangeMessage): boolean {
    const p = msg.signed.payload
    if (p.round === 0) {
      this.#reject(msg, 'round change to round 0')
      return false
    }
    if (p.round < this.#round) return true
    if (p.prepared !== undefined) {
      if (msg.preparedBlock === undefined || !this.#isQuorumOfValidators(msg.prepares)) {
        this.#reject(msg, 'round change with an invalid prepared certificate')
        return false
      }
    }
    const a = toHex(msg.signed.author)
    let byAuthor = this.#roundChanges.get(p.round)
    if (byAuthor === undefined) {
      byAuthor = new Map()
      this.#roundChanges.set(p.round, byAuthor)
    }
    byAuthor.set(a, msg)
    this.#boundRoundChanges(a)
    if (p.round > this.#round) this.#checkRoundSkip()
    if (p.round === this.#round) this.#tryProposeForRoundChanges()
    return true
  }

  /** Keep round changes of at most maxRoundChangeRoundsPerAuthor rounds per author (highest ones). */
  #boundRoundChanges(author: string): void {
    const rounds = [...this.#roundChanges.entries()].filter(([, m]) => m.has(author)).map(([r]) => r)
    if (rounds.length <= this.#maxRcRounds) return
    rounds.sort((x, y) => x - y)
    for (const r of rounds.slice(0, rounds.length - this.#maxRcRounds))
      this.#roundChanges.get(r)?.delete(author)
  }

  /** f+1 validators ask for higher rounds: at least one honest one is there, so follow. */
  #checkRoundSkip(): void {
    const highest = new Map<string, Round>()
    for (const [r, m] of this.#roundChanges) {
      if (r <= this.#round) continue
      for (const a of m.keys()) highest.set(a, Math.max(highest.get(a) ?? 0, r))
    }
    const f = maxFaulty(this.#validators(this.#height).length)
    if (highest.size < f + 1) return
    const rounds = [...highest.values()].sort((x, y) => y - x)
    const target = rounds[f] as Round
    if (target > this.#round) this.#startRound(target, 'roundChanges', true)
  }
}

/**
 * Check an Equivocation independently (e.g. before slashing): both signed payloads decode,
 * recover to `author`, share type, height and round, and commit to different values.
 */
export function verifyEquivocation(ev: Equivocation, ctx: CodecContext): boolean {
  try {
    const a = decodeSignedFor(ev.kind, ev.first.encoded, ctx)
    const b = decodeSignedFor(ev.kind, ev.second.encoded, ctx)
    return (
      bytesEqual(a.author, ev.author) &&
      bytesEqual(b.author, ev.author) &&
      a.payload.height === b.payload.height &&
      a.payload.round === b.payload.round &&
      a.payload.height === ev.height &&
      a.payload.round === ev.round &&
      !bytesEqual(messageDigest(a), messageDigest(b))
    )
  } catch {
    return false
  }
}
