/**
 * What OpenLedger Studio's ModelFactory and playground pages need from a dev node, served by the
 * node itself (dev mode only; see docs/studio.md): training jobs — pre-training a base model on
 * the public-domain corpus, fine-tuning a LoRA adapter on datanet versions rebuilt from chain,
 * re-running a registered training (`model verify`) — each in a worker thread with its loss
 * curve reported step by step; answers from an in-process OpenLoRA provider for models whose
 * registered provider is one of the node's dev accounts (signed receipts, as `provider serve`);
 * and the attribution check of a settled answer (`attribution verify`).
 *
 * Registering and paying are not done here: the page builds the transactions from the results
 * and sends them from the user's account (the dev signer or any EIP-1193 wallet), as the CLI does.
 * Bounds: one training at a time, steps/batch/rank/corpus capped, a wall-clock limit and a memory
 * limit per worker, the last 32 jobs kept.
 */
import { pathToFileURL } from 'node:url'
import {
  type ArtifactStore,
  baseRecipe,
  DEFAULT_LORA,
  type LoraTarget,
  PRESETS,
  type PresetName,
} from '@openledger/modelfactory'
import { type Address, type Hex, keccak256, stringToBytes, toHex } from 'viem'
import { type ChainContext, connect } from './chain.ts'
import { readModel } from './corpus.ts'
import { PayableError } from './errors.ts'
import { prepareAdapterJob, readSpec, TRAINING_KIND, verifyModel } from './factory.ts'
import { OpenLoraProvider } from './openlora.ts'
import { receiptToJson } from './receipts.ts'
import { trainBaseInWorker, trainInWorker, type WorkerTrainOptions } from './train-worker.ts'
import { verifyReceipt } from './verify.ts'

export interface StudioServiceLimits {
  /** Training steps of one job (default 2,000). */
  maxSteps: number
  /** Sequences per step (default 32). */
  maxBatch: number
  /** Corpus documents of a base pre-training (default 60 of the 233). */
  maxCorpusDocs: number
  /** Wall-clock bound of one job (default 10 min): the worker is terminated past it. */
  timeoutMs: number
  /** Worker heap bound, MiB (default 512). */
  maxMemoryMb: number
  /** Tokens of one answer (default 256). */
  maxTokens: number
}

export const STUDIO_SERVICE_LIMITS: StudioServiceLimits = {
  maxSteps: 2_000,
  maxBatch: 32,
  maxCorpusDocs: 60,
  timeoutMs: 10 * 60_000,
  maxMemoryMb: 512,
  maxTokens: 256,
}

/** Presets Studio may pre-train (`small` takes hours on one core). */
export const STUDIO_PRESETS: readonly PresetName[] = ['micro', 'tiny']

export type JobKind = 'base' | 'adapter' | 'verify'
export type JobState = 'preparing' | 'training' | 'done' | 'failed'

export interface StudioJob {
  id: number
  kind: JobKind
  state: JobState
  detail: string
  step: number
  steps: number
  losses: number[]
  startedAt: number
  finishedAt?: number
  error?: string
  result?: Record<string, unknown>
}

export interface BaseRequest {
  preset: PresetName
  steps?: number
  seed?: string
  corpusDocs?: number
}

export interface AdapterRequestJson {
  baseModelId: bigint
  datanets: { datanetId: bigint; version: bigint }[]
  rank: number
  alpha: number
  targets?: LoraTarget[]
  steps: number
  batch: number
  lr: number
  seed: string
}

export class StudioService {
  private readonly jobs = new Map<number, StudioJob>()
  private nextId = 1
  private running: AbortController | undefined
  private readonly providers = new Map<string, Promise<OpenLoraProvider>>()
  private ctxPromise: Promise<ChainContext> | undefined
  readonly limits: StudioServiceLimits

  constructor(
    private readonly o: {
      rpcUrl: string
      /** Dev accounts: lowercase address → private key (answers are signed with the provider's). */
      keys: ReadonlyMap<string, Hex>
      store: ArtifactStore
      limits?: Partial<StudioServiceLimits>
      log?: (line: string) => void
    },
  ) {
    this.limits = { ...STUDIO_SERVICE_LIMITS, ...o.limits }
  }

  private ctx(): Promise<ChainContext> {
    this.ctxPromise ??= connect(this.o.rpcUrl).catch((err: unknown) => {
      this.ctxPromise = undefined
      throw err
    })
    return this.ctxPromise
  }

  job(id: number): StudioJob | undefined {
    return this.jobs.get(id)
  }

  /** Newest first. */
  list(): StudioJob[] {
    return [...this.jobs.values()].reverse()
  }

  private checkSchedule(steps: number, batch: number): void {
    if (steps > this.limits.maxSteps) throw new PayableError(`steps: at most ${this.limits.maxSteps} here`)
    if (batch > this.limits.maxBatch) throw new PayableError(`batch: at most ${this.limits.maxBatch} here`)
  }

  /** Starts a job unless one is running; its body runs in the background. */
  private start(
    kind: JobKind,
    steps: number,
    body: (job: StudioJob, w: WorkerTrainOptions) => Promise<void>,
  ) {
    if (this.running !== undefined)
      throw new PayableError('a training is already running: wait for it to finish (one at a time)')
    const job: StudioJob = {
      id: this.nextId++,
      kind,
      state: 'preparing',
      detail: 'preparing',
      step: 0,
      steps,
      losses: [],
      startedAt: Date.now(),
    }
    this.jobs.set(job.id, job)
    for (const id of this.jobs.keys()) if (this.jobs.size > 32) this.jobs.delete(id)
    const abort = new AbortController()
    this.running = abort
    const timer = setTimeout(() => abort.abort('timeout'), this.limits.timeoutMs)
    const w: WorkerTrainOptions = {
      signal: abort.signal,
      maxMemoryMb: this.limits.maxMemoryMb,
      onStep: (r) => {
        job.state = 'training'
        job.step = r.step
        job.steps = r.steps
        job.losses.push(r.loss)
      },
    }
    body(job, w)
      .then(
        () => {
          job.state = 'done'
          job.detail = 'done'
        },
        (err: unknown) => {
          job.state = 'failed'
          job.error = !abort.signal.aborted
            ? (err as Error).message
            : abort.signal.reason === 'timeout'
              ? `stopped after ${this.limits.timeoutMs / 1000} s (the limit of one job)`
              : 'cancelled: the node is stopping'
          this.o.log?.(`studio: job ${job.id} (${kind}) failed: ${job.error}`)
        },
      )
      .finally(() => {
        clearTimeout(timer)
        job.finishedAt = Date.now()
        if (this.running === abort) this.running = undefined
      })
    return job
  }

  /** Pre-trains a base model (registered by the page with `registerBaseModel`). */
  trainBase(r: BaseRequest): StudioJob {
    if (!STUDIO_PRESETS.includes(r.preset))
      throw new PayableError(`preset: one of ${STUDIO_PRESETS.join(', ')} here`)
    const recipe = baseRecipe(r.preset, {
      ...(r.steps !== undefined ? { steps: r.steps } : {}),
      ...(r.seed !== undefined ? { seed: r.seed } : {}),
    })
    this.checkSchedule(recipe.steps, recipe.batch)
    const docs = Math.min(r.corpusDocs ?? this.limits.maxCorpusDocs, this.limits.maxCorpusDocs)
    return this.start('base', recipe.steps, async (job, w) => {
      job.detail = `pre-training ${r.preset} (${PRESETS[r.preset].dim}-dim) on ${docs} corpus documents`
      const t = await trainBaseInWorker(recipe, docs, w)
      const artifactHash = await this.o.store.put(t.artifact)
      job.result = {
        preset: r.preset,
        baseModel: `${t.config.format}/${t.config.preset}`,
        parameters: t.checkpoint.params.length,
        steps: t.config.schedule.steps,
        seed: t.config.schedule.seed,
        heldOutLoss: t.heldOutLoss,
        artifactHash,
        artifactURI: pathToFileURL(this.o.store.path(artifactHash)).toString(),
        trainingConfigHash: t.configHash,
        trainingLogHash: t.logHash,
        config: toHex(t.configBytes),
      }
    })
  }

  /** Fine-tunes a LoRA adapter (registered by the page with `registerAdapter`). */
  trainAdapter(r: AdapterRequestJson): StudioJob {
    this.checkSchedule(r.steps, r.batch)
    const lora = { rank: r.rank, alpha: r.alpha, targets: r.targets ?? DEFAULT_LORA.targets }
    const schedule = {
      steps: r.steps,
      batch: r.batch,
      lr: r.lr,
      warmup: Math.min(10, r.steps - 1),
      seed: r.seed,
    }
    return this.start('adapter', r.steps, async (job, w) => {
      const ctx = await this.ctx()
      const prepared = await prepareAdapterJob(ctx, this.o.store, {
        baseModelId: r.baseModelId,
        datanets: r.datanets,
        lora,
        schedule,
        onPhase: (_p, d) => {
          if (d !== undefined) job.detail = d
        },
      })
      job.detail = `fine-tuning rank ${lora.rank} on ${prepared.records.length} records`
      const t = await trainInWorker(prepared.config, prepared.base.artifact, prepared.records, w)
      const artifactHash = await this.o.store.put(t.artifact)
      job.result = {
        baseModelId: r.baseModelId.toString(),
        datanets: r.datanets.map((d) => ({
          datanetId: d.datanetId.toString(),
          version: d.version.toString(),
        })),
        records: prepared.records.length,
        rank: t.config.lora.rank,
        alpha: t.config.lora.alpha,
        steps: t.config.schedule.steps,
        seed: t.config.schedule.seed,
        heldOutLossBase: t.heldOutLossBase,
        heldOutLossAdapter: t.heldOutLossAdapter,
        artifactHash,
        artifactURI: pathToFileURL(this.o.store.path(artifactHash)).toString(),
        trainingConfigHash: t.configHash,
        trainingLogHash: t.logHash,
        config: toHex(t.configBytes),
      }
    })
  }

  /** Re-runs a registered adapter's training from chain data and compares every hash. */
  verifyModel(modelId: bigint): StudioJob {
    return this.start('verify', 0, async (job, w) => {
      const ctx = await this.ctx()
      const v = await verifyModel(ctx, this.o.store, modelId, {
        onPhase: (_p, d) => {
          if (d !== undefined) job.detail = d
        },
        train: (config, base, records) => {
          job.steps = config.schedule.steps
          return trainInWorker(config, base, records, w)
        },
      })
      job.result = {
        ok: v.ok,
        modelId: v.modelId.toString(),
        version: v.version,
        reasons: v.reasons,
        registeredArtifactHash: v.registeredArtifactHash,
        recomputedArtifactHash: v.recomputedArtifactHash ?? null,
      }
    })
  }

  /** The OpenLoRA provider of `baseModelId` signing with `provider`'s dev key (one per pair). */
  private providerFor(ctx: ChainContext, baseModelId: bigint, provider: Address): Promise<OpenLoraProvider> {
    const privateKey = this.o.keys.get(provider.toLowerCase())
    if (privateKey === undefined)
      throw new PayableError(
        `its provider ${provider} is not one of this node's dev accounts: ask that provider's own endpoint`,
      )
    const key = `${baseModelId}:${provider.toLowerCase()}`
    let p = this.providers.get(key)
    if (p === undefined) {
      p = OpenLoraProvider.load(ctx, { baseModelId, adapters: 'all', privateKey, store: this.o.store })
      p.catch(() => this.providers.delete(key))
      this.providers.set(key, p)
    }
    return p
  }

  /** An answer with its signed receipt, as a provider's `/v1/infer` gives it. */
  async ask(r: {
    modelId: bigint
    prompt: string
    maxTokens: number
    payer: Address
    seed: bigint
    temperature: number
  }) {
    if (r.maxTokens > this.limits.maxTokens)
      throw new PayableError(`maxTokens: at most ${this.limits.maxTokens} here`)
    const ctx = await this.ctx()
    const model = await readModel(ctx, r.modelId)
    const spec = await readSpec(ctx, r.modelId, model.version)
    if (spec.kind !== TRAINING_KIND.lora)
      throw new PayableError(
        `model ${r.modelId} is not a LoRA adapter of a base model: nothing here serves it`,
      )
    const provider = await this.providerFor(ctx, spec.baseModelId, model.provider)
    const a = await provider.answer({
      modelId: r.modelId,
      prompt: r.prompt,
      maxTokens: r.maxTokens,
      seed: r.seed,
      temperature: r.temperature,
      topK: 20,
      payer: r.payer,
      inputHash: keccak256(stringToBytes(r.prompt)),
    })
    if (a.receipt === undefined) throw new PayableError(`model ${r.modelId} gave no receipt`)
    return {
      output: a.output,
      tokens: a.tokens,
      model: { id: a.model.id.toString(), version: a.model.version, name: a.model.name },
      receipt: receiptToJson(a.receipt),
      signature: a.signature,
      receiptId: a.receiptId,
      evidence: a.evidence,
    }
  }

  /** Recomputes a settled receipt's attribution from chain data and the output text. */
  async verifyAttribution(receiptId: Hex, output: string) {
    const ctx = await this.ctx()
    const v = await verifyReceipt(ctx, receiptId, output)
    return {
      ok: v.ok,
      reasons: v.reasons,
      receiptId: v.receiptId,
      modelId: v.model.id.toString(),
      commitment: v.recomputed ? toHex(v.recomputed.commitment) : null,
      entries: (v.expectedEntries ?? []).map((e) => ({
        datanetId: e.datanetId.toString(),
        datanetVersion: e.datanetVersion.toString(),
        weight: e.weight,
        contributionIds: e.contributionIds.map(String),
        contributionWeights: [...e.contributionWeights],
      })),
    }
  }

  close(): void {
    this.running?.abort()
  }
}
