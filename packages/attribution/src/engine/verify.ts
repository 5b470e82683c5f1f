import {
  type AttributionEntry,
  type AttributionResult,
  attributeCitations,
  attributeSpans,
  attributionCommitment,
  type CitationChunk,
  type CitationParams,
  type SpanParams,
} from './attribute.ts'
import { bytesEqual, toHex } from './encoding.ts'
import { AttributionError } from './errors.ts'
import { type CorpusRecord, SpanIndex } from './span-index.ts'

/** What a receipt claims: its attribution entries and commitment (optionally the hashes it names). */
export interface ClaimedAttribution {
  entries: readonly AttributionEntry[]
  commitment: Uint8Array
  outputHash?: Uint8Array
  corpusCommitment?: Uint8Array
}

/**
 * Outcome of a verification. Each reason starts with a stable code:
 * MALFORMED_CLAIM, WEIGHT_SUM, OUTPUT_HASH_MISMATCH, CORPUS_MISMATCH, ENTRIES_MISMATCH,
 * COMMITMENT_MISMATCH, RECOMPUTE_FAILED.
 */
export interface VerificationResult {
  ok: boolean
  reasons: string[]
  /** The attribution recomputed from the inputs (absent if recomputation itself failed). */
  recomputed?: AttributionResult
}

export interface VerifySpanInput {
  output: string
  /** The corpus records (rebuilt from chain data), or an index already built from them. */
  corpus: readonly CorpusRecord[] | SpanIndex
  params?: SpanParams
  claimed: ClaimedAttribution
}

export interface VerifyCitationInput {
  output: string
  chunks: readonly CitationChunk[]
  params?: CitationParams
  claimed: ClaimedAttribution
}

function fmtEntry(e: AttributionEntry): string {
  return `datanet ${e.datanetId}${e.contributionId === null ? '' : ` contribution ${e.contributionId}`} weight ${e.weight}`
}

function checkClaim(claimed: unknown): string[] {
  if (claimed === null || typeof claimed !== 'object') return ['MALFORMED_CLAIM: claimed must be an object']
  const c = claimed as ClaimedAttribution
  const out: string[] = []
  if (!(c.commitment instanceof Uint8Array) || c.commitment.length !== 32) {
    out.push('MALFORMED_CLAIM: commitment must be 32 bytes')
  }
  if (!Array.isArray(c.entries)) out.push('MALFORMED_CLAIM: entries must be an array')
  else
    c.entries.forEach((e, i) => {
      if (
        e === null ||
        typeof e !== 'object' ||
        typeof e.datanetId !== 'bigint' ||
        (e.contributionId !== null && typeof e.contributionId !== 'bigint') ||
        typeof e.weight !== 'bigint'
      ) {
        out.push(
          `MALFORMED_CLAIM: entry ${i} must be {datanetId: bigint, contributionId: bigint | null, weight: bigint}`,
        )
      }
    })
  for (const f of ['outputHash', 'corpusCommitment'] as const) {
    const v = c[f]
    if (v !== undefined && (!(v instanceof Uint8Array) || v.length !== 32)) {
      out.push(`MALFORMED_CLAIM: ${f} must be 32 bytes`)
    }
  }
  return out
}

function compare(recomputed: AttributionResult, claimed: ClaimedAttribution): string[] {
  const reasons: string[] = []
  let sum = 0n
  for (const e of claimed.entries) sum += e.weight
  if (sum !== recomputed.denominator) {
    reasons.push(`WEIGHT_SUM: claimed weights sum to ${sum}, not the denominator ${recomputed.denominator}`)
  }
  if (claimed.outputHash !== undefined && !bytesEqual(claimed.outputHash, recomputed.outputHash)) {
    reasons.push(
      `OUTPUT_HASH_MISMATCH: claimed ${toHex(claimed.outputHash)}, output hashes to ${toHex(recomputed.outputHash)}`,
    )
  }
  if (
    claimed.corpusCommitment !== undefined &&
    !bytesEqual(claimed.corpusCommitment, recomputed.corpusCommitment)
  ) {
    reasons.push(
      `CORPUS_MISMATCH: claimed ${toHex(claimed.corpusCommitment)}, corpus commits to ${toHex(recomputed.corpusCommitment)}`,
    )
  }
  const a = claimed.entries
  const b = recomputed.entries
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]
    const y = b[i]
    if (
      x === undefined ||
      y === undefined ||
      x.datanetId !== y.datanetId ||
      x.contributionId !== y.contributionId ||
      x.weight !== y.weight
    ) {
      reasons.push(
        `ENTRIES_MISMATCH: at entry ${i} claimed ${x === undefined ? 'nothing' : fmtEntry(x)}, recomputed ${y === undefined ? 'nothing' : fmtEntry(y)}`,
      )
      break
    }
  }
  // Whether the claimed commitment binds the claimed entries to this output/corpus/params.
  let bindsClaim = false
  try {
    bindsClaim = bytesEqual(
      claimed.commitment,
      attributionCommitment({ ...recomputed, entries: claimed.entries }),
    )
  } catch {
    bindsClaim = false
  }
  if (!bytesEqual(claimed.commitment, recomputed.commitment)) {
    reasons.push(
      bindsClaim
        ? `COMMITMENT_MISMATCH: commitment ${toHex(claimed.commitment)} commits to the claimed entries, not to the recomputed ones ${toHex(recomputed.commitment)}`
        : `COMMITMENT_MISMATCH: claimed ${toHex(claimed.commitment)}, recomputed ${toHex(recomputed.commitment)} (different output, corpus, parameters or entries)`,
    )
  } else if (!bindsClaim) {
    reasons.push(
      'COMMITMENT_MISMATCH: the commitment is the recomputed one but does not commit to the claimed entries',
    )
  }
  return reasons
}

/** Recomputes span attribution from the output and corpus and checks a claim against it. */
export function verifyAttribution(input: VerifySpanInput): VerificationResult {
  const malformed = checkClaim(input?.claimed)
  if (malformed.length > 0) return { ok: false, reasons: malformed }
  let recomputed: AttributionResult
  try {
    const index = input.corpus instanceof SpanIndex ? input.corpus : SpanIndex.build(input.corpus)
    recomputed = attributeSpans(index, input.output, input.params ?? {})
  } catch (e) {
    if (e instanceof AttributionError)
      return { ok: false, reasons: [`RECOMPUTE_FAILED: ${e.code}: ${e.message}`] }
    throw e
  }
  const reasons = compare(recomputed, input.claimed)
  return { ok: reasons.length === 0, reasons, recomputed }
}

/** Recomputes citation attribution from the chunks and checks a claim against it. */
export function verifyCitationAttribution(input: VerifyCitationInput): VerificationResult {
  const malformed = checkClaim(input?.claimed)
  if (malformed.length > 0) return { ok: false, reasons: malformed }
  let recomputed: AttributionResult
  try {
    recomputed = attributeCitations(input.output, input.chunks, input.params ?? {})
  } catch (e) {
    if (e instanceof AttributionError)
      return { ok: false, reasons: [`RECOMPUTE_FAILED: ${e.code}: ${e.message}`] }
    throw e
  }
  const reasons = compare(recomputed, input.claimed)
  return { ok: reasons.length === 0, reasons, recomputed }
}
