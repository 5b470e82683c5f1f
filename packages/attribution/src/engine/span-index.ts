/**
 * SpanIndex: a suffix array over the tokens of a datanet version's records, with its commitment,
 * the search for maximal matching spans of an output, and the occurrences of each span.
 * Long file: one data structure; build, serialisation, commitment and search share its arrays.
 */
import { abiEncodeWithArray, assertId, bytesEqual, keccak, tag, utf8Bytes } from './encoding.ts'
import { AttributionError } from './errors.ts'
import { buildSuffixArray } from './suffix-array.ts'
import { assertWellFormed, normalizeToken, scanRawTokens, TOKENIZER_ID, tokenize } from './tokenizer.ts'

/** One record of a datanet version: the text of a contribution. */
export interface CorpusRecord {
  datanetId: bigint
  contributionId: bigint
  text: string
}

/** A record as the index keeps it (texts are not stored; the commitment binds them). */
export interface IndexedRecord {
  datanetId: bigint
  contributionId: bigint
  /** Number of tokens of the record. */
  tokenCount: number
}

export interface Occurrence {
  /** Index into `SpanIndex.records` (canonical order). */
  record: number
  datanetId: bigint
  contributionId: bigint
  /** Token offset of the occurrence inside its record. */
  tokenOffset: number
}

/** Half-open range [lo, hi) of suffix-array rows. */
export interface SaRange {
  lo: number
  hi: number
}

export interface BuildOptions {
  /** Called with a phase name and its duration, for progress displays and benchmarks. */
  onPhase?: (phase: 'tokenize' | 'vocabulary' | 'suffix-array' | 'commitment', ms: number) => void
}

const MAGIC = utf8Bytes('OLSAIDX1')
const CORPUS_TAG = tag('ol-corpus-v1')
const TOKENIZER_TAG = tag(TOKENIZER_ID)
/** Positions are Int32: the text (tokens + one separator per record) must stay below 2^31. */
const MAX_TEXT = 0x7fff_ffff
/** Token id 0 ends every record, so no match (all ids >= 1) can cross a record boundary. */
const SEPARATOR = 0

function compareRecords(a: { datanetId: bigint; contributionId: bigint }, b: typeof a): number {
  if (a.datanetId !== b.datanetId) return a.datanetId < b.datanetId ? -1 : 1
  if (a.contributionId !== b.contributionId) return a.contributionId < b.contributionId ? -1 : 1
  return 0
}

/**
 * Corpus commitment `ol-corpus-v1`: keccak256(abi.encode(keccak256("ol-corpus-v1"),
 * keccak256("ol-tok-v1"), (uint256 datanetId, uint256 contributionId, bytes32 keccak256(utf8(text)))[]))
 * with records sorted by (datanetId, contributionId). Independent of the order records are given in.
 */
export function corpusCommitment(records: readonly CorpusRecord[]): Uint8Array {
  const sorted = validateRecords(records)
  return commitSorted(sorted)
}

function commitSorted(sorted: readonly CorpusRecord[]): Uint8Array {
  return corpusCommitmentOf(sorted)
}

/** `ol-corpus-v1` of records already in canonical order; `textHash`, when given, must be
 * keccak256 of the record's UTF-8 text (callers that know it skip hashing the corpus). */
export function corpusCommitmentOf(
  sorted: readonly (CorpusRecord & { textHash?: Uint8Array | undefined })[],
): Uint8Array {
  const rows = sorted.map((r) => [r.datanetId, r.contributionId, r.textHash ?? keccak(utf8Bytes(r.text))])
  return keccak(abiEncodeWithArray([CORPUS_TAG, TOKENIZER_TAG], rows))
}

/** Validates records and returns them in canonical order (ascending datanet id, contribution id). */
export function sortRecords(records: readonly CorpusRecord[]): CorpusRecord[] {
  return validateRecords(records)
}

function validateRecords(records: readonly CorpusRecord[]): CorpusRecord[] {
  if (!Array.isArray(records)) throw new AttributionError('INVALID_RECORD', 'records must be an array')
  const sorted = records.map((r, i) => {
    if (r === null || typeof r !== 'object')
      throw new AttributionError('INVALID_RECORD', `record ${i} is not an object`)
    assertId(r.datanetId, `record ${i} datanetId`)
    assertId(r.contributionId, `record ${i} contributionId`)
    assertWellFormed(r.text, `record ${i} text`)
    return r
  })
  sorted.sort(compareRecords)
  for (let i = 1; i < sorted.length; i++) {
    if (compareRecords(sorted[i - 1]!, sorted[i]!) === 0) {
      throw new AttributionError(
        'DUPLICATE_RECORD',
        `duplicate record for datanet ${sorted[i]!.datanetId} contribution ${sorted[i]!.contributionId}`,
      )
    }
  }
  return sorted
}

/**
 * Suffix-array index over the tokenized records of one or more datanet versions.
 *
 * Layout: `text` is the concatenation, in canonical record order (datanetId, contributionId), of each
 * record's token ids followed by one separator 0. Token ids are 1 + the rank of the token string in
 * the corpus vocabulary sorted by UTF-16 code units, so ids depend only on the corpus content.
 */
export class SpanIndex {
  readonly tokenizer: string = TOKENIZER_ID
  /** Records in canonical order. */
  readonly records: readonly IndexedRecord[]
  /** Number of corpus tokens (separators excluded): the N of the rarity score. */
  readonly tokenCount: number
  readonly corpusCommitment: Uint8Array

  private readonly text: Int32Array
  private readonly sa: Int32Array
  private readonly vocab: readonly string[]
  private readonly vocabIds: Map<string, number>
  /** recordStart[r] = text position of record r's first token; recordStart[R] = text.length. */
  private readonly recordStart: Int32Array
  /** bucket[id]..bucket[id+1] are the SA rows of suffixes starting with token id. */
  private readonly bucket: Int32Array
  // Scratch result of compareAt (avoids allocating a tuple per comparison).
  private lcpOut = 0

  private constructor(
    records: IndexedRecord[],
    commitment: Uint8Array,
    vocab: string[],
    text: Int32Array,
    sa: Int32Array,
  ) {
    this.records = records
    this.corpusCommitment = commitment
    this.vocab = vocab
    this.text = text
    this.sa = sa
    this.vocabIds = new Map(vocab.map((t, i) => [t, i + 1]))
    this.recordStart = new Int32Array(records.length + 1)
    let pos = 0
    for (let r = 0; r < records.length; r++) {
      this.recordStart[r] = pos
      pos += records[r]!.tokenCount + 1
    }
    this.recordStart[records.length] = pos
    this.tokenCount = pos - records.length
    this.bucket = new Int32Array(vocab.length + 2)
    for (let i = 0; i < text.length; i++) this.bucket[text[i]! + 1]!++
    for (let v = 1; v < this.bucket.length; v++) this.bucket[v]! += this.bucket[v - 1]!
  }

  /** Builds the index. Records may come in any order; the result (and its bytes) do not depend on it. */
  static build(records: readonly CorpusRecord[], options: BuildOptions = {}): SpanIndex {
    const phase = options.onPhase
    let t0 = performance.now()
    const lap = (name: 'tokenize' | 'vocabulary' | 'suffix-array' | 'commitment') => {
      const t1 = performance.now()
      phase?.(name, t1 - t0)
      t0 = t1
    }
    const sorted = validateRecords(records)

    // Tokenize into first-seen temporary ids (final ids need the whole vocabulary). Raw tokens are
    // memoised so each distinct spelling is normalised and looked up once.
    const tempIds = new Map<string, number>()
    const rawIds = new Map<string, number>()
    let buf = new Int32Array(1 << 16)
    let n = 0
    const push = (id: number) => {
      if (n >= buf.length) {
        if (buf.length >= MAX_TEXT)
          throw new AttributionError('CORPUS_TOO_LARGE', 'corpus exceeds 2^31 - 1 tokens')
        const next = new Int32Array(Math.min(MAX_TEXT, buf.length * 2))
        next.set(buf)
        buf = next
      }
      buf[n++] = id
    }
    const indexed: IndexedRecord[] = []
    for (const r of sorted) {
      const before = n
      scanRawTokens(r.text, (raw) => {
        let id = rawIds.get(raw)
        if (id === undefined) {
          const tok = normalizeToken(raw)
          id = tempIds.get(tok)
          if (id === undefined) {
            id = tempIds.size + 1
            tempIds.set(tok, id)
          }
          rawIds.set(raw, id)
        }
        push(id)
      })
      indexed.push({ datanetId: r.datanetId, contributionId: r.contributionId, tokenCount: n - before })
      push(SEPARATOR)
    }
    lap('tokenize')

    const vocab = [...tempIds.keys()].sort()
    const remap = new Int32Array(tempIds.size + 1)
    for (let i = 0; i < vocab.length; i++) remap[tempIds.get(vocab[i]!)!] = i + 1
    const text = new Int32Array(n)
    for (let i = 0; i < n; i++) text[i] = remap[buf[i]!]!
    lap('vocabulary')

    const sa = buildSuffixArray(text, vocab.length + 1)
    lap('suffix-array')
    const commitment = commitSorted(sorted)
    lap('commitment')
    return new SpanIndex(indexed, commitment, vocab, text, sa)
  }

  /** Bytes held in the index's typed arrays (text, suffix array, record starts, buckets). */
  get typedArrayBytes(): number {
    return this.text.byteLength + this.sa.byteLength + this.recordStart.byteLength + this.bucket.byteLength
  }

  /** Vocabulary size (distinct token strings). */
  get vocabularySize(): number {
    return this.vocab.length
  }

  /** Corpus ids of `tokens`; tokens absent from the corpus get -1 (they match nothing). */
  idsOf(tokens: readonly string[]): Int32Array {
    const ids = new Int32Array(tokens.length)
    for (let i = 0; i < tokens.length; i++) ids[i] = this.vocabIds.get(tokens[i]!) ?? -1
    return ids
  }

  private queryIds(query: string | readonly string[]): Int32Array {
    if (typeof query === 'string') return this.idsOf(tokenize(query).map((t) => t.text))
    if (!Array.isArray(query) || query.some((t) => typeof t !== 'string')) {
      throw new AttributionError('INVALID_PARAMS', 'query must be a string or an array of token strings')
    }
    return this.idsOf(query)
  }

  /** Number of occurrences of a span (text, tokenized with ol-tok-v1, or normalised token strings). */
  count(query: string | readonly string[]): number {
    const ids = this.queryIds(query)
    if (ids.length === 0) return 0
    const r = this.rangeOf(ids, 0, ids.length)
    return r.hi - r.lo
  }

  /** Occurrences of a span, sorted by (record, tokenOffset); at most `limit` of them. */
  locate(query: string | readonly string[], limit = Number.MAX_SAFE_INTEGER): Occurrence[] {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new AttributionError('INVALID_PARAMS', 'limit must be a non-negative integer')
    }
    const ids = this.queryIds(query)
    if (ids.length === 0) return []
    return this.occurrences(this.rangeOf(ids, 0, ids.length), limit)
  }

  /** Occurrences of the SA rows of `range`, sorted by (record, tokenOffset). */
  occurrences(range: SaRange, limit = Number.MAX_SAFE_INTEGER): Occurrence[] {
    const positions = Int32Array.from(this.sa.subarray(range.lo, range.hi)).sort()
    const out: Occurrence[] = []
    for (let i = 0; i < positions.length && out.length < limit; i++) {
      const pos = positions[i]!
      const r = this.recordOf(pos)
      const rec = this.records[r]!
      out.push({
        record: r,
        datanetId: rec.datanetId,
        contributionId: rec.contributionId,
        tokenOffset: pos - this.recordStart[r]!,
      })
    }
    return out
  }

  /** Occurrence counts per record for the SA rows of `range`, ascending record index. */
  recordCounts(range: SaRange): { record: number; count: number }[] {
    const recs = new Int32Array(range.hi - range.lo)
    for (let i = range.lo; i < range.hi; i++) recs[i - range.lo] = this.recordOf(this.sa[i]!)
    recs.sort()
    const out: { record: number; count: number }[] = []
    for (let i = 0; i < recs.length; ) {
      let j = i + 1
      while (j < recs.length && recs[j] === recs[i]) j++
      out.push({ record: recs[i]!, count: j - i })
      i = j
    }
    return out
  }

  private recordOf(pos: number): number {
    let lo = 0
    let hi = this.records.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.recordStart[mid]! <= pos) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** Compares suffix `pos` with p[s..s+m) from depth d; the common prefix length goes to lcpOut. */
  private compareAt(pos: number, p: Int32Array, s: number, m: number, d: number): number {
    const text = this.text
    const n = text.length
    for (; d < m; d++) {
      if (pos + d >= n) {
        this.lcpOut = d
        return -1
      }
      const t = text[pos + d]!
      const v = p[s + d]!
      if (t !== v) {
        this.lcpOut = d
        return t < v ? -1 : 1
      }
    }
    this.lcpOut = m
    return 0
  }

  /**
   * SA rows whose suffix starts with p[s..e): two binary searches, each comparison resuming at the
   * smaller of the prefixes already matched at both bounds (O(m + log N) typical, O(m log N) worst).
   */
  rangeOf(p: Int32Array, s: number, e: number): SaRange {
    const m = e - s
    const first = p[s]!
    if (m <= 0 || first < 1 || first > this.vocab.length) return { lo: 0, hi: 0 }
    const bLo = this.bucket[first]!
    const bHi = this.bucket[first + 1]!
    if (m === 1) return { lo: bLo, hi: bHi }
    const sa = this.sa
    // Lower bound: first row whose m-prefix >= p.
    let l = bLo - 1
    let r = bHi
    let lcpL = 1
    let lcpR = 1
    while (r - l > 1) {
      const mid = (l + r) >>> 1
      const c = this.compareAt(sa[mid]!, p, s, m, Math.min(lcpL, lcpR))
      if (c < 0) {
        l = mid
        lcpL = this.lcpOut
      } else {
        r = mid
        lcpR = this.lcpOut
      }
    }
    const lo = r
    // Upper bound: first row whose m-prefix > p.
    l = lo - 1
    r = bHi
    lcpL = 1
    lcpR = 1
    while (r - l > 1) {
      const mid = (l + r) >>> 1
      const c = this.compareAt(sa[mid]!, p, s, m, Math.min(lcpL, lcpR))
      if (c <= 0) {
        l = mid
        lcpL = this.lcpOut
      } else {
        r = mid
        lcpR = this.lcpOut
      }
    }
    return { lo, hi: r }
  }

  /** Narrows `range` (rows sharing their first `depth` tokens) to those whose next token is `id`. */
  extend(range: SaRange, depth: number, id: number): SaRange {
    if (id < 1) return { lo: 0, hi: 0 }
    const sa = this.sa
    const text = this.text
    // Rows in range are sorted by their token at `depth`; depth < record length so it is in bounds.
    let l = range.lo
    let r = range.hi
    while (l < r) {
      const mid = (l + r) >>> 1
      if (text[sa[mid]! + depth]! < id) l = mid + 1
      else r = mid
    }
    const lo = l
    r = range.hi
    while (l < r) {
      const mid = (l + r) >>> 1
      if (text[sa[mid]! + depth]! <= id) l = mid + 1
      else r = mid
    }
    return { lo, hi: l }
  }

  /**
   * Maximal matching spans of `ids` (spans occurring in the corpus that are not inside a longer
   * occurring span starting earlier), of at least `minLength` tokens, in order of start.
   *
   * A span starting at j is maximal iff it ends after every span starting before j. So with E the
   * furthest end so far, only "does ids[j..E] (one token past E) occur?" needs asking for j < E.
   */
  maximalSpans(ids: Int32Array, minLength: number): { start: number; length: number; range: SaRange }[] {
    if (!(ids instanceof Int32Array))
      throw new AttributionError('INVALID_PARAMS', 'ids must be an Int32Array')
    if (!Number.isSafeInteger(minLength) || minLength < 1) {
      throw new AttributionError('INVALID_PARAMS', 'minLength must be a positive integer')
    }
    const out: { start: number; length: number; range: SaRange }[] = []
    const len = ids.length
    let end = 0
    for (let j = 0; j < len; j++) {
      if (ids[j]! < 1) continue
      let range: SaRange
      let d: number
      if (j >= end) {
        range = { lo: this.bucket[ids[j]!]!, hi: this.bucket[ids[j]! + 1]! }
        d = 1
      } else {
        if (end >= len) break // nothing can end after the output's last token
        range = this.rangeOf(ids, j, end + 1)
        if (range.hi === range.lo) continue
        d = end + 1 - j
      }
      while (j + d < len) {
        const next = this.extend(range, d, ids[j + d]!)
        if (next.hi === next.lo) break
        range = next
        d++
      }
      end = j + d
      if (d >= minLength) out.push({ start: j, length: d, range })
    }
    return out
  }

  /**
   * Serialises the index (little-endian; layout in docs/attribution-engine.md). Two builds from the
   * same records give the same bytes.
   */
  toBytes(): Uint8Array {
    const vocabBytes = this.vocab.map((t) => utf8Bytes(t))
    const tokBytes = utf8Bytes(this.tokenizer)
    const n = this.text.length
    let size = MAGIC.length + 4 + tokBytes.length + 32 + 4 + this.records.length * 68 + 4
    for (const v of vocabBytes) size += 4 + v.length
    size += 4 + n * 8 + 32
    const out = new Uint8Array(size)
    const view = new DataView(out.buffer)
    let off = 0
    out.set(MAGIC, off)
    off += MAGIC.length
    view.setUint32(off, tokBytes.length, true)
    out.set(tokBytes, off + 4)
    off += 4 + tokBytes.length
    out.set(this.corpusCommitment, off)
    off += 32
    view.setUint32(off, this.records.length, true)
    off += 4
    for (const r of this.records) {
      writeU256(out, off, r.datanetId)
      writeU256(out, off + 32, r.contributionId)
      view.setUint32(off + 64, r.tokenCount, true)
      off += 68
    }
    view.setUint32(off, vocabBytes.length, true)
    off += 4
    for (const v of vocabBytes) {
      view.setUint32(off, v.length, true)
      out.set(v, off + 4)
      off += 4 + v.length
    }
    view.setUint32(off, n, true)
    off += 4
    writeInt32s(view, off, this.text)
    off += n * 4
    writeInt32s(view, off, this.sa)
    off += n * 4
    out.set(keccak(out.subarray(0, off)), off)
    return out
  }

  /** Reloads bytes from `toBytes`, checking the checksum and every structural invariant. */
  static fromBytes(bytes: Uint8Array): SpanIndex {
    const bad = (why: string): never => {
      throw new AttributionError('INVALID_INDEX_BYTES', `invalid index bytes: ${why}`)
    }
    if (!(bytes instanceof Uint8Array)) bad('not a Uint8Array')
    if (bytes.length < MAGIC.length + 32 || !bytesEqual(bytes.subarray(0, MAGIC.length), MAGIC))
      bad('bad magic')
    const body = bytes.subarray(0, bytes.length - 32)
    if (!bytesEqual(keccak(body), bytes.subarray(bytes.length - 32))) bad('checksum mismatch')
    const view = new DataView(bytes.buffer, bytes.byteOffset, body.length)
    let off = MAGIC.length
    const need = (k: number) => {
      if (off + k > body.length) bad('truncated')
    }
    const u32 = () => {
      need(4)
      const v = view.getUint32(off, true)
      off += 4
      return v
    }
    const decoder = new TextDecoder('utf-8', { fatal: true })
    const str = (k: number) => {
      need(k)
      const s = decoder.decode(body.subarray(off, off + k))
      off += k
      return s
    }
    const tokenizer = str(u32())
    if (tokenizer !== TOKENIZER_ID) bad(`tokenizer ${tokenizer} is not ${TOKENIZER_ID}`)
    need(32)
    const commitment = body.slice(off, off + 32)
    off += 32
    const nRecords = u32()
    need(nRecords * 68)
    const records: IndexedRecord[] = []
    for (let i = 0; i < nRecords; i++) {
      const rec = {
        datanetId: readU256(body, off),
        contributionId: readU256(body, off + 32),
        tokenCount: view.getUint32(off + 64, true),
      }
      if (i > 0 && compareRecords(records[i - 1]!, rec) >= 0) bad('records not in canonical order')
      records.push(rec)
      off += 68
    }
    const nVocab = u32()
    const vocab: string[] = []
    for (let i = 0; i < nVocab; i++) {
      const t = str(u32())
      if (t.length === 0 || (i > 0 && !(vocab[i - 1]! < t))) bad('vocabulary not sorted and unique')
      vocab.push(t)
    }
    const n = u32()
    need(n * 8)
    if (off + n * 8 !== body.length) bad('trailing bytes')
    const text = readInt32s(view, off, n)
    off += n * 4
    const sa = readInt32s(view, off, n)
    // Structure: separators exactly at record ends, ids in range, SA a permutation.
    let pos = 0
    for (const r of records) {
      for (let i = 0; i < r.tokenCount; i++, pos++) {
        if (pos >= n) bad('record lengths exceed the text')
        const v = text[pos]!
        if (v < 1 || v > nVocab) bad('token id out of range')
      }
      if (pos >= n || text[pos] !== SEPARATOR) bad('missing record separator')
      pos++
    }
    if (pos !== n) bad('text length does not match records')
    const seen = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      const p = sa[i]!
      if (p < 0 || p >= n || seen[p] === 1) bad('suffix array is not a permutation')
      seen[p] = 1
    }
    return new SpanIndex(records, commitment, vocab, text, sa)
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

function writeInt32s(view: DataView, off: number, a: Int32Array): void {
  if (LITTLE_ENDIAN) {
    new Uint8Array(view.buffer, view.byteOffset + off, a.length * 4).set(
      new Uint8Array(a.buffer, a.byteOffset, a.length * 4),
    )
    return
  }
  for (let i = 0; i < a.length; i++) view.setInt32(off + i * 4, a[i]!, true)
}

function readInt32s(view: DataView, off: number, n: number): Int32Array {
  const out = new Int32Array(n)
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(new Uint8Array(view.buffer, view.byteOffset + off, n * 4))
    return out
  }
  for (let i = 0; i < n; i++) out[i] = view.getInt32(off + i * 4, true)
  return out
}

function writeU256(out: Uint8Array, off: number, v: bigint): void {
  let x = v
  for (let i = 31; i >= 0 && x > 0n; i--) {
    out[off + i] = Number(x & 0xffn)
    x >>= 8n
  }
}

function readU256(b: Uint8Array, off: number): bigint {
  let x = 0n
  for (let i = 0; i < 32; i++) x = (x << 8n) | BigInt(b[off + i]!)
  return x
}
