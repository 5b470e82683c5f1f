/**
 * `openledger attribution verify`: recomputes a settled receipt's attribution from chain data and
 * the output text, and checks it against what the receipt committed to.
 *
 * Sources: the receipt record (getReceipt), the settle transaction's calldata (the signed receipt
 * with its entries; or a receipt JSON file when a contract settled it), the model version's
 * declared datanet versions, and their records rebuilt from chain (corpus.ts).
 * Reason codes: RECEIPT_MISMATCH (the signed receipt is not the settled one), OUTPUT_HASH_MISMATCH,
 * COMMITMENT_MISMATCH, ENTRIES_MISMATCH, RECOMPUTE_FAILED.
 */
import { AttributionError, type AttributionResult, SpanIndex } from '@openledger/attribution'
import {
  ATTRIBUTION,
  attributionAbi,
  getReceipt,
  hashInferenceReceipt,
  type InferenceReceipt,
  type ReceiptEntry,
} from '@openledger/attribution/sdk'
import { decodeFunctionData, getAbiItem, type Hex, keccak256, stringToBytes, toHex } from 'viem'
import type { ChainContext } from './chain.ts'
import { type Corpus, type ModelOnChain, readCorpus, readModel } from './corpus.ts'
import { describeChainError, PayableError } from './errors.ts'
import { attributeOutput, DEFAULT_K, receiptEntriesFor } from './receipts.ts'

export interface VerifyOptions {
  k?: number
  contentDir?: string
  /** The signed receipt, when the settle call is not the transaction's top-level call. */
  receipt?: InferenceReceipt
  /** Reuse a corpus (and its index) already rebuilt for this model version. */
  corpus?: { corpus: Corpus; index: SpanIndex }
  onPhase?: (phase: string, detail?: string) => void
}

export interface ReceiptVerification {
  ok: boolean
  reasons: string[]
  receiptId: Hex
  receipt: InferenceReceipt
  model: ModelOnChain
  settledAtBlock: bigint
  recomputed?: AttributionResult
  expectedEntries?: ReceiptEntry[]
}

const settledEvent = getAbiItem({ abi: attributionAbi, name: 'InferenceSettled' })

function fmtEntry(e: ReceiptEntry): string {
  const named = e.contributionIds.map((c, i) => `${c}:${e.contributionWeights[i]}`).join(',')
  return `datanet ${e.datanetId}@${e.datanetVersion} weight ${e.weight}${named ? ` [${named}]` : ''}`
}

function sameEntries(a: readonly ReceiptEntry[], b: readonly ReceiptEntry[]): string | undefined {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]
    const y = b[i]
    if (x === undefined || y === undefined || fmtEntry(x) !== fmtEntry(y)) {
      return `entry ${i}: receipt has ${x ? fmtEntry(x) : 'nothing'}, recomputed ${y ? fmtEntry(y) : 'nothing'}`
    }
  }
  return undefined
}

/** The signed receipt of a settlement, from the settle transaction's calldata. */
export async function settledReceipt(
  ctx: ChainContext,
  receiptId: Hex,
  block: bigint,
): Promise<InferenceReceipt> {
  const logs = await ctx.client.getLogs({
    address: ATTRIBUTION,
    event: settledEvent,
    args: { receiptId },
    fromBlock: block,
    toBlock: block,
  })
  const log = logs[0]
  if (log === undefined)
    throw new PayableError(`no InferenceSettled event for receipt ${receiptId} in block ${block}`)
  const tx = await ctx.client.getTransaction({ hash: log.transactionHash })
  try {
    const d = decodeFunctionData({ abi: attributionAbi, data: tx.input })
    if (d.functionName === 'settle') return d.args[0] as InferenceReceipt
  } catch {
    // not a direct settle call
  }
  throw new PayableError(
    `receipt ${receiptId} was settled by a contract (tx ${log.transactionHash}): pass the signed receipt with --receipt-file`,
  )
}

export async function verifyReceipt(
  ctx: ChainContext,
  receiptId: Hex,
  output: string,
  opts: VerifyOptions = {},
): Promise<ReceiptVerification> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(receiptId))
    throw new PayableError('--receipt: expected a 32-byte receipt id (0x + 64 hex digits)')
  const id = receiptId.toLowerCase() as Hex
  opts.onPhase?.('receipt', `reading receipt ${id}`)
  let info: Awaited<ReturnType<typeof getReceipt>>
  try {
    info = await getReceipt(ctx.client, { receiptId: id })
  } catch (err) {
    throw new PayableError(`receipt ${id}: ${describeChainError(err)}`)
  }
  const receipt = opts.receipt ?? (await settledReceipt(ctx, id, info.settledAtBlock))
  const model = await readModel(ctx, info.modelId, info.modelVersion)
  const reasons: string[] = []
  const signedId = hashInferenceReceipt(receipt, ctx.chainId)
  if (signedId !== id) reasons.push(`RECEIPT_MISMATCH: the signed receipt hashes to ${signedId}, not ${id}`)
  const outputHash = keccak256(stringToBytes(output))
  if (outputHash !== info.outputHash.toLowerCase()) {
    reasons.push(
      `OUTPUT_HASH_MISMATCH: the output hashes to ${outputHash}, the receipt names ${info.outputHash}`,
    )
  }
  let recomputed: AttributionResult | undefined
  let expectedEntries: ReceiptEntry[] | undefined
  try {
    let built = opts.corpus
    if (built === undefined) {
      opts.onPhase?.('corpus', `rebuilding the corpus of model ${model.id} v${model.version} from chain`)
      const corpus = await readCorpus(ctx, model.datanets, { contentDir: opts.contentDir })
      opts.onPhase?.('index', `indexing ${corpus.records.length} records`)
      built = { corpus, index: SpanIndex.build(corpus.records) }
    }
    recomputed = attributeOutput(built.index, output, built.corpus.fallbackShares, opts.k ?? DEFAULT_K)
    expectedEntries = receiptEntriesFor(recomputed, built.corpus.versions)
    if (toHex(recomputed.commitment) !== info.attributionCommitment.toLowerCase()) {
      reasons.push(
        `COMMITMENT_MISMATCH: recomputed attribution commitment ${toHex(recomputed.commitment)}, the receipt names ${info.attributionCommitment}`,
      )
    }
    const diff = sameEntries(receipt.entries, expectedEntries)
    if (diff !== undefined) reasons.push(`ENTRIES_MISMATCH: ${diff}`)
  } catch (err) {
    if (err instanceof AttributionError) reasons.push(`RECOMPUTE_FAILED: ${err.code}: ${err.message}`)
    else throw err
  }
  return {
    ok: reasons.length === 0,
    reasons,
    receiptId: id,
    receipt,
    model,
    settledAtBlock: info.settledAtBlock,
    recomputed,
    expectedEntries,
  }
}
