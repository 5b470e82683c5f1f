/**
 * The two ModelFactory jobs as pure functions of their inputs: pre-training a base model on the
 * public corpus, and fine-tuning a LoRA adapter on datanet records. Each returns the artifact, the
 * training config and the training log (all canonical bytes) and their keccak256 hashes — what is
 * registered on chain, and what `verify` recomputes.
 */
import {
  type AdapterCheckpoint,
  type BaseCheckpoint,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../artifact/format.ts'
import { type Hex, keccakHex } from '../artifact/hash.ts'
import type { PretrainCorpus } from '../corpus/sotu.ts'
import { checkLoraConfig, type LoraConfig } from '../model/config.ts'
import { DEFAULT_ADAMW } from '../train/adamw.ts'
import { buildStream } from '../train/data.ts'
import { evaluate, finetuneLora, type OnStep, pretrain, type StepReport } from '../train/trainer.ts'
import {
  type AdapterTrainingConfig,
  type BaseRecipe,
  type BaseTrainingConfig,
  configBytes,
  type DatanetVersion,
  type Schedule,
  SPLIT_RULE,
  TRAINER_ID,
} from './recipes.ts'

/** Held-out tokens scored after pre-training (the first ones of the held-out documents). */
export const BASE_EVAL_TOKENS = 16_384

export interface TrainedArtifact<C, K> {
  checkpoint: K
  artifact: Uint8Array
  artifactHash: Hex
  config: C
  configBytes: Uint8Array
  configHash: Hex
  log: Uint8Array
  logHash: Hex
}

export interface TrainedBase extends TrainedArtifact<BaseTrainingConfig, BaseCheckpoint> {
  heldOutLoss: number
}

export interface TrainedAdapter extends TrainedArtifact<AdapterTrainingConfig, AdapterCheckpoint> {
  heldOutLossBase: number
  heldOutLossAdapter: number
  /** Loss of every step (mean cross-entropy of its batch, nats per byte). */
  losses: number[]
  trainTokens: number
  heldOutTokens: number
}

const optimizerOf = (weightDecay: number) => ({
  name: 'adamw' as const,
  beta1: DEFAULT_ADAMW.beta1,
  beta2: DEFAULT_ADAMW.beta2,
  eps: DEFAULT_ADAMW.eps,
  weightDecay,
  clip: DEFAULT_ADAMW.clip,
})

function jsonl(lines: unknown[]): Uint8Array {
  return new TextEncoder().encode(lines.map((l) => `${JSON.stringify(l)}\n`).join(''))
}

/** Step lines of a training log: every `every` steps and the last one. Fixed decimals keep the
 * log short; the numbers themselves are deterministic, so the log hash is too. */
function stepLogger(steps: number, lines: unknown[], losses: number[], onStep?: OnStep): OnStep {
  const every = Math.max(1, Math.floor(steps / 100))
  return (r: StepReport) => {
    losses.push(r.loss)
    if (r.step % every === 0 || r.step === r.steps) {
      lines.push({
        event: 'step',
        step: r.step,
        loss: r.loss.toFixed(6),
        lr: r.lr.toExponential(4),
        gradNorm: r.gradNorm.toFixed(4),
      })
    }
    onStep?.(r)
  }
}

function trainOptions(s: Schedule) {
  return { steps: s.steps, batch: s.batch, seq: s.seq, lr: s.lr, warmup: s.warmup, seed: BigInt(s.seed) }
}

export function trainBase(recipe: BaseRecipe, corpus: PretrainCorpus, onStep?: OnStep): TrainedBase {
  const schedule: Schedule = {
    steps: recipe.steps,
    batch: recipe.batch,
    seq: recipe.seq,
    lr: recipe.lr,
    warmup: recipe.warmup,
    seed: recipe.seed,
  }
  const config: BaseTrainingConfig = {
    trainer: TRAINER_ID,
    kind: 'base',
    format: 'ol-tfm-v1',
    tokenizer: 'ol-bytes-v1',
    preset: recipe.preset,
    model: recipe.model,
    corpus: {
      id: corpus.id,
      hash: corpus.hash,
      documents: corpus.train.length + corpus.heldOut.length,
      heldOutDocuments: corpus.heldOut.length,
    },
    optimizer: optimizerOf(DEFAULT_ADAMW.weightDecay),
    schedule,
  }
  const train = buildStream(corpus.train.map((d) => d.bytes))
  const heldOut = buildStream(corpus.heldOut.map((d) => d.bytes)).subarray(0, BASE_EVAL_TOKENS + 1)
  const lines: unknown[] = [
    { event: 'start', trainer: TRAINER_ID, kind: 'base', corpus: corpus.hash, trainTokens: train.length },
  ]
  const params = pretrain(
    recipe.model,
    train,
    trainOptions(schedule),
    stepLogger(schedule.steps, lines, [], onStep),
  )
  const heldOutLoss = evaluate(recipe.model, params, heldOut).loss
  const checkpoint: BaseCheckpoint = { kind: 'base', config: recipe.model, params }
  const artifact = encodeCheckpoint(checkpoint)
  const artifactHash = keccakHex(artifact)
  lines.push({
    event: 'end',
    heldOutLoss: heldOutLoss.toFixed(6),
    heldOutTokens: heldOut.length - 1,
    artifactHash,
    artifactBytes: artifact.length,
  })
  const cb = configBytes(config)
  const log = jsonl(lines)
  return {
    checkpoint,
    artifact,
    artifactHash,
    config,
    configBytes: cb,
    configHash: keccakHex(cb),
    log,
    logHash: keccakHex(log),
    heldOutLoss,
  }
}

/** A datanet record as rebuilt from the chain. */
export interface TrainingRecord {
  datanetId: bigint
  contributionId: bigint
  contentHash: Hex
  bytes: Uint8Array
}

/** Records in canonical order (datanet id, contribution id), split by SPLIT_RULE. */
export function splitRecords(records: readonly TrainingRecord[]): {
  train: Uint16Array
  heldOut: Uint16Array
  sorted: TrainingRecord[]
} {
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
  const train: Uint8Array[] = []
  const held: Uint8Array[] = []
  for (const r of sorted) {
    const cut = r.bytes.length - Math.floor(r.bytes.length / 10)
    train.push(r.bytes.subarray(0, cut))
    if (cut < r.bytes.length) held.push(r.bytes.subarray(cut))
  }
  return { train: buildStream(train), heldOut: buildStream(held), sorted }
}

export interface AdapterJob {
  /** The base checkpoint's artifact bytes (hash-checked by the caller against the chain). */
  baseArtifact: Uint8Array
  datanets: DatanetVersion[]
  records: readonly TrainingRecord[]
  lora: LoraConfig
  schedule: Omit<Schedule, 'seq'> & { seq?: number }
}

/** The training config an adapter job implies (what a job poster commits to by its hash). */
export function adapterConfig(job: Omit<AdapterJob, 'records'>): AdapterTrainingConfig {
  const base = decodeCheckpoint(job.baseArtifact)
  if (base.kind !== 'base') throw new RangeError('the base artifact is an adapter, not a base model')
  const lora = checkLoraConfig(job.lora, base.config)
  const seq = job.schedule.seq ?? base.config.context
  return {
    trainer: TRAINER_ID,
    kind: 'lora',
    format: 'ol-tfm-v1',
    tokenizer: 'ol-bytes-v1',
    base: { artifactHash: keccakHex(job.baseArtifact), model: base.config },
    datanets: [...job.datanets].sort((a, b) => (BigInt(a.datanetId) < BigInt(b.datanetId) ? -1 : 1)),
    split: SPLIT_RULE,
    lora,
    optimizer: optimizerOf(0),
    schedule: { ...job.schedule, seq },
  }
}

/** Fine-tunes the adapter a config describes on the given records. */
export function trainAdapter(
  config: AdapterTrainingConfig,
  baseArtifact: Uint8Array,
  records: readonly TrainingRecord[],
  onStep?: OnStep,
): TrainedAdapter {
  if (keccakHex(baseArtifact) !== config.base.artifactHash)
    throw new RangeError('base artifact does not match the config')
  const base = decodeCheckpoint(baseArtifact) as BaseCheckpoint
  const { train, heldOut, sorted } = splitRecords(records)
  if (train.length < config.schedule.seq + 1) {
    throw new RangeError(
      `the datanet records hold ${train.length} training tokens; at least ${config.schedule.seq + 1} are needed`,
    )
  }
  const lines: unknown[] = [
    { event: 'start', trainer: TRAINER_ID, kind: 'lora', base: config.base.artifactHash },
  ]
  for (const d of config.datanets) lines.push({ event: 'datanet', ...d })
  for (const r of sorted) {
    lines.push({
      event: 'record',
      datanetId: r.datanetId.toString(),
      contributionId: r.contributionId.toString(),
      contentHash: r.contentHash,
      bytes: r.bytes.length,
    })
  }
  const losses: number[] = []
  const data = finetuneLora(
    base.config,
    base.params,
    config.lora,
    train,
    { ...trainOptions(config.schedule), adamw: { weightDecay: config.optimizer.weightDecay } },
    stepLogger(config.schedule.steps, lines, losses, onStep),
  )
  const checkpoint: AdapterCheckpoint = {
    kind: 'lora',
    config: base.config,
    base: config.base.artifactHash,
    lora: config.lora,
    params: data,
  }
  const artifact = encodeCheckpoint(checkpoint)
  const artifactHash = keccakHex(artifact)
  let heldOutLossBase = Number.NaN
  let heldOutLossAdapter = Number.NaN
  if (heldOut.length >= 2) {
    heldOutLossBase = evaluate(base.config, base.params, heldOut).loss
    heldOutLossAdapter = evaluate(base.config, base.params, heldOut, { config: config.lora, data }).loss
  }
  lines.push({
    event: 'end',
    heldOutTokens: Math.max(0, heldOut.length - 1),
    heldOutLossBase: heldOutLossBase.toFixed(6),
    heldOutLossAdapter: heldOutLossAdapter.toFixed(6),
    artifactHash,
    artifactBytes: artifact.length,
  })
  const cb = configBytes(config)
  const log = jsonl(lines)
  return {
    checkpoint,
    artifact,
    artifactHash,
    config,
    configBytes: cb,
    configHash: keccakHex(cb),
    log,
    logHash: keccakHex(log),
    heldOutLossBase,
    heldOutLossAdapter,
    losses,
    trainTokens: train.length - 1,
    heldOutTokens: Math.max(0, heldOut.length - 1),
  }
}
