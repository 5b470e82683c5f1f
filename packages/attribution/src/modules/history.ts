/**
 * Helpers for reading the modules' history out of chain data (transactions and logs), used by the
 * node's ol_* JSON-RPC methods: event topics, decoding of the modules' logs and of `settle`
 * calldata. Storage keeps only what settlement needs; the attribution entries of a receipt and the
 * per-party amounts live in the settling transaction's calldata and logs.
 */

import { fromHex, toHex } from '@openledger/module-kit'
import type { Abi } from 'viem'
import { decodeEventLog, decodeFunctionData, toEventSelector, toFunctionSelector } from 'viem/utils'
import { attributionAbi, datanetsAbi } from '../sol/abi.ts'
import type { Receipt } from './eip712.ts'

function eventTopic(abi: Abi, name: string): Uint8Array {
  const ev = abi.find((i) => i.type === 'event' && i.name === name)
  if (ev === undefined || ev.type !== 'event') throw new Error(`no event ${name}`)
  return fromHex(toEventSelector(ev))
}

/** topic0 of the events the RPC layer looks up with eth_getLogs-style queries. */
export const EVENT_TOPICS = {
  ContributionSubmitted: eventTopic(datanetsAbi, 'ContributionSubmitted'),
  ContributionContent: eventTopic(datanetsAbi, 'ContributionContent'),
  InferenceSettled: eventTopic(attributionAbi, 'InferenceSettled'),
  FeeSplit: eventTopic(attributionAbi, 'FeeSplit'),
  AttributionPaid: eventTopic(attributionAbi, 'AttributionPaid'),
  ContributionPaid: eventTopic(attributionAbi, 'ContributionPaid'),
  VersionPoolPaid: eventTopic(attributionAbi, 'VersionPoolPaid'),
} as const

const settleFn = attributionAbi.find((i) => i.type === 'function' && i.name === 'settle')
if (settleFn === undefined || settleFn.type !== 'function') throw new Error('settle missing from ABI')
/** 4-byte selector of IAttribution.settle. */
export const SETTLE_SELECTOR = fromHex(toFunctionSelector(settleFn))

interface ReceiptTuple {
  modelId: bigint
  modelVersion: number
  inputHash: `0x${string}`
  outputHash: `0x${string}`
  entries: readonly {
    datanetId: bigint
    datanetVersion: bigint
    weight: number
    contributionIds: readonly bigint[]
    contributionWeights: readonly number[]
  }[]
  nonce: bigint
  deadline: bigint
  payer: `0x${string}`
  fee: bigint
  attributionCommitment: `0x${string}`
}

/** Decodes `settle(receipt, signature)` calldata; undefined for anything else. */
export function decodeSettleCall(
  calldata: Uint8Array,
): { receipt: Receipt; signature: Uint8Array } | undefined {
  if (calldata.length < 4) return undefined
  for (let i = 0; i < 4; i++) if (calldata[i] !== SETTLE_SELECTOR[i]) return undefined
  try {
    const { args } = decodeFunctionData({
      abi: [settleFn as (typeof attributionAbi)[number]],
      data: toHex(calldata),
    })
    const [r, sig] = args as unknown as [ReceiptTuple, `0x${string}`]
    return {
      receipt: {
        modelId: r.modelId,
        modelVersion: r.modelVersion,
        inputHash: fromHex(r.inputHash),
        outputHash: fromHex(r.outputHash),
        entries: r.entries.map((e) => ({
          datanetId: e.datanetId,
          datanetVersion: e.datanetVersion,
          weight: e.weight,
          contributionIds: [...e.contributionIds],
          contributionWeights: [...e.contributionWeights],
        })),
        nonce: r.nonce,
        deadline: r.deadline,
        payer: fromHex(r.payer),
        fee: r.fee,
        attributionCommitment: fromHex(r.attributionCommitment),
      },
      signature: fromHex(sig),
    }
  } catch {
    return undefined
  }
}

export type AttributionEvent =
  | {
      eventName: 'FeeSplit'
      protocol: bigint
      stakers: bigint
      owner: bigint
      parentRoyalty: bigint
      contributors: bigint
      dust: bigint
    }
  | { eventName: 'AttributionPaid'; datanetId: bigint; datanetVersion: bigint; amount: bigint }
  | {
      eventName: 'VersionPoolPaid'
      datanetId: bigint
      version: bigint
      amount: bigint
      rewardIndexIncrease: bigint
    }
  | {
      eventName: 'ContributionPaid'
      datanetId: bigint
      contributionId: bigint
      contributor: `0x${string}`
      amount: bigint
    }
  | { eventName: 'InferenceSettled'; payer: `0x${string}`; fee: bigint }
  | { eventName: 'ProviderPaid'; provider: `0x${string}`; amount: bigint }

/** Decodes an Attribution module log (any event of IAttribution); undefined if it does not match. */
export function decodeAttributionLog(topics: Uint8Array[], data: Uint8Array): AttributionEvent | undefined {
  if (topics.length === 0) return undefined
  try {
    const d = decodeEventLog({
      abi: attributionAbi,
      topics: topics.map(toHex) as [`0x${string}`, ...`0x${string}`[]],
      data: toHex(data),
    })
    return { eventName: d.eventName, ...(d.args as object) } as AttributionEvent
  } catch {
    return undefined
  }
}
