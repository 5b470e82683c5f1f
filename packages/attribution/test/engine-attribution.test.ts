import fc from 'fast-check'
import { encodeAbiParameters, keccak256, toBytes } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  type AttributionResult,
  attributeCitations,
  attributeSpans,
  attributionCommitment,
  type CorpusRecord,
  DEFAULT_DENOMINATOR,
  largestRemainder,
  log2Fixed,
  parseScore,
  SpanIndex,
  tokenize,
} from '../src/engine/index.ts'

/** Canonical JSON of a result (bigints and bytes as strings) to compare results byte for byte. */
function canon(r: AttributionResult): string {
  return JSON.stringify(r, (_k, v) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
  )
}

const sum = (ws: readonly { weight: bigint }[]) => ws.reduce((s, e) => s + e.weight, 0n)

const A =
  'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.'
const B =
  'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.'
const C =
  'In a hole in the ground there lived a hobbit. Not a nasty, dirty, wet hole, filled with the ends of worms.'
const corpus: CorpusRecord[] = [
  { datanetId: 1n, contributionId: 1n, text: A },
  { datanetId: 1n, contributionId: 2n, text: B },
  { datanetId: 2n, contributionId: 1n, text: C },
]

describe('span attribution', () => {
  const index = SpanIndex.build(corpus)

  it('credits a verbatim span to the contribution that contains it, with evidence offsets', () => {
    const quote = 'it was the age of wisdom, it was the age of foolishness'
    const output = `Dickens wrote that ${quote} — a famous opening.`
    const r = attributeSpans(index, output)
    expect(r.basis).toBe('spans')
    expect(r.entries).toEqual([{ datanetId: 1n, contributionId: 2n, weight: 10_000n }])
    expect(r.datanets).toEqual([{ datanetId: 1n, weight: 10_000n }])
    expect(r.spans).toHaveLength(1)
    const s = r.spans[0]!
    expect(s.text).toBe(quote)
    expect(output.slice(s.start, s.end)).toBe(quote)
    expect(s.start).toBe(output.indexOf(quote))
    expect(s.tokenLength).toBe(tokenize(quote).length)
    expect(s.occurrences).toBe(1)
    expect(s.contributions).toEqual([{ datanetId: 1n, contributionId: 2n, occurrences: 1, credit: s.score }])
    expect(s.score).toBe(BigInt(s.tokenLength) * s.rarity)
  })

  it('credits spans from several contributions and datanets in proportion to their scores', () => {
    const output = 'Call me Ishmael. Some years ago I read: In a hole in the ground there lived a hobbit.'
    const r = attributeSpans(index, output)
    expect(r.entries.map((e) => [e.datanetId, e.contributionId])).toEqual([
      [1n, 1n],
      [2n, 1n],
    ])
    expect(sum(r.entries)).toBe(10_000n)
    // The hobbit span is longer, so it earns more.
    expect(r.entries[1]!.weight).toBeGreaterThan(r.entries[0]!.weight)
    expect(r.spans.map((s) => s.text)).toEqual([
      'Call me Ishmael. Some years ago',
      'In a hole in the ground there lived a hobbit.',
    ])
  })

  it('splits a span that occurs in two contributions equally', () => {
    const shared = 'the quick brown fox jumps over the lazy dog near the river bank'
    const idx = SpanIndex.build([
      ...corpus,
      { datanetId: 1n, contributionId: 7n, text: `Once upon a time ${shared}.` },
      { datanetId: 3n, contributionId: 9n, text: `Typing practice: ${shared}!` },
    ])
    const r = attributeSpans(idx, `He said ${shared} and left.`)
    expect(r.spans).toHaveLength(1)
    expect(r.spans[0]!.occurrences).toBe(2)
    expect(r.spans[0]!.contributions.map((c) => c.credit)).toEqual([
      r.spans[0]!.score / 2n,
      r.spans[0]!.score / 2n,
    ])
    expect(r.entries).toEqual([
      { datanetId: 1n, contributionId: 7n, weight: 5_000n },
      { datanetId: 3n, contributionId: 9n, weight: 5_000n },
    ])
    expect(r.datanets).toEqual([
      { datanetId: 1n, weight: 5_000n },
      { datanetId: 3n, weight: 5_000n },
    ])
  })

  it('gives rare spans more credit than common ones of the same length', () => {
    const rare = 'zebras graze quietly beneath ancient baobab trees'
    const common = 'please remember to drink enough water every day'
    const filler = Array.from({ length: 8 }, (_, i) => ({
      datanetId: 5n,
      contributionId: BigInt(100 + i),
      text: `note ${i}: ${common}; note ${i} ends`,
    }))
    const idx = SpanIndex.build([
      { datanetId: 4n, contributionId: 1n, text: `Field notes: ${rare}.` },
      ...filler,
    ])
    const r = attributeSpans(idx, `${rare}. Also, ${common}.`)
    const [sRare, sCommon] = r.spans
    expect(sRare!.tokenLength).toBe(sCommon!.tokenLength)
    expect(sRare!.occurrences).toBe(1)
    expect(sCommon!.occurrences).toBe(8)
    expect(sRare!.rarity).toBeGreaterThan(sCommon!.rarity)
    const dn = new Map(r.datanets.map((d) => [d.datanetId, d.weight]))
    expect(dn.get(4n)!).toBeGreaterThan(dn.get(5n)!)
    expect(sum(r.entries)).toBe(10_000n)
  })

  it('does not give extra credit for repeating a phrase inside one record', () => {
    const phrase = 'gold silver copper iron tin lead zinc'
    const idx = SpanIndex.build([
      { datanetId: 1n, contributionId: 1n, text: `${phrase}. ${phrase}. ${phrase}.` },
      { datanetId: 1n, contributionId: 2n, text: `${phrase}!` },
    ])
    const r = attributeSpans(idx, phrase)
    expect(r.spans[0]!.contributions.map((c) => c.occurrences)).toEqual([3, 1])
    expect(r.entries.map((e) => e.weight)).toEqual([5_000n, 5_000n])
  })

  it('reports only maximal spans of at least k tokens', () => {
    const r5 = attributeSpans(index, 'never mind how long precisely', { k: 5 })
    expect(r5.spans.map((s) => s.text)).toEqual(['never mind how long precisely'])
    const r6 = attributeSpans(index, 'never mind how long precisely', { k: 6 })
    expect(r6.spans).toEqual([])
    expect(r6.basis).toBe('fallback-equal')
  })

  it('falls back to datanet shares, then to equal datanet weights, when nothing matches', () => {
    const out = 'Nothing here appears in any contribution at all.'
    const byShares = attributeSpans(index, out, {
      fallbackShares: [
        { datanetId: 2n, shares: 300n },
        { datanetId: 1n, shares: 100n },
      ],
    })
    expect(byShares.basis).toBe('fallback-shares')
    expect(byShares.entries).toEqual([
      { datanetId: 1n, contributionId: null, weight: 2_500n },
      { datanetId: 2n, contributionId: null, weight: 7_500n },
    ])
    const equal = attributeSpans(
      SpanIndex.build([...corpus, { datanetId: 9n, contributionId: 1n, text: 'x' }]),
      out,
    )
    expect(equal.basis).toBe('fallback-equal')
    // 10,000 / 3: the leftover unit goes to the lowest datanet id.
    expect(equal.entries.map((e) => [e.datanetId, e.weight])).toEqual([
      [1n, 3_334n],
      [2n, 3_333n],
      [9n, 3_333n],
    ])
    expect(equal.spans).toEqual([])
    const zeroShares = attributeSpans(index, out, { fallbackShares: [{ datanetId: 1n, shares: 0n }] })
    expect(zeroShares.basis).toBe('fallback-equal')
    expect(() => attributeSpans(SpanIndex.build([]), out)).toThrow(/no datanet/)
  })

  it('always produces weights summing exactly to the denominator (property)', () => {
    const word = fc.constantFrom('a', 'b', 'c', 'd', 'e', '.', 'f')
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            datanetId: fc.bigInt({ min: 0n, max: 4n }),
            text: fc.array(word, { maxLength: 40 }).map((w) => w.join(' ')),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.array(word, { maxLength: 60 }).map((w) => w.join(' ')),
        fc.integer({ min: 1, max: 6 }),
        fc.bigInt({ min: 1n, max: 1_000_000_007n }),
        (recs, output, k, denominator) => {
          const records = recs.map((r, i) => ({ ...r, contributionId: BigInt(i) }))
          const r = attributeSpans(SpanIndex.build(records), output, { k, denominator })
          expect(sum(r.entries)).toBe(denominator)
          expect(sum(r.datanets)).toBe(denominator)
          for (const e of r.entries) expect(e.weight).toBeGreaterThan(0n)
          for (let i = 1; i < r.entries.length; i++) {
            const p = r.entries[i - 1]!
            const q = r.entries[i]!
            expect(
              p.datanetId < q.datanetId ||
                (p.datanetId === q.datanetId && p.contributionId! < q.contributionId!),
            ).toBe(true)
          }
          for (const s of r.spans) expect(s.tokenLength).toBeGreaterThanOrEqual(k)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('finds exactly the maximal spans of the naive definition (property)', () => {
    const word = fc.constantFrom('a', 'b', 'c')
    fc.assert(
      fc.property(
        fc.array(fc.array(word, { maxLength: 25 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'z'), { maxLength: 25 }),
        (texts, out) => {
          const idx = SpanIndex.build(
            texts.map((t, i) => ({ datanetId: 0n, contributionId: BigInt(i), text: t.join(' ') })),
          )
          const occurs = (i: number, j: number) => texts.some((t) => sub(t, out.slice(i, j)))
          const longest = out.map((_, i) => {
            let l = 0
            while (i + l < out.length && occurs(i, i + l + 1)) l++
            return l
          })
          const expected: [number, number][] = []
          let end = 0
          longest.forEach((l, i) => {
            if (l > 0 && i + l > end) {
              expected.push([i, l])
              end = i + l
            }
          })
          const got = idx.maximalSpans(idx.idsOf(out), 1).map((s) => [s.start, s.length])
          expect(got).toEqual(expected)
        },
      ),
      { numRuns: 200 },
    )
    function sub(t: string[], p: string[]): boolean {
      for (let i = 0; i + p.length <= t.length; i++) if (p.every((w, j) => t[i + j] === w)) return true
      return false
    }
  })

  it('is byte-identical across runs, rebuilds from shuffled records and serialise/reload', () => {
    const output = `${B} And then: ${C.slice(0, 60)} ${A.slice(10, 80)}`
    const r1 = attributeSpans(index, output)
    const r2 = attributeSpans(index, output)
    const rebuilt = SpanIndex.build([corpus[2]!, corpus[0]!, corpus[1]!])
    const reloaded = SpanIndex.fromBytes(index.toBytes())
    expect(canon(r2)).toBe(canon(r1))
    expect(canon(attributeSpans(rebuilt, output))).toBe(canon(r1))
    expect(canon(attributeSpans(reloaded, output))).toBe(canon(r1))
    // Pinned: any change to tokenizer, scoring, rounding or encoding shows up here.
    expect(r1.entries).toMatchInlineSnapshot(`
      [
        {
          "contributionId": 1n,
          "datanetId": 1n,
          "weight": 2456n,
        },
        {
          "contributionId": 2n,
          "datanetId": 1n,
          "weight": 4912n,
        },
        {
          "contributionId": 1n,
          "datanetId": 2n,
          "weight": 2632n,
        },
      ]
    `)
    expect(Buffer.from(r1.commitment).toString('hex')).toMatchInlineSnapshot(
      `"c049aacc13601cecef440c9f5fab21ad99095c26dd7ffbf3afd1b5734a28a6d2"`,
    )
  })

  it('refuses bad parameters and inputs with clear errors', () => {
    expect(() => attributeSpans(index, 'x', { k: 0 })).toThrow(/k must be an integer/)
    expect(() => attributeSpans(index, 'x', { k: 1.5 })).toThrow(/k must be an integer/)
    expect(() => attributeSpans(index, 'x', { denominator: 0n })).toThrow(/denominator/)
    expect(() => attributeSpans(index, 'x', { denominator: 100 as unknown as bigint })).toThrow(/denominator/)
    expect(() => attributeSpans(index, 'x', { fallbackShares: [{ datanetId: 1n, shares: -1n }] })).toThrow(
      /shares/,
    )
    expect(() =>
      attributeSpans(index, 'x', {
        fallbackShares: [
          { datanetId: 1n, shares: 1n },
          { datanetId: 1n, shares: 2n },
        ],
      }),
    ).toThrow(/twice/)
    expect(() => attributeSpans(index, null as unknown as string)).toThrow(/output must be a string/)
    expect(() => attributeSpans({} as SpanIndex, 'x')).toThrow(/index must be a SpanIndex/)
    expect(() => index.locate('quick', -1)).toThrow(/limit/)
    const fields = {
      method: 'span' as const,
      basis: 'spans' as const,
      tokenizer: 'ol-tok-v1',
      k: 6,
      denominator: 1n,
      outputHash: new Uint8Array(32),
      corpusCommitment: new Uint8Array(32),
      entries: [{ datanetId: 0n, contributionId: null, weight: 1n }],
    }
    expect(() => attributionCommitment({ ...fields, method: 'constructor' as never })).toThrow(
      /unknown method/,
    )
    expect(() => attributionCommitment({ ...fields, tokenizer: 'gpt2' })).toThrow(/unknown tokenizer/)
    expect(() => attributionCommitment({ ...fields, k: 2 ** 32 })).toThrow(/uint32/)
    expect(() => attributionCommitment({ ...fields, outputHash: new Uint8Array(31) })).toThrow(/32 bytes/)
    expect(() => attributeSpans(index, 'a\uDBFF')).toThrow(/surrogate/)
  })
})

describe('fixed-point helpers', () => {
  it('computes log2 in Q.32 with integer math only', () => {
    const ONE = 1n << 32n
    expect(log2Fixed(1n, 1n)).toBe(0n)
    expect(log2Fixed(2n, 1n)).toBe(ONE)
    expect(log2Fixed(8n, 1n)).toBe(3n * ONE)
    expect(log2Fixed(1000n, 125n)).toBe(3n * ONE)
    for (const [p, q] of [
      [3n, 1n],
      [1_000_001n, 7n],
      [5n, 4n],
      [123_456_789_012n, 1n],
    ] as const) {
      const v = log2Fixed(p, q)
      const exact = Math.log2(Number(p) / Number(q)) * 2 ** 32
      // A lower approximation within one unit in the last place (float reference error is ~1e-5).
      expect(Number(v)).toBeLessThanOrEqual(exact + 0.01)
      expect(exact - Number(v)).toBeLessThan(1.01)
    }
    expect(() => log2Fixed(1n, 2n)).toThrow()
  })

  it('apportions with largest remainders, ties to the earlier (lower id) item', () => {
    expect(largestRemainder([1n, 1n, 1n], 10_000n)).toEqual([3_334n, 3_333n, 3_333n])
    expect(largestRemainder([1n, 2n], 10n)).toEqual([3n, 7n])
    expect(largestRemainder([5n, 0n, 5n], 3n)).toEqual([2n, 0n, 1n])
    expect(() => largestRemainder([0n], 10n)).toThrow(/zero/)
  })

  it('parses scores exactly', () => {
    expect(parseScore('0.875', 's')).toEqual({ value: 875n, decimals: 3 })
    expect(parseScore('12', 's')).toEqual({ value: 12n, decimals: 0 })
    expect(parseScore(7, 's')).toEqual({ value: 7n, decimals: 0 })
    expect(parseScore(9n, 's')).toEqual({ value: 9n, decimals: 0 })
    for (const bad of ['-1', '1e3', ' 1', '.5', '01', '1.', 0.5, -2, Number.NaN, null, {}]) {
      expect(() => parseScore(bad, 's')).toThrow(/s:/)
    }
  })
})

describe('commitment encoding', () => {
  it('is keccak256(abi.encode(...)) exactly as documented (cross-checked with viem)', () => {
    const entries = [
      { datanetId: 1n, contributionId: 2n, weight: 6_000n },
      { datanetId: 3n, contributionId: null, weight: 4_000n },
    ]
    const outputHash = toBytes(keccak256(toBytes('hello')))
    const corpusCommitment = new Uint8Array(32).fill(7)
    const ours = attributionCommitment({
      method: 'span',
      basis: 'spans',
      tokenizer: 'ol-tok-v1',
      k: 6,
      denominator: DEFAULT_DENOMINATOR,
      outputHash,
      corpusCommitment,
      entries,
    })
    const encoded = encodeAbiParameters(
      [
        { type: 'bytes32' },
        { type: 'uint8' },
        { type: 'uint8' },
        { type: 'bytes32' },
        { type: 'uint32' },
        { type: 'uint256' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        {
          type: 'tuple[]',
          components: [
            { name: 'datanetId', type: 'uint256' },
            { name: 'hasContribution', type: 'bool' },
            { name: 'contributionId', type: 'uint256' },
            { name: 'weight', type: 'uint256' },
          ],
        },
      ],
      [
        keccak256(toBytes('openledger.attribution.v1')),
        1,
        1,
        keccak256(toBytes('ol-tok-v1')),
        6,
        10_000n,
        keccak256(toBytes('hello')),
        `0x${'07'.repeat(32)}`,
        entries.map((e) => ({
          datanetId: e.datanetId,
          hasContribution: e.contributionId !== null,
          contributionId: e.contributionId ?? 0n,
          weight: e.weight,
        })),
      ],
    )
    expect(Buffer.from(ours).toString('hex')).toBe(keccak256(encoded).slice(2))
  })
})

describe('citation attribution', () => {
  it('normalises decimal and integer scores exactly', () => {
    const r = attributeCitations('answer', [
      { datanetId: 2n, contributionId: 5n, score: '0.5' },
      { datanetId: 1n, contributionId: 9n, score: '0.25' },
      { datanetId: 1n, contributionId: 3n, score: '0.125' },
      { datanetId: 1n, contributionId: 3n, score: '0.125' },
    ])
    expect(r.method).toBe('citation')
    expect(r.basis).toBe('citations')
    expect(r.scoreDecimals).toBe(3)
    expect(r.entries).toEqual([
      { datanetId: 1n, contributionId: 3n, weight: 2_500n },
      { datanetId: 1n, contributionId: 9n, weight: 2_500n },
      { datanetId: 2n, contributionId: 5n, weight: 5_000n },
    ])
    expect(r.citations.map((c) => c.score)).toEqual([500n, 250n, 125n, 125n])
    const ints = attributeCitations(
      'answer',
      [
        { datanetId: 1n, contributionId: 1n, score: 2 },
        { datanetId: 1n, contributionId: 2n, score: 1n },
      ],
      { denominator: 3n },
    )
    expect(ints.entries.map((e) => e.weight)).toEqual([2n, 1n])
  })

  it('commits independently of retrieval order, but to every score', () => {
    const chunks = [
      { datanetId: 1n, contributionId: 1n, score: '0.9' },
      { datanetId: 2n, contributionId: 4n, score: '0.3' },
    ]
    const a = attributeCitations('out', chunks)
    const b = attributeCitations('out', [...chunks].reverse())
    expect(b.commitment).toEqual(a.commitment)
    expect(b.entries).toEqual(a.entries)
    const c = attributeCitations('out', [chunks[0]!, { ...chunks[1]!, score: '0.31' }])
    expect(c.commitment).not.toEqual(a.commitment)
    expect(attributeCitations('other', chunks).commitment).not.toEqual(a.commitment)
  })

  it('falls back when no chunk has a positive score, and rejects bad chunks', () => {
    const r = attributeCitations('out', [
      { datanetId: 4n, contributionId: 1n, score: '0' },
      { datanetId: 2n, contributionId: 1n, score: 0 },
    ])
    expect(r.basis).toBe('fallback-equal')
    expect(r.entries).toEqual([
      { datanetId: 2n, contributionId: null, weight: 5_000n },
      { datanetId: 4n, contributionId: null, weight: 5_000n },
    ])
    const s = attributeCitations('out', [], { fallbackShares: [{ datanetId: 8n, shares: 5n }] })
    expect(s.entries).toEqual([{ datanetId: 8n, contributionId: null, weight: 10_000n }])
    expect(() => attributeCitations('out', [])).toThrow(/no datanet/)
    expect(() => attributeCitations('out', [{ datanetId: 1n, contributionId: 1n, score: '1e-3' }])).toThrow(
      /not a plain decimal/,
    )
    expect(() =>
      attributeCitations('out', [{ datanetId: 1, contributionId: 1n, score: 1 } as never]),
    ).toThrow(/datanetId/)
    expect(() => attributeCitations('out', {} as never)).toThrow(/array/)
  })

  it('always sums exactly to the denominator (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            datanetId: fc.bigInt({ min: 0n, max: 3n }),
            contributionId: fc.bigInt({ min: 0n, max: 5n }),
            score: fc.oneof(
              fc.bigInt({ min: 0n, max: 10n ** 30n }),
              fc.tuple(fc.nat(), fc.nat()).map(([i, f]) => `${i}.${f}`),
            ),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.bigInt({ min: 1n, max: 10n ** 20n }),
        (chunks, denominator) => {
          const r = attributeCitations('o', chunks, { denominator })
          expect(sum(r.entries)).toBe(denominator)
        },
      ),
      { numRuns: 200 },
    )
  })
})
