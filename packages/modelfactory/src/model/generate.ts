/**
 * Text generation with a key/value cache, one token at a time, for a base model alone or with one
 * LoRA adapter applied on the fly (the base weights are shared read-only by every adapter: an
 * adapter costs only its own A and B matrices). The per-token computation is the training forward
 * pass restricted to one row, so it uses the same kernels and orders: logits for a position are the
 * same bits as in a batched forward pass.
 *
 * Sampling: top-k over the logits (ties to the lower token), temperature, then one draw from a
 * seeded Rng; temperature 0 is greedy. The sequence stops at a separator token or after maxTokens.
 * When the context fills up, the cache is rebuilt from the last half of the sequence.
 */
import { matmulNT } from '../math/kernels.ts'
import { Rng } from '../math/rng.ts'
import { exp64, sqrt64 } from '../math/scalar.ts'
import { SEPARATOR_TOKEN } from '../train/data.ts'
import {
  type LayerParams,
  type LoraConfig,
  type LoraPair,
  type LoraTarget,
  type LoraViews,
  loraScale,
  loraViews,
  type ModelConfig,
  type ModelTensors,
  modelViews,
} from './config.ts'
import { NORM_EPS } from './transformer.ts'

export interface LoadedBase {
  config: ModelConfig
  params: Float32Array
  views: ModelTensors
}

export interface LoadedAdapter {
  config: LoraConfig
  data: Float32Array
  views: LoraViews
  scale: number
}

export function loadBase(config: ModelConfig, params: Float32Array): LoadedBase {
  return { config, params, views: modelViews(config, params) }
}

export function loadAdapter(base: ModelConfig, config: LoraConfig, data: Float32Array): LoadedAdapter {
  return { config, data, views: loraViews(base, config, data), scale: loraScale(config) }
}

export interface GenerateOptions {
  maxTokens: number
  /** 0 = greedy. */
  temperature: number
  /** Only the k most likely tokens are sampled (0 = all). */
  topK: number
  seed: bigint
  /** Extra label mixed into the sampling stream (e.g. a hash of the prompt). */
  stream?: string
  /** Stop at the separator token (end of document). Default true. */
  stopAtSeparator?: boolean
}

/** Per-sequence state: caches and row buffers. */
class Session {
  readonly keys: Float32Array[]
  readonly values: Float32Array[]
  readonly x: Float32Array
  readonly h: Float32Array
  readonly q: Float32Array
  readonly a: Float32Array
  readonly t: Float32Array
  readonly z: Float32Array
  readonly u: Float32Array
  readonly logits: Float32Array
  readonly s: Float64Array
  length = 0

  constructor(
    readonly c: ModelConfig,
    rank: number,
  ) {
    const d = c.dim
    this.keys = Array.from({ length: c.layers }, () => new Float32Array(c.context * d))
    this.values = Array.from({ length: c.layers }, () => new Float32Array(c.context * d))
    this.x = new Float32Array(d)
    this.h = new Float32Array(d)
    this.q = new Float32Array(d)
    this.a = new Float32Array(d)
    this.t = new Float32Array(Math.max(d, c.hidden))
    this.z = new Float32Array(c.hidden)
    this.u = new Float32Array(Math.max(rank, 1))
    this.logits = new Float32Array(c.vocab)
    this.s = new Float64Array(Math.max(c.context, c.vocab))
  }
}

function normRow(x: Float32Array, g: Float32Array, y: Float32Array, d: number): void {
  let ss = 0
  for (let i = 0; i < d; i++) ss += (x[i] as number) * (x[i] as number)
  const inv = 1 / sqrt64(ss / d + NORM_EPS)
  for (let i = 0; i < d; i++) y[i] = (x[i] as number) * inv * (g[i] as number)
}

function linearRow(
  s: Session,
  x: Float32Array,
  W: Float32Array,
  y: Float32Array,
  inDim: number,
  outDim: number,
  pair: LoraPair | undefined,
  scale: number,
  rank: number,
): void {
  matmulNT(x, W, y, 1, inDim, outDim)
  if (pair === undefined) return
  matmulNT(x, pair.A, s.u, 1, inDim, rank)
  for (let i = 0; i < rank; i++) s.u[i] = (s.u[i] as number) * scale
  matmulNT(s.u, pair.B, y, 1, rank, outDim, true)
}

/** Feeds one token at the session's next position; fills s.logits. */
function step(base: LoadedBase, adapter: LoadedAdapter | undefined, s: Session, token: number): void {
  const c = base.config
  const m = base.views
  const d = c.dim
  const H = c.heads
  const dh = d / H
  const pos = s.length
  const rank = adapter?.config.rank ?? 0
  const scale = adapter?.scale ?? 0
  const pair = (l: number, t: LoraTarget) => adapter?.views[l]?.get(t)
  for (let i = 0; i < d; i++) s.x[i] = (m.tok[token * d + i] as number) + (m.pos[pos * d + i] as number)
  const attScale = 1 / sqrt64(dh)
  for (let l = 0; l < c.layers; l++) {
    const L = m.layers[l] as LayerParams
    const K = s.keys[l] as Float32Array
    const Vc = s.values[l] as Float32Array
    normRow(s.x, L.norm1, s.h, d)
    linearRow(s, s.h, L.wq, s.q, d, d, pair(l, 'wq'), scale, rank)
    linearRow(s, s.h, L.wk, K.subarray(pos * d, pos * d + d), d, d, pair(l, 'wk'), scale, rank)
    linearRow(s, s.h, L.wv, Vc.subarray(pos * d, pos * d + d), d, d, pair(l, 'wv'), scale, rank)
    for (let h = 0; h < H; h++) {
      let mx = Number.NEGATIVE_INFINITY
      for (let t2 = 0; t2 <= pos; t2++) {
        let dot = 0
        for (let e = 0; e < dh; e++) dot += (s.q[h * dh + e] as number) * (K[t2 * d + h * dh + e] as number)
        const v = dot * attScale
        s.s[t2] = v
        if (v > mx) mx = v
      }
      let sum = 0
      for (let t2 = 0; t2 <= pos; t2++) {
        const e = exp64((s.s[t2] as number) - mx)
        s.s[t2] = e
        sum += e
      }
      // Rounded to float32 as the training pass stores its attention weights.
      for (let t2 = 0; t2 <= pos; t2++) s.s[t2] = Math.fround((s.s[t2] as number) / sum)
      for (let e = 0; e < dh; e++) {
        let o = 0
        for (let t2 = 0; t2 <= pos; t2++) o += (s.s[t2] as number) * (Vc[t2 * d + h * dh + e] as number)
        s.a[h * dh + e] = o
      }
    }
    linearRow(s, s.a, L.wo, s.t, d, d, pair(l, 'wo'), scale, rank)
    for (let i = 0; i < d; i++) s.x[i] = (s.x[i] as number) + (s.t[i] as number)
    normRow(s.x, L.norm2, s.h, d)
    linearRow(s, s.h, L.w1, s.z, d, c.hidden, pair(l, 'w1'), scale, rank)
    for (let i = 0; i < c.hidden; i++) s.z[i] = (s.z[i] as number) > 0 ? (s.z[i] as number) : 0
    linearRow(s, s.z, L.w2, s.t, c.hidden, d, pair(l, 'w2'), scale, rank)
    for (let i = 0; i < d; i++) s.x[i] = (s.x[i] as number) + (s.t[i] as number)
  }
  normRow(s.x, m.normf, s.h, d)
  matmulNT(s.h, m.tok, s.logits, 1, d, c.vocab)
  s.length++
}

function sample(s: Session, V: number, o: GenerateOptions, rng: Rng): number {
  const logits = s.logits
  if (o.temperature === 0) {
    let best = 0
    for (let j = 1; j < V; j++) if ((logits[j] as number) > (logits[best] as number)) best = j
    return best
  }
  // Top-k by repeated selection (ties to the lower token id), in decreasing order.
  const k = o.topK > 0 ? Math.min(o.topK, V) : V
  const chosen: number[] = []
  const taken = new Uint8Array(V)
  for (let r = 0; r < k; r++) {
    let best = -1
    for (let j = 0; j < V; j++) {
      if (taken[j] === 1) continue
      if (best < 0 || (logits[j] as number) > (logits[best] as number)) best = j
    }
    taken[best] = 1
    chosen.push(best)
  }
  const mx = logits[chosen[0] as number] as number
  let sum = 0
  const w = s.s
  for (let r = 0; r < k; r++) {
    const e = exp64(((logits[chosen[r] as number] as number) - mx) / o.temperature)
    w[r] = e
    sum += e
  }
  let u = rng.float() * sum
  for (let r = 0; r < k; r++) {
    u -= w[r] as number
    if (u < 0) return chosen[r] as number
  }
  return chosen[k - 1] as number
}

export interface Generation {
  tokens: number[]
  /** Why generation stopped. */
  finish: 'separator' | 'length'
}

/** Token-by-token generation (for streaming): `next()` returns the next token, or undefined once
 * the sequence ended (then `finish` says why). Same tokens as `generate`. */
export class GenerationStream {
  readonly tokens: number[] = []
  finish: 'separator' | 'length' | undefined
  private readonly rng: Rng
  private readonly s: Session
  private readonly history: number[]
  private readonly keep: number

  constructor(
    private readonly base: LoadedBase,
    private readonly adapter: LoadedAdapter | undefined,
    prompt: readonly number[],
    private readonly o: GenerateOptions,
  ) {
    const c = base.config
    if (!Number.isInteger(o.maxTokens) || o.maxTokens < 1) throw new RangeError('maxTokens must be ≥ 1')
    if (!(o.temperature >= 0 && o.temperature <= 10)) throw new RangeError('temperature must be in [0, 10]')
    if (!Number.isInteger(o.topK) || o.topK < 0) throw new RangeError('topK must be an integer ≥ 0')
    for (const t of prompt) {
      if (!Number.isInteger(t) || t < 0 || t >= c.vocab)
        throw new RangeError(`token ${t} outside the vocabulary`)
    }
    this.rng = new Rng(o.seed, `generate:${o.stream ?? ''}`)
    this.s = new Session(c, adapter?.config.rank ?? 0)
    // Start of a document, then the prompt; the cache holds at most the last half-context of it
    // (leaving room for the answer) and is rebuilt the same way when the context fills up.
    this.history = [SEPARATOR_TOKEN, ...prompt]
    this.keep = Math.max(1, Math.floor(c.context / 2))
    this.prefill()
  }

  private prefill(): void {
    this.s.length = 0
    for (const t of this.history.slice(Math.max(0, this.history.length - this.keep)))
      step(this.base, this.adapter, this.s, t)
  }

  get done(): boolean {
    return this.finish !== undefined
  }

  next(): number | undefined {
    if (this.finish !== undefined) return undefined
    const c = this.base.config
    const token = sample(this.s, c.vocab, this.o, this.rng)
    if (token === SEPARATOR_TOKEN && this.o.stopAtSeparator !== false) {
      this.finish = 'separator'
      return undefined
    }
    this.tokens.push(token)
    this.history.push(token)
    if (this.tokens.length === this.o.maxTokens) this.finish = 'length'
    else if (this.s.length === c.context) this.prefill()
    else step(this.base, this.adapter, this.s, token)
    return token
  }
}

/**
 * Continues `prompt` (tokens) with at most `maxTokens` new tokens; `onToken` sees each new token
 * as it is produced. Deterministic in (base, adapter, prompt, options).
 */
export function generate(
  base: LoadedBase,
  adapter: LoadedAdapter | undefined,
  prompt: readonly number[],
  o: GenerateOptions,
  onToken?: (token: number) => void,
): Generation {
  const g = new GenerationStream(base, adapter, prompt, o)
  for (let t = g.next(); t !== undefined; t = g.next()) onToken?.(t)
  return { tokens: g.tokens, finish: g.finish ?? 'length' }
}
