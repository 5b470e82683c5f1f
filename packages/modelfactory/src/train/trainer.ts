/**
 * Training loops: pre-training of the whole model and LoRA fine-tuning of an adapter over a frozen
 * base, plus held-out evaluation. Single-threaded and synchronous; everything random comes from
 * `Rng(seed, stream)`, so (config, data, seed) fixes every bit of the result.
 */
import { Rng } from '../math/rng.ts'
import { exp64 } from '../math/scalar.ts'
import {
  initLora,
  initModel,
  type LoraConfig,
  loraTensorSpecs,
  loraViews,
  type ModelConfig,
  modelTensorSpecs,
  modelViews,
} from '../model/config.ts'
import { type Adapter, forwardBackward, Workspace } from '../model/transformer.ts'
import { AdamW, type AdamWConfig, DEFAULT_ADAMW, learningRate } from './adamw.ts'
import { type Batch, evalBatches, sampleBatch } from './data.ts'

export interface TrainOptions {
  steps: number
  /** Sequences per step. */
  batch: number
  /** Tokens per sequence (default: the model's context). */
  seq?: number
  lr: number
  warmup: number
  seed: bigint
  adamw?: Partial<AdamWConfig>
}

export interface StepReport {
  step: number
  steps: number
  loss: number
  lr: number
  gradNorm: number
  tokens: number
}

export type OnStep = (r: StepReport) => void

function checkOptions(o: TrainOptions, c: ModelConfig): number {
  if (!Number.isInteger(o.steps) || o.steps < 1 || o.steps > 10_000_000)
    throw new RangeError('steps must be ≥ 1')
  if (!Number.isInteger(o.batch) || o.batch < 1 || o.batch > 4096)
    throw new RangeError('batch must be in [1, 4096]')
  const seq = o.seq ?? c.context
  if (!Number.isInteger(seq) || seq < 2 || seq > c.context) {
    throw new RangeError(`sequence length must be in [2, ${c.context}]`)
  }
  if (!(o.lr > 0 && o.lr < 1)) throw new RangeError('learning rate must be in (0, 1)')
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new RangeError('warmup must be ≥ 0')
  return seq
}

/** Weight decay on matrices and embeddings, not on the norm gains. */
function modelDecayMask(c: ModelConfig): Uint8Array {
  const specs = modelTensorSpecs(c)
  const total = specs.reduce((s, t) => s + t.size, 0)
  const mask = new Uint8Array(total)
  for (const s of specs) if (s.shape.length === 2) mask.fill(1, s.offset, s.offset + s.size)
  return mask
}

/** Pre-trains a model from its seeded initialisation; returns the parameters. */
export function pretrain(
  c: ModelConfig,
  stream: Uint16Array,
  o: TrainOptions,
  onStep?: OnStep,
  init?: Float32Array,
): Float32Array {
  const T = checkOptions(o, c)
  const params = init ?? initModel(c, o.seed)
  const grad = new Float32Array(params.length)
  const m = modelViews(c, params)
  const g = modelViews(c, grad)
  const ws = new Workspace(c, o.batch, T)
  const opt = new AdamW(params.length, { ...DEFAULT_ADAMW, ...o.adamw }, modelDecayMask(c))
  const rng = new Rng(o.seed, 'batches')
  const batch: Batch = { tokens: new Int32Array(o.batch * T), targets: new Int32Array(o.batch * T) }
  for (let step = 0; step < o.steps; step++) {
    sampleBatch(stream, o.batch, T, rng, batch)
    grad.fill(0)
    const { loss, count } = forwardBackward(ws, m, batch.tokens, batch.targets, undefined, { model: g })
    const lr = learningRate(step, o.steps, o.lr, o.warmup)
    const gradNorm = opt.step(params, grad, lr)
    onStep?.({ step: step + 1, steps: o.steps, loss, lr, gradNorm, tokens: count })
  }
  return params
}

/** Trains a LoRA adapter over the frozen base `params`; returns the adapter parameters. */
export function finetuneLora(
  c: ModelConfig,
  params: Float32Array,
  lora: LoraConfig,
  stream: Uint16Array,
  o: TrainOptions,
  onStep?: OnStep,
): Float32Array {
  const T = checkOptions(o, c)
  const m = modelViews(c, params)
  const data = initLora(c, lora, o.seed)
  const grad = new Float32Array(data.length)
  const adapter: Adapter = { config: lora, views: loraViews(c, lora, data) }
  const g = loraViews(c, lora, grad)
  const ws = new Workspace(c, o.batch, T, lora)
  // No weight decay by default: it would pull the adapter towards zero, i.e. towards the base.
  const opt = new AdamW(data.length, { ...DEFAULT_ADAMW, weightDecay: 0, ...o.adamw })
  const rng = new Rng(o.seed, 'batches')
  const batch: Batch = { tokens: new Int32Array(o.batch * T), targets: new Int32Array(o.batch * T) }
  if (loraTensorSpecs(c, lora).length === 0) throw new RangeError('the adapter has no tensors')
  for (let step = 0; step < o.steps; step++) {
    sampleBatch(stream, o.batch, T, rng, batch)
    grad.fill(0)
    const { loss, count } = forwardBackward(ws, m, batch.tokens, batch.targets, adapter, { lora: g })
    const lr = learningRate(step, o.steps, o.lr, o.warmup)
    const gradNorm = opt.step(data, grad, lr)
    onStep?.({ step: step + 1, steps: o.steps, loss, lr, gradNorm, tokens: count })
  }
  return data
}

export interface Evaluation {
  /** Mean cross-entropy per predicted token, in nats. */
  loss: number
  /** e^loss. */
  perplexity: number
  /** Predicted tokens scored. */
  tokens: number
}

/** Mean loss over every next-token prediction of `stream` (deterministic). */
export function evaluate(
  c: ModelConfig,
  params: Float32Array,
  stream: Uint16Array,
  adapter?: { config: LoraConfig; data: Float32Array },
  batch = 8,
): Evaluation {
  if (stream.length < 2) throw new RangeError('evaluation stream needs at least 2 tokens')
  const m = modelViews(c, params)
  const ad = adapter && { config: adapter.config, views: loraViews(c, adapter.config, adapter.data) }
  const T = c.context
  const ws = new Workspace(c, batch, T, adapter?.config)
  let total = 0
  let tokens = 0
  for (const b of evalBatches(stream, batch, T)) {
    const { loss, count } = forwardBackward(ws, m, b.tokens, b.targets, ad)
    total += loss * count
    tokens += count
  }
  const loss = total / tokens
  return { loss, perplexity: exp64(loss), tokens }
}
