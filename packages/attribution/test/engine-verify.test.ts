import { describe, expect, it } from 'vitest'
import {
  attributeCitations,
  attributeSpans,
  attributionCommitment,
  type ClaimedAttribution,
  type CorpusRecord,
  SpanIndex,
  toReceiptEntries,
  verifyAttribution,
  verifyCitationAttribution,
} from '../src/engine/index.ts'

const corpus: CorpusRecord[] = [
  {
    datanetId: 1n,
    contributionId: 1n,
    text: 'The sea was calm that morning, and the fishing boats left the harbour early.',
  },
  {
    datanetId: 1n,
    contributionId: 2n,
    text: 'Bread rises when yeast ferments the sugars in the dough overnight.',
  },
  {
    datanetId: 2n,
    contributionId: 5n,
    text: 'The fishing boats left the harbour early and came back full of herring.',
  },
]
const output =
  'Bread rises when yeast ferments the sugars, while the fishing boats left the harbour early and came back.'
const index = SpanIndex.build(corpus)
const result = attributeSpans(index, output)
const claim = (over: Partial<ClaimedAttribution> = {}): ClaimedAttribution => ({
  entries: result.entries,
  commitment: result.commitment,
  outputHash: result.outputHash,
  corpusCommitment: result.corpusCommitment,
  ...over,
})
const codes = (reasons: string[]) => reasons.map((r) => r.split(':')[0])

describe('verifyAttribution', () => {
  it('accepts an honest attribution, from records or from a built index', () => {
    expect(result.entries.length).toBeGreaterThan(1)
    const fromRecords = verifyAttribution({ output, corpus: [...corpus].reverse(), claimed: claim() })
    expect(fromRecords.reasons).toEqual([])
    expect(fromRecords.ok).toBe(true)
    expect(
      verifyAttribution({
        output,
        corpus: index,
        claimed: { entries: result.entries, commitment: result.commitment },
      }).ok,
    ).toBe(true)
  })

  it('catches changed weights (moved between entries, sum preserved)', () => {
    const tampered = result.entries.map((e, i) => ({
      ...e,
      weight: e.weight + (i === 0 ? 100n : i === 1 ? -100n : 0n),
    }))
    const v = verifyAttribution({ output, corpus, claimed: claim({ entries: tampered }) })
    expect(v.ok).toBe(false)
    expect(codes(v.reasons)).toEqual(['ENTRIES_MISMATCH', 'COMMITMENT_MISMATCH'])
    // Even with a commitment recomputed over the tampered entries, the entries do not recompute.
    const recommitted = attributionCommitment({ ...result, entries: tampered })
    const v2 = verifyAttribution({
      output,
      corpus,
      claimed: claim({ entries: tampered, commitment: recommitted }),
    })
    expect(codes(v2.reasons)).toEqual(['ENTRIES_MISMATCH', 'COMMITMENT_MISMATCH'])
    expect(v2.reasons[1]).toMatch(/commits to the claimed entries/)
  })

  it('catches weights that do not sum to the denominator', () => {
    const short = result.entries.map((e, i) => (i === 0 ? { ...e, weight: e.weight - 1n } : e))
    const v = verifyAttribution({ output, corpus, claimed: claim({ entries: short }) })
    expect(codes(v.reasons)).toContain('WEIGHT_SUM')
    expect(v.ok).toBe(false)
  })

  it('catches a changed output', () => {
    const changed = output.replace('herring', 'cod').replace('Bread', 'Bred')
    const v = verifyAttribution({ output: changed, corpus, claimed: claim() })
    expect(v.ok).toBe(false)
    expect(codes(v.reasons)).toContain('OUTPUT_HASH_MISMATCH')
    expect(codes(v.reasons)).toContain('COMMITMENT_MISMATCH')
    // Without the claimed hashes the commitment alone still catches it.
    const bare = verifyAttribution({
      output: `${output} `,
      corpus,
      claimed: { entries: result.entries, commitment: result.commitment },
    })
    expect(bare.ok).toBe(false)
    expect(codes(bare.reasons)).toEqual(['COMMITMENT_MISMATCH'])
  })

  it('catches another corpus (another datanet version)', () => {
    const other = corpus.map((r) =>
      r.contributionId === 5n ? { ...r, text: `${r.text} Gulls followed them.` } : r,
    )
    const v = verifyAttribution({ output, corpus: other, claimed: claim() })
    expect(v.ok).toBe(false)
    expect(codes(v.reasons)).toContain('CORPUS_MISMATCH')
    expect(codes(v.reasons)).toContain('COMMITMENT_MISMATCH')
    const fewer = verifyAttribution({ output, corpus: corpus.slice(0, 2), claimed: claim() })
    expect(codes(fewer.reasons)).toEqual(['CORPUS_MISMATCH', 'ENTRIES_MISMATCH', 'COMMITMENT_MISMATCH'])
  })

  it('catches different parameters (k, denominator)', () => {
    expect(verifyAttribution({ output, corpus, params: { k: 7 }, claimed: claim() }).reasons).toEqual([
      expect.stringMatching(/^COMMITMENT_MISMATCH/),
    ])
    const d = verifyAttribution({ output, corpus, params: { denominator: 1_000_000n }, claimed: claim() })
    expect(codes(d.reasons)).toEqual(['WEIGHT_SUM', 'ENTRIES_MISMATCH', 'COMMITMENT_MISMATCH'])
  })

  it('reports malformed claims and bad inputs instead of throwing', () => {
    expect(verifyAttribution({ output, corpus, claimed: null as never }).reasons).toEqual([
      'MALFORMED_CLAIM: claimed must be an object',
    ])
    const bad = verifyAttribution({
      output,
      corpus,
      claimed: {
        entries: [{ datanetId: 1, contributionId: 1n, weight: 1n }] as never,
        commitment: new Uint8Array(3),
      },
    })
    expect(codes(bad.reasons)).toEqual(['MALFORMED_CLAIM', 'MALFORMED_CLAIM'])
    const dup = verifyAttribution({ output, corpus: [corpus[0]!, corpus[0]!], claimed: claim() })
    expect(dup.reasons).toEqual([expect.stringMatching(/^RECOMPUTE_FAILED: DUPLICATE_RECORD/)])
  })
})

describe('verifyCitationAttribution', () => {
  const chunks = [
    { datanetId: 1n, contributionId: 1n, score: '0.82' },
    { datanetId: 2n, contributionId: 5n, score: '0.41' },
  ]
  const r = attributeCitations(output, chunks)

  it('accepts an honest claim and catches tampering', () => {
    expect(verifyCitationAttribution({ output, chunks, claimed: r }).ok).toBe(true)
    const swapped = r.entries.map((e) => ({ ...e, weight: 10_000n - e.weight }))
    expect(
      codes(verifyCitationAttribution({ output, chunks, claimed: { ...r, entries: swapped } }).reasons),
    ).toEqual(['ENTRIES_MISMATCH', 'COMMITMENT_MISMATCH'])
    const rescored = [chunks[0]!, { ...chunks[1]!, score: '0.42' }]
    expect(codes(verifyCitationAttribution({ output, chunks: rescored, claimed: r }).reasons)).toContain(
      'CORPUS_MISMATCH',
    )
    expect(codes(verifyCitationAttribution({ output: 'x', chunks, claimed: r }).reasons)).toContain(
      'OUTPUT_HASH_MISMATCH',
    )
  })
})

describe('toReceiptEntries', () => {
  it('maps a span result to IAttribution.Entry shape with exact sums at both levels', () => {
    const r = attributeSpans(index, output, { denominator: 1_000_000n })
    const versions = new Map([
      [1n, 3n],
      [2n, 1n],
    ])
    const entries = toReceiptEntries(r, versions)
    expect(entries.map((e) => [e.datanetId, e.datanetVersion])).toEqual([
      [1n, 3n],
      [2n, 1n],
    ])
    expect(entries.reduce((s, e) => s + e.weight, 0)).toBe(1_000_000)
    for (const e of entries) {
      expect(e.contributionIds.length).toBeGreaterThan(0)
      expect(e.contributionWeights.reduce((s, w) => s + w, 0)).toBe(1_000_000)
    }
    expect(entries[0]!.contributionIds).toEqual([2n])
    expect(() => toReceiptEntries(r, new Map([[1n, 3n]]))).toThrow(/version given for datanet 2/)
    expect(() =>
      toReceiptEntries(attributeSpans(index, output, { denominator: 1n << 40n }), versions),
    ).toThrow(/uint32/)
  })

  it('gives datanet-level entries for a fallback', () => {
    const r = attributeSpans(index, 'nothing in common', { denominator: 1_000_000n })
    expect(
      toReceiptEntries(
        r,
        new Map([
          [1n, 1n],
          [2n, 1n],
        ]),
      ),
    ).toEqual([
      { datanetId: 1n, datanetVersion: 1n, weight: 500_000, contributionIds: [], contributionWeights: [] },
      { datanetId: 2n, datanetVersion: 1n, weight: 500_000, contributionIds: [], contributionWeights: [] },
    ])
  })
})
