/**
 * The chain's re-run of a challenged receipt: span attribution of the revealed output over the
 * content of the model version's training datanet versions, with the provider's method exactly —
 * `ol-tok-v1`, k = `spanK`, denominator 10⁶, fallback shares = each version's total weight, then
 * `toReceiptEntries` and the module's receipt limits — computed by the engine's streaming form
 * (engine/stream.ts), which gives the index's result to the bit. The content comes from the
 * `ContributionContent` logs in the chain's history (module-history.ts); every record is inline
 * UTF-8 text because the challenge was only admitted for recomputable versions.
 *
 * Work is linear in the corpus and charged before it is done (gas.ts JUDGE_*): the records' storage
 * reads, then every byte of content, then each history block, then occurrences as pass 2 counts
 * them. It yields to the event loop between records so that a large re-run does not stall the node.
 */
import { type Exec, keccak, toBigInt } from '@openledger/module-kit'
import {
  type AttributionResult,
  applyReceiptLimits,
  decodeRecordText,
  largestRemainder,
  SpanStream,
  toReceiptEntries,
} from '../engine/index.ts'
import { ATTRIBUTION_LIMITS, t } from './attribution-common.ts'
import type { ReceiptEntry } from './eip712.ts'
import { GAS } from './gas.ts'
import { EVENT_TOPICS } from './history.ts'
import {
  arrayElementSlot,
  DATANETS_ADDRESS,
  MODEL_VERSION_FIELDS,
  MODELS_ADDRESS,
  modelVersionSlot,
} from './layout.ts'
import type { ModuleHistory } from './module-history.ts'
import { WEIGHT_DENOMINATOR } from './params.ts'
import { type ApprovalEntry, loadApprovalEntry, loadVersion } from './records.ts'
import { readU } from './rewards.ts'

/** A training datanet version of a model version, with what the re-run needs of it. */
export interface CorpusVersion {
  datanetId: bigint
  version: bigint
  count: bigint
  totalWeight: bigint
  contentBytes: bigint
  recomputable: boolean
}

/** The datanet versions a model version was trained on (its corpus), in declaration order. */
export async function modelCorpus(x: Exec, modelId: bigint, modelVersion: bigint): Promise<CorpusVersion[]> {
  const listSlot = modelVersionSlot(modelId, modelVersion, MODEL_VERSION_FIELDS.datanets)
  const len = await readU(x, MODELS_ADDRESS, listSlot)
  const out: CorpusVersion[] = []
  for (let i = 0n; i < len; i++) {
    const datanetId = await readU(x, MODELS_ADDRESS, arrayElementSlot(listSlot, i, 2n))
    const version = await readU(x, MODELS_ADDRESS, arrayElementSlot(listSlot, i * 2n + 1n))
    const v = await loadVersion(x, datanetId, version)
    if (v === undefined) throw new Error(`model ${modelId} v${modelVersion} names a missing datanet version`)
    out.push({
      datanetId,
      version,
      count: v.count,
      totalWeight: v.totalWeight,
      contentBytes: v.contentBytes,
      recomputable: v.recomputable,
    })
  }
  return out
}

/** Why a corpus cannot be re-run on chain (undefined: it can), checked when a challenge comes in. */
export function unrecomputable(
  corpus: readonly CorpusVersion[],
  maxBytes: bigint,
): { reason: 'version'; datanetId: bigint; version: bigint } | { reason: 'size'; bytes: bigint } | undefined {
  const seen = new Set<bigint>()
  let bytes = 0n
  for (const v of corpus) {
    // One version per datanet: a corpus record is a (datanet, contribution) pair.
    if (!v.recomputable || seen.has(v.datanetId))
      return { reason: 'version', datanetId: v.datanetId, version: v.version }
    seen.add(v.datanetId)
    bytes += v.contentBytes
  }
  if (bytes > maxBytes) return { reason: 'size', bytes }
  return undefined
}

/** Gas of a re-run of `corpus` without its output and occurrences, at most (every record's
 * content in a history block of its own): what a challenge is admitted against (GAS.JUDGE_BUDGET). */
export function resolutionGasBound(corpus: readonly CorpusVersion[]): bigint {
  let records = 0n
  let bytes = 0n
  for (const v of corpus) {
    records += v.count
    bytes += v.contentBytes
  }
  return GAS.JUDGE_BASE + records * (GAS.JUDGE_RECORD + GAS.JUDGE_HISTORY_BLOCK) + bytes * GAS.JUDGE_BYTE
}

export interface Recomputed {
  result: AttributionResult
  /** The receipt entries the provider should have signed. */
  entries: ReceiptEntry[]
}

const YIELD_EVERY_MS = 8

/** Re-runs the attribution of `output` over the corpus. Throws (a host error) if content the chain
 * committed to is missing from this node's history. */
export async function recompute(
  x: Exec,
  history: ModuleHistory | undefined,
  corpus: readonly CorpusVersion[],
  output: string,
  k: number,
  blockNumber: bigint,
): Promise<Recomputed> {
  if (history === undefined)
    throw new Error('the node gave the Attribution module no chain history to read content from')
  x.charge(GAS.JUDGE_BASE)
  // The records of every version: one storage read each (approval order), then their bytes.
  const records: (ApprovalEntry & { datanetId: bigint })[] = []
  for (const v of corpus) {
    for (let i = 0n; i < v.count; i++) {
      const e = await loadApprovalEntry(x, v.datanetId, i)
      if (e === undefined) throw new Error(`datanet ${v.datanetId} has no approval entry ${i}`)
      records.push({ ...e, datanetId: v.datanetId })
    }
  }
  let bytes = 0n
  for (const r of records) {
    // The history holds committed blocks only: content of this block is read from the next one
    // on, the same on every node (a revert, never a host error).
    if (r.submittedAtBlock >= blockNumber)
      t.fail('ContentNotYetInHistory', r.datanetId, r.contributionId, r.submittedAtBlock)
    bytes += r.size
  }
  x.charge(GAS.JUDGE_RECORD * BigInt(records.length) + GAS.JUDGE_BYTE * bytes)
  // Content, one history read per (datanet, block).
  const byBlock = new Map<string, (ApprovalEntry & { datanetId: bigint })[]>()
  for (const r of records) {
    const key = `${r.datanetId}:${r.submittedAtBlock}`
    const list = byBlock.get(key)
    if (list === undefined) byBlock.set(key, [r])
    else list.push(r)
  }
  x.charge(GAS.JUDGE_HISTORY_BLOCK * BigInt(byBlock.size))
  const content = new Map<string, Uint8Array>()
  for (const list of byBlock.values()) {
    const { datanetId, submittedAtBlock } = list[0]!
    const logs = await history.logs(DATANETS_ADDRESS, submittedAtBlock, [
      EVENT_TOPICS.ContributionContent,
      word(datanetId),
    ])
    for (const l of logs) {
      const cid = toBigInt(l.topics[2] ?? new Uint8Array())
      content.set(`${datanetId}:${cid}`, abiBytes(l.data))
    }
  }
  records.sort((a, b) =>
    a.datanetId !== b.datanetId
      ? a.datanetId < b.datanetId
        ? -1
        : 1
      : a.contributionId < b.contributionId
        ? -1
        : 1,
  )
  const stream = new SpanStream(output, {
    k,
    denominator: BigInt(WEIGHT_DENOMINATOR),
    fallbackShares: corpus.map((v) => ({ datanetId: v.datanetId, shares: v.totalWeight })),
  })
  let lastYield = performance.now()
  for (const r of records) {
    const bytesOf = content.get(`${r.datanetId}:${r.contributionId}`)
    if (bytesOf === undefined || BigInt(bytesOf.length) !== r.size) {
      throw new Error(
        `content of contribution ${r.contributionId} of datanet ${r.datanetId} is missing from this node's history`,
      )
    }
    const text = decodeRecordText(bytesOf)
    // keccak256 of the text's UTF-8 bytes: the content without a leading byte-order mark.
    const bom = bytesOf.length >= 3 && bytesOf[0] === 0xef && bytesOf[1] === 0xbb && bytesOf[2] === 0xbf
    stream.add(
      { datanetId: r.datanetId, contributionId: r.contributionId, text },
      keccak(bom ? bytesOf.subarray(3) : bytesOf),
    )
    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      lastYield = performance.now()
    }
  }
  const result = stream.finish((hits) => x.charge(GAS.JUDGE_HIT * BigInt(hits)))
  const versions = new Map(corpus.map((v) => [v.datanetId, v.version]))
  const entries = applyReceiptLimits(
    toReceiptEntries(result, versions, BigInt(WEIGHT_DENOMINATOR)),
    ATTRIBUTION_LIMITS,
  )
  return { result, entries }
}

/** The receipt entries a provider signs when nothing can be recomputed (no reveal): the engine's
 * fallback over the corpus, datanet weights proportional to each version's total weight. */
export function fallbackEntries(corpus: readonly CorpusVersion[]): ReceiptEntry[] {
  const sorted = [...corpus].sort((a, b) =>
    a.datanetId < b.datanetId ? -1 : a.datanetId > b.datanetId ? 1 : 0,
  )
  const floors = largestRemainder(
    sorted.map((v) => v.totalWeight),
    BigInt(WEIGHT_DENOMINATOR),
  )
  return sorted
    .map((v, i) => ({
      datanetId: v.datanetId,
      datanetVersion: v.version,
      weight: Number(floors[i]),
      contributionIds: [] as bigint[],
      contributionWeights: [] as number[],
    }))
    .filter((e) => e.weight > 0)
}

/** Whether two entry lists are the same receipt entries. */
export function sameEntries(a: readonly ReceiptEntry[], b: readonly ReceiptEntry[]): boolean {
  if (a.length !== b.length) return false
  return a.every((e, i) => {
    const f = b[i]!
    return (
      e.datanetId === f.datanetId &&
      e.datanetVersion === f.datanetVersion &&
      e.weight === f.weight &&
      e.contributionIds.length === f.contributionIds.length &&
      e.contributionIds.every((c, j) => c === f.contributionIds[j]) &&
      e.contributionWeights.every((w, j) => w === f.contributionWeights[j])
    )
  })
}

function word(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  let v = n
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

/** The `bytes` of an event's data that holds exactly one (offset, length, bytes). */
function abiBytes(data: Uint8Array): Uint8Array {
  const len = Number(toBigInt(data.subarray(32, 64)))
  return data.slice(64, 64 + len)
}
