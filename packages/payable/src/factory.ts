/**
 * ModelFactory over the chain: pre-train and register a base model, fine-tune a LoRA adapter on
 * datanet versions rebuilt from chain data (Merkle roots checked) and register it with its training
 * spec, and `verify`: re-run a registered training from chain data alone and compare the hashes.
 * The training itself is @openledger/modelfactory's (deterministic); this file reads and writes the
 * chain and the artifact store.
 * Long file: base and adapter registration and `verify` share the chain reads and artifact checks kept here.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import {
  getTrainingSpec,
  MODELS,
  modelsAbi,
  getModelVersion as readVersion,
  registerAdapter,
  registerBaseModel,
} from '@openledger/attribution/sdk'
import {
  type AdapterTrainingConfig,
  type ArtifactStore,
  adapterConfig,
  type BaseTrainingConfig,
  decodeCheckpoint,
  keccakHex,
  type LoraConfig,
  MAX_ARTIFACT_BYTES,
  type Hex as MfHex,
  type OnStep,
  parseTrainingConfig,
  type Schedule,
  type TrainedAdapter,
  type TrainedBase,
  type TrainingRecord,
  trainAdapter,
} from '@openledger/modelfactory'
import { type Address, getAbiItem, type Hex, hexToBytes } from 'viem'
import { type ChainContext, findLog, requireWallet, sendAndWait } from './chain.ts'
import { type Corpus, type DatanetVersionRef, type ModelOnChain, readCorpus, readModel } from './corpus.ts'
import { describeChainError, PayableError } from './errors.ts'

export const TRAINING_KIND = { none: 0, base: 1, lora: 2 } as const
/** Default artifact store of the CLI (content-addressed; see docs/modelfactory.md). */
export const DEFAULT_STORE = '.openledger/artifacts'

export interface TrainingSpecOnChain {
  kind: number
  baseModelId: bigint
  rank: number
  alpha: number
  steps: number
  seed: bigint
}

/**
 * The bytes of an artifact: from the store, else from its URI (file: or http(s):), always checked
 * against the hash (and then kept in the store).
 */
export async function fetchArtifact(store: ArtifactStore, hash: Hex, uri: string): Promise<Uint8Array> {
  const h = hash.toLowerCase() as MfHex
  if (await store.has(h)) return store.get(h)
  let bytes: Uint8Array | undefined
  try {
    const url = new URL(uri)
    if (url.protocol === 'file:') bytes = new Uint8Array(await readFile(fileURLToPath(url)))
    else if (url.protocol === 'http:' || url.protocol === 'https:') {
      const res = await fetch(url, { signal: AbortSignal.timeout(120_000) })
      if (res.ok) {
        const declared = Number(res.headers.get('content-length') ?? 0)
        if (declared <= MAX_ARTIFACT_BYTES) bytes = new Uint8Array(await res.arrayBuffer())
      }
    }
  } catch {
    bytes = undefined
  }
  if (bytes === undefined) {
    throw new PayableError(
      `artifact ${hash} is not in the store ${store.dir} and could not be read from "${uri}"`,
    )
  }
  if (keccakHex(bytes) !== h)
    throw new PayableError(`artifact at ${uri} does not hash to the registered ${hash}`)
  await store.put(bytes)
  return bytes
}

export async function readSpec(
  ctx: ChainContext,
  modelId: bigint,
  version: number,
): Promise<TrainingSpecOnChain> {
  try {
    return await getTrainingSpec(ctx.client, { modelId, version })
  } catch (err) {
    throw new PayableError(`model ${modelId} version ${version}: ${describeChainError(err)}`)
  }
}

const specEvent = getAbiItem({ abi: modelsAbi, name: 'TrainingSpecRecorded' })

/** The training config bytes of a model version, from its TrainingSpecRecorded log. */
export async function readTrainingConfigBytes(
  ctx: ChainContext,
  modelId: bigint,
  version: number,
): Promise<Uint8Array> {
  const v = await readVersion(ctx.client, { modelId, version }).catch((err) => {
    throw new PayableError(`model ${modelId} version ${version}: ${describeChainError(err)}`)
  })
  const logs = await ctx.client.getLogs({
    address: MODELS,
    event: specEvent,
    args: { modelId, version },
    fromBlock: v.publishedAtBlock,
    toBlock: v.publishedAtBlock,
  })
  const log = logs[0]
  if (log === undefined)
    throw new PayableError(`model ${modelId} version ${version} has no recorded training spec`)
  return hexToBytes(log.args.config as Hex)
}

export interface BaseModelOnChain {
  model: ModelOnChain
  spec: TrainingSpecOnChain
  artifact: Uint8Array
}

/** A registered base model with its artifact (store or URI, hash-checked). */
export async function loadBaseModel(
  ctx: ChainContext,
  store: ArtifactStore,
  baseModelId: bigint,
): Promise<BaseModelOnChain> {
  const model = await readModel(ctx, baseModelId, 1)
  const spec = await readSpec(ctx, baseModelId, 1)
  if (spec.kind !== TRAINING_KIND.base)
    throw new PayableError(`model ${baseModelId} is not a registered base model`)
  const artifact = await fetchArtifact(store, model.artifactHash, model.artifactURI)
  return { model, spec, artifact }
}

export async function registerBaseOnChain(
  ctx: ChainContext,
  t: TrainedBase,
  o: { name: string; artifactURI: string },
): Promise<bigint> {
  const { wallet } = requireWallet(ctx)
  const mined = await sendAndWait(
    ctx,
    'registerBaseModel',
    registerBaseModel(wallet, {
      registration: {
        name: o.name,
        baseModel: `${t.config.format}/${t.config.preset}`,
        trainingConfigHash: t.configHash,
        trainingLogHash: t.logHash,
        artifactHash: t.artifactHash,
        artifactURI: o.artifactURI,
        steps: t.config.schedule.steps,
        seed: BigInt(t.config.schedule.seed),
        config: `0x${Buffer.from(t.configBytes).toString('hex')}`,
      },
    }),
  )
  return findLog(mined, 'ModelRegistered').modelId as bigint
}

function toRecords(corpus: Corpus): TrainingRecord[] {
  return corpus.datanets.flatMap((d) =>
    d.records.map((r) => ({
      datanetId: r.datanetId,
      contributionId: r.contributionId,
      contentHash: r.contentHash as MfHex,
      bytes: r.bytes,
    })),
  )
}

export interface AdapterRequest {
  baseModelId: bigint
  datanets: readonly DatanetVersionRef[]
  lora: LoraConfig
  schedule: Omit<Schedule, 'seq'> & { seq?: number }
  contentDir?: string
  onPhase?: (phase: string, detail?: string) => void
  onProgress?: (done: number, total: number) => void
}

/** What an adapter job needs: the base, the records rebuilt from chain, and the implied config. */
export async function prepareAdapterJob(
  ctx: ChainContext,
  store: ArtifactStore,
  r: AdapterRequest,
): Promise<{
  base: BaseModelOnChain
  corpus: Corpus
  records: TrainingRecord[]
  config: AdapterTrainingConfig
}> {
  if (r.datanets.length === 0) throw new PayableError('name at least one --datanet <id>@<version>')
  r.onPhase?.('base', `reading base model ${r.baseModelId}`)
  const base = await loadBaseModel(ctx, store, r.baseModelId)
  r.onPhase?.('read', `rebuilding ${r.datanets.length} datanet version(s) from chain`)
  const corpus = await readCorpus(ctx, r.datanets, { contentDir: r.contentDir, onProgress: r.onProgress })
  if (corpus.records.length === 0)
    throw new PayableError('the datanet versions hold no approved contributions')
  let config: AdapterTrainingConfig
  try {
    config = adapterConfig({
      baseArtifact: base.artifact,
      datanets: corpus.datanets.map((d) => ({
        datanetId: d.datanetId.toString(),
        version: d.version.toString(),
        root: d.root.toLowerCase() as MfHex,
        count: d.count.toString(),
      })),
      lora: r.lora,
      schedule: r.schedule,
    })
  } catch (err) {
    throw new PayableError(`training config: ${(err as Error).message}`)
  }
  return { base, corpus, records: toRecords(corpus), config }
}

/** Trains the adapter a config describes on records rebuilt from chain. */
export function runAdapterTraining(
  config: AdapterTrainingConfig,
  base: Uint8Array,
  records: TrainingRecord[],
  onStep?: OnStep,
): TrainedAdapter {
  try {
    return trainAdapter(config, base, records, onStep)
  } catch (err) {
    throw new PayableError(`training failed: ${(err as Error).message}`)
  }
}

export interface AdapterRegistration {
  name: string
  baseModelId: bigint
  datanets: readonly DatanetVersionRef[]
  artifactURI: string
  provider: Address
  minFeePerInference: bigint
  ownerShareBps: number
}

export async function registerAdapterOnChain(
  ctx: ChainContext,
  t: TrainedAdapter,
  r: AdapterRegistration,
): Promise<bigint> {
  const { wallet } = requireWallet(ctx)
  const mined = await sendAndWait(
    ctx,
    'registerAdapter',
    registerAdapter(wallet, {
      registration: {
        name: r.name,
        baseModel: `model:${r.baseModelId}`,
        parentId: r.baseModelId,
        datanets: r.datanets.map((d) => ({ datanetId: d.datanetId, version: d.version })),
        trainingConfigHash: t.configHash,
        trainingLogHash: t.logHash,
        artifactHash: t.artifactHash,
        artifactURI: r.artifactURI,
        provider: r.provider,
        minFeePerInference: r.minFeePerInference,
        ownerShareBps: r.ownerShareBps,
      },
      spec: {
        kind: TRAINING_KIND.lora,
        baseModelId: r.baseModelId,
        rank: t.config.lora.rank,
        alpha: t.config.lora.alpha,
        steps: t.config.schedule.steps,
        seed: BigInt(t.config.schedule.seed),
        config: `0x${Buffer.from(t.configBytes).toString('hex')}`,
      },
    }),
  )
  return findLog(mined, 'ModelRegistered').modelId as bigint
}

export interface VerifyModelResult {
  ok: boolean
  modelId: bigint
  version: number
  kind: number
  /** Stable codes first: CONFIG_HASH_MISMATCH, SPEC_MISMATCH, BASE_MISMATCH, DATANETS_MISMATCH,
   * ARTIFACT_MISMATCH, LOG_MISMATCH, ARTIFACT_FILE_MISMATCH, NOT_VERIFIABLE. */
  reasons: string[]
  registeredArtifactHash: Hex
  recomputedArtifactHash?: Hex
  heldOutLossBase?: number
  heldOutLossAdapter?: number
}

/**
 * Re-runs a registered adapter's training from chain data alone and compares: the config bytes
 * (from the TrainingSpecRecorded log) against trainingConfigHash, the spec against the config,
 * the base model's artifact hash and the datanet versions against the config, then the
 * retrained artifact and log hashes against the registered ones, and finally the artifact the
 * model's URI serves (when reachable) against the registered hash.
 */
export async function verifyModel(
  ctx: ChainContext,
  store: ArtifactStore,
  modelId: bigint,
  o: {
    version?: number
    contentDir?: string
    onPhase?: (phase: string, detail?: string) => void
    onStep?: OnStep
    /** Runs the re-training (default: in this thread; Studio passes a worker thread). */
    train?: (
      config: AdapterTrainingConfig,
      base: Uint8Array,
      records: TrainingRecord[],
      onStep?: OnStep,
    ) => TrainedAdapter | Promise<TrainedAdapter>
  } = {},
): Promise<VerifyModelResult> {
  const model = await readModel(ctx, modelId, o.version)
  const version = model.version
  const spec = await readSpec(ctx, modelId, version)
  const result: VerifyModelResult = {
    ok: false,
    modelId,
    version,
    kind: spec.kind,
    reasons: [],
    registeredArtifactHash: model.artifactHash,
  }
  const fail = (r: string) => {
    result.reasons.push(r)
    return result
  }
  if (spec.kind !== TRAINING_KIND.lora) {
    return fail(
      spec.kind === TRAINING_KIND.base
        ? 'NOT_VERIFIABLE: base models are re-trained with `openledger model base train` and compared by hash'
        : 'NOT_VERIFIABLE: this model version was registered without a training spec',
    )
  }
  o.onPhase?.('config', 'reading the training config from the chain')
  const configBytes = await readTrainingConfigBytes(ctx, modelId, version)
  if (keccakHex(configBytes) !== model.trainingConfigHash.toLowerCase()) {
    return fail(
      `CONFIG_HASH_MISMATCH: the recorded config hashes to ${keccakHex(configBytes)}, registered ${model.trainingConfigHash}`,
    )
  }
  let config: AdapterTrainingConfig
  try {
    const parsed = parseTrainingConfig(configBytes)
    if (parsed.kind !== 'lora') return fail('SPEC_MISMATCH: the config is not an adapter config')
    config = parsed
  } catch (err) {
    return fail(`SPEC_MISMATCH: ${(err as Error).message}`)
  }
  const s = config.schedule
  if (
    spec.rank !== config.lora.rank ||
    spec.alpha !== config.lora.alpha ||
    spec.steps !== s.steps ||
    spec.seed !== BigInt(s.seed)
  ) {
    return fail(
      `SPEC_MISMATCH: on-chain spec (rank ${spec.rank}, alpha ${spec.alpha}, steps ${spec.steps}, seed ${spec.seed}) differs from the config`,
    )
  }
  const base = await loadBaseModel(ctx, store, spec.baseModelId)
  if (base.model.artifactHash.toLowerCase() !== config.base.artifactHash) {
    return fail(
      `BASE_MISMATCH: base model ${spec.baseModelId} has artifact ${base.model.artifactHash}, the config names ${config.base.artifactHash}`,
    )
  }
  const key = (d: { datanetId: bigint | string; version: bigint | string }) => `${d.datanetId}@${d.version}`
  const registered = model.datanets.map(key).sort()
  const configured = config.datanets.map(key).sort()
  if (registered.join(',') !== configured.join(',')) {
    return fail(
      `DATANETS_MISMATCH: registered on ${registered.join(', ')}, the config trains on ${configured.join(', ')}`,
    )
  }
  o.onPhase?.('read', `rebuilding ${model.datanets.length} datanet version(s) from chain`)
  const corpus = await readCorpus(ctx, model.datanets, { contentDir: o.contentDir })
  for (const d of corpus.datanets) {
    const c = config.datanets.find((x) => x.datanetId === d.datanetId.toString())
    if (c === undefined || c.root !== d.root.toLowerCase() || c.count !== d.count.toString()) {
      return fail(
        `DATANETS_MISMATCH: datanet ${d.datanetId}@${d.version} has root ${d.root}, the config names ${c?.root}`,
      )
    }
  }
  o.onPhase?.('train', `re-training: ${s.steps} steps, rank ${config.lora.rank}, seed ${s.seed}`)
  const t = await (o.train ?? runAdapterTraining)(config, base.artifact, toRecords(corpus), o.onStep)
  result.recomputedArtifactHash = t.artifactHash
  result.heldOutLossBase = t.heldOutLossBase
  result.heldOutLossAdapter = t.heldOutLossAdapter
  if (t.artifactHash !== model.artifactHash.toLowerCase()) {
    result.reasons.push(
      `ARTIFACT_MISMATCH: re-training gives ${t.artifactHash}, registered ${model.artifactHash}`,
    )
  }
  if (t.logHash !== model.trainingLogHash.toLowerCase()) {
    result.reasons.push(
      `LOG_MISMATCH: re-training gives log ${t.logHash}, registered ${model.trainingLogHash}`,
    )
  }
  // The served file itself (what a provider loads), when it can be read.
  try {
    const bytes = await readArtifactUri(model.artifactURI)
    if (bytes !== undefined && keccakHex(bytes) !== model.artifactHash.toLowerCase()) {
      result.reasons.push(`ARTIFACT_FILE_MISMATCH: ${model.artifactURI} hashes to ${keccakHex(bytes)}`)
    } else if (bytes !== undefined) decodeCheckpoint(bytes)
  } catch (err) {
    result.reasons.push(`ARTIFACT_FILE_MISMATCH: ${(err as Error).message}`)
  }
  result.ok = result.reasons.length === 0
  return result
}

async function readArtifactUri(uri: string): Promise<Uint8Array | undefined> {
  if (!uri.startsWith('file:')) return undefined
  try {
    return new Uint8Array(await readFile(fileURLToPath(uri)))
  } catch {
    return undefined
  }
}

export type { BaseTrainingConfig }
