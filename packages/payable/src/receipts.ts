/**
 * What the provider signs and the verifier recomputes: span attribution over the model's corpus
 * with fixed parameters, its receipt entries, and the JSON form of receipts exchanged over HTTP.
 */
import {
  ATTRIBUTION_LIMITS,
  type AttributionResult,
  attributeSpans,
  type DatanetShare,
  type SpanIndex,
  toReceiptEntries,
  WEIGHT_DENOMINATOR,
} from '@openledger/attribution'
import type { InferenceReceipt, ReceiptEntry } from '@openledger/attribution/sdk'
import { type Address, getAddress, type Hex, bytesToHex as hex, isAddress, isHex } from 'viem'
import { PayableError } from './errors.ts'

/** Minimum span length used by providers and verifiers (the engine's default). */
export const DEFAULT_K = 6

/** Span attribution of an output with the settlement denominator and the version-share fallback. */
export function attributeOutput(
  index: SpanIndex,
  output: string,
  fallbackShares: readonly DatanetShare[],
  k = DEFAULT_K,
): AttributionResult {
  return attributeSpans(index, output, { k, denominator: BigInt(WEIGHT_DENOMINATOR), fallbackShares })
}

/**
 * Receipt entries of a result: `toReceiptEntries`, then the module's limits: an entry naming more
 * than 64 contributions, or any entry once the receipt would name more than 256, keeps its datanet
 * weight but names none (its part then goes to all shareholders of the datanet pro rata).
 * Verifiers apply the same rule, so it is part of what a receipt must match.
 */
export function receiptEntriesFor(
  result: AttributionResult,
  versions: ReadonlyMap<bigint, bigint>,
): ReceiptEntry[] {
  const entries = toReceiptEntries(result, versions, BigInt(WEIGHT_DENOMINATOR))
  if (entries.length > ATTRIBUTION_LIMITS.maxEntries) {
    throw new PayableError(
      `attribution names ${entries.length} datanets; a receipt holds at most ${ATTRIBUTION_LIMITS.maxEntries}`,
    )
  }
  let named = 0
  return entries.map((e) => {
    const n = e.contributionIds.length
    const keep =
      n <= ATTRIBUTION_LIMITS.maxContributionsPerEntry &&
      named + n <= ATTRIBUTION_LIMITS.maxContributionsPerReceipt
    if (keep) named += n
    return {
      datanetId: e.datanetId,
      datanetVersion: e.datanetVersion,
      weight: e.weight,
      contributionIds: keep ? e.contributionIds : [],
      contributionWeights: keep ? e.contributionWeights : [],
    }
  })
}

/** Receipt with every integer as a decimal string (JSON has no bigint). */
export interface ReceiptJson {
  modelId: string
  modelVersion: number
  inputHash: Hex
  outputHash: Hex
  entries: {
    datanetId: string
    datanetVersion: string
    weight: number
    contributionIds: string[]
    contributionWeights: number[]
  }[]
  nonce: string
  deadline: string
  payer: Address
  fee: string
  attributionCommitment: Hex
}

export function receiptToJson(r: InferenceReceipt): ReceiptJson {
  return {
    modelId: r.modelId.toString(),
    modelVersion: r.modelVersion,
    inputHash: r.inputHash,
    outputHash: r.outputHash,
    entries: r.entries.map((e) => ({
      datanetId: e.datanetId.toString(),
      datanetVersion: e.datanetVersion.toString(),
      weight: e.weight,
      contributionIds: e.contributionIds.map(String),
      contributionWeights: [...e.contributionWeights],
    })),
    nonce: r.nonce.toString(),
    deadline: r.deadline.toString(),
    payer: r.payer,
    fee: r.fee.toString(),
    attributionCommitment: r.attributionCommitment,
  }
}

function uint(v: unknown, what: string, bits: number): bigint {
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new PayableError(`receipt.${what}: expected an integer`)
  const s = String(v)
  if (!/^(0|[1-9]\d*)$/.test(s)) throw new PayableError(`receipt.${what}: expected a non-negative integer`)
  const n = BigInt(s)
  if (n >= 1n << BigInt(bits)) throw new PayableError(`receipt.${what}: does not fit uint${bits}`)
  return n
}

function bytes32(v: unknown, what: string): Hex {
  if (typeof v !== 'string' || !isHex(v) || v.length !== 66)
    throw new PayableError(`receipt.${what}: expected 32 bytes of hex`)
  return v.toLowerCase() as Hex
}

function array(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new PayableError(`receipt.${what}: expected an array`)
  return v
}

/** Parses a receipt from JSON, refusing anything malformed with the field's name. */
export function receiptFromJson(j: unknown): InferenceReceipt {
  if (j === null || typeof j !== 'object') throw new PayableError('receipt: expected an object')
  const o = j as Record<string, unknown>
  if (typeof o.payer !== 'string' || !isAddress(o.payer, { strict: false }))
    throw new PayableError('receipt.payer: expected an address')
  return {
    modelId: uint(o.modelId, 'modelId', 256),
    modelVersion: Number(uint(o.modelVersion, 'modelVersion', 32)),
    inputHash: bytes32(o.inputHash, 'inputHash'),
    outputHash: bytes32(o.outputHash, 'outputHash'),
    entries: array(o.entries, 'entries').map((raw, i) => {
      if (raw === null || typeof raw !== 'object')
        throw new PayableError(`receipt.entries[${i}]: expected an object`)
      const e = raw as Record<string, unknown>
      return {
        datanetId: uint(e.datanetId, `entries[${i}].datanetId`, 256),
        datanetVersion: uint(e.datanetVersion, `entries[${i}].datanetVersion`, 64),
        weight: Number(uint(e.weight, `entries[${i}].weight`, 32)),
        contributionIds: array(e.contributionIds, `entries[${i}].contributionIds`).map((c, j) =>
          uint(c, `entries[${i}].contributionIds[${j}]`, 64),
        ),
        contributionWeights: array(e.contributionWeights, `entries[${i}].contributionWeights`).map((c, j) =>
          Number(uint(c, `entries[${i}].contributionWeights[${j}]`, 32)),
        ),
      }
    }),
    nonce: uint(o.nonce, 'nonce', 256),
    deadline: uint(o.deadline, 'deadline', 64),
    payer: getAddress(o.payer),
    fee: uint(o.fee, 'fee', 256),
    attributionCommitment: bytes32(o.attributionCommitment, 'attributionCommitment'),
  }
}

/** Evidence returned with an answer: the spans and what each contribution earned from them. */
export interface EvidenceJson {
  method: string
  basis: string
  tokenizer: string
  k: number
  denominator: string
  corpusCommitment: Hex
  commitment: Hex
  spans: {
    text: string
    start: number
    end: number
    tokens: number
    occurrences: number
    contributions: { datanetId: string; contributionId: string; credit: string }[]
  }[]
  weights: { datanetId: string; contributionId: string | null; weight: string }[]
}

export function evidenceToJson(r: AttributionResult): EvidenceJson {
  return {
    method: r.method,
    basis: r.basis,
    tokenizer: r.tokenizer,
    k: r.k,
    denominator: r.denominator.toString(),
    corpusCommitment: hex(r.corpusCommitment),
    commitment: hex(r.commitment),
    spans: r.spans.map((s) => ({
      text: s.text,
      start: s.start,
      end: s.end,
      tokens: s.tokenLength,
      occurrences: s.occurrences,
      contributions: s.contributions.map((c) => ({
        datanetId: c.datanetId.toString(),
        contributionId: c.contributionId.toString(),
        credit: c.credit.toString(),
      })),
    })),
    weights: r.entries.map((e) => ({
      datanetId: e.datanetId.toString(),
      contributionId: e.contributionId === null ? null : e.contributionId.toString(),
      weight: e.weight.toString(),
    })),
  }
}

/** Spans (texts) that earned a contribution, from returned evidence. */
export function spansOf(
  evidence: EvidenceJson | undefined,
  datanetId: bigint,
  contributionId: bigint,
): string[] {
  if (evidence === undefined || !Array.isArray(evidence.spans)) return []
  return evidence.spans
    .filter((s) =>
      s.contributions?.some(
        (c) => c.datanetId === datanetId.toString() && c.contributionId === contributionId.toString(),
      ),
    )
    .map((s) => s.text)
}
