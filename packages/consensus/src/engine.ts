/**
 * The engine interface the node drives, implemented by the dev single sealer (node package) and
 * by `QbftEngine` below. The node owns I/O; engines only see the injected host.
 */
import { QbftDecodeError } from './errors.ts'
import { type CodecContext, decodeMessage, messageAuthor, messageHeight } from './messages.ts'
import {
  type Equivocation,
  type QbftConfig,
  type QbftInput,
  type QbftOutput,
  QbftStateMachine,
  type SignedRecord,
} from './qbft.ts'
import { type Address, type Block, type Height, isValidator, type Round, type ValidatorSet } from './types.ts'

/** Gossip validation result (libp2p gossipsub: accept → relay, ignore → drop, reject → penalise). */
export type MessageVerdict = 'accept' | 'ignore' | 'reject'

export interface Engine {
  readonly kind: 'single' | 'qbft'
  /** Start sealing on top of the committed head `headHeight`. */
  start(headHeight: Height): void
  /** Stop timers; resolves once no output is being executed. Idempotent. */
  stop(): Promise<void>
  /** The node made block `height` its committed head (our commit, or imported by sync). */
  onNewHead(height: Height): void
  /** A consensus message from gossip (wire bytes). The single sealer returns 'ignore'. */
  onConsensusMessage(bytes: Uint8Array): MessageVerdict
}

/** What the node provides to a QBFT engine. */
export interface QbftHost {
  /** Build a block on the committed head for (height, round); round stamped into extraData. */
  buildBlock(height: Height, round: Round): Promise<Block>
  /** Execute and check the proposed block (state root, receipts, header rules). */
  validateBlock(block: Block): Promise<boolean>
  /** Write the seals into extraData, import atomically, then call engine.onNewHead(height). */
  commitBlock(
    block: Block,
    round: Round,
    seals: readonly Uint8Array[],
    signers: readonly Address[],
  ): Promise<void>
  /** Publish on the consensus gossip topic. */
  broadcast(bytes: Uint8Array): void
  /** Append to the consensus WAL and fsync. Resolve only when durable. */
  persist(record: SignedRecord): Promise<void>
  /** Timer: call `fn` after `ms`; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void
  onEvidence?(evidence: Equivocation): void
  onRoundStarted?(height: Height, round: Round, reason: string): void
  /** Reports failures of host callbacks (the engine keeps running). */
  onError?(err: unknown, where: string): void
}

/**
 * Drives QbftStateMachine with real I/O, enforcing the WAL ordering: outputs run strictly in
 * order through one queue, and nothing after a `persist` runs before `host.persist` resolved.
 * Inputs arriving meanwhile are fed to the state machine immediately (it is synchronous), but
 * their outputs queue behind the pending persist, so no signature leaves before it is durable.
 */
export class QbftEngine implements Engine {
  readonly kind = 'qbft'
  readonly #sm: QbftStateMachine
  readonly #host: QbftHost
  readonly #ctx: CodecContext
  readonly #validators: ValidatorSet
  #queue: QbftOutput[] = []
  #draining: Promise<void> | undefined
  #timers = new Set<() => void>()
  #stopped = true

  constructor(config: QbftConfig, host: QbftHost) {
    this.#sm = new QbftStateMachine(config)
    this.#host = host
    this.#validators = config.validators
    this.#ctx =
      config.recover === undefined
        ? { chainId: config.chainId, blocks: config.blocks }
        : { chainId: config.chainId, blocks: config.blocks, recover: config.recover }
  }

  get height(): Height {
    return this.#sm.height
  }
  get round(): Round {
    return this.#sm.round
  }

  start(headHeight: Height): void {
    this.#stopped = false
    this.#feed({ type: 'newHead', height: headHeight })
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const cancel of this.#timers) cancel()
    this.#timers.clear()
    this.#queue = []
    await this.#draining
  }

  onNewHead(height: Height): void {
    this.#feed({ type: 'newHead', height })
  }

  onConsensusMessage(bytes: Uint8Array): MessageVerdict {
    let msg: ReturnType<typeof decodeMessage>
    try {
      msg = decodeMessage(bytes, this.#ctx)
    } catch (e) {
      if (e instanceof QbftDecodeError) return 'reject'
      throw e
    }
    // Gossip semantics: a stranger's message is invalid at any height; a validator's message for
    // a height already decided is merely late (not relayed, no penalty).
    const height = messageHeight(msg)
    let validators: readonly Address[]
    try {
      validators = this.#validators.validators(height)
    } catch {
      // The host does not know that height's set (an epoch not elected yet, or long past): the
      // message cannot be judged, so it is neither relayed nor held against the peer.
      return 'ignore'
    }
    if (!isValidator(validators, messageAuthor(msg))) return 'reject'
    if (height < this.#sm.height) return 'ignore'
    const outs = this.#feed({ type: 'message', msg })
    return outs.some((o) => o.type === 'rejected' && o.msg === msg) ? 'reject' : 'accept'
  }

  #feed(input: QbftInput): QbftOutput[] {
    if (this.#stopped) return []
    const outs = this.#sm.handle(input)
    this.#queue.push(...outs)
    if (this.#draining === undefined)
      this.#draining = this.#drain().finally(() => (this.#draining = undefined))
    return outs
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stopped) {
      const o = this.#queue.shift() as QbftOutput
      try {
        await this.#run(o)
      } catch (e) {
        if (o.type === 'persist') {
          // Not durable: drop everything queued behind it rather than release an unlogged signature.
          this.#queue = []
          this.#host.onError?.(e, 'persist')
          return
        }
        this.#host.onError?.(e, o.type)
      }
    }
  }

  async #run(o: QbftOutput): Promise<void> {
    const host = this.#host
    switch (o.type) {
      case 'persist':
        await host.persist(o.record)
        return
      case 'broadcast':
        host.broadcast(o.bytes)
        return
      case 'scheduleTimeout': {
        const cancel = host.setTimer(o.ms, () => {
          this.#timers.delete(cancel)
          this.#feed({ type: 'timeout', height: o.height, round: o.round })
        })
        this.#timers.add(cancel)
        return
      }
      case 'requestBlock':
        // Not awaited inline: building takes a while and must not stall the output queue.
        host.buildBlock(o.height, o.round).then(
          (block) => this.#feed({ type: 'proposalReady', block }),
          (e) => host.onError?.(e, 'buildBlock'),
        )
        return
      case 'validateBlock':
        host.validateBlock(o.block).then(
          (valid) => this.#feed({ type: 'blockValidated', digest: o.block.digest, valid }),
          (e) => {
            host.onError?.(e, 'validateBlock')
            this.#feed({ type: 'blockValidated', digest: o.block.digest, valid: false })
          },
        )
        return
      case 'commit':
        await host.commitBlock(o.block, o.round, o.seals, o.signers)
        return
      case 'evidence':
        host.onEvidence?.(o.evidence)
        return
      case 'roundStarted':
        host.onRoundStarted?.(o.height, o.round, o.reason)
        return
      case 'rejected':
        return
    }
  }
}
