/**
 * The node side of QBFT: what the pure state machine asks for (build, validate, commit, send,
 * persist, timers) done against the chain, the runtime, the WAL and gossip.
 */
import { Block, type BlockOptions, createBlockHeaderFromBytesArray } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'
import {
  type Address,
  type Block as ConsensusBlock,
  decodeExtraData,
  type Equivocation,
  encodeExtraData,
  headerWithSeals,
  QBFT_MIX_HASH,
  type QbftHost,
  type Round,
  type SignedRecord,
} from '@openledger/consensus'
import { BlockValidationError, type ExecutedTx, type ExecutionRuntime } from '@openledger/evm-runtime'
import type { StakingStore } from '@openledger/staking'
import type { Chain } from '../chain/chain.ts'
import type { BlockImporter } from '../chain/importer.ts'
import { reuseKnownSenders } from '../chain/known-senders.ts'
import type { Logger } from '../logger.ts'
import type { NodeMetrics } from '../metrics.ts'
import type { TxPool } from '../txpool/index.ts'
import { bytesEqual, hex } from '../util/bytes.ts'
import { type EthBlockCodec, withQbftHash } from './block-codec.ts'
import type { CycleStep, CycleTimings } from './cycle-timings.ts'
import { checkVanity, expectedVanity, withVanity } from './epochs.ts'
import type { ChainValidatorSet } from './validator-set.ts'
import type { ConsensusWal } from './wal.ts'

/** Accepted clock drift for a proposal's timestamp ahead of our clock. */
const MAX_FUTURE_SECONDS = 5n
const MAX_EVIDENCE = 256

export interface QbftHostOptions {
  chain: Chain
  runtime: ExecutionRuntime
  pool: TxPool
  metrics?: NodeMetrics
  importer: BlockImporter
  codec: EthBlockCodec
  validators: ChainValidatorSet
  /** The Staking module's storage at a state root (epoch vanity of the blocks we build and check). */
  stakingAt: (stateRoot: Uint8Array) => StakingStore
  blockOptions: BlockOptions
  /** This validator's address (coinbase of the blocks it proposes). */
  address: Address
  blockPeriodSeconds: number
  wal: ConsensusWal
  broadcast: (bytes: Uint8Array) => void
  /** Equivocations seen by the engine (besides the in-memory list served by qbft_getEvidence). */
  reportEvidence?: (evidence: Equivocation) => void
  log: Logger
  signal: AbortSignal
  /** Header fields a block hook gives a meaning to (the L1 bridge's origin); must not wait on the network. */
  proposalHeader?: (parentStateRoot: Uint8Array) => Promise<{ parentBeaconBlockRoot?: Uint8Array }>
  /** Per-height timestamps of the block cycle (qbft_getCycleTimings). */
  timings?: CycleTimings
}

/** WAL record kind → the cycle steps around its append. */
const WAL_STEPS: Partial<Record<SignedRecord['kind'], [CycleStep, CycleStep]>> = {
  PROPOSAL: ['proposalWal', 'proposalSent'],
  PREPARE: ['prepareWal', 'prepareSent'],
  COMMIT: ['commitWal', 'commitSent'],
}

export class QbftNodeHost implements QbftHost {
  /** Execution results of blocks we built or validated, by QBFT digest (bounded; dropped once
   * their height is committed: a full block's receipts and blooms are megabytes the old
   * generation would otherwise carry for 32 heights). */
  readonly #executed = new Map<string, { height: bigint; executed: ExecutedTx[] }>()
  readonly evidence: Equivocation[] = []

  constructor(private readonly o: QbftHostOptions) {}

  #remember(height: bigint, digest: Uint8Array, executed: ExecutedTx[]): void {
    this.#executed.set(hex(digest), { height, executed })
    if (this.#executed.size > 32) this.#executed.delete(this.#executed.keys().next().value as string)
  }

  #forgetThrough(height: bigint): void {
    for (const [k, v] of this.#executed) if (v.height <= height) this.#executed.delete(k)
  }

  async buildBlock(height: bigint, round: Round): Promise<ConsensusBlock> {
    const { chain, blockPeriodSeconds } = this.o
    // Round 0 waits for the block period; later rounds already waited through a timeout.
    const parentTs = chain.head.header.timestamp
    const earliest = parentTs + BigInt(Math.max(blockPeriodSeconds, 1))
    await this.#sleepUntil(Number(earliest) * 1000)
    this.o.timings?.mark(height, 'buildStart')
    return this.o.importer.exclusive(async () => {
      const parent = chain.head
      if (parent.header.number + 1n !== height)
        throw new Error(`asked to build block ${height} on head ${parent.header.number}`)
      const now = BigInt(Math.floor(Date.now() / 1000))
      const minTs = parent.header.timestamp + BigInt(Math.max(blockPeriodSeconds, 1))
      const timestamp = now > minTs ? now : minTs
      const extraData = encodeExtraData({
        vanity: new Uint8Array(32),
        validators: this.o.validators.validators(height),
        round,
        seals: [],
      })
      const { pool, runtime } = this.o
      const baseFee = await runtime.nextBaseFee(parent.header)
      const extra = await this.o.proposalHeader?.(parent.header.stateRoot)
      const result = await runtime.buildBlock(parent.header, txs(pool.pending(baseFee)), {
        timestamp,
        coinbase: this.o.address,
        extraData,
        mixHash: QBFT_MIX_HASH,
        parentBeaconBlockRoot: extra?.parentBeaconBlockRoot,
        // Leave most of the period for validation, commit and the next round trip.
        deadlineMs: Math.max(250, (blockPeriodSeconds * 1000) / 2),
      })
      for (const r of result.rejected) {
        if (r.retry) continue
        pool.remove(r.tx.hash())
        // Execution threw (rolled back by the runtime): not the sender's doing, so say it loudly.
        if (r.fault)
          this.o.log.warn(
            { tx: hex(r.tx.hash()), err: r.fault.message },
            'transaction dropped: execution fault',
          )
      }
      const m = this.o.metrics
      if (m) {
        m.phaseSeconds.inc({ phase: 'execution' }, result.timings.execution / 1000)
        m.phaseSeconds.inc({ phase: 'roots' }, result.timings.roots / 1000)
      }
      // An epoch's last block announces the next set in its vanity (known only after execution).
      const vanity = await expectedVanity(this.o.stakingAt(result.block.header.stateRoot), height)
      const block = this.o.codec.remember(withVanity(withQbftHash(result.block), vanity, this.o.blockOptions))
      this.#remember(height, block.digest, result.executed)
      this.o.timings?.mark(height, 'built')
      this.o.timings?.txs(height, result.executed.length)
      this.o.log.debug(
        { height: String(height), round, txs: result.executed.length, ms: Math.round(result.timings.total) },
        'proposal built',
      )
      return block
    })
  }

  async validateBlock(block: ConsensusBlock): Promise<boolean> {
    const timings = this.o.timings
    timings?.mark(block.height, 'validateStart')
    const valid = await this.#validate(block)
    timings?.mark(block.height, 'validated')
    return valid
  }

  #validate(block: ConsensusBlock): Promise<boolean> {
    return this.o.importer.exclusive(async () => {
      const eth = this.o.codec.ethBlock(block)
      const parent = this.o.chain.head
      const reason = this.#checkHeader(eth, block.round, parent)
      if (reason) {
        this.o.log.warn({ height: String(block.height), round: block.round, reason }, 'invalid proposal')
        return false
      }
      try {
        const t0 = performance.now()
        const { pool, runtime } = this.o
        reuseKnownSenders(eth, (hash) => pool.senderPublicKey(hash))
        const executed = await runtime.executeBlock(eth, parent.header)
        const wrongVanity = await checkVanity(eth, this.o.stakingAt(eth.header.stateRoot))
        if (wrongVanity) {
          this.o.log.warn({ height: String(block.height), reason: wrongVanity }, 'invalid proposal')
          return false
        }
        this.#remember(block.height, block.digest, executed)
        this.o.timings?.txs(block.height, executed.length)
        this.o.log.debug(
          {
            height: String(block.height),
            round: block.round,
            txs: executed.length,
            ms: Math.round(performance.now() - t0),
          },
          'proposal validated',
        )
        return true
      } catch (e) {
        if (!(e instanceof BlockValidationError)) throw e
        this.o.log.warn({ height: String(block.height), err: e.message }, 'proposal fails execution')
        return false
      }
    })
  }

  #checkHeader(eth: Block, round: Round, parent: Block): string | undefined {
    const h = eth.header
    if (h.number !== parent.header.number + 1n) return `height ${h.number} does not follow head`
    if (!bytesEqual(h.parentHash, parent.hash())) return 'parent hash is not our head'
    const extra = decodeExtraData(h.extraData)
    if (extra.round !== round) return 'extraData round differs from the proposal round'
    if (extra.seals.length > 0) return 'proposal carries commit seals'
    if (extra.vote !== undefined) return 'validator votes are not supported'
    const set = this.o.validators.validators(h.number)
    if (extra.validators.length !== set.length || extra.validators.some((v, i) => !bytesEqual(v, set[i]!)))
      return 'extraData validators differ from the validator set'
    if (!set.some((v) => bytesEqual(v, h.coinbase.bytes))) return 'coinbase is not a validator'
    if (!bytesEqual(h.mixHash, QBFT_MIX_HASH)) return 'mixHash is not the BFT constant'
    const period = BigInt(Math.max(this.o.blockPeriodSeconds, 1))
    if (h.timestamp < parent.header.timestamp + period) return 'timestamp before the block period elapsed'
    if (h.timestamp > BigInt(Math.floor(Date.now() / 1000)) + MAX_FUTURE_SECONDS)
      return 'timestamp too far in the future'
    return undefined
  }

  async commitBlock(
    block: ConsensusBlock,
    _round: Round,
    seals: readonly Uint8Array[],
    _signers: readonly Address[],
  ): Promise<void> {
    const { chain, runtime, codec, blockOptions, timings } = this.o
    timings?.mark(block.height, 'decided')
    const eth = codec.ethBlock(block)
    const header = createBlockHeaderFromBytesArray(headerWithSeals(eth.header.raw(), seals), blockOptions)
    const sealed = withQbftHash(new Block(header, eth.transactions, [], [], blockOptions))
    const result = await this.o.importer.commitDecided(sealed, async () => {
      const done = this.#executed.get(hex(block.digest))
      if (done) return done.executed
      // Decided before our own validation finished: execute now.
      return runtime.executeBlock(eth, chain.head.header)
    })
    this.#forgetThrough(block.height)
    codec.forgetThrough(block.height)
    timings?.mark(block.height, 'imported')
    if (result === 'known')
      this.o.log.debug({ height: String(block.height) }, 'decided block already imported')
  }

  broadcast(bytes: Uint8Array): void {
    this.o.broadcast(bytes)
  }

  async persist(record: SignedRecord): Promise<void> {
    const steps = WAL_STEPS[record.kind]
    const timings = this.o.timings
    if (steps) timings?.mark(record.height, steps[0])
    await this.o.wal.append(record)
    if (steps) timings?.mark(record.height, steps[1])
  }

  setTimer(ms: number, fn: () => void): () => void {
    const t = setTimeout(fn, ms)
    return () => clearTimeout(t)
  }

  onEvidence(evidence: Equivocation): void {
    this.evidence.push(evidence)
    if (this.evidence.length > MAX_EVIDENCE) this.evidence.shift()
    this.o.reportEvidence?.(evidence)
    this.o.log.warn(
      {
        kind: evidence.kind,
        height: String(evidence.height),
        round: evidence.round,
        author: hex(evidence.author),
      },
      'equivocation detected',
    )
  }

  onRoundStarted(height: bigint, round: Round, reason: string): void {
    const m = this.o.metrics
    m?.qbftRound.set(round)
    if (round === 0) this.o.timings?.mark(height, 'roundStart')
    this.o.timings?.round(height, round)
    if (round > 0) {
      m?.qbftRoundChanges.inc()
      this.o.log.info({ height: String(height), round, reason }, 'round change')
    }
  }

  onError(err: unknown, where: string): void {
    if (this.o.signal.aborted) return
    this.o.log.warn({ err, where }, 'consensus host error')
  }

  #sleepUntil(epochMs: number): Promise<void> {
    const wait = epochMs - Date.now()
    if (wait <= 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const signal = this.o.signal
      const onAbort = () => {
        clearTimeout(t)
        reject(new Error('node stopping'))
      }
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, wait)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

function* txs(pending: Iterable<{ tx: TypedTransaction }>): Generator<TypedTransaction> {
  for (const p of pending) yield p.tx
}
