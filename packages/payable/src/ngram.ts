/**
 * The built-in model: a small deterministic word n-gram language model (`ol-ngram-v1`).
 *
 * Tokens: the raw `ol-tok-v1` tokens of the text (words, and each punctuation mark), case kept,
 * each prefixed with one space when whitespace preceded it in the source, so that joining tokens
 * restores the text with single spaces. Training counts, for every position of every record
 * (padded with order-1 BOS marks, ended by EOS), the next token after each context of 0…order-1
 * previous tokens. Generation continues the prompt: the context is the longest suffix (at most
 * order-1 tokens) of the prompt seen in training (none: start a fresh passage after BOS); the
 * next token is drawn from that context's counts (no interpolation: the longest seen context wins)
 * with a keccak256 counter-mode stream seeded by (artifact hash, prompt, seed), so the same
 * artifact, prompt and seed always give the same output on any machine. Temperature 0 is greedy
 * (highest count, ties to the lower token id).
 *
 * The artifact is canonical JSON (sorted vocabulary and contexts), so training the same records
 * with the same order always gives the same bytes and the same artifact hash.
 */
import { scanRawTokens } from '@openledger/attribution'
import { concatBytes, type Hex, hexToBytes, keccak256, numberToBytes, stringToBytes } from 'viem'
import { PayableError } from './errors.ts'

export const NGRAM_FORMAT = 'ol-ngram-v1'
export const DEFAULT_ORDER = 4
export const MAX_ORDER = 8
const BOS = -1
const EOS = 0

export interface TrainingRecord {
  datanetId: bigint
  contributionId: bigint
  text: string
}

/** LM tokens of a text: raw ol-tok-v1 tokens with a leading space when whitespace preceded them. */
export function lmTokens(text: string): string[] {
  const out: string[] = []
  let prevEnd = 0
  scanRawTokens(text, (raw, start, end) => {
    out.push(start > prevEnd && out.length > 0 ? ` ${raw}` : raw)
    prevEnd = end
  })
  return out
}

interface Row {
  next: Int32Array
  counts: Uint32Array
  total: number
}

export interface ArtifactJson {
  format: typeof NGRAM_FORMAT
  order: number
  records: { datanetId: string; contributionId: string; tokens: number }[]
  /** Token strings; token id = index + 1 (0 is EOS). */
  vocabulary: string[]
  /** [context ids joined by ",", [next id, count, next id, count, ...]], sorted by key. */
  contexts: [string, number[]][]
}

export class NgramModel {
  private constructor(
    readonly order: number,
    readonly vocabulary: readonly string[],
    private readonly table: Map<string, Row>,
    private readonly ids: Map<string, number>,
    readonly bytes: Uint8Array,
    readonly artifactHash: Hex,
    readonly recordCount: number,
    readonly tokenCount: number,
  ) {}

  get contextCount(): number {
    return this.table.size
  }

  static train(
    records: readonly TrainingRecord[],
    opts: { order?: number; onProgress?: (done: number, total: number) => void } = {},
  ): NgramModel {
    const order = opts.order ?? DEFAULT_ORDER
    if (!Number.isInteger(order) || order < 2 || order > MAX_ORDER) {
      throw new PayableError(`n-gram order must be an integer in [2, ${MAX_ORDER}]`)
    }
    if (records.length === 0) throw new PayableError('no training records')
    const sorted = [...records].sort((a, b) =>
      a.datanetId !== b.datanetId
        ? a.datanetId < b.datanetId
          ? -1
          : 1
        : a.contributionId < b.contributionId
          ? -1
          : a.contributionId > b.contributionId
            ? 1
            : 0,
    )
    const tokenized = sorted.map((r) => lmTokens(r.text))
    const vocabulary = [...new Set(tokenized.flat())].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const ids = new Map(vocabulary.map((t, i) => [t, i + 1]))
    const counts = new Map<string, Map<number, number>>()
    tokenized.forEach((tokens, ri) => {
      const seq = [...Array<number>(order - 1).fill(BOS), ...tokens.map((t) => ids.get(t) as number), EOS]
      for (let i = order - 1; i < seq.length; i++) {
        const next = seq[i] as number
        for (let c = 0; c < order; c++) {
          const key = seq.slice(i - c, i).join(',')
          let row = counts.get(key)
          if (row === undefined) {
            row = new Map()
            counts.set(key, row)
          }
          row.set(next, (row.get(next) ?? 0) + 1)
        }
      }
      opts.onProgress?.(ri + 1, tokenized.length)
    })
    const keys = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const json: ArtifactJson = {
      format: NGRAM_FORMAT,
      order,
      records: sorted.map((r, i) => ({
        datanetId: r.datanetId.toString(),
        contributionId: r.contributionId.toString(),
        tokens: (tokenized[i] as string[]).length,
      })),
      vocabulary,
      contexts: keys.map((k) => {
        const row = counts.get(k) as Map<number, number>
        return [k, [...row.entries()].sort((a, b) => a[0] - b[0]).flat()]
      }),
    }
    return NgramModel.fromBytes(stringToBytes(JSON.stringify(json)))
  }

  /** Loads an artifact (checks its structure; the caller compares the hash with the chain's). */
  static fromBytes(bytes: Uint8Array): NgramModel {
    let json: ArtifactJson
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as ArtifactJson
    } catch {
      throw new PayableError('model artifact is not JSON')
    }
    if (json === null || typeof json !== 'object' || json.format !== NGRAM_FORMAT) {
      throw new PayableError(`model artifact is not an ${NGRAM_FORMAT} model`)
    }
    const { order, vocabulary, contexts, records } = json
    if (!Number.isInteger(order) || order < 2 || order > MAX_ORDER)
      throw new PayableError('model artifact: bad order')
    if (!Array.isArray(vocabulary) || vocabulary.some((t) => typeof t !== 'string' || t.length === 0)) {
      throw new PayableError('model artifact: bad vocabulary')
    }
    if (!Array.isArray(contexts) || !Array.isArray(records))
      throw new PayableError('model artifact: bad tables')
    const table = new Map<string, Row>()
    for (const entry of contexts) {
      const [key, flat] = entry
      if (typeof key !== 'string' || !Array.isArray(flat) || flat.length % 2 !== 0 || flat.length === 0) {
        throw new PayableError('model artifact: bad context row')
      }
      const n = flat.length / 2
      const next = new Int32Array(n)
      const cnt = new Uint32Array(n)
      let total = 0
      for (let i = 0; i < n; i++) {
        const id = flat[2 * i] as number
        const c = flat[2 * i + 1] as number
        if (!Number.isInteger(id) || id < 0 || id > vocabulary.length || !Number.isInteger(c) || c < 1) {
          throw new PayableError('model artifact: bad context row')
        }
        next[i] = id
        cnt[i] = c
        total += c
      }
      table.set(key, { next, counts: cnt, total })
    }
    const tokenCount = records.reduce((s, r) => s + (Number.isInteger(r?.tokens) ? r.tokens : 0), 0)
    return new NgramModel(
      order,
      vocabulary,
      table,
      new Map(vocabulary.map((t, i) => [t, i + 1])),
      bytes,
      keccak256(bytes),
      records.length,
      tokenCount,
    )
  }

  /**
   * Continues `prompt` with at most `maxTokens` tokens (stops early at the end of a passage).
   * Deterministic in (artifact, prompt, seed, temperature).
   */
  generate(prompt: string, opts: { maxTokens: number; seed?: bigint; temperature?: 0 | 1 }): string {
    const history = lmTokens(prompt).map(
      (t) => this.ids.get(t) ?? this.ids.get(t.startsWith(' ') ? t.slice(1) : ` ${t}`),
    )
    // The longest known context among the prompt's last tokens; unknown tokens break the context.
    let context: number[] = []
    for (let c = Math.min(this.order - 1, history.length); c >= 1; c--) {
      const tail = history.slice(-c)
      if (tail.some((id) => id === undefined)) continue
      if (this.table.has(tail.join(','))) {
        context = tail as number[]
        break
      }
    }
    if (context.length === 0) context = Array<number>(this.order - 1).fill(BOS)
    const seedBytes = concatBytes([
      hexToBytes(this.artifactHash),
      stringToBytes(prompt),
      numberToBytes(opts.seed ?? 0n, { size: 32 }),
    ])
    const out: number[] = []
    for (let step = 0; step < opts.maxTokens; step++) {
      const row = this.lookup(context)
      if (row === undefined) break
      const next =
        opts.temperature === 0
          ? greedy(row)
          : sample(row, BigInt(keccak256(concatBytes([seedBytes, numberToBytes(step, { size: 8 })]))))
      if (next === EOS) break
      out.push(next)
      context = [...context, next].slice(-(this.order - 1))
    }
    const text = out.map((id) => this.vocabulary[id - 1] as string).join('')
    // Continue the prompt naturally: a leading space only if the prompt does not end with one.
    return /\s$/.test(prompt) || prompt.length === 0 ? text.trimStart() : text
  }

  private lookup(context: readonly number[]): Row | undefined {
    for (let c = context.length; c >= 0; c--) {
      const row = this.table.get(context.slice(context.length - c).join(','))
      if (row !== undefined) return row
    }
    return undefined
  }
}

function greedy(row: Row): number {
  let best = 0
  for (let i = 1; i < row.next.length; i++)
    if ((row.counts[i] as number) > (row.counts[best] as number)) best = i
  return row.next[best] as number
}

function sample(row: Row, random: bigint): number {
  let r = Number(random % BigInt(row.total))
  for (let i = 0; i < row.next.length; i++) {
    r -= row.counts[i] as number
    if (r < 0) return row.next[i] as number
  }
  return row.next[row.next.length - 1] as number
}
