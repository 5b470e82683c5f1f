import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AttributionError,
  buildSuffixArray,
  type CorpusRecord,
  corpusCommitment,
  SpanIndex,
} from '../src/engine/index.ts'

function naiveSuffixArray(text: Int32Array): number[] {
  const idx = Array.from(text, (_, i) => i)
  return idx.sort((a, b) => {
    for (let d = 0; ; d++) {
      if (a + d >= text.length) return b + d >= text.length ? 0 : -1
      if (b + d >= text.length) return 1
      if (text[a + d] !== text[b + d]) return text[a + d]! - text[b + d]!
    }
  })
}

function naiveCount(records: CorpusRecord[], phrase: string[]): number {
  let n = 0
  for (const r of records) {
    const toks = r.text.split(' ').filter((t) => t !== '')
    for (let i = 0; i + phrase.length <= toks.length; i++) {
      if (phrase.every((w, j) => toks[i + j] === w)) n++
    }
  }
  return n
}

const records: CorpusRecord[] = [
  { datanetId: 1n, contributionId: 10n, text: 'the quick brown fox jumps over the lazy dog' },
  { datanetId: 1n, contributionId: 11n, text: 'a quick brown fox is quick' },
  { datanetId: 2n, contributionId: 10n, text: 'the lazy dog sleeps. the quick brown cat' },
]

describe('buildSuffixArray', () => {
  it('matches a naive sort on random integer texts (small alphabet, many repeats)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 300 }), (arr) => {
        const text = Int32Array.from(arr)
        expect(Array.from(buildSuffixArray(text, 4))).toEqual(naiveSuffixArray(text))
      }),
      { numRuns: 200 },
    )
  })

  it('matches a naive sort on larger alphabets and periodic texts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 30 }),
        (alphabet, unit, reps) => {
          // A unit repeated `reps` times: long repeats force deep recursion in SA-IS.
          const text = Int32Array.from(
            { length: unit.length * reps },
            (_, i) => unit[i % unit.length]! % alphabet,
          )
          expect(Array.from(buildSuffixArray(text, alphabet))).toEqual(naiveSuffixArray(text))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('handles degenerate texts', () => {
    expect(Array.from(buildSuffixArray(new Int32Array(0), 1))).toEqual([])
    expect(Array.from(buildSuffixArray(new Int32Array(50).fill(2), 3))).toEqual(
      Array.from({ length: 50 }, (_, i) => 49 - i),
    )
  })
})

describe('SpanIndex', () => {
  const index = SpanIndex.build(records)

  it('counts spans and never across record boundaries', () => {
    expect(index.count('quick brown fox')).toBe(2)
    expect(index.count('the lazy dog')).toBe(2)
    expect(index.count('quick')).toBe(4)
    expect(index.count('The QUICK brown')).toBe(2)
    // "dog a" would only exist across the end of record 0 and the start of record 1.
    expect(index.count('lazy dog a quick')).toBe(0)
    expect(index.count('cat the')).toBe(0)
    expect(index.count('unknownword')).toBe(0)
    expect(index.count('')).toBe(0)
    expect(index.count(['quick', 'brown'])).toBe(3)
    expect(index.tokenCount).toBe(9 + 6 + 9)
  })

  it('locates occurrences in canonical record order with token offsets', () => {
    expect(index.locate('quick brown fox')).toEqual([
      { record: 0, datanetId: 1n, contributionId: 10n, tokenOffset: 1 },
      { record: 1, datanetId: 1n, contributionId: 11n, tokenOffset: 1 },
    ])
    expect(index.locate('quick', 2)).toHaveLength(2)
    expect(index.records.map((r) => [r.datanetId, r.contributionId])).toEqual([
      [1n, 10n],
      [1n, 11n],
      [2n, 10n],
    ])
  })

  it('agrees with a naive scan on random corpora and queries', () => {
    const word = fc.constantFrom('a', 'b', 'c', 'd')
    fc.assert(
      fc.property(
        fc.array(fc.array(word, { maxLength: 30 }), { minLength: 1, maxLength: 6 }),
        fc.array(word, { minLength: 1, maxLength: 4 }),
        (texts, phrase) => {
          const recs = texts.map((t, i) => ({ datanetId: 1n, contributionId: BigInt(i), text: t.join(' ') }))
          const idx = SpanIndex.build(recs)
          expect(idx.count(phrase)).toBe(naiveCount(recs, phrase))
          expect(idx.locate(phrase)).toHaveLength(naiveCount(recs, phrase))
        },
      ),
      { numRuns: 150 },
    )
  })

  it('serialises to bytes, reloads, and rebuilds byte-identically from records in any order', () => {
    const bytes = index.toBytes()
    const again = SpanIndex.build([...records].reverse()).toBytes()
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true)
    const loaded = SpanIndex.fromBytes(bytes)
    expect(Buffer.from(loaded.toBytes()).equals(Buffer.from(bytes))).toBe(true)
    expect(loaded.count('quick brown fox')).toBe(2)
    expect(loaded.corpusCommitment).toEqual(index.corpusCommitment)
    expect(loaded.records).toEqual(index.records)
  })

  it('rejects corrupted or truncated index bytes', () => {
    const bytes = index.toBytes()
    const flipped = bytes.slice()
    flipped[100]! ^= 1
    expect(() => SpanIndex.fromBytes(flipped)).toThrow(/checksum/)
    expect(() => SpanIndex.fromBytes(bytes.subarray(0, 20))).toThrow(AttributionError)
    expect(() => SpanIndex.fromBytes(new Uint8Array(64))).toThrow(/magic/)
  })

  it('commits to the corpus independently of record order, and to every text byte', () => {
    const c = corpusCommitment(records)
    expect(c).toEqual(index.corpusCommitment)
    expect(corpusCommitment([...records].reverse())).toEqual(c)
    const changed = records.map((r, i) => (i === 1 ? { ...r, text: `${r.text} ` } : r))
    expect(corpusCommitment(changed)).not.toEqual(c)
  })

  it('rejects bad records with clear errors', () => {
    expect(() => SpanIndex.build([records[0]!, { ...records[0]! }])).toThrow(/duplicate record/)
    expect(() =>
      SpanIndex.build([{ datanetId: 1, contributionId: 1n, text: 'x' } as unknown as CorpusRecord]),
    ).toThrow(/datanetId must be a bigint/)
    expect(() => SpanIndex.build([{ datanetId: 1n, contributionId: -1n, text: 'x' }])).toThrow(
      AttributionError,
    )
    expect(() => SpanIndex.build([{ datanetId: 1n, contributionId: 1n, text: 'bad\uDC00' }])).toThrow(
      /surrogate/,
    )
    expect(() => SpanIndex.build('nope' as unknown as CorpusRecord[])).toThrow(/array/)
  })

  it('indexes an empty corpus', () => {
    const empty = SpanIndex.build([])
    expect(empty.count('anything')).toBe(0)
    expect(SpanIndex.fromBytes(empty.toBytes()).tokenCount).toBe(0)
  })
})
