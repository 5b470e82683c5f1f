/**
 * The streaming span attribution (what the chain re-runs on a challenge) gives exactly the index's
 * result: same spans, counts, records, credits, entries and commitment, on random and degenerate
 * corpora.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type AttributionResult,
  attributeSpans,
  attributeSpansStream,
  type CorpusRecord,
  SpanIndex,
  SpanStream,
} from '../src/engine/index.ts'

function canon(r: AttributionResult): string {
  return JSON.stringify(r, (_k, v) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
  )
}

function same(records: CorpusRecord[], output: string, params: Parameters<typeof attributeSpans>[2]) {
  const expected = attributeSpans(SpanIndex.build(records), output, params)
  const actual = attributeSpansStream(records, output, params)
  expect(canon(actual)).toBe(canon(expected))
  return actual
}

// A small vocabulary so that random texts share many spans; punctuation and case vary tokens.
const WORDS = [
  'the',
  'a',
  'fox',
  'Fox',
  'grapes',
  'sour',
  'crow',
  'pitcher',
  'water',
  'é',
  'e\u0301',
  '.',
  ',',
  '!',
]
const text = (maxWords: number) =>
  fc.array(fc.constantFrom(...WORDS), { maxLength: maxWords }).map((ws) => ws.join(' '))

describe('streaming span attribution', () => {
  it('equals the index on random corpora, outputs, k and fallbacks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), text(40)), { minLength: 1, maxLength: 8 }),
        fc.oneof(text(60), fc.constant('')),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        (recs, output, k, shares) => {
          const records = recs.map(([d, t], i) => ({
            datanetId: BigInt(d),
            contributionId: BigInt(i + 1),
            text: t,
          }))
          same(records, output, {
            k,
            denominator: 1_000_000n,
            fallbackShares: shares ? [{ datanetId: 2n, shares: 7n }] : undefined,
          })
        },
      ),
      { numRuns: 400 },
    )
  })

  it('equals the index when the output copies records and repeats itself', () => {
    fc.assert(
      fc.property(
        fc.array(text(30), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (texts, picks) => {
          const records = texts.map((t, i) => ({
            datanetId: BigInt((i % 2) + 1),
            contributionId: BigInt(i + 1),
            text: t,
          }))
          const output = picks.map((p) => texts[p % texts.length]).join(' . ')
          same(records, output, { k: 3 })
        },
      ),
      { numRuns: 300 },
    )
  })

  it('handles degenerate repetition linearly (a run of one token in corpus and output)', () => {
    const run = (n: number) => Array.from({ length: n }, () => 'a').join(' ')
    const records = [
      { datanetId: 1n, contributionId: 1n, text: run(3000) },
      { datanetId: 1n, contributionId: 2n, text: `${run(10)} b ${run(10)}` },
      { datanetId: 2n, contributionId: 1n, text: 'b b b' },
    ]
    const r = same(records, `${run(200)} b ${run(50)}`, { k: 6 })
    expect(r.spans.length).toBeGreaterThan(0)
    same(records, run(7), { k: 6 })
  })

  it('takes records in canonical order only, each once, and refuses to add after finishing', () => {
    const s = new SpanStream('the fox', { k: 1 })
    s.add({ datanetId: 1n, contributionId: 2n, text: 'the fox' })
    expect(() => s.add({ datanetId: 1n, contributionId: 2n, text: 'again' })).toThrow(/ascending/)
    expect(() => s.add({ datanetId: 1n, contributionId: 1n, text: 'earlier' })).toThrow(/ascending/)
    s.add({ datanetId: 2n, contributionId: 1n, text: 'fox' })
    expect(s.finish().entries.length).toBeGreaterThan(0)
    expect(() => s.finish()).toThrow(/finished/)
  })
})
