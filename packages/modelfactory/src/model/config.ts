/**
 * Shape of the decoder-only transformer `ol-tfm-v1` and of its LoRA adapters, and the parameter
 * layout: every tensor is a view into one Float32Array, in a fixed documented order, so that
 * checkpoints, optimiser state and gradients share one flat layout.
 */
import { Rng } from '../math/rng.ts'
import { sqrt64 } from '../math/scalar.ts'

export const MODEL_FORMAT = 'ol-tfm-v1'

export interface ModelConfig {
  /** Vocabulary: 256 byte values + 1 separator (`SEPARATOR_TOKEN`). */
  vocab: number
  /** Context length in tokens (positions 0 … context−1). */
  context: number
  dim: number
  heads: number
  layers: number
  /** Width of the feed-forward block. */
  hidden: number
}

export const PRESETS = {
  /** For tests: pre-trains in a few seconds. */
  micro: { vocab: 257, context: 32, dim: 32, heads: 2, layers: 1, hidden: 64 },
  /** `openledger model base train --preset tiny`: ~0.12 M parameters. */
  tiny: { vocab: 257, context: 64, dim: 64, heads: 4, layers: 2, hidden: 256 },
  /** ~0.8 M parameters. */
  small: { vocab: 257, context: 128, dim: 128, heads: 8, layers: 4, hidden: 512 },
} as const satisfies Record<string, ModelConfig>

export type PresetName = keyof typeof PRESETS

export function checkConfig(c: ModelConfig): ModelConfig {
  const ints: (keyof ModelConfig)[] = ['vocab', 'context', 'dim', 'heads', 'layers', 'hidden']
  for (const k of ints) {
    const v = c[k]
    if (!Number.isInteger(v) || v < 1 || v > 65_536) throw new RangeError(`model config: bad ${k}`)
  }
  if (c.vocab < 257) throw new RangeError('model config: vocab must hold the 256 bytes and the separator')
  if (c.dim % c.heads !== 0) throw new RangeError('model config: dim must be a multiple of heads')
  if (c.layers > 64 || c.context > 4096) throw new RangeError('model config: too large')
  return c
}

/** Projections a LoRA adapter may adapt (per layer). */
export const LORA_TARGETS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2'] as const
export type LoraTarget = (typeof LORA_TARGETS)[number]

export interface LoraConfig {
  rank: number
  alpha: number
  targets: LoraTarget[]
}

export function checkLoraConfig(l: LoraConfig, m: ModelConfig): LoraConfig {
  if (!Number.isInteger(l.rank) || l.rank < 1 || l.rank > Math.min(m.dim, 256)) {
    throw new RangeError(`LoRA rank must be an integer in [1, ${Math.min(m.dim, 256)}]`)
  }
  if (!Number.isInteger(l.alpha) || l.alpha < 1 || l.alpha > 65_535) {
    throw new RangeError('LoRA alpha must be an integer in [1, 65535]')
  }
  if (l.targets.length === 0 || new Set(l.targets).size !== l.targets.length) {
    throw new RangeError('LoRA targets must be a non-empty list without repeats')
  }
  for (const t of l.targets)
    if (!LORA_TARGETS.includes(t)) throw new RangeError(`LoRA target ${t} is not one of ${LORA_TARGETS}`)
  return { rank: l.rank, alpha: l.alpha, targets: LORA_TARGETS.filter((t) => l.targets.includes(t)) }
}

/** [out, in] of a projection (weights are stored out × in, as y = x·Wᵀ). */
export function projectionShape(c: ModelConfig, t: LoraTarget): [number, number] {
  if (t === 'w1') return [c.hidden, c.dim]
  if (t === 'w2') return [c.dim, c.hidden]
  return [c.dim, c.dim]
}

export interface TensorSpec {
  name: string
  shape: number[]
  offset: number
  size: number
}

export interface LayerParams {
  norm1: Float32Array
  wq: Float32Array
  wk: Float32Array
  wv: Float32Array
  wo: Float32Array
  norm2: Float32Array
  w1: Float32Array
  w2: Float32Array
}

export interface ModelTensors {
  tok: Float32Array
  pos: Float32Array
  layers: LayerParams[]
  normf: Float32Array
}

/** Tensor order of a model: tok, pos, then per layer norm1 wq wk wv wo norm2 w1 w2, then normf. */
export function modelTensorSpecs(c: ModelConfig): TensorSpec[] {
  const specs: TensorSpec[] = []
  let offset = 0
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1)
    specs.push({ name, shape, offset, size })
    offset += size
  }
  add('tok', [c.vocab, c.dim])
  add('pos', [c.context, c.dim])
  for (let l = 0; l < c.layers; l++) {
    add(`layers.${l}.norm1`, [c.dim])
    for (const w of ['wq', 'wk', 'wv', 'wo'] as const) add(`layers.${l}.${w}`, projectionShape(c, w))
    add(`layers.${l}.norm2`, [c.dim])
    add(`layers.${l}.w1`, projectionShape(c, 'w1'))
    add(`layers.${l}.w2`, projectionShape(c, 'w2'))
  }
  add('normf', [c.dim])
  return specs
}

export function parameterCount(specs: readonly TensorSpec[]): number {
  const last = specs[specs.length - 1]
  return last === undefined ? 0 : last.offset + last.size
}

/** Views of a flat buffer laid out by `modelTensorSpecs`. */
export function modelViews(c: ModelConfig, data: Float32Array): ModelTensors {
  const specs = modelTensorSpecs(c)
  if (data.length !== parameterCount(specs)) throw new RangeError('parameter buffer has the wrong size')
  const by = new Map(specs.map((s) => [s.name, data.subarray(s.offset, s.offset + s.size)]))
  const get = (n: string) => by.get(n) as Float32Array
  return {
    tok: get('tok'),
    pos: get('pos'),
    layers: Array.from({ length: c.layers }, (_, l) => ({
      norm1: get(`layers.${l}.norm1`),
      wq: get(`layers.${l}.wq`),
      wk: get(`layers.${l}.wk`),
      wv: get(`layers.${l}.wv`),
      wo: get(`layers.${l}.wo`),
      norm2: get(`layers.${l}.norm2`),
      w1: get(`layers.${l}.w1`),
      w2: get(`layers.${l}.w2`),
    })),
    normf: get('normf'),
  }
}

const SQRT3 = 1.7320508075688772

/** Uniform in (−a, a) with standard deviation `std` (a = std·√3). */
function fillUniform(t: Float32Array, std: number, rng: Rng): void {
  const a = std * SQRT3
  for (let i = 0; i < t.length; i++) t[i] = (2 * rng.float() - 1) * a
}

/**
 * Initial parameters for a seed: norms at 1, everything else uniform with std 0.02 (GPT-2's), the
 * residual-branch outputs (wo, w2) scaled down by √(2·layers). Tensors are filled in layout order
 * from one stream, so the same seed always gives the same bits.
 */
export function initModel(c: ModelConfig, seed: bigint): Float32Array {
  const specs = modelTensorSpecs(c)
  const data = new Float32Array(parameterCount(specs))
  const rng = new Rng(seed, 'init')
  const residual = 0.02 / sqrt64(2 * c.layers)
  for (const s of specs) {
    const view = data.subarray(s.offset, s.offset + s.size)
    if (s.name.endsWith('norm1') || s.name.endsWith('norm2') || s.name === 'normf') view.fill(1)
    else fillUniform(view, s.name.endsWith('.wo') || s.name.endsWith('.w2') ? residual : 0.02, rng)
  }
  return data
}

export interface LoraPair {
  /** [rank, in] */
  A: Float32Array
  /** [out, rank] */
  B: Float32Array
  in: number
  out: number
}

/** Adapter tensor order: per layer, per target in LORA_TARGETS order, A then B. */
export function loraTensorSpecs(c: ModelConfig, l: LoraConfig): TensorSpec[] {
  const specs: TensorSpec[] = []
  let offset = 0
  for (let layer = 0; layer < c.layers; layer++) {
    for (const t of l.targets) {
      const [out, inp] = projectionShape(c, t)
      for (const [part, shape] of [
        ['A', [l.rank, inp]],
        ['B', [out, l.rank]],
      ] as const) {
        const size = shape[0] * shape[1]
        specs.push({ name: `layers.${layer}.${t}.${part}`, shape: [...shape], offset, size })
        offset += size
      }
    }
  }
  return specs
}

/** Per layer: target → its A/B views. */
export type LoraViews = Map<LoraTarget, LoraPair>[]

export function loraViews(c: ModelConfig, l: LoraConfig, data: Float32Array): LoraViews {
  const specs = loraTensorSpecs(c, l)
  if (data.length !== parameterCount(specs)) throw new RangeError('adapter buffer has the wrong size')
  const out: LoraViews = Array.from({ length: c.layers }, () => new Map())
  for (let layer = 0; layer < c.layers; layer++) {
    for (const t of l.targets) {
      const a = specs.find((s) => s.name === `layers.${layer}.${t}.A`) as TensorSpec
      const b = specs.find((s) => s.name === `layers.${layer}.${t}.B`) as TensorSpec
      const [o, i] = projectionShape(c, t)
      ;(out[layer] as Map<LoraTarget, LoraPair>).set(t, {
        A: data.subarray(a.offset, a.offset + a.size),
        B: data.subarray(b.offset, b.offset + b.size),
        in: i,
        out: o,
      })
    }
  }
  return out
}

/** A adapter at initialisation: A uniform with bound 1/√in (Kaiming-uniform), B zero, so the
 * adapted model starts exactly equal to the base. */
export function initLora(c: ModelConfig, l: LoraConfig, seed: bigint): Float32Array {
  const specs = loraTensorSpecs(c, l)
  const data = new Float32Array(parameterCount(specs))
  const rng = new Rng(seed, 'lora-init')
  for (const s of specs) {
    if (!s.name.endsWith('.A')) continue
    const bound = 1 / sqrt64(s.shape[1] as number)
    const view = data.subarray(s.offset, s.offset + s.size)
    for (let i = 0; i < view.length; i++) view[i] = (2 * rng.float() - 1) * bound
  }
  return data
}

/** The LoRA scaling α/r as the float32 the kernels multiply by. */
export function loraScale(l: LoraConfig): number {
  return Math.fround(l.alpha / l.rank)
}
