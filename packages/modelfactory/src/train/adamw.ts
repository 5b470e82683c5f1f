/**
 * AdamW with global gradient-norm clipping, in a fixed element order with binary64 arithmetic per
 * element (moments stored as float32). Bias corrections use running products of β, not Math.pow.
 */
import { sqrt64 } from '../math/scalar.ts'

export interface AdamWConfig {
  beta1: number
  beta2: number
  eps: number
  weightDecay: number
  /** Clip the global gradient norm to this value (0: no clipping). */
  clip: number
}

export const DEFAULT_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clip: 1 }

export class AdamW {
  readonly m: Float32Array
  readonly v: Float32Array
  private b1t = 1
  private b2t = 1
  steps = 0

  constructor(
    readonly size: number,
    readonly cfg: AdamWConfig,
    /** 1 where weight decay applies (matrices), 0 elsewhere (norm gains); all 1 when omitted. */
    readonly decayMask?: Uint8Array,
  ) {
    this.m = new Float32Array(size)
    this.v = new Float32Array(size)
  }

  /** Global L2 norm of the gradient (binary64 sum in index order). */
  static norm(g: Float32Array): number {
    let s = 0
    for (let i = 0; i < g.length; i++) {
      const x = g[i] as number
      s += x * x
    }
    return sqrt64(s)
  }

  /** One update of `params` with gradient `g` at learning rate `lr`; returns the gradient norm
   * before clipping. */
  step(params: Float32Array, g: Float32Array, lr: number): number {
    const { beta1, beta2, eps, weightDecay, clip } = this.cfg
    const norm = AdamW.norm(g)
    if (!Number.isFinite(norm)) throw new Error('gradient is not finite (training diverged)')
    const gs = clip > 0 && norm > clip ? clip / norm : 1
    this.steps++
    this.b1t *= beta1
    this.b2t *= beta2
    const c1 = 1 / (1 - this.b1t)
    const c2 = 1 / (1 - this.b2t)
    const mask = this.decayMask
    for (let i = 0; i < params.length; i++) {
      const gi = (g[i] as number) * gs
      const mi = beta1 * (this.m[i] as number) + (1 - beta1) * gi
      const vi = beta2 * (this.v[i] as number) + (1 - beta2) * gi * gi
      this.m[i] = mi
      this.v[i] = vi
      const p = params[i] as number
      const update = (mi * c1) / (sqrt64(vi * c2) + eps)
      const decay = mask === undefined || mask[i] === 1 ? weightDecay * p : 0
      params[i] = p - lr * (update + decay)
    }
    return norm
  }
}

/** Linear warm-up over `warmup` steps, then linear decay to 10% of `lr` at `total`. */
export function learningRate(step: number, total: number, lr: number, warmup: number): number {
  if (step < warmup) return (lr * (step + 1)) / warmup
  const span = Math.max(1, total - warmup)
  const frac = Math.min(1, (step - warmup) / span)
  return lr * (1 - 0.9 * frac)
}
