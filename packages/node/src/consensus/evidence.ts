/**
 * Submits the equivocations this validator's QBFT engine observes to the Staking module
 * (`submitEvidence`), as an ordinary transaction signed with the validator key: it pays the gas
 * (its account needs some OPEN) and receives the reporter reward. Each piece of evidence is sent
 * once; a rejection (e.g. another validator reported it first) is only logged.
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
  /** Next nonce of `address`, counting its pooled transactions. */
  nonce: () => Promise<bigint>
  /** Base fee of the next block. */
  baseFee: () => Promise<bigint>
  send: (raw: Uint8Array) => Promise<Uint8Array>
  log: Logger
}

const TIP = 1_000_000_000n
const MAX_REPORTED = 1_024

export class EvidenceReporter {
  readonly #sent = new Set<string>()
  #queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly o: EvidenceReporterOptions) {}

  /** Queues one submission (in order, so nonces never race). */
  report(ev: Equivocation): void {
    const key = `${ev.kind}:${ev.height}:${ev.round}:${hex(ev.author)}`
    if (this.#sent.has(key)) return
    this.#sent.add(key)
    if (this.#sent.size > MAX_REPORTED) this.#sent.delete(this.#sent.values().next().value as string)
    this.#queue = this.#queue
      .then(() => this.#submit(ev))
      .catch((err) =>
        this.o.log.warn(
          { err: (err as Error).message, height: String(ev.height) },
          'evidence submission failed',
        ),
      )
  }

  /** Resolves when every queued submission was attempted. */
  idle(): Promise<unknown> {
    return this.#queue
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
