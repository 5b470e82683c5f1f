/**
 * Attribution of a model output to the contributions it came from: by matched spans (span-index.ts)
 * or by citation scores, with the documented fallbacks, normalised to settlement weights, and the
 * commitment that binds a result to its inputs.
 * Long file: both methods share the result format, normalisation, fallbacks and commitment fields.
 */
import { abiEncodeWithArray, assertId, keccak, tag, UINT256_MAX, utf8Bytes } from './encoding.ts'
import { AttributionError } from './errors.ts'
import { largestRemainder, log2Fixed, parseScore } from './fixed.ts'
import { SpanIndex } from './span-index.ts'
import { assertWellFormed, TOKENIZER_ID, type Token, tokenize } from './tokenizer.ts'

/** Version of the attribution result and commitment format. */
export const ATTRIBUTION_VERSION = 'ol-attr-v1'
/** Default minimum span length in tokens (about four or five words of ol-tok-v1 tokens). */
export const DEFAULT_MIN_SPAN_TOKENS = 6
/** Default settlement denominator: weights are basis points. */
export const DEFAULT_DENOMINATOR = 10_000n
/** Longest output accepted (tokens); span search is O(L·ℓ·log N) so this bounds the work. */
export const MAX_OUTPUT_TOKENS = 65_536

export type AttributionMethod = 'span' | 'citation'
/** Where the weights came from: matched spans, citation scores, or one of the documented fallbacks. */
export type AttributionBasis = 'spans' | 'citations' | 'fallback-shares' | 'fallback-equal'

const METHOD_CODE: Record<AttributionMethod, bigint> = { span: 1n, citation: 2n }
const BASIS_CODE: Record<AttributionBasis, bigint> = {
  spans: 1n,
  citations: 2n,
  'fallback-shares': 3n,
  'fallback-equal': 4n,
}
const VERSION_TAG = tag('openledger.attribution.v1')
const TOKENIZER_TAG = tag(TOKENIZER_ID)
const ZERO32 = new Uint8Array(32)
const CITATIONS_TAG = tag('ol-citations-v1')

/**
 * One weight of the result. `contributionId === null` marks a datanet-level entry (fallbacks).
 * Entries are sorted by (datanetId, contributionId) and their weights sum exactly to the denominator.
 */
export interface AttributionEntry {
  datanetId: bigint
  contributionId: bigint | null
  weight: bigint
}

export interface DatanetShare {
  datanetId: bigint
  /** Total shares (or any non-negative integer stake) used by the fallback. */
  shares: bigint
}

export interface SpanParams {
  /** Minimum span length in tokens (default 6). */
  k?: number
  /** Weights sum exactly to this (default 10,000). */
  denominator?: bigint
  /** Fallback when nothing matches: datanet weights proportional to these; else equal per datanet. */
  fallbackShares?: readonly DatanetShare[]
}

export interface CitationParams {
  denominator?: bigint
  fallbackShares?: readonly DatanetShare[]
}

export interface ContributionCredit {
  datanetId: bigint
  contributionId: bigint
  /** Occurrences of the span inside this contribution. */
  occurrences: number
  /** Credit units (score / number of distinct contributions, floored). */
  credit: bigint
}

export interface SpanEvidence {
  /** First token (index into the output's ol-tok-v1 tokens) and number of tokens. */
  tokenStart: number
  tokenLength: number
  /** Offsets into the output string, UTF-16 code units, [start, end). */
  start: number
  end: number
  text: string
  /** Occurrences of the span in the corpus. */
  occurrences: number
  /** log2(1 + N/occurrences) in Q.32 fixed point. */
  rarity: bigint
  /** tokenLength × rarity. */
  score: bigint
  contributions: ContributionCredit[]
}

export interface CitationEvidence {
  /** Position of the chunk in the input list. */
  index: number
  datanetId: bigint
  contributionId: bigint
  /** The score scaled to the common number of decimals (`scoreDecimals`). */
  score: bigint
}

export interface AttributionResult {
  version: typeof ATTRIBUTION_VERSION
  method: AttributionMethod
  basis: AttributionBasis
  /** 'ol-tok-v1' for span attribution, '' for citations. */
  tokenizer: string
  /** Minimum span length (0 for citations). */
  k: number
  denominator: bigint
  /** keccak256(UTF-8 bytes of the output exactly as given). */
  outputHash: Uint8Array
  /** Corpus commitment (spans) or citation-set commitment (citations). */
  corpusCommitment: Uint8Array
  entries: AttributionEntry[]
  /** Per-datanet totals of `entries` (also summing exactly to the denominator). */
  datanets: { datanetId: bigint; weight: bigint }[]
  /** Raw (pre-normalisation) credit per contribution, sorted like entries. */
  credits: { datanetId: bigint; contributionId: bigint; credit: bigint }[]
  spans: SpanEvidence[]
  citations: CitationEvidence[]
  /** For citations: decimals of the common scale of the scores. */
  scoreDecimals: number
  commitment: Uint8Array
}

export interface CommitmentFields {
  method: AttributionMethod
  basis: AttributionBasis
  tokenizer: string
  k: number
  denominator: bigint
  outputHash: Uint8Array
  corpusCommitment: Uint8Array
  entries: readonly AttributionEntry[]
}

/**
 * keccak256(abi.encode(
 *   bytes32 keccak256("openledger.attribution.v1"), uint8 method (1 span, 2 citation),
 *   uint8 basis (1 spans, 2 citations, 3 fallback-shares, 4 fallback-equal),
 *   bytes32 tokenizer (keccak256("ol-tok-v1"), or zero for citations), uint32 k, uint256 denominator,
 *   bytes32 outputHash, bytes32 corpusCommitment,
 *   (uint256 datanetId, bool hasContribution, uint256 contributionId, uint256 weight)[] entries))
 * Entries in the order of the result (sorted); contributionId is 0 when hasContribution is false.
 */
export function attributionCommitment(f: CommitmentFields): Uint8Array {
  const tokenizerTag = f.tokenizer === '' ? ZERO32 : f.tokenizer === TOKENIZER_ID ? TOKENIZER_TAG : null
  if (tokenizerTag === null) throw new AttributionError('INVALID_PARAMS', `unknown tokenizer ${f.tokenizer}`)
  if (!Object.hasOwn(METHOD_CODE, f.method))
    throw new AttributionError('INVALID_PARAMS', `unknown method ${String(f.method)}`)
  if (!Object.hasOwn(BASIS_CODE, f.basis))
    throw new AttributionError('INVALID_PARAMS', `unknown basis ${String(f.basis)}`)
  if (!Number.isSafeInteger(f.k) || f.k < 0 || f.k > 0xffff_ffff) {
    throw new AttributionError('INVALID_PARAMS', 'k must be a uint32')
  }
  if (!Array.isArray(f.entries)) throw new AttributionError('INVALID_PARAMS', 'entries must be an array')
  const rows = f.entries.map((e) => [
    e.datanetId,
    e.contributionId !== null,
    e.contributionId ?? 0n,
    e.weight,
  ])
  return keccak(
    abiEncodeWithArray(
      [
        VERSION_TAG,
        METHOD_CODE[f.method],
        BASIS_CODE[f.basis],
        tokenizerTag,
        BigInt(f.k),
        f.denominator,
        f.outputHash,
        f.corpusCommitment,
      ],
      rows,
    ),
  )
}

function checkDenominator(d: unknown): bigint {
  if (d === undefined) return DEFAULT_DENOMINATOR
  if (typeof d !== 'bigint' || d < 1n || d > UINT256_MAX) {
    throw new AttributionError('INVALID_PARAMS', 'denominator must be a bigint in [1, 2^256)')
  }
  return d
}

function checkK(k: unknown): number {
  if (k === undefined) return DEFAULT_MIN_SPAN_TOKENS
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_OUTPUT_TOKENS) {
    throw new AttributionError('INVALID_PARAMS', `k must be an integer in [1, ${MAX_OUTPUT_TOKENS}]`)
  }
  return k
}

function checkShares(shares: unknown): DatanetShare[] {
  if (shares === undefined) return []
  if (!Array.isArray(shares)) throw new AttributionError('INVALID_PARAMS', 'fallbackShares must be an array')
  const seen = new Set<bigint>()
  return shares.map((s: DatanetShare, i) => {
    if (s === null || typeof s !== 'object')
      throw new AttributionError('INVALID_PARAMS', `fallbackShares[${i}] is not an object`)
    const id = assertId(s.datanetId, `fallbackShares[${i}].datanetId`, 'INVALID_PARAMS')
    if (typeof s.shares !== 'bigint' || s.shares < 0n) {
      throw new AttributionError(
        'INVALID_PARAMS',
        `fallbackShares[${i}].shares must be a non-negative bigint`,
      )
    }
    if (seen.has(id)) throw new AttributionError('INVALID_PARAMS', `fallbackShares lists datanet ${id} twice`)
    seen.add(id)
    return { datanetId: id, shares: s.shares }
  })
}

const cmpBig = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0)

/** Credits keyed by "datanetId:contributionId". */
type CreditMap = Map<string, { datanetId: bigint; contributionId: bigint; credit: bigint }>

function addCredit(m: CreditMap, datanetId: bigint, contributionId: bigint, credit: bigint): void {
  const key = `${datanetId}:${contributionId}`
  const cur = m.get(key)
  if (cur === undefined) m.set(key, { datanetId, contributionId, credit })
  else cur.credit += credit
}

function sortedCredits(m: CreditMap) {
  return [...m.values()].sort(
    (a, b) => cmpBig(a.datanetId, b.datanetId) || cmpBig(a.contributionId, b.contributionId),
  )
}

/**
 * Two-level largest remainder: datanets get their weights from their total credit, then each
 * datanet's weight is apportioned among its contributions. Both levels sum exactly, and datanet
 * weights are as accurate as a single rounding allows. Zero weights are dropped.
 */
function normalise(credits: ReturnType<typeof sortedCredits>, denominator: bigint): AttributionEntry[] {
  const byDatanet: { datanetId: bigint; items: typeof credits; total: bigint }[] = []
  for (const c of credits) {
    if (c.credit === 0n) continue
    const last = byDatanet[byDatanet.length - 1]
    if (last !== undefined && last.datanetId === c.datanetId) {
      last.items.push(c)
      last.total += c.credit
    } else byDatanet.push({ datanetId: c.datanetId, items: [c], total: c.credit })
  }
  const dw = largestRemainder(
    byDatanet.map((d) => d.total),
    denominator,
  )
  const entries: AttributionEntry[] = []
  byDatanet.forEach((d, i) => {
    if (dw[i] === 0n) return
    const cw = largestRemainder(
      d.items.map((c) => c.credit),
      dw[i]!,
    )
    d.items.forEach((c, j) => {
      if (cw[j]! > 0n)
        entries.push({ datanetId: c.datanetId, contributionId: c.contributionId, weight: cw[j]! })
    })
  })
  return entries
}

/** Documented fallback: proportional to positive share totals, else equal among `datanets`. */
function fallback(
  shares: DatanetShare[],
  datanets: readonly bigint[],
  denominator: bigint,
): { basis: AttributionBasis; entries: AttributionEntry[] } {
  const positive = shares.filter((s) => s.shares > 0n).sort((a, b) => cmpBig(a.datanetId, b.datanetId))
  if (positive.length > 0) {
    const w = largestRemainder(
      positive.map((s) => s.shares),
      denominator,
    )
    return {
      basis: 'fallback-shares',
      entries: positive
        .map((s, i) => ({ datanetId: s.datanetId, contributionId: null, weight: w[i]! }))
        .filter((e) => e.weight > 0n),
    }
  }
  const ids = [...new Set(datanets)].sort(cmpBig)
  if (ids.length === 0) {
    throw new AttributionError('NO_DATANETS', 'nothing matched and there is no datanet to fall back to')
  }
  const w = largestRemainder(
    ids.map(() => 1n),
    denominator,
  )
  return {
    basis: 'fallback-equal',
    entries: ids
      .map((id, i) => ({ datanetId: id, contributionId: null, weight: w[i]! }))
      .filter((e) => e.weight > 0n),
  }
}

function datanetTotals(entries: readonly AttributionEntry[]) {
  const out: { datanetId: bigint; weight: bigint }[] = []
  for (const e of entries) {
    const last = out[out.length - 1]
    if (last !== undefined && last.datanetId === e.datanetId) last.weight += e.weight
    else out.push({ datanetId: e.datanetId, weight: e.weight })
  }
  return out
}

/**
 * Span attribution of `output` against `index` (Infini-gram / OLMoTrace style). See
 * docs/attribution-engine.md for the exact rules; everything feeding weights is integer math.
 */
export function attributeSpans(index: SpanIndex, output: string, params: SpanParams = {}): AttributionResult {
  if (!(index instanceof SpanIndex)) throw new AttributionError('INVALID_PARAMS', 'index must be a SpanIndex')
  const p = checkSpanInput(output, params)
  const ids = index.idsOf(p.tokens.map((t) => t.text))
  const facts: SpanFact[] = index.maximalSpans(ids, p.k).map((s) => ({
    start: s.start,
    length: s.length,
    count: s.range.hi - s.range.lo,
    records: index.recordCounts(s.range),
  }))
  return spanResult(
    output,
    p,
    { records: index.records, tokenCount: index.tokenCount, corpusCommitment: index.corpusCommitment },
    facts,
  )
}

/** Validated span parameters and the output's tokens (shared by attributeSpans and its streaming
 * twin, engine/stream.ts). */
export interface CheckedSpanInput {
  k: number
  denominator: bigint
  shares: DatanetShare[]
  tokens: Token[]
}

export function checkSpanInput(output: string, params: SpanParams): CheckedSpanInput {
  assertWellFormed(output, 'output')
  if (params === null || typeof params !== 'object')
    throw new AttributionError('INVALID_PARAMS', 'params must be an object')
  const k = checkK(params.k)
  const denominator = checkDenominator(params.denominator)
  const shares = checkShares(params.fallbackShares)
  const tokens = tokenize(output)
  if (tokens.length > MAX_OUTPUT_TOKENS) {
    throw new AttributionError(
      'INVALID_PARAMS',
      `output has ${tokens.length} tokens (max ${MAX_OUTPUT_TOKENS})`,
    )
  }
  return { k, denominator, shares, tokens }
}

/** A maximal span of the output (token start and length), its occurrences in the corpus and its
 * occurrences per record (record index in canonical order, ascending). */
export interface SpanFact {
  start: number
  length: number
  count: number
  records: readonly { record: number; count: number }[]
}

/** What span scoring needs of the corpus: its records in canonical order, N, its commitment. */
export interface CorpusFacts {
  records: readonly { datanetId: bigint; contributionId: bigint }[]
  tokenCount: number
  corpusCommitment: Uint8Array
}

/**
 * Scores maximal spans into the attribution result (rarity, equal split per distinct record,
 * normalisation, fallback, commitment): the arithmetic every implementation of span attribution
 * must share, whatever found the spans.
 */
export function spanResult(
  output: string,
  p: CheckedSpanInput,
  corpus: CorpusFacts,
  facts: readonly SpanFact[],
): AttributionResult {
  const { tokens } = p
  const corpusN = BigInt(corpus.tokenCount)
  const credits: CreditMap = new Map()
  const spans: SpanEvidence[] = []
  for (const s of facts) {
    const count = s.count
    const rarity = log2Fixed(corpusN + BigInt(count), BigInt(count))
    const score = BigInt(s.length) * rarity
    const perRecord = s.records
    // Equal split per distinct contribution: repeating a phrase inside one record earns nothing extra.
    const share = score / BigInt(perRecord.length)
    const contributions = perRecord.map(({ record, count: occ }) => {
      const rec = corpus.records[record]!
      addCredit(credits, rec.datanetId, rec.contributionId, share)
      return { datanetId: rec.datanetId, contributionId: rec.contributionId, occurrences: occ, credit: share }
    })
    const first = tokens[s.start]!
    const last = tokens[s.start + s.length - 1]!
    spans.push({
      tokenStart: s.start,
      tokenLength: s.length,
      start: first.start,
      end: last.end,
      text: output.slice(first.start, last.end),
      occurrences: count,
      rarity,
      score,
      contributions,
    })
  }
  const sorted = sortedCredits(credits)
  let basis: AttributionBasis = 'spans'
  let entries: AttributionEntry[]
  if (sorted.some((c) => c.credit > 0n)) entries = normalise(sorted, p.denominator)
  else {
    const fb = fallback(
      p.shares,
      corpus.records.map((r) => r.datanetId),
      p.denominator,
    )
    basis = fb.basis
    entries = fb.entries
  }
  return finish({
    method: 'span',
    basis,
    tokenizer: TOKENIZER_ID,
    k: p.k,
    denominator: p.denominator,
    outputHash: keccak(utf8Bytes(output)),
    corpusCommitment: corpus.corpusCommitment,
    entries,
    credits: sorted,
    spans,
    citations: [],
    scoreDecimals: 0,
  })
}

function finish(
  r: CommitmentFields & Pick<AttributionResult, 'credits' | 'spans' | 'citations' | 'scoreDecimals'>,
): AttributionResult {
  const entries = [...r.entries]
  return {
    version: ATTRIBUTION_VERSION,
    method: r.method,
    basis: r.basis,
    tokenizer: r.tokenizer,
    k: r.k,
    denominator: r.denominator,
    outputHash: r.outputHash,
    corpusCommitment: r.corpusCommitment,
    entries,
    datanets: datanetTotals(entries),
    credits: r.credits,
    spans: r.spans,
    citations: r.citations,
    scoreDecimals: r.scoreDecimals,
    commitment: attributionCommitment({ ...r, entries }),
  }
}

/** A retrieved chunk used to answer: its source contribution and retrieval score. */
export interface CitationChunk {
  datanetId: bigint
  contributionId: bigint
  /** Non-negative bigint, safe integer, or plain decimal string ("0.8731"). */
  score: bigint | number | string
}

/**
 * Citation-set commitment `ol-citations-v1`: keccak256(abi.encode(keccak256("ol-citations-v1"),
 * uint8 scoreDecimals, (uint256 datanetId, uint256 contributionId, uint256 scaledScore)[])) with rows
 * sorted by (datanetId, contributionId, scaledScore), so the retrieval order does not matter.
 */
export function citationCommitment(chunks: readonly CitationChunk[]): {
  commitment: Uint8Array
  decimals: number
} {
  const { rows, decimals } = scaleChunks(chunks)
  const sorted = [...rows].sort(
    (a, b) =>
      cmpBig(a.datanetId, b.datanetId) ||
      cmpBig(a.contributionId, b.contributionId) ||
      cmpBig(a.score, b.score),
  )
  return {
    commitment: keccak(
      abiEncodeWithArray(
        [CITATIONS_TAG, BigInt(decimals)],
        sorted.map((r) => [r.datanetId, r.contributionId, r.score]),
      ),
    ),
    decimals,
  }
}

function scaleChunks(chunks: readonly CitationChunk[]): { rows: CitationEvidence[]; decimals: number } {
  if (!Array.isArray(chunks)) throw new AttributionError('INVALID_CHUNK', 'chunks must be an array')
  const parsed = chunks.map((c, i) => {
    if (c === null || typeof c !== 'object')
      throw new AttributionError('INVALID_CHUNK', `chunk ${i} is not an object`)
    assertId(c.datanetId, `chunk ${i} datanetId`, 'INVALID_CHUNK')
    assertId(c.contributionId, `chunk ${i} contributionId`, 'INVALID_CHUNK')
    return { c, s: parseScore(c.score, `chunk ${i}`) }
  })
  const decimals = parsed.reduce((m, p) => Math.max(m, p.s.decimals), 0)
  const rows = parsed.map(({ c, s }, index) => {
    const score = s.value * 10n ** BigInt(decimals - s.decimals)
    if (score > UINT256_MAX) throw new AttributionError('INVALID_SCORE', `chunk ${index}: score too large`)
    return { index, datanetId: c.datanetId, contributionId: c.contributionId, score }
  })
  return { rows, decimals }
}

/**
 * Citation attribution: each chunk credits its contribution with its score (scores brought to a
 * common decimal scale exactly), then the same normalisation, fallback and commitment as spans.
 */
export function attributeCitations(
  output: string,
  chunks: readonly CitationChunk[],
  params: CitationParams = {},
): AttributionResult {
  assertWellFormed(output, 'output')
  if (params === null || typeof params !== 'object')
    throw new AttributionError('INVALID_PARAMS', 'params must be an object')
  const denominator = checkDenominator(params.denominator)
  const shares = checkShares(params.fallbackShares)
  const { rows, decimals } = scaleChunks(chunks)
  const { commitment } = citationCommitment(chunks)
  const credits: CreditMap = new Map()
  for (const r of rows) addCredit(credits, r.datanetId, r.contributionId, r.score)
  const sorted = sortedCredits(credits)
  let basis: AttributionBasis = 'citations'
  let entries: AttributionEntry[]
  if (sorted.some((c) => c.credit > 0n)) entries = normalise(sorted, denominator)
  else {
    const fb = fallback(
      shares,
      rows.map((r) => r.datanetId),
      denominator,
    )
    basis = fb.basis
    entries = fb.entries
  }
  return finish({
    method: 'citation',
    basis,
    tokenizer: '',
    k: 0,
    denominator,
    outputHash: keccak(utf8Bytes(output)),
    corpusCommitment: commitment,
    entries,
    credits: sorted,
    spans: [],
    citations: rows,
    scoreDecimals: decimals,
  })
}
