/** Deterministic pseudo-random-word corpora and outputs for the engine and judge benchmarks. */
import type { CorpusRecord } from '../src/engine/index.ts'

/** xorshift32: tiny, deterministic on every machine. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s
  }
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'
export function makeVocabulary(next: () => number, size: number): string[] {
  const words = new Set<string>()
  while (words.size < size) {
    let w = ''
    const len = 2 + (next() % 9)
    for (let i = 0; i < len; i++) w += LETTERS[next() % 26]
    words.add(w)
  }
  return [...words]
}

/** Skewed (roughly Zipf-like) word choice: the square of a uniform index favours low ranks. */
export function pick(next: () => number, vocab: string[]): string {
  const u = next() % 65536
  return vocab[Math.floor(((u * u) / 65536 / 65536) * vocab.length)]!
}

export function makeCorpus(megabytes: number, seed: number, duplicate = false): CorpusRecord[] {
  const next = rng(seed)
  const vocab = makeVocabulary(next, 30_000)
  const target = megabytes * 1024 * 1024
  const records: CorpusRecord[] = []
  let total = 0
  let id = 0n
  while (total < target) {
    const parts: string[] = []
    let len = 0
    const recordBytes = 1024 + (next() % 3072)
    while (len < recordBytes) {
      const w = pick(next, vocab)
      parts.push(w)
      len += w.length + 1
      if (next() % 12 === 0) {
        parts.push(next() % 3 === 0 ? ',' : '.')
        len += 2
      }
    }
    const text = parts.join(' ')
    records.push({ datanetId: 1n + (id % 3n), contributionId: id, text })
    total += text.length
    id++
    if (duplicate) {
      records.push({ datanetId: 1n + (id % 3n), contributionId: id, text })
      total += text.length
      id++
    }
  }
  return records
}

/** A 200-token output: three verbatim passages from random records, glued with random words. */
export function makeOutput(next: () => number, records: CorpusRecord[], vocab: string[]): string {
  const parts: string[] = []
  let tokens = 0
  while (tokens < 200) {
    if (next() % 2 === 0) {
      const words = records[next() % records.length]!.text.split(' ')
      const len = Math.min(200 - tokens, 10 + (next() % 40))
      const start = next() % Math.max(1, words.length - len)
      const passage = words.slice(start, start + len)
      parts.push(...passage)
      tokens += passage.length
    } else {
      for (let i = 0; i < 15 && tokens < 200; i++, tokens++) parts.push(pick(next, vocab))
    }
  }
  return parts.join(' ')
}
