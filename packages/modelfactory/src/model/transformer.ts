/**
 * Forward and backward pass of `ol-tfm-v1` over a batch of B sequences of T tokens, with optional
 * LoRA adapters on any projection. Pre-norm decoder blocks:
 *
 *   x ← tok[token] + pos[t]
 *   per layer:  h = RMSNorm(x)·g1;  x ← x + Wo·Attention(Wq·h, Wk·h, Wv·h)  (causal, H heads)
 *               h = RMSNorm(x)·g2;  x ← x + W2·ReLU(W1·h)
 *   logits = (RMSNorm(x)·gf)·tokᵀ   (tied embedding), loss = mean cross-entropy
 *
 * An adapted projection computes y = W·x + (α/r)·B·(A·x). Gradients are computed by hand, in a
 * fixed order, with binary64 accumulators rounded to float32 when stored (see kernels.ts): the same
 * inputs always give the same bits. Without model gradients (LoRA training) the base weights'
 * gradient products are skipped entirely.
 * Long file: the forward and the hand-written backward pass must mirror each other line by line.
 */
import { matmulNN, matmulNT, matmulTN } from '../math/kernels.ts'
import { exp64, log64, sqrt64 } from '../math/scalar.ts'
import {
  type LayerParams,
  type LoraConfig,
  type LoraPair,
  type LoraTarget,
  type LoraViews,
  loraScale,
  type ModelConfig,
  type ModelTensors,
} from './config.ts'

export const NORM_EPS = 1e-5

export interface Adapter {
  config: LoraConfig
  views: LoraViews
}

/** Activations of one layer kept for the backward pass. */
interface LayerActs {
  xin: Float32Array
  h1: Float32Array
  r1: Float64Array
  q: Float32Array
  k: Float32Array
  v: Float32Array
  p: Float32Array
  ao: Float32Array
  xmid: Float32Array
  h2: Float32Array
  r2: Float64Array
  z: Float32Array
  m: Float32Array
  /** (α/r)·A·x per adapted projection. */
  us: Map<LoraTarget, Float32Array>
}

/** Buffers for one batch shape, reused across steps. */
export class Workspace {
  readonly N: number
  readonly acts: LayerActs[]
  readonly xf: Float32Array
  readonly hf: Float32Array
  readonly rf: Float64Array
  readonly logits: Float32Array
  // backward
  readonly dres: Float32Array
  readonly dh: Float32Array
  readonly dq: Float32Array
  readonly dk: Float32Array
  readonly dv: Float32Array
  readonly dao: Float32Array
  readonly dz: Float32Array
  readonly dus: Float32Array
  readonly scratchA: Float32Array
  readonly scratchB: Float32Array
  readonly row64: Float64Array
  readonly ds64: Float64Array
  readonly kv64: Float64Array
  readonly dkv64: Float64Array

  constructor(
    readonly c: ModelConfig,
    readonly B: number,
    readonly T: number,
    lora?: LoraConfig,
  ) {
    if (T > c.context) throw new RangeError(`sequence length ${T} exceeds the context ${c.context}`)
    const N = B * T
    this.N = N
    const d = c.dim
    const f32 = (n: number) => new Float32Array(n)
    this.acts = Array.from({ length: c.layers }, () => ({
      xin: f32(N * d),
      h1: f32(N * d),
      r1: new Float64Array(N),
      q: f32(N * d),
      k: f32(N * d),
      v: f32(N * d),
      p: f32(B * c.heads * T * T),
      ao: f32(N * d),
      xmid: f32(N * d),
      h2: f32(N * d),
      r2: new Float64Array(N),
      z: f32(N * c.hidden),
      m: f32(N * c.hidden),
      us: new Map((lora?.targets ?? []).map((t) => [t, f32(N * lora!.rank)])),
    }))
    this.xf = f32(N * d)
    this.hf = f32(N * d)
    this.rf = new Float64Array(N)
    this.logits = f32(N * c.vocab)
    this.dres = f32(N * d)
    this.dh = f32(N * Math.max(d, c.hidden))
    this.dq = f32(N * d)
    this.dk = f32(N * d)
    this.dv = f32(N * d)
    this.dao = f32(N * Math.max(d, c.hidden))
    this.dz = f32(N * c.hidden)
    this.dus = f32(N * (lora?.rank ?? 1))
    const wide = Math.max(c.vocab, c.hidden, d)
    this.scratchA = f32(Math.max(N, wide) * wide)
    this.scratchB = f32(Math.max(N, wide) * wide)
    this.row64 = new Float64Array(Math.max(T, c.vocab, c.hidden, d))
    this.ds64 = new Float64Array(T)
    this.kv64 = new Float64Array(T * d)
    this.dkv64 = new Float64Array(T * d)
  }
}

export interface Gradients {
  /** Flat gradient of the model parameters (same layout), or undefined to freeze the base. */
  model?: ModelTensors
  /** Gradient of the adapter (same layout as the adapter's views). */
  lora?: LoraViews
}

function rmsnorm(x: Float32Array, g: Float32Array, y: Float32Array, r: Float64Array, N: number, d: number) {
  for (let n = 0; n < N; n++) {
    const o = n * d
    let ss = 0
    for (let i = 0; i < d; i++) {
      const v = x[o + i] as number
      ss += v * v
    }
    const inv = 1 / sqrt64(ss / d + NORM_EPS)
    r[n] = inv
    for (let i = 0; i < d; i++) y[o + i] = (x[o + i] as number) * inv * (g[i] as number)
  }
}

/** dx += ∂(RMSNorm(x)·g)/∂x · dy;  dg += Σ_n dy·x·r (when dg is given). */
function rmsnormBack(
  x: Float32Array,
  g: Float32Array,
  r: Float64Array,
  dy: Float32Array,
  dx: Float32Array,
  dg: Float32Array | undefined,
  N: number,
  d: number,
  acc: Float64Array,
) {
  if (dg !== undefined) acc.fill(0, 0, d)
  for (let n = 0; n < N; n++) {
    const o = n * d
    const inv = r[n] as number
    let s = 0
    for (let i = 0; i < d; i++) s += (g[i] as number) * (dy[o + i] as number) * (x[o + i] as number)
    const k = (inv * inv * inv * s) / d
    for (let i = 0; i < d; i++) {
      const gy = (g[i] as number) * (dy[o + i] as number)
      dx[o + i] = (dx[o + i] as number) + (inv * gy - (x[o + i] as number) * k)
      if (dg !== undefined) acc[i] = (acc[i] as number) + (dy[o + i] as number) * (x[o + i] as number) * inv
    }
  }
  if (dg !== undefined) for (let i = 0; i < d; i++) dg[i] = (dg[i] as number) + (acc[i] as number)
}

/** y = x·Wᵀ (+ (α/r)·(x·Aᵀ)·Bᵀ, keeping us = (α/r)·x·Aᵀ for the backward pass). */
function linear(
  x: Float32Array,
  W: Float32Array,
  y: Float32Array,
  N: number,
  inDim: number,
  outDim: number,
  pair: LoraPair | undefined,
  scale: number,
  us: Float32Array | undefined,
  rank: number,
) {
  matmulNT(x, W, y, N, inDim, outDim)
  if (pair === undefined || us === undefined) return
  matmulNT(x, pair.A, us, N, inDim, rank)
  for (let i = 0; i < N * rank; i++) us[i] = (us[i] as number) * scale
  matmulNT(us, pair.B, y, N, rank, outDim, true)
}

/** dx (+)= dy·W (+ LoRA path); dW += dyᵀ·x when dW is given; dA, dB when the adapter is trained. */
function linearBack(
  ws: Workspace,
  x: Float32Array,
  W: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  accumulateDx: boolean,
  dW: Float32Array | undefined,
  N: number,
  inDim: number,
  outDim: number,
  pair: LoraPair | undefined,
  dPair: LoraPair | undefined,
  scale: number,
  us: Float32Array | undefined,
  rank: number,
) {
  matmulNN(dy, W, dx, N, outDim, inDim, ws.scratchA, accumulateDx)
  if (dW !== undefined) matmulTN(dy, x, dW, outDim, N, inDim, ws.scratchA, ws.scratchB, true)
  if (pair === undefined || us === undefined) return
  const dus = ws.dus
  if (dPair !== undefined) matmulTN(dy, us, dPair.B, outDim, N, rank, ws.scratchA, ws.scratchB, true)
  matmulNN(dy, pair.B, dus, N, outDim, rank, ws.scratchA)
  for (let i = 0; i < N * rank; i++) dus[i] = (dus[i] as number) * scale
  if (dPair !== undefined) matmulTN(dus, x, dPair.A, rank, N, inDim, ws.scratchA, ws.scratchB, true)
  matmulNN(dus, pair.A, dx, N, rank, inDim, ws.scratchA, true)
}

function attention(ws: Workspace, a: LayerActs) {
  const { c, B, T } = ws
  const d = c.dim
  const H = c.heads
  const dh = d / H
  const scale = 1 / sqrt64(dh)
  const s = ws.row64
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const pBase = (b * H + h) * T * T
      for (let t1 = 0; t1 < T; t1++) {
        const qo = (b * T + t1) * d + h * dh
        let mx = Number.NEGATIVE_INFINITY
        for (let t2 = 0; t2 <= t1; t2++) {
          const ko = (b * T + t2) * d + h * dh
          let dot = 0
          for (let e = 0; e < dh; e++) dot += (a.q[qo + e] as number) * (a.k[ko + e] as number)
          const v = dot * scale
          s[t2] = v
          if (v > mx) mx = v
        }
        let sum = 0
        for (let t2 = 0; t2 <= t1; t2++) {
          const e = exp64((s[t2] as number) - mx)
          s[t2] = e
          sum += e
        }
        const prow = pBase + t1 * T
        for (let t2 = 0; t2 <= t1; t2++) a.p[prow + t2] = (s[t2] as number) / sum
        for (let e = 0; e < dh; e++) {
          let o = 0
          for (let t2 = 0; t2 <= t1; t2++) {
            o += (a.p[prow + t2] as number) * (a.v[(b * T + t2) * d + h * dh + e] as number)
          }
          a.ao[qo + e] = o
        }
      }
    }
  }
}

/** From dao (gradient of the attention output) to dq, dk, dv. */
function attentionBack(ws: Workspace, a: LayerActs) {
  const { c, B, T } = ws
  const d = c.dim
  const H = c.heads
  const dh = d / H
  const scale = 1 / sqrt64(dh)
  const dP = ws.row64
  const dS = ws.ds64
  const dk64 = ws.kv64
  const dv64 = ws.dkv64
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const pBase = (b * H + h) * T * T
      dk64.fill(0, 0, T * dh)
      dv64.fill(0, 0, T * dh)
      for (let t1 = 0; t1 < T; t1++) {
        const qo = (b * T + t1) * d + h * dh
        const prow = pBase + t1 * T
        let dot = 0
        for (let t2 = 0; t2 <= t1; t2++) {
          const vo = (b * T + t2) * d + h * dh
          let g = 0
          for (let e = 0; e < dh; e++) g += (ws.dao[qo + e] as number) * (a.v[vo + e] as number)
          dP[t2] = g
          dot += (a.p[prow + t2] as number) * g
        }
        for (let t2 = 0; t2 <= t1; t2++) {
          dS[t2] = (a.p[prow + t2] as number) * ((dP[t2] as number) - dot) * scale
        }
        for (let e = 0; e < dh; e++) {
          let gq = 0
          for (let t2 = 0; t2 <= t1; t2++) {
            gq += (dS[t2] as number) * (a.k[(b * T + t2) * d + h * dh + e] as number)
          }
          ws.dq[qo + e] = gq
        }
        for (let t2 = 0; t2 <= t1; t2++) {
          const p = a.p[prow + t2] as number
          const ds = dS[t2] as number
          const base = t2 * dh
          for (let e = 0; e < dh; e++) {
            dk64[base + e] = (dk64[base + e] as number) + ds * (a.q[qo + e] as number)
            dv64[base + e] = (dv64[base + e] as number) + p * (ws.dao[qo + e] as number)
          }
        }
      }
      for (let t2 = 0; t2 < T; t2++) {
        const o = (b * T + t2) * d + h * dh
        for (let e = 0; e < dh; e++) {
          ws.dk[o + e] = dk64[t2 * dh + e] as number
          ws.dv[o + e] = dv64[t2 * dh + e] as number
        }
      }
    }
  }
}

/**
 * Runs the batch (tokens and targets of B·T positions; target −1 = not scored), returns the mean
 * cross-entropy in nats, and with `grads` accumulates the gradients (model and/or adapter).
 */
export function forwardBackward(
  ws: Workspace,
  m: ModelTensors,
  tokens: Int32Array,
  targets: Int32Array,
  adapter?: Adapter,
  grads?: Gradients,
): { loss: number; count: number } {
  const { c, N, T } = ws
  const d = c.dim
  const f = c.hidden
  const V = c.vocab
  const rank = adapter?.config.rank ?? 0
  const scale = adapter === undefined ? 0 : loraScale(adapter.config)
  const pair = (l: number, t: LoraTarget) => adapter?.views[l]?.get(t)
  const dPair = (l: number, t: LoraTarget) => grads?.lora?.[l]?.get(t)

  // Embedding.
  let x = ws.acts[0]?.xin ?? ws.xf
  for (let n = 0; n < N; n++) {
    const tok = tokens[n] as number
    if (tok < 0 || tok >= V) throw new RangeError(`token ${tok} outside the vocabulary`)
    const to = tok * d
    const po = (n % T) * d
    for (let i = 0; i < d; i++) x[n * d + i] = (m.tok[to + i] as number) + (m.pos[po + i] as number)
  }
  for (let l = 0; l < c.layers; l++) {
    const a = ws.acts[l] as LayerActs
    const L = m.layers[l] as LayerParams
    if (a.xin !== x) a.xin.set(x)
    rmsnorm(a.xin, L.norm1, a.h1, a.r1, N, d)
    linear(a.h1, L.wq, a.q, N, d, d, pair(l, 'wq'), scale, a.us.get('wq'), rank)
    linear(a.h1, L.wk, a.k, N, d, d, pair(l, 'wk'), scale, a.us.get('wk'), rank)
    linear(a.h1, L.wv, a.v, N, d, d, pair(l, 'wv'), scale, a.us.get('wv'), rank)
    attention(ws, a)
    linear(a.ao, L.wo, a.xmid, N, d, d, pair(l, 'wo'), scale, a.us.get('wo'), rank)
    for (let i = 0; i < N * d; i++) a.xmid[i] = (a.xmid[i] as number) + (a.xin[i] as number)
    rmsnorm(a.xmid, L.norm2, a.h2, a.r2, N, d)
    linear(a.h2, L.w1, a.z, N, d, f, pair(l, 'w1'), scale, a.us.get('w1'), rank)
    for (let i = 0; i < N * f; i++) {
      const z = a.z[i] as number
      a.m[i] = z > 0 ? z : 0
    }
    const out = l + 1 < c.layers ? (ws.acts[l + 1] as LayerActs).xin : ws.xf
    linear(a.m, L.w2, out, N, f, d, pair(l, 'w2'), scale, a.us.get('w2'), rank)
    for (let i = 0; i < N * d; i++) out[i] = (out[i] as number) + (a.xmid[i] as number)
    x = out
  }
  if (c.layers === 0) ws.xf.set(x)
  rmsnorm(ws.xf, m.normf, ws.hf, ws.rf, N, d)
  matmulNT(ws.hf, m.tok, ws.logits, N, d, V)

  // Cross-entropy; the logits buffer becomes dlogits when training.
  let count = 0
  for (let n = 0; n < N; n++) if ((targets[n] as number) >= 0) count++
  if (count === 0) return { loss: 0, count: 0 }
  const inv = 1 / count
  let loss = 0
  const train = grads !== undefined
  for (let n = 0; n < N; n++) {
    const target = targets[n] as number
    const o = n * V
    if (target < 0) {
      if (train) ws.logits.fill(0, o, o + V)
      continue
    }
    if (target >= V) throw new RangeError(`target ${target} outside the vocabulary`)
    let mx = Number.NEGATIVE_INFINITY
    for (let j = 0; j < V; j++) if ((ws.logits[o + j] as number) > mx) mx = ws.logits[o + j] as number
    let sum = 0
    const e = ws.row64
    for (let j = 0; j < V; j++) {
      const v = exp64((ws.logits[o + j] as number) - mx)
      e[j] = v
      sum += v
    }
    loss += mx + log64(sum) - (ws.logits[o + target] as number)
    if (train) {
      for (let j = 0; j < V; j++) ws.logits[o + j] = ((e[j] as number) / sum - (j === target ? 1 : 0)) * inv
    }
  }
  loss *= inv
  if (!train) return { loss, count }

  // Backward.
  const g = grads
  const dlogits = ws.logits
  matmulNN(dlogits, m.tok, ws.dh, N, V, d, ws.scratchA)
  if (g.model !== undefined) matmulTN(dlogits, ws.hf, g.model.tok, V, N, d, ws.scratchA, ws.scratchB, true)
  ws.dres.fill(0)
  rmsnormBack(ws.xf, m.normf, ws.rf, ws.dh, ws.dres, g.model?.normf, N, d, ws.row64)
  for (let l = c.layers - 1; l >= 0; l--) {
    const a = ws.acts[l] as LayerActs
    const L = m.layers[l] as LayerParams
    const G = g.model?.layers[l]
    // MLP: out = xmid + W2·ReLU(W1·h2).
    linearBack(
      ws,
      a.m,
      L.w2,
      ws.dres,
      ws.dao,
      false,
      G?.w2,
      N,
      f,
      d,
      pair(l, 'w2'),
      dPair(l, 'w2'),
      scale,
      a.us.get('w2'),
      rank,
    )
    for (let i = 0; i < N * f; i++) ws.dz[i] = (a.z[i] as number) > 0 ? (ws.dao[i] as number) : 0
    linearBack(
      ws,
      a.h2,
      L.w1,
      ws.dz,
      ws.dh,
      false,
      G?.w1,
      N,
      d,
      f,
      pair(l, 'w1'),
      dPair(l, 'w1'),
      scale,
      a.us.get('w1'),
      rank,
    )
    rmsnormBack(a.xmid, L.norm2, a.r2, ws.dh, ws.dres, G?.norm2, N, d, ws.row64)
    // Attention: xmid = xin + Wo·attn.
    linearBack(
      ws,
      a.ao,
      L.wo,
      ws.dres,
      ws.dao,
      false,
      G?.wo,
      N,
      d,
      d,
      pair(l, 'wo'),
      dPair(l, 'wo'),
      scale,
      a.us.get('wo'),
      rank,
    )
    attentionBack(ws, a)
    linearBack(
      ws,
      a.h1,
      L.wq,
      ws.dq,
      ws.dh,
      false,
      G?.wq,
      N,
      d,
      d,
      pair(l, 'wq'),
      dPair(l, 'wq'),
      scale,
      a.us.get('wq'),
      rank,
    )
    linearBack(
      ws,
      a.h1,
      L.wk,
      ws.dk,
      ws.dh,
      true,
      G?.wk,
      N,
      d,
      d,
      pair(l, 'wk'),
      dPair(l, 'wk'),
      scale,
      a.us.get('wk'),
      rank,
    )
    linearBack(
      ws,
      a.h1,
      L.wv,
      ws.dv,
      ws.dh,
      true,
      G?.wv,
      N,
      d,
      d,
      pair(l, 'wv'),
      dPair(l, 'wv'),
      scale,
      a.us.get('wv'),
      rank,
    )
    rmsnormBack(a.xin, L.norm1, a.r1, ws.dh, ws.dres, G?.norm1, N, d, ws.row64)
  }
  if (g.model !== undefined) {
    for (let n = 0; n < N; n++) {
      const to = (tokens[n] as number) * d
      const po = (n % T) * d
      for (let i = 0; i < d; i++) {
        const v = ws.dres[n * d + i] as number
        g.model.tok[to + i] = (g.model.tok[to + i] as number) + v
        g.model.pos[po + i] = (g.model.pos[po + i] as number) + v
      }
    }
  }
  return { loss, count }
}
