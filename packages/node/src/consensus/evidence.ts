/**
 * Submits the equivocations this validator's QBFT engine observes to the Staking module
 * (`submitEvidence`), as an ordinary transaction signed with the validator key: it pays the gas
 * (its account needs some OPEN) and receives the reporter reward. Each piece of evidence is sent
 * once; a rejection (e.g. another validator reported it first) is only logged.
 *
 * Evidence is held until the chain has committed its height: the module refuses evidence from the
 * executing block's own height or later (EvidenceFromFuture), and an equivocation is usually seen
 * while that very height is being decided, so a transaction sent at once would land in that block
 * and revert, and the evidence would be lost.
 */
import type { Common } from '@ethereumjs/common'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { type Equivocation, MessageCode } from '@openledger/consensus'
import { STAKING_ADDRESS, stakingAbi } from '@openledger/staking'
import { encodeFunctionData } from 'viem'
import type { Logger } from '../logger.ts'
import { hex } from '../util/bytes.ts'

export interface EvidenceReporterOptions {
  common: Common
  privateKey: Uint8Array
  address: Uint8Array
  /** Number of the committed head (evidence of a later height waits for onHead). */
  head: () => bigint
  /** Next nonce of `address`, counting its pooled transactions. */
  nonce: () => Promise<bigint>
  /** Base fee of the next block. */
  baseFee: () => Promise<bigint>
  send: (raw: Uint8Array) => Promise<Uint8Array>
  log: Logger
}

const TIP = 1_000_000_000n
const MAX_REPORTED = 1_024
/** Evidence waiting for its height; the engine only sees heights a few blocks ahead, so a few suffice. */
const MAX_WAITING = 64

export class EvidenceReporter {
  readonly #sent = new Set<string>()
  #waiting: Equivocation[] = []
  #queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly o: EvidenceReporterOptions) {}

  /** Queues one submission (in order, so nonces never race), once its height is committed. */
  report(ev: Equivocation): void {
    const key = `${ev.kind}:${ev.height}:${ev.round}:${hex(ev.author)}`
    if (this.#sent.has(key)) return
    this.#sent.add(key)
    if (this.#sent.size > MAX_REPORTED) this.#sent.delete(this.#sent.values().next().value as string)
    if (ev.height <= this.o.head()) {
      this.#enqueue(ev)
      return
    }
    this.#waiting.push(ev)
    const dropped = this.#waiting.length > MAX_WAITING ? this.#waiting.shift() : undefined
    if (dropped)
      this.o.log.warn(
        { height: String(dropped.height) },
        'evidence dropped: too many waiting for their height',
      )
  }

  /** The chain committed block `n`: evidence of heights up to `n` can now be included (in n + 1). */
  onHead(n: bigint): void {
    if (this.#waiting.length === 0) return
    const ready = this.#waiting.filter((ev) => ev.height <= n)
    if (ready.length === 0) return
    this.#waiting = this.#waiting.filter((ev) => ev.height > n)
    for (const ev of ready) this.#enqueue(ev)
  }

  /** Resolves when every queued submission was attempted (waiting evidence is not queued yet). */
  idle(): Promise<unknown> {
    return this.#queue
  }

  #enqueue(ev: Equivocation): void {
    this.#queue = this.#queue
      .then(() => this.#submit(ev))
      .catch((err) =>
        this.o.log.warn(
          { err: (err as Error).message, height: String(ev.height) },
          'evidence submission failed',
        ),
      )
  }

  async #submit(ev: Equivocation): Promise<void> {
    const first = ev.first.encoded
    const second = ev.second.encoded
    const data = encodeFunctionData({
      abi: stakingAbi,
      functionName: 'submitEvidence',
      args: [MessageCode[ev.kind], hex(first), hex(second)],
    })
    const bytes = first.length + second.length
    // Calldata, two recoveries and digests, the slash and its storage writes, with margin.
    const gasLimit = 600_000n + 64n * BigInt(bytes)
    const baseFee = await this.o.baseFee()
    const tx = createFeeMarket1559Tx(
      {
        nonce: await this.o.nonce(),
        to: STAKING_ADDRESS,
        data: Buffer.from(data.slice(2), 'hex'),
        gasLimit,
        maxFeePerGas: baseFee * 2n + TIP,
        maxPriorityFeePerGas: TIP,
        chainId: this.o.common.chainId(),
      },
      { common: this.o.common },
    ).sign(this.o.privateKey)
    const hash = await this.o.send(tx.serialize())
    this.o.log.warn(
      { tx: hex(hash), kind: ev.kind, height: String(ev.height), round: ev.round, author: hex(ev.author) },
      'equivocation evidence submitted to the Staking module',
    )
  }
}
