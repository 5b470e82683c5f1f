import { AttributionError } from './errors.ts'

/**
 * Tokenizer `ol-tok-v1` (specified in docs/attribution-engine.md; changing any rule below requires
 * a new version id, because token boundaries feed every weight and commitment):
 *
 * 1. The input must be well-formed UTF-16 (no lone surrogates).
 * 2. Scan the ORIGINAL text left to right, by code point:
 *    - a maximal run of code points of general category L (letters), M (marks) or N (numbers) is
 *      one word token;
 *    - code points with the White_Space property, category Cc (controls) or Cf (format) separate
 *      tokens and are dropped;
 *    - every other code point (punctuation, symbols, private use, unassigned) is a token by itself.
 * 3. Each token's text is NFC(lowercase(NFC(raw))) using ECMAScript String.prototype.normalize and
 *    the locale-independent String.prototype.toLowerCase.
 *
 * Splitting before normalising keeps offsets into the original text (UTF-16 code units), which the
 * evidence needs. Marks are word characters, so a base letter and its combining marks always land in
 * the same token and per-token NFC equals whole-text NFC for them.
 */
export const TOKENIZER_ID = 'ol-tok-v1'

export interface Token {
  /** Normalised token text. */
  text: string
  /** Start offset in the original string, UTF-16 code units (inclusive). */
  start: number
  /** End offset in the original string, UTF-16 code units (exclusive). */
  end: number
}

// One regex encodes rule 2: word runs, or one non-separator code point.
const TOKEN_RE = /[\p{L}\p{M}\p{N}]+|[^\p{White_Space}\p{Cc}\p{Cf}]/gu
const ASCII_RE = /^[\x00-\x7f]*$/
// In u-mode a paired surrogate is one code point, so this matches only lone surrogates.
const LONE_SURROGATE_RE = /[\uD800-\uDFFF]/u

export function assertWellFormed(text: unknown, what: string): asserts text is string {
  if (typeof text !== 'string') throw new AttributionError('INVALID_TEXT', `${what} must be a string`)
  if (LONE_SURROGATE_RE.test(text)) {
    throw new AttributionError('INVALID_TEXT', `${what} is not well-formed UTF-16 (lone surrogate)`)
  }
}

/** Normalisation of one raw token (rule 3). ASCII needs no NFC. */
export function normalizeToken(raw: string): string {
  if (ASCII_RE.test(raw)) return raw.toLowerCase()
  return raw.normalize('NFC').toLowerCase().normalize('NFC')
}

/**
 * Streams the RAW (not yet normalised) tokens of `text` to `onRaw(raw, start, end)`; callers that
 * memoise per raw token (the index builder) normalise each distinct raw token once.
 */
export function scanRawTokens(text: string, onRaw: (raw: string, start: number, end: number) => void): void {
  assertWellFormed(text, 'text')
  const re = new RegExp(TOKEN_RE.source, TOKEN_RE.flags)
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    onRaw(m[0], m.index, m.index + m[0].length)
  }
}

/** Tokenizes `text` with `ol-tok-v1`, keeping offsets into the original string. */
export function tokenize(text: string): Token[] {
  const out: Token[] = []
  scanRawTokens(text, (raw, start, end) => {
    out.push({ text: normalizeToken(raw), start, end })
  })
  return out
}
