/**
 * ModelFactory flow of the built-in model: rebuild the exact records of the datanet versions from
 * the chain, train the n-gram model, write the artifact, the training config and the training log,
 * and register the model with their hashes so that anyone can retrain and compare.
 *
 * Everything written is deterministic (no timestamps, paths or host names in the hashed files):
 * retraining on the same datanet versions with the same config gives the same three hashes.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { TOKENIZER_ID } from '@openledger/attribution'
import { registerModel } from '@openledger/attribution/sdk'
import { type Address, type Hex, keccak256, stringToBytes } from 'viem'
import { type ChainContext, findLog, type Mined, requireWallet, sendAndWait } from './chain.ts'
import { type Corpus, type DatanetVersionRef, readCorpus } from './corpus.ts'
import { PayableError } from './errors.ts'
import { DEFAULT_ORDER, NGRAM_FORMAT, NgramModel } from './ngram.ts'

export const TRAINER_ID = 'openledger-ngram-trainer/1'
export const BUILTIN_BASE_MODEL = 'openledger/ngram-v1'

export interface TrainingConfig {
  trainer: typeof TRAINER_ID
  format: typeof NGRAM_FORMAT
  order: number
  lmTokenizer: string
  datanets: { datanetId: string; version: string }[]
}

export interface TrainedArtifacts {
  model: NgramModel
  corpus: Corpus
  config: TrainingConfig
  configBytes: Uint8Array
  logBytes: Uint8Array
  artifactHash: Hex
  trainingConfigHash: Hex
  trainingLogHash: Hex
}

export interface TrainOptions {
  datanets: readonly DatanetVersionRef[]
  order?: number
  contentDir?: string
  onPhase?: (phase: string, detail?: string) => void
  onProgress?: (phase: 'read' | 'train', done: number, total: number) => void
}

/** Rebuilds the corpus from chain and trains; no side effects. */
export async function trainFromChain(ctx: ChainContext, opts: TrainOptions): Promise<TrainedArtifacts> {
  if (opts.datanets.length === 0) throw new PayableError('name at least one --datanet <id>@<version>')
  const order = opts.order ?? DEFAULT_ORDER
  opts.onPhase?.('read', `rebuilding ${opts.datanets.length} datanet version(s) from chain`)
  const corpus = await readCorpus(ctx, opts.datanets, {
    contentDir: opts.contentDir,
    onProgress: (d, t) => opts.onProgress?.('read', d, t),
  })
  if (corpus.records.length === 0)
    throw new PayableError('the datanet versions hold no approved contributions')
  opts.onPhase?.('train', `training an order-${order} n-gram model on ${corpus.records.length} records`)
  const model = NgramModel.train(corpus.records, {
    order,
    onProgress: (d, t) => opts.onProgress?.('train', d, t),
  })
  const config: TrainingConfig = {
    trainer: TRAINER_ID,
    format: NGRAM_FORMAT,
    order,
    lmTokenizer: `${TOKENIZER_ID}-raw+space`,
    datanets: opts.datanets.map((d) => ({
      datanetId: d.datanetId.toString(),
      version: d.version.toString(),
    })),
  }
  const configBytes = stringToBytes(`${JSON.stringify(config, null, 2)}\n`)
  const log: unknown[] = [{ event: 'start', trainer: TRAINER_ID, order }]
  for (const d of corpus.datanets) {
    log.push({
      event: 'datanet',
      datanetId: d.datanetId.toString(),
      version: d.version.toString(),
      root: d.root,
      count: d.count.toString(),
    })
    for (const r of d.records) {
      log.push({
        event: 'record',
        datanetId: r.datanetId.toString(),
        contributionId: r.contributionId.toString(),
        contributor: r.contributor,
        contentHash: r.contentHash,
        bytes: r.size.toString(),
        weight: r.weight.toString(),
        source: r.source,
      })
    }
  }
  log.push({
    event: 'model',
    tokens: model.tokenCount,
    vocabulary: model.vocabulary.length,
    contexts: model.contextCount,
    artifactHash: model.artifactHash,
    artifactBytes: model.bytes.length,
  })
  const logBytes = stringToBytes(log.map((l) => `${JSON.stringify(l)}\n`).join(''))
  return {
    model,
    corpus,
    config,
    configBytes,
    logBytes,
    artifactHash: model.artifactHash,
    trainingConfigHash: keccak256(configBytes),
    trainingLogHash: keccak256(logBytes),
  }
}

export interface WrittenArtifacts {
  dir: string
  artifactPath: string
  configPath: string
  logPath: string
  artifactURI: string
}

export async function writeArtifacts(t: TrainedArtifacts, dir: string): Promise<WrittenArtifacts> {
  const abs = resolve(dir)
  await mkdir(abs, { recursive: true })
  const artifactPath = join(abs, 'model.json')
  const configPath = join(abs, 'training-config.json')
  const logPath = join(abs, 'training-log.jsonl')
  await writeFile(artifactPath, t.model.bytes)
  await writeFile(configPath, t.configBytes)
  await writeFile(logPath, t.logBytes)
  return { dir: abs, artifactPath, configPath, logPath, artifactURI: pathToFileURL(artifactPath).toString() }
}

export interface RegisterInput {
  name: string
  baseModel: string
  parentId?: bigint
  datanets: readonly DatanetVersionRef[]
  trainingConfigHash: Hex
  trainingLogHash: Hex
  artifactHash: Hex
  artifactURI: string
  provider: Address
  minFeePerInference: bigint
  ownerShareBps: number
}

/** registerModel on chain; returns the new model id. */
export async function registerModelOnChain(
  ctx: ChainContext,
  r: RegisterInput,
): Promise<{ modelId: bigint; mined: Mined }> {
  const { wallet } = requireWallet(ctx)
  const mined = await sendAndWait(
    ctx,
    'registerModel',
    registerModel(wallet, {
      registration: {
        name: r.name,
        baseModel: r.baseModel,
        parentId: r.parentId ?? 0n,
        datanets: r.datanets.map((d) => ({ datanetId: d.datanetId, version: d.version })),
        trainingConfigHash: r.trainingConfigHash,
        trainingLogHash: r.trainingLogHash,
        artifactHash: r.artifactHash,
        artifactURI: r.artifactURI,
        provider: r.provider,
        minFeePerInference: r.minFeePerInference,
        ownerShareBps: r.ownerShareBps,
      },
    }),
  )
  return { modelId: findLog(mined, 'ModelRegistered').modelId as bigint, mined }
}
