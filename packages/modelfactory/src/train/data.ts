/**
 * Byte-level tokens (`ol-bytes-v1`): a text's UTF-8 bytes are its tokens 0…255; token 256 separates
 * documents. Training streams are documents joined by separators; batches are windows of T+1
 * tokens at offsets drawn from a seeded stream; evaluation covers a stream with consecutive
 * non-overlapping windows, so every held-out token is scored exactly once.
 */
import type { Rng } from '../math/rng.ts'

export const TOKENIZER = 'ol-bytes-v1'
export const SEPARATOR_TOKEN = 256

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8')

export function encodeText(text: string): Uint8Array {
  return encoder.encode(text)
}

/** Bytes back to text; separators become newlines, invalid UTF-8 is replaced (U+FFFD). */
export function decodeTokens(tokens: ArrayLike<number>): string {
  const bytes = new Uint8Array(tokens.length)
  let n = 0
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as number
    bytes[n++] = t === SEPARATOR_TOKEN ? 10 : t
  }
  return decoder.decode(bytes.subarray(0, n))
}

/** Documents as one token stream: SEP doc SEP doc … SEP. */
export function buildStream(docs: readonly Uint8Array[]): Uint16Array {
  const total = docs.reduce((s, d) => s + d.length + 1, 1)
  const out = new Uint16Array(total)
  let o = 0
  out[o++] = SEPARATOR_TOKEN
  for (const d of docs) {
    out.set(d, o)
    o += d.length
    out[o++] = SEPARATOR_TOKEN
  }
  return out
}

export interface Batch {
  tokens: Int32Array
  targets: Int32Array
}

/** B windows of T+1 tokens at uniformly drawn offsets (the stream must hold at least T+1). */
export function sampleBatch(stream: Uint16Array, B: number, T: number, rng: Rng, out?: Batch): Batch {
  if (stream.length < T + 1) throw new RangeError(`training stream shorter than ${T + 1} tokens`)
  const b = out ?? { tokens: new Int32Array(B * T), targets: new Int32Array(B * T) }
  const positions = stream.length - T
  for (let s = 0; s < B; s++) {
    const o = rng.int(positions)
    for (let t = 0; t < T; t++) {
      b.tokens[s * T + t] = stream[o + t] as number
      b.targets[s * T + t] = stream[o + t + 1] as number
    }
  }
  return b
}

/**
 * Consecutive windows covering every next-token prediction of the stream once: window w predicts
 * positions w·T+1 … w·T+T. Yields batches of up to B windows; unused rows have target −1.
 */
export function* evalBatches(stream: Uint16Array, B: number, T: number): Generator<Batch> {
  const predictions = stream.length - 1
  const windows = Math.ceil(predictions / T)
  for (let w0 = 0; w0 < windows; w0 += B) {
    const b = { tokens: new Int32Array(B * T), targets: new Int32Array(B * T).fill(-1) }
    for (let s = 0; s < B && w0 + s < windows; s++) {
      const start = (w0 + s) * T
      for (let t = 0; t < T && start + t < predictions; t++) {
        b.tokens[s * T + t] = stream[start + t] as number
        b.targets[s * T + t] = stream[start + t + 1] as number
      }
    }
    yield b
  }
}
