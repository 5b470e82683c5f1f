/**
 * Deterministic discrete-event simulation of a QBFT network built from QbftStateMachine
 * instances. One seeded PRNG drives delays, drops, duplicates and byzantine choices, so a seed
 * replays exactly. Messages cross the "wire" as bytes (encode → decode on each delivery).
 */
import { bytesEqual, toHex } from '../src/bytes.ts'
import {
  type CodecContext,
  createCommit,
  createPrepare,
  createProposal,
  decodeMessage,
  encodeMessage,
  type QbftMessage,
} from '../src/messages.ts'
import { type Equivocation, type QbftOutput, QbftStateMachine, type SignedRecord } from '../src/qbft.ts'
import {
  type Address,
  type Block,
  type Height,
  quorumSize,
  type Signer,
  StaticValidatorSet,
} from '../src/types.ts'
import { blockId, blockInfo, FakeKeyring, makeBlock, prng, realSigner, testBlocks } from './helpers.ts'

export const CHAIN_ID = 1337n

export interface Partition {
  /** Node indices per side; nodes not listed are isolated from everyone during the window. */
  readonly groups: readonly (readonly number[])[]
  readonly from: number
  readonly to: number
}

export interface Crash {
  readonly node: number
  readonly at: number
  readonly restartAt?: number
}

export interface SimOptions {
  readonly n: number
  readonly seed: number
  /** Indices of byzantine (equivocating) validators. */
  readonly byzantine?: readonly number[]
  readonly crashes?: readonly Crash[]
  readonly partitions?: readonly Partition[]
  /** Global stabilisation time (ms): before it, drops/long delays/partitions apply. */
  readonly gst?: number
  readonly dropRate?: number
  readonly dupRate?: number
  readonly maxDelayBeforeGst?: number
  readonly maxDelayAfterGst?: number
  readonly baseTimeoutMs?: number
  /** Stop once every live honest node has committed this height. */
  readonly targetHeight: number
  /** Hard stop (simulated ms). */
  readonly maxTime: number
  /** Use real secp256k1 keys (slow) instead of the fake MAC scheme. */
  readonly realCrypto?: boolean
}

interface CommittedBlock {
  readonly block: Block
  readonly seals: readonly Uint8Array[]
  readonly signers: readonly Address[]
}

interface SimNode {
  readonly idx: number
  readonly signer: Signer
  readonly byzantine: boolean
  sm: QbftStateMachine
  readonly chain: CommittedBlock[]
  readonly wal: SignedRecord[]
  crashed: boolean
  epoch: number
  syncPending: boolean
}

type Event =
  | { kind: 'deliver'; to: number; bytes: Uint8Array; from: number }
  | { kind: 'timeout'; node: number; epoch: number; height: Height; round: number }
  | { kind: 'validated'; node: number; epoch: number; block: Block }
  | { kind: 'built'; node: number; epoch: number; block: Block }
  | { kind: 'crash'; node: number }
  | { kind: 'restart'; node: number }
  | { kind: 'sync'; node: number; from: number }

interface Queued {
  readonly t: number
  readonly seq: number
  readonly ev: Event
}

/** Binary min-heap by (t, seq): deterministic order for equal times. */
class EventQueue {
  #h: Queued[] = []
  #seq = 0
  get size(): number {
    return this.#h.length
  }
  push(t: number, ev: Event): void {
    const h = this.#h
    h.push({ t, seq: this.#seq++, ev })
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (less(h[i] as Queued, h[p] as Queued)) {
        ;[h[i], h[p]] = [h[p] as Queued, h[i] as Queued]
        i = p
      } else break
    }
  }
  pop(): Queued | undefined {
    const h = this.#h
    if (h.length === 0) return undefined
    const top = h[0] as Queued
    const last = h.pop() as Queued
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && less(h[l] as Queued, h[m] as Queued)) m = l
        if (r < h.length && less(h[r] as Queued, h[m] as Queued)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m] as Queued, h[i] as Queued]
        i = m
      }
    }
    return top
  }
}
const less = (a: Queued, b: Queued) => a.t < b.t || (a.t === b.t && a.seq < b.seq)

export interface SimResult {
  /** height → set of block ids committed by honest nodes (safety: size 1). */
  readonly decided: Map<number, Set<string>>
  readonly safetyViolations: string[]
  /** Honest validators that signed two different values for one (type, height, round). */
  readonly doubleSigns: string[]
  readonly evidence: Equivocation[]
  readonly heights: number[]
  readonly honestHeights: number[]
  readonly maxRound: number
  readonly time: number
  readonly delivered: number
  readonly rejected: number
  readonly commitRounds: number[]
  readonly builders: Map<number, string>
  /** Simulated time of every honest commit (own decision or sync import). */
  readonly commitTimes: number[]
}

export class Simulation {
  readonly opts: SimOptions
  readonly nodes: SimNode[] = []
  readonly keyring = new FakeKeyring()
  readonly validators: Address[]
  readonly #rng: () => number
  readonly #q = new EventQueue()
  #now = 0
  readonly #ctx: CodecContext
  readonly #decided = new Map<number, Set<string>>()
  readonly #violations: string[] = []
  readonly #signedLog = new Map<string, Set<string>>()
  readonly #evidence: Equivocation[] = []
  #delivered = 0
  #rejected = 0
  #maxRound = 0
  readonly #commitRounds: number[] = []
  readonly #builders = new Map<number, string>()
  readonly #permanentlyDown = new Set<number>()
  readonly #commitTimes: number[] = []

  constructor(opts: SimOptions) {
    this.opts = opts
    this.#rng = prng(opts.seed)
    const byz = new Set(opts.byzantine ?? [])
    const signers = Array.from({ length: opts.n }, (_, i) =>
      opts.realCrypto === true ? realSigner(i) : this.keyring.signer(opts.seed * 1000 + i),
    )
    this.validators = signers.map((s) => s.address)
    this.#ctx =
      opts.realCrypto === true
        ? { chainId: CHAIN_ID, blocks: testBlocks }
        : { chainId: CHAIN_ID, blocks: testBlocks, recover: this.keyring.recover }
    const genesis = makeBlock(0n, 0, new Uint8Array(20), 0n)
    for (let i = 0; i < opts.n; i++) {
      const node: SimNode = {
        idx: i,
        signer: signers[i] as Signer,
        byzantine: byz.has(i),
        sm: undefined as unknown as QbftStateMachine,
        chain: [{ block: genesis, seals: [], signers: [] }],
        wal: [],
        crashed: false,
        epoch: 0,
        syncPending: false,
      }
      node.sm = this.#newMachine(node, [])
      this.nodes.push(node)
    }
    for (const c of opts.crashes ?? []) {
      this.#q.push(c.at, { kind: 'crash', node: c.node })
      if (c.restartAt !== undefined) this.#q.push(c.restartAt, { kind: 'restart', node: c.node })
      else this.#permanentlyDown.add(c.node)
    }
  }

  #newMachine(node: SimNode, history: readonly SignedRecord[]): QbftStateMachine {
    const set = new StaticValidatorSet(this.validators, (h) => {
      const b = node.chain[Number(h)]
      return b === undefined ? undefined : blockInfo(b.block).builder
    })
    return new QbftStateMachine({
      chainId: CHAIN_ID,
      signer: node.signer,
      validators: set,
      blocks: testBlocks,
      ...(this.opts.realCrypto === true ? {} : { recover: this.keyring.recover }),
      timeouts: { baseMs: this.opts.baseTimeoutMs ?? 1000, maxMs: 64_000 },
      history,
    })
  }

  get now(): number {
    return this.#now
  }

  #isHonest(i: number): boolean {
    return !(this.nodes[i] as SimNode).byzantine
  }

  run(): SimResult {
    for (const node of this.nodes)
      if (!node.crashed) this.#exec(node, node.sm.handle({ type: 'newHead', height: 0n }))
    while (this.#q.size > 0) {
      const next = this.#q.pop() as Queued
      if (next.t > this.opts.maxTime) break
      this.#now = next.t
      this.#process(next.ev)
      if (this.#done()) break
    }
    return this.result()
  }

  #done(): boolean {
    let any = false
    for (const n of this.nodes) {
      if (n.byzantine || this.#permanentlyDown.has(n.idx)) continue
      any = true
      if (n.chain.length - 1 < this.opts.targetHeight) return false
    }
    return any
  }

  result(): SimResult {
    const doubleSigns: string[] = []
    for (const [k, v] of this.#signedLog) if (v.size > 1) doubleSigns.push(k)
    return {
      decided: this.#decided,
      safetyViolations: this.#violations,
      doubleSigns,
      evidence: this.#evidence,
      heights: this.nodes.map((n) => n.chain.length - 1),
      honestHeights: this.nodes.filter((n) => !n.byzantine).map((n) => n.chain.length - 1),
      maxRound: this.#maxRound,
      time: this.#now,
      delivered: this.#delivered,
      rejected: this.#rejected,
      commitRounds: this.#commitRounds,
      builders: this.#builders,
      commitTimes: this.#commitTimes,
    }
  }

  #process(ev: Event): void {
    switch (ev.kind) {
      case 'deliver': {
        const node = this.nodes[ev.to] as SimNode
        if (node.crashed) return
        let msg: QbftMessage
        try {
          msg = decodeMessage(ev.bytes, this.#ctx)
        } catch (e) {
          throw new Error(`simulation produced an undecodable message: ${(e as Error).message}`)
        }
        this.#delivered++
        const h = msg.signed.payload.height
        if (h > node.sm.height && !node.syncPending) {
          const from = this.nodes[ev.from] as SimNode
          if (from.chain.length > node.chain.length) {
            node.syncPending = true
            this.#q.push(this.#now + 50, { kind: 'sync', node: node.idx, from: ev.from })
          }
        }
        this.#exec(node, node.sm.handle({ type: 'message', msg }))
        return
      }
      case 'timeout': {
        const node = this.nodes[ev.node] as SimNode
        if (node.crashed || node.epoch !== ev.epoch) return
        this.#exec(node, node.sm.handle({ type: 'timeout', height: ev.height, round: ev.round }))
        return
      }
      case 'validated': {
        const node = this.nodes[ev.node] as SimNode
        if (node.crashed || node.epoch !== ev.epoch) return
        this.#exec(node, node.sm.handle({ type: 'blockValidated', digest: ev.block.digest, valid: true }))
        return
      }
      case 'built': {
        const node = this.nodes[ev.node] as SimNode
        if (node.crashed || node.epoch !== ev.epoch) return
        this.#exec(node, node.sm.handle({ type: 'proposalReady', block: ev.block }))
        return
      }
      case 'crash': {
        const node = this.nodes[ev.node] as SimNode
        node.crashed = true
        node.epoch++
        return
      }
      case 'restart': {
        const node = this.nodes[ev.node] as SimNode
        const head = node.chain.length - 1
        // What a real node reads back: its chain (durable) and WAL records above the head.
        node.sm = this.#newMachine(
          node,
          node.wal.filter((r) => r.height > BigInt(head)),
        )
        node.crashed = false
        node.epoch++
        node.syncPending = false
        this.#exec(node, node.sm.handle({ type: 'newHead', height: BigInt(head) }))
        return
      }
      case 'sync': {
        const node = this.nodes[ev.node] as SimNode
        node.syncPending = false
        if (node.crashed) return
        const from = this.nodes[ev.from] as SimNode
        const start = node.chain.length
        if (from.chain.length <= start) return
        for (let h = start; h < from.chain.length; h++) {
          const cb = from.chain[h] as CommittedBlock
          this.#verifySeals(cb)
          this.#recordDecision(node, cb.block)
          node.chain.push(cb)
        }
        this.#exec(node, node.sm.handle({ type: 'newHead', height: BigInt(node.chain.length - 1) }))
        return
      }
    }
  }

  /** What block sync does before importing: a quorum of distinct validator seals over the digest. */
  #verifySeals(cb: CommittedBlock): void {
    const recover = this.opts.realCrypto === true ? undefined : this.keyring.recover
    const seen = new Set<string>()
    for (const s of cb.seals) {
      const a = recover !== undefined ? recover(cb.block.digest, s) : undefined
      if (a !== undefined) {
        if (!this.validators.some((v) => bytesEqual(v, a)))
          throw new Error('synced block sealed by non-validator')
        seen.add(toHex(a))
      }
    }
    if (recover !== undefined && seen.size < quorumSize(this.validators.length))
      throw new Error('synced block without a seal quorum')
  }

  #recordDecision(node: SimNode, block: Block): void {
    const h = Number(block.height)
    if (h !== node.chain.length)
      throw new Error(`node ${node.idx} committed height ${h} on head ${node.chain.length - 1}`)
    if (node.byzantine) return
    this.#commitTimes.push(this.#now)
    const id = blockId(block)
    let set = this.#decided.get(h)
    if (set === undefined) {
      set = new Set()
      this.#decided.set(h, set)
    }
    set.add(id)
    if (set.size > 1) this.#violations.push(`height ${h}: ${[...set].join(' vs ')}`)
    if (!this.#builders.has(h)) this.#builders.set(h, toHex(blockInfo(block).builder))
  }

  #exec(node: SimNode, outs: readonly QbftOutput[]): void {
    for (const o of outs) {
      switch (o.type) {
        case 'persist':
          node.wal.push(o.record) // synchronous = durable before the following broadcast
          break
        case 'broadcast':
          this.#broadcast(node, o.msg, o.bytes)
          break
        case 'scheduleTimeout':
          this.#q.push(this.#now + o.ms, {
            kind: 'timeout',
            node: node.idx,
            epoch: node.epoch,
            height: o.height,
            round: o.round,
          })
          break
        case 'requestBlock':
          this.#q.push(this.#now + 20 + Math.floor(this.#rng() * 60), {
            kind: 'built',
            node: node.idx,
            epoch: node.epoch,
            block: makeBlock(o.height, o.round, node.signer.address, BigInt(Math.floor(this.#rng() * 1e9))),
          })
          break
        case 'validateBlock':
          this.#q.push(this.#now + 5 + Math.floor(this.#rng() * 30), {
            kind: 'validated',
            node: node.idx,
            epoch: node.epoch,
            block: o.block,
          })
          break
        case 'commit': {
          this.#recordDecision(node, o.block)
          node.chain.push({ block: o.block, seals: o.seals, signers: o.signers })
          this.#commitRounds.push(o.round)
          // The node imports, then tells the engine about its new head.
          this.#exec(node, node.sm.handle({ type: 'newHead', height: o.block.height }))
          break
        }
        case 'evidence':
          if (!node.byzantine) this.#evidence.push(o.evidence)
          break
        case 'roundStarted':
          if (o.round > this.#maxRound) this.#maxRound = o.round
          break
        case 'rejected':
          this.#rejected++
          break
      }
    }
  }

  #logSigned(msg: QbftMessage, value: Uint8Array): void {
    const p = msg.signed.payload
    const k = `${toHex(msg.signed.author)}:${msg.type}:${p.height}:${p.round}`
    let s = this.#signedLog.get(k)
    if (s === undefined) {
      s = new Set()
      this.#signedLog.set(k, s)
    }
    s.add(toHex(value))
  }

  #broadcast(node: SimNode, msg: QbftMessage, bytes: Uint8Array): void {
    if (!node.byzantine) {
      this.#logSigned(
        msg,
        msg.type === 'ROUND_CHANGE'
          ? msg.signed.signingHash
          : msg.type === 'PROPOSAL'
            ? msg.signed.payload.block.digest
            : msg.signed.payload.digest,
      )
      for (let j = 0; j < this.nodes.length; j++) if (j !== node.idx) this.#send(node.idx, j, bytes)
      return
    }
    // Byzantine: a conflicting twin of every proposal / prepare / commit goes to half the peers.
    const twin = this.#conflicting(node, msg)
    for (let j = 0; j < this.nodes.length; j++) {
      if (j === node.idx) continue
      const x = this.#rng()
      if (twin === undefined || x < 0.35) this.#send(node.idx, j, bytes)
      else if (x < 0.7) this.#send(node.idx, j, twin)
      else {
        // Some peers see both (as gossip relaying would deliver): they must keep evidence.
        this.#send(node.idx, j, bytes)
        this.#send(node.idx, j, twin)
      }
    }
  }

  #conflicting(node: SimNode, msg: QbftMessage): Uint8Array | undefined {
    const p = msg.signed.payload
    const other = makeBlock(
      p.height,
      p.round,
      node.signer.address,
      BigInt(1e9 + Math.floor(this.#rng() * 1e9)),
    )
    switch (msg.type) {
      case 'PROPOSAL':
        return encodeMessage(
          createProposal(node.signer, CHAIN_ID, other, p.round, msg.roundChanges, msg.prepares),
        )
      case 'PREPARE':
        return encodeMessage(createPrepare(node.signer, CHAIN_ID, p.height, p.round, other.digest))
      case 'COMMIT':
        return encodeMessage(createCommit(node.signer, CHAIN_ID, p.height, p.round, other.digest))
      case 'ROUND_CHANGE':
        return undefined
    }
  }

  #partitioned(a: number, b: number): boolean {
    for (const p of this.opts.partitions ?? []) {
      if (this.#now < p.from || this.#now >= p.to) continue
      const ga = p.groups.findIndex((g) => g.includes(a))
      const gb = p.groups.findIndex((g) => g.includes(b))
      if (ga < 0 || gb < 0 || ga !== gb) return true
    }
    return false
  }

  #send(from: number, to: number, bytes: Uint8Array): void {
    const gst = this.opts.gst ?? 0
    const before = this.#now < gst
    if (before && this.#rng() < (this.opts.dropRate ?? 0)) return
    if (this.#partitioned(from, to)) return
    const maxDelay = before ? (this.opts.maxDelayBeforeGst ?? 400) : (this.opts.maxDelayAfterGst ?? 100)
    this.#q.push(this.#now + 1 + Math.floor(this.#rng() * maxDelay), { kind: 'deliver', to, bytes, from })
    if (before && this.#rng() < (this.opts.dupRate ?? 0))
      this.#q.push(this.#now + 1 + Math.floor(this.#rng() * maxDelay), { kind: 'deliver', to, bytes, from })
  }

  isHonest(i: number): boolean {
    return this.#isHonest(i)
  }
}
