/**
 * Span attribution without an index: the same result as `attributeSpans(SpanIndex.build(records),
 * output, params)`, computed in two streaming passes over the corpus with a suffix automaton of the
 * OUTPUT (a few hundred tokens) instead of a suffix array of the corpus (millions). This is what the
 * chain re-runs when a receipt is challenged (modules/judge.ts): its work is linear in the corpus and
 * its memory is the corpus's token ids, with no sort.
 *
 * Pass 1 feeds every record through the automaton (reset at record boundaries, as the index's
 * separators do) and keeps, per automaton state, the longest of its strings seen in the corpus; a
 * propagation along suffix links then answers "does this output substring occur?". From that, the
 * longest occurring prefix ℓ(j) of the output at every start j (matching statistics, two pointers)
 * and the maximal spans by exactly the index's rule (`SpanIndex.maximalSpans`). Pass 2 counts each
 * span's occurrences and the records holding them. Scoring is the shared `spanResult`, so every
 * integer of the result is the index implementation's.
 */
import {
  type AttributionResult,
  type CheckedSpanInput,
  checkSpanInput,
  type SpanFact,
  type SpanParams,
  spanResult,
} from './attribute.ts'
import { AttributionError } from './errors.ts'
import { type CorpusRecord, corpusCommitmentOf, sortRecords } from './span-index.ts'
import { normalizeToken, scanRawTokens } from './tokenizer.ts'

/** Suffix automaton of the output's token ids (1-based; 0 never appears). */
class OutputAutomaton {
  readonly next: Map<number, number>[] = [new Map()]
  readonly link: number[] = [-1]
  readonly len: number[] = [0]

  constructor(ids: Int32Array) {
    let last = 0
    for (const c of ids) {
      const cur = this.add(this.len[last]! + 1, -1, new Map())
      let p = last
      while (p !== -1 && !this.next[p]!.has(c)) {
        this.next[p]!.set(c, cur)
        p = this.link[p]!
      }
      if (p === -1) this.link[cur] = 0
      else {
        const q = this.next[p]!.get(c)!
        if (this.len[p]! + 1 === this.len[q]) this.link[cur] = q
        else {
          const clone = this.add(this.len[p]! + 1, this.link[q]!, new Map(this.next[q]!))
          while (p !== -1 && this.next[p]!.get(c) === q) {
            this.next[p]!.set(c, clone)
            p = this.link[p]!
          }
          this.link[q] = clone
          this.link[cur] = clone
        }
      }
      last = cur
    }
  }

  private add(len: number, link: number, next: Map<number, number>): number {
    this.len.push(len)
    this.link.push(link)
    this.next.push(next)
    return this.len.length - 1
  }

  get size(): number {
    return this.len.length
  }

  /** States by decreasing length (children before their suffix-link parents). */
  byLengthDescending(): Int32Array {
    const n = this.size
    const maxLen = this.len.reduce((a, b) => (a > b ? a : b), 0)
    const buckets = new Int32Array(maxLen + 2)
    for (let v = 0; v < n; v++) buckets[this.len[v]! + 1]!++
    for (let i = 1; i < buckets.length; i++) buckets[i]! += buckets[i - 1]!
    const order = new Int32Array(n)
    for (let v = 0; v < n; v++) order[buckets[this.len[v]!]!++] = v
    return order.reverse()
  }
}

/** Matcher state over one record: the automaton state and length of the longest suffix of the
 * record read so far that is an output substring. */
interface Match {
  v: number
  len: number
}

function step(a: OutputAutomaton, m: Match, c: number): void {
  if (c === 0) {
    m.v = 0
    m.len = 0
    return
  }
  let v = m.v
  let len = m.len
  let u = a.next[v]!.get(c)
  while (u === undefined && v !== 0) {
    v = a.link[v]!
    len = a.len[v]!
    u = a.next[v]!.get(c)
  }
  if (u === undefined) {
    m.v = 0
    m.len = 0
  } else {
    m.v = u
    m.len = len + 1
  }
}

/**
 * Incremental form: give the records in canonical order (`add`), then `finish`. Callers that must
 * yield or meter work between records (the chain's judge) use this; others use
 * `attributeSpansStream`.
 */
export class SpanStream {
  private readonly input: CheckedSpanInput
  private readonly auto: OutputAutomaton
  /** Output-vocabulary id of each normalised token string (1-based). */
  private readonly vocab = new Map<string, number>()
  /** Raw spelling → output id, or 0 for tokens the output does not contain. */
  private readonly rawIds = new Map<string, number>()
  private readonly outIds: Int32Array
  private readonly best: Int32Array
  private readonly recordIds: Int32Array[] = []
  private readonly records: {
    datanetId: bigint
    contributionId: bigint
    textHash: Uint8Array | undefined
    text: string
  }[] = []
  private tokenCount = 0
  private finished = false

  constructor(
    private readonly output: string,
    params: SpanParams = {},
  ) {
    this.input = checkSpanInput(output, params)
    this.outIds = new Int32Array(this.input.tokens.length)
    this.input.tokens.forEach((t, i) => {
      let id = this.vocab.get(t.text)
      if (id === undefined) {
        id = this.vocab.size + 1
        this.vocab.set(t.text, id)
      }
      this.outIds[i] = id
    })
    this.auto = new OutputAutomaton(this.outIds)
    this.best = new Int32Array(this.auto.size)
  }

  /**
   * Adds the next record (records must come in canonical order: ascending datanet id, then
   * contribution id, each pair once). `textHash`: keccak256 of the record's UTF-8 text if the caller
   * knows it. Returns the record's token count.
   */
  add(record: CorpusRecord, textHash?: Uint8Array): number {
    if (this.finished) throw new AttributionError('INVALID_PARAMS', 'stream already finished')
    const prev = this.records[this.records.length - 1]
    if (
      prev !== undefined &&
      (record.datanetId < prev.datanetId ||
        (record.datanetId === prev.datanetId && record.contributionId <= prev.contributionId))
    ) {
      throw new AttributionError(
        'INVALID_RECORD',
        'records must come in ascending (datanetId, contributionId) order, once each',
      )
    }
    let ids = new Int32Array(256)
    let n = 0
    scanRawTokens(record.text, (raw) => {
      let id = this.rawIds.get(raw)
      if (id === undefined) {
        id = this.vocab.get(normalizeToken(raw)) ?? 0
        this.rawIds.set(raw, id)
      }
      if (n === ids.length) {
        const bigger = new Int32Array(ids.length * 2)
        bigger.set(ids)
        ids = bigger
      }
      ids[n++] = id
    })
    ids = ids.subarray(0, n)
    // Pass 1: the longest string of each automaton state seen in this record.
    const m: Match = { v: 0, len: 0 }
    for (let i = 0; i < n; i++) {
      step(this.auto, m, ids[i]!)
      if (m.len > this.best[m.v]!) this.best[m.v] = m.len
    }
    this.recordIds.push(ids)
    this.records.push({ ...record, textHash })
    this.tokenCount += n
    if (this.tokenCount > 0x7fff_ffff - this.records.length)
      throw new AttributionError('CORPUS_TOO_LARGE', 'corpus exceeds 2^31 - 1 tokens')
    return n
  }

  /** Occurrences counted in pass 2 so far (its work), for metering. */
  hits = 0

  /**
   * Finishes (once). `onRecordCounted(hits)` is called after pass 2 went through each record with
   * the occurrences found in it, so a caller can meter that work as it happens (and stop it by
   * throwing).
   */
  finish(onRecordCounted?: (hits: number) => void): AttributionResult {
    if (this.finished) throw new AttributionError('INVALID_PARAMS', 'stream already finished')
    this.finished = true
    const { auto, best } = this
    // A string of a state that occurred means all of its parent's strings (its suffixes) did.
    for (const v of auto.byLengthDescending()) {
      if (v === 0 || best[v] === 0) continue
      const p = auto.link[v]!
      best[p] = auto.len[p]!
    }
    const spans = this.maximalSpans()
    const facts = this.count(spans, onRecordCounted)
    const corpusCommitment = corpusCommitmentOf(this.records)
    return spanResult(
      this.output,
      this.input,
      { records: this.records, tokenCount: this.tokenCount, corpusCommitment },
      facts,
    )
  }

  /** ℓ(j) for every output start (two pointers), then the index's maximal-span rule. */
  private maximalSpans(): { start: number; length: number; state: number }[] {
    const { auto, best, outIds } = this
    const L = outIds.length
    const ell = new Int32Array(L)
    const stateAt = new Int32Array(L)
    let v = 0
    let m = 0
    for (let j = 0; j < L; j++) {
      if (m === 0) v = 0
      while (j + m < L) {
        const u = auto.next[v]!.get(outIds[j + m]!)!
        if (best[u]! < m + 1) break
        v = u
        m++
      }
      ell[j] = m
      stateAt[j] = v
      if (m > 0) {
        m--
        if (m <= auto.len[auto.link[v]!]!) v = auto.link[v]!
      }
    }
    // SpanIndex.maximalSpans: a start is taken iff its span ends after every earlier one.
    const out: { start: number; length: number; state: number }[] = []
    let end = 0
    for (let j = 0; j < L; j++) {
      const d = ell[j]!
      if (d === 0) continue // a token absent from the corpus
      if (j < end) {
        if (end >= L) break
        if (d < end + 1 - j) continue
      }
      end = j + d
      if (d >= this.input.k) out.push({ start: j, length: d, state: stateAt[j]! })
    }
    return out
  }

  /** Pass 2: occurrences of each span and the records holding them. */
  private count(
    spans: readonly { start: number; length: number; state: number }[],
    onRecordCounted?: (hits: number) => void,
  ): SpanFact[] {
    const { auto } = this
    interface Group {
      length: number
      count: number
      records: { record: number; count: number }[]
    }
    const groups = new Map<number, Group[]>()
    const groupOf = spans.map((s) => {
      let list = groups.get(s.state)
      if (list === undefined) {
        list = []
        groups.set(s.state, list)
      }
      let g = list.find((x) => x.length === s.length)
      if (g === undefined) {
        g = { length: s.length, count: 0, records: [] }
        list.push(g)
      }
      return g
    })
    // up[v]: the nearest state at or above v (suffix links) that carries a span.
    const up = new Int32Array(auto.size).fill(-1)
    const order = auto.byLengthDescending().reverse() // parents first
    for (const v of order) up[v] = groups.has(v) ? v : v === 0 ? -1 : up[auto.link[v]!]!
    if (spans.length > 0) {
      const m: Match = { v: 0, len: 0 }
      for (let r = 0; r < this.recordIds.length; r++) {
        const ids = this.recordIds[r]!
        const hitsBefore = this.hits
        m.v = 0
        m.len = 0
        for (let i = 0; i < ids.length; i++) {
          step(auto, m, ids[i]!)
          if (m.len === 0) continue
          // Every span that is a suffix of the current match ends here.
          for (let u = up[m.v]!; u >= 0; u = u === 0 ? -1 : up[auto.link[u]!]!) {
            for (const g of groups.get(u)!) {
              if (g.length > m.len) continue
              g.count++
              this.hits++
              const last = g.records[g.records.length - 1]
              if (last !== undefined && last.record === r) last.count++
              else g.records.push({ record: r, count: 1 })
            }
          }
        }
        onRecordCounted?.(this.hits - hitsBefore)
      }
    }
    return spans.map((s, i) => ({
      start: s.start,
      length: s.length,
      count: groupOf[i]!.count,
      records: groupOf[i]!.records,
    }))
  }
}

/** `attributeSpans` over records given in any order, without building an index. */
export function attributeSpansStream(
  records: readonly CorpusRecord[],
  output: string,
  params: SpanParams = {},
): AttributionResult {
  const stream = new SpanStream(output, params)
  for (const r of sortRecords(records)) stream.add(r)
  return stream.finish()
}
