/**
 * Training recipes and their canonical JSON: what a training config file (whose keccak256 is
 * registered on chain as `trainingConfigHash`) contains, and how it is parsed back for `verify`.
 * Only what determines the result is in a config: no paths, host names or times.
 */
import { ArtifactError, canonicalJson } from '../artifact/format.ts'
import { type Hex, isHash } from '../artifact/hash.ts'
import {
  checkConfig,
  checkLoraConfig,
  type LoraConfig,
  MODEL_FORMAT,
  type ModelConfig,
  PRESETS,
  type PresetName,
} from '../model/config.ts'
import { TOKENIZER } from '../train/data.ts'

export const TRAINER_ID = 'openledger-modelfactory/1'
/** How datanet records are split: the last ⌊len/10⌋ bytes of every record are held out. */
export const SPLIT_RULE = 'record-tail-10pct'

export interface Schedule {
  steps: number
  batch: number
  seq: number
  lr: number
  warmup: number
  seed: string
}

export interface BaseRecipe extends Schedule {
  preset: string
  model: ModelConfig
}

export interface BaseTrainingConfig {
  trainer: string
  kind: 'base'
  format: string
  tokenizer: string
  preset: string
  model: ModelConfig
  corpus: { id: string; hash: Hex; documents: number; heldOutDocuments: number }
  optimizer: { name: 'adamw'; beta1: number; beta2: number; eps: number; weightDecay: number; clip: number }
  schedule: Schedule
}

export interface DatanetVersion {
  datanetId: string
  version: string
  /** Merkle root of the version, as published on chain. */
  root: Hex
  count: string
}

export interface AdapterTrainingConfig {
  trainer: string
  kind: 'lora'
  format: string
  tokenizer: string
  base: { artifactHash: Hex; model: ModelConfig }
  datanets: DatanetVersion[]
  split: string
  lora: LoraConfig
  optimizer: { name: 'adamw'; beta1: number; beta2: number; eps: number; weightDecay: number; clip: number }
  schedule: Schedule
}

export const BASE_RECIPES: Record<PresetName, Omit<BaseRecipe, 'preset' | 'model'>> = {
  micro: { steps: 150, batch: 8, seq: 32, lr: 3e-3, warmup: 15, seed: '1' },
  tiny: { steps: 1200, batch: 16, seq: 64, lr: 3e-3, warmup: 100, seed: '1' },
  small: { steps: 4000, batch: 16, seq: 128, lr: 2e-3, warmup: 200, seed: '1' },
}

export function baseRecipe(preset: PresetName, overrides: Partial<Schedule> = {}): BaseRecipe {
  const r = BASE_RECIPES[preset]
  if (r === undefined) throw new RangeError(`unknown preset ${preset}: ${Object.keys(PRESETS).join(', ')}`)
  return { preset, model: { ...PRESETS[preset] }, ...r, ...overrides }
}

export const DEFAULT_LORA: LoraConfig = { rank: 4, alpha: 8, targets: ['wq', 'wv', 'wo', 'w1', 'w2'] }
export const DEFAULT_ADAPTER_SCHEDULE: Omit<Schedule, 'seq'> = {
  steps: 200,
  batch: 8,
  lr: 1e-2,
  warmup: 10,
  seed: '1',
}

export function configBytes(c: BaseTrainingConfig | AdapterTrainingConfig): Uint8Array {
  return new TextEncoder().encode(`${canonicalJson(c)}\n`)
}

function bad(msg: string): never {
  throw new ArtifactError(`training config: ${msg}`)
}

function num(o: Record<string, unknown>, k: string, integer = false): number {
  const v = o[k]
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v)))
    bad(`${k} must be a number`)
  return v
}

function parseSchedule(v: unknown): Schedule {
  if (v === null || typeof v !== 'object') bad('schedule missing')
  const o = v as Record<string, unknown>
  if (typeof o.seed !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(o.seed) || BigInt(o.seed) >= 1n << 64n) {
    bad('seed must be a decimal string below 2^64')
  }
  return {
    steps: num(o, 'steps', true),
    batch: num(o, 'batch', true),
    seq: num(o, 'seq', true),
    lr: num(o, 'lr'),
    warmup: num(o, 'warmup', true),
    seed: o.seed,
  }
}

function parseModel(v: unknown): ModelConfig {
  if (v === null || typeof v !== 'object') bad('model config missing')
  const o = v as Record<string, unknown>
  try {
    return checkConfig({
      vocab: num(o, 'vocab', true),
      context: num(o, 'context', true),
      dim: num(o, 'dim', true),
      heads: num(o, 'heads', true),
      layers: num(o, 'layers', true),
      hidden: num(o, 'hidden', true),
    })
  } catch (e) {
    return bad((e as Error).message)
  }
}

function parseOptimizer(v: unknown): AdapterTrainingConfig['optimizer'] {
  if (v === null || typeof v !== 'object' || (v as { name?: unknown }).name !== 'adamw')
    bad('optimizer must be adamw')
  const o = v as Record<string, unknown>
  return {
    name: 'adamw',
    beta1: num(o, 'beta1'),
    beta2: num(o, 'beta2'),
    eps: num(o, 'eps'),
    weightDecay: num(o, 'weightDecay'),
    clip: num(o, 'clip'),
  }
}

/**
 * Parses a training config file (either kind) and checks it is in canonical form, so the bytes
 * whose hash is on chain are exactly `configBytes(parsed)`.
 */
export function parseTrainingConfig(bytes: Uint8Array): BaseTrainingConfig | AdapterTrainingConfig {
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>
  } catch {
    return bad('not UTF-8 JSON')
  }
  if (raw === null || typeof raw !== 'object') bad('not an object')
  if (raw.trainer !== TRAINER_ID) bad(`trainer must be ${TRAINER_ID}`)
  if (raw.format !== MODEL_FORMAT || raw.tokenizer !== TOKENIZER) bad('unsupported format or tokenizer')
  let parsed: BaseTrainingConfig | AdapterTrainingConfig
  if (raw.kind === 'base') {
    const corpus = raw.corpus as Record<string, unknown>
    if (
      corpus === null ||
      typeof corpus !== 'object' ||
      typeof corpus.id !== 'string' ||
      !isHash(String(corpus.hash))
    ) {
      bad('corpus must name an id and a hash')
    }
    parsed = {
      trainer: TRAINER_ID,
      kind: 'base',
      format: MODEL_FORMAT,
      tokenizer: TOKENIZER,
      preset: String(raw.preset),
      model: parseModel(raw.model),
      corpus: {
        id: corpus.id as string,
        hash: corpus.hash as Hex,
        documents: num(corpus, 'documents', true),
        heldOutDocuments: num(corpus, 'heldOutDocuments', true),
      },
      optimizer: parseOptimizer(raw.optimizer),
      schedule: parseSchedule(raw.schedule),
    }
  } else if (raw.kind === 'lora') {
    const base = raw.base as Record<string, unknown>
    if (base === null || typeof base !== 'object' || !isHash(String(base.artifactHash)))
      bad('base.artifactHash missing')
    const model = parseModel(base.model)
    const l = raw.lora as Record<string, unknown>
    if (l === null || typeof l !== 'object' || !Array.isArray(l.targets)) bad('lora config missing')
    let lora: LoraConfig
    try {
      lora = checkLoraConfig(
        {
          rank: num(l, 'rank', true),
          alpha: num(l, 'alpha', true),
          targets: l.targets as LoraConfig['targets'],
        },
        model,
      )
    } catch (e) {
      return bad((e as Error).message)
    }
    if (!Array.isArray(raw.datanets) || raw.datanets.length === 0) bad('datanets missing')
    const datanets = (raw.datanets as Record<string, unknown>[]).map((d) => {
      if (
        d === null ||
        typeof d !== 'object' ||
        typeof d.datanetId !== 'string' ||
        typeof d.version !== 'string' ||
        typeof d.count !== 'string' ||
        !isHash(String(d.root))
      ) {
        bad('datanets entries need datanetId, version, root, count')
      }
      return { datanetId: d.datanetId, version: d.version, root: d.root as Hex, count: d.count }
    })
    if (raw.split !== SPLIT_RULE) bad(`split must be ${SPLIT_RULE}`)
    parsed = {
      trainer: TRAINER_ID,
      kind: 'lora',
      format: MODEL_FORMAT,
      tokenizer: TOKENIZER,
      base: { artifactHash: base.artifactHash as Hex, model },
      datanets,
      split: SPLIT_RULE,
      lora,
      optimizer: parseOptimizer(raw.optimizer),
      schedule: parseSchedule(raw.schedule),
    }
  } else {
    return bad('kind must be base or lora')
  }
  const canonical = configBytes(parsed)
  if (canonical.length !== bytes.length || canonical.some((b, i) => b !== bytes[i]))
    bad('not in canonical form')
  return parsed
}
