import { describe, expect, it } from 'vitest'
import { AttributionError, normalizeToken, TOKENIZER_ID, tokenize } from '../src/engine/index.ts'

describe('ol-tok-v1 tokenizer', () => {
  it('has a versioned id', () => {
    expect(TOKENIZER_ID).toBe('ol-tok-v1')
  })

  it('splits words and single punctuation, lowercases, keeps offsets into the original', () => {
    const text = "Hello, World!  It's 42..."
    const toks = tokenize(text)
    expect(toks.map((t) => t.text)).toEqual(['hello', ',', 'world', '!', 'it', "'", 's', '42', '.', '.', '.'])
    for (const t of toks) expect(text.slice(t.start, t.end).toLowerCase()).toBe(t.text)
    expect(toks[2]).toEqual({ text: 'world', start: 7, end: 12 })
  })

  it('normalises canonically equivalent text to the same tokens (NFC) with original offsets', () => {
    const composed = 'Caf\u00e9 cr\u00e8me'
    const decomposed = 'Cafe\u0301 cre\u0300me'
    expect(tokenize(composed).map((t) => t.text)).toEqual(tokenize(decomposed).map((t) => t.text))
    const d = tokenize(decomposed)
    expect(d[0]).toEqual({ text: 'caf\u00e9', start: 0, end: 5 })
    expect(d[1]!.start).toBe(6)
    expect(d[1]!.end).toBe(decomposed.length)
  })

  it('treats whitespace, controls and format characters as separators; symbols and emoji as tokens', () => {
    expect(tokenize('a\u200Bb\tc\u0000d\ne').map((t) => t.text)).toEqual(['a', 'b', 'c', 'd', 'e'])
    const toks = tokenize('x+y=\u{1F600}z')
    expect(toks.map((t) => t.text)).toEqual(['x', '+', 'y', '=', '\u{1F600}', 'z'])
    expect(toks[4]).toEqual({ text: '\u{1F600}', start: 4, end: 6 })
  })

  it('keeps letters of any script and digits in words', () => {
    expect(tokenize('Ελληνικά 日本語テキスト x2y ١٢٣').map((t) => t.text)).toEqual([
      'ελληνικά',
      '日本語テキスト',
      'x2y',
      '١٢٣',
    ])
  })

  it('uses locale-independent lowercasing with NFC after it', () => {
    expect(normalizeToken('\u0130stanbul')).toBe('i\u0307stanbul')
    expect(normalizeToken('STRASSE')).toBe('strasse')
  })

  it('returns no tokens for empty or blank text', () => {
    expect(tokenize('')).toEqual([])
    expect(tokenize(' \n\t ')).toEqual([])
  })

  it('rejects lone surrogates and non-strings with a clear error', () => {
    expect(() => tokenize('a\uD800b')).toThrow(AttributionError)
    expect(() => tokenize('a\uD800b')).toThrow(/lone surrogate/)
    expect(() => tokenize(42 as unknown as string)).toThrow(/must be a string/)
  })
})
