/**
 * OpenLoRA serving: one process answers for every LoRA adapter of one base model. The base weights
 * are loaded once and shared; an adapter's A/B matrices are loaded from the artifact store on its
 * first request (hash-checked), kept in an LRU of `resident` adapters and reloaded on demand after
 * eviction. Each answer is attributed with the span engine over that adapter's training datanet
 * versions (rebuilt from chain, indexes cached per version set) and signed as a receipt naming the
 * adapter's model id and version, exactly as the single-model provider does.
 */
import { randomBytes } from 'node:crypto'
import { SpanIndex } from '@openledger/attribution'
import {
  getModelCount,
  hashInferenceReceipt,
  type InferenceReceipt,
  signInferenceReceipt,
} from '@openledger/attribution/sdk'
import {
  type ArtifactStore,
  decodeCheckpoint,
  decodeTokens,
  encodeText,
  GenerationStream,
  keccakHex,
  type LoadedAdapter,
  type LoadedBase,
  LruCache,
  type LruStats,
  loadAdapter,
  loadBase,
  type Hex as MfHex,
} from '@openledger/modelfactory'
import { type Address, type Hex, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { type ChainContext, sameAddress } from './chain.ts'
import { type Corpus, type ModelOnChain, readCorpus, readModel } from './corpus.ts'
import { PayableError } from './errors.ts'
import { fetchArtifact, loadBaseModel, readSpec, TRAINING_KIND, type TrainingSpecOnChain } from './factory.ts'
import { HttpError } from './provider.ts'
import {
  attributeOutput,
  DEFAULT_K,
  type EvidenceJson,
  evidenceToJson,
  receiptEntriesFor,
} from './receipts.ts'

export interface OpenLoraOptions {
  baseModelId: bigint
  /** Adapters to serve: every adapter of the base whose provider is this key, or a list. */
  adapters: 'all' | readonly bigint[]
  privateKey: Hex
  store: ArtifactStore
  /** Adapters kept in memory at once (LRU). Default 16. */
  resident?: number
  /** Fee asked per inference in wei (default: each adapter's minimum fee). */
  fee?: bigint
  ttlSeconds?: number
  k?: number
  contentDir?: string
  onPhase?: (phase: string, detail?: string) => void
  /** Adapter loads and evictions, for logs. */
  onAdapter?: (event: 'load' | 'evict', modelId: bigint) => void
}

export interface ServedAdapter {
  model: ModelOnChain
  spec: TrainingSpecOnChain
}

export interface AnswerRequest {
  /** Adapter model id; undefined = the base model (no receipt: a base model cannot be paid for). */
  modelId?: bigint
  prompt: string
  maxTokens: number
  seed: bigint
  temperature: number
  topK: number
  payer: Address
  inputHash: Hex
  /** Each decoded piece of text as it is generated (streaming). */
  onText?: (delta: string) => void | Promise<void>
}

export interface Answer {
  output: string
  tokens: number
  finish: 'stop' | 'length'
  model: { id: bigint; version: number; name: string }
  receipt?: InferenceReceipt
  signature?: Hex
  receiptId?: Hex
  evidence?: EvidenceJson
}

/** "7", "model-7", "openledger-model-7" → 7n. */
export function parseModelName(name: string): bigint | undefined {
  const m = /^(?:openledger-)?(?:model-)?(\d{1,20})$/.exec(name.trim())
  return m === null ? undefined : BigInt(m[1] as string)
}

export class OpenLoraProvider {
  private readonly weights: LruCache<bigint, LoadedAdapter>
  private readonly corpora: LruCache<string, { corpus: Corpus; index: SpanIndex }>
  private readonly adapters = new Map<bigint, ServedAdapter>()
  private scannedUpTo = 0n
  private clockFloor = 0n
  answers = 0

  private constructor(
    readonly ctx: ChainContext,
    readonly o: OpenLoraOptions,
    readonly base: ModelOnChain,
    private readonly lm: LoadedBase,
    readonly baseArtifactHash: Hex,
  ) {
    const resident = o.resident ?? 16
    this.weights = new LruCache(resident, (id) => o.onAdapter?.('evict', id))
    this.corpora = new LruCache(resident)
  }

  static async load(ctx: ChainContext, o: OpenLoraOptions): Promise<OpenLoraProvider> {
    o.onPhase?.('base', `loading base model ${o.baseModelId}`)
    const base = await loadBaseModel(ctx, o.store, o.baseModelId)
    const ck = decodeCheckpoint(base.artifact)
    if (ck.kind !== 'base')
      throw new PayableError(`model ${o.baseModelId}'s artifact is not a base checkpoint`)
    const p = new OpenLoraProvider(
      ctx,
      o,
      base.model,
      loadBase(ck.config, ck.params),
      keccakHex(base.artifact),
    )
    p.clockFloor = (await ctx.client.getBlock({ blockTag: 'latest' })).timestamp
    if (o.adapters === 'all') await p.discover()
    else for (const id of o.adapters) p.adapters.set(id, await p.checkAdapter(id, true))
    o.onPhase?.(
      'adapters',
      `${p.adapters.size} adapter(s) of base model ${o.baseModelId} served by ${p.address}`,
    )
    return p
  }

  get address(): Address {
    return privateKeyToAccount(this.o.privateKey).address
  }

  /** Adapters known so far, in id order. */
  served(): ServedAdapter[] {
    return [...this.adapters.values()].sort((a, b) => (a.model.id < b.model.id ? -1 : 1))
  }

  stats(): LruStats & { served: number; answers: number } {
    return { ...this.weights.stats(), served: this.adapters.size, answers: this.answers }
  }

  residentAdapters(): bigint[] {
    return this.weights.keys()
  }

  /** Reads an adapter's record; `strict` throws when it cannot be served, else returns undefined. */
  private async checkAdapter(id: bigint, strict: true): Promise<ServedAdapter>
  private async checkAdapter(id: bigint, strict: false): Promise<ServedAdapter | undefined>
  private async checkAdapter(id: bigint, strict: boolean): Promise<ServedAdapter | undefined> {
    const no = (why: string) => {
      if (strict) throw new PayableError(`model ${id} cannot be served here: ${why}`)
      return undefined
    }
    let model: ModelOnChain
    try {
      model = await readModel(this.ctx, id)
    } catch (err) {
      return no((err as Error).message)
    }
    const spec = await readSpec(this.ctx, id, model.version)
    if (spec.kind !== TRAINING_KIND.lora) return no('it is not a LoRA adapter (no adapter training spec)')
    if (spec.baseModelId !== this.o.baseModelId) return no(`it adapts base model ${spec.baseModelId}`)
    if (!sameAddress(model.provider, this.address))
      return no(`its provider is ${model.provider}, not ${this.address}`)
    return { model, spec }
  }

  /** Finds adapters registered since the last scan (with --adapters all). */
  async discover(): Promise<void> {
    const count = await getModelCount(this.ctx.client, {})
    for (let id = this.scannedUpTo + 1n; id <= count; id++) {
      const a = await this.checkAdapter(id, false)
      if (a !== undefined) this.adapters.set(id, a)
    }
    this.scannedUpTo = count
  }

  /** The adapter for a model id (discovering new registrations when serving all). */
  async resolve(id: bigint): Promise<ServedAdapter> {
    let a = this.adapters.get(id)
    if (a === undefined && this.o.adapters === 'all' && id > this.scannedUpTo) {
      await this.discover()
      a = this.adapters.get(id)
    }
    if (a === undefined)
      throw new HttpError(404, `model ${id} is not served here (base model ${this.o.baseModelId})`)
    return a
  }

  private async weightsOf(a: ServedAdapter): Promise<LoadedAdapter> {
    return this.weights.get(a.model.id, async () => {
      const bytes = await fetchArtifact(this.o.store, a.model.artifactHash, a.model.artifactURI)
      const ck = decodeCheckpoint(bytes)
      if (ck.kind !== 'lora' || ck.base !== this.baseArtifactHash.toLowerCase()) {
        throw new PayableError(`model ${a.model.id}'s artifact is not an adapter of this base checkpoint`)
      }
      this.o.onAdapter?.('load', a.model.id)
      return loadAdapter(ck.config, ck.lora, ck.params)
    })
  }

  private async corpusOf(a: ServedAdapter): Promise<{ corpus: Corpus; index: SpanIndex }> {
    const key = a.model.datanets
      .map((d) => `${d.datanetId}@${d.version}`)
      .sort()
      .join(',')
    return this.corpora.get(key, async () => {
      const corpus = await readCorpus(this.ctx, a.model.datanets, { contentDir: this.o.contentDir })
      return { corpus, index: SpanIndex.build(corpus.records) }
    })
  }

  /** Generates (streaming each decoded piece through onText), attributes and signs. */
  async answer(req: AnswerRequest): Promise<Answer> {
    const adapter = req.modelId === undefined ? undefined : await this.resolve(req.modelId)
    const weights = adapter === undefined ? undefined : await this.weightsOf(adapter)
    const stream = new GenerationStream(this.lm, weights, [...encodeText(req.prompt)], {
      maxTokens: req.maxTokens,
      temperature: req.temperature,
      topK: req.topK,
      seed: req.seed,
      stream: `${adapter?.model.artifactHash ?? this.baseArtifactHash}:${req.inputHash}`,
    })
    const decoder = new TextDecoder('utf-8')
    let output = ''
    const bytes = new Uint8Array(1)
    for (let t = stream.next(); t !== undefined; t = stream.next()) {
      bytes[0] = t
      const piece = decoder.decode(bytes, { stream: true })
      output += piece
      if (req.onText !== undefined && piece.length > 0) await req.onText(piece)
    }
    const tail = decoder.decode()
    output += tail
    if (req.onText !== undefined && tail.length > 0) await req.onText(tail)
    if (output !== decodeTokens(stream.tokens))
      throw new Error('streamed text differs from the decoded tokens')
    this.answers++
    const finish = stream.finish === 'separator' ? 'stop' : 'length'
    if (adapter === undefined) {
      return {
        output,
        tokens: stream.tokens.length,
        finish,
        model: { id: this.base.id, version: this.base.version, name: this.base.name },
      }
    }
    const m = adapter.model
    const fee = this.o.fee ?? m.minFeePerInference
    if (fee < m.minFeePerInference)
      throw new PayableError(`fee ${fee} is below model ${m.id}'s minimum ${m.minFeePerInference}`)
    const { corpus, index } = await this.corpusOf(adapter)
    const result = attributeOutput(index, output, corpus.fallbackShares, this.o.k ?? DEFAULT_K)
    const now = BigInt(Math.floor(Date.now() / 1000))
    const receipt: InferenceReceipt = {
      modelId: m.id,
      modelVersion: m.version,
      inputHash: req.inputHash,
      outputHash: toHex(result.outputHash),
      entries: receiptEntriesFor(result, corpus.versions),
      nonce: BigInt(toHex(randomBytes(16))),
      deadline: (now > this.clockFloor ? now : this.clockFloor) + BigInt(this.o.ttlSeconds ?? 600),
      payer: req.payer,
      fee,
      attributionCommitment: toHex(result.commitment),
    }
    const signature = await signInferenceReceipt(this.o.privateKey, receipt, this.ctx.chainId)
    return {
      output,
      tokens: stream.tokens.length,
      finish,
      model: { id: m.id, version: m.version, name: m.name },
      receipt,
      signature,
      receiptId: hashInferenceReceipt(receipt, this.ctx.chainId),
      evidence: evidenceToJson(result),
    }
  }

  info(): Record<string, unknown> {
    return {
      mode: 'openlora',
      baseModel: { id: this.base.id.toString(), name: this.base.name, artifactHash: this.baseArtifactHash },
      provider: this.address,
      chainId: this.ctx.chainId,
      adapters: this.served().map((a) => ({
        modelId: a.model.id.toString(),
        version: a.model.version,
        name: a.model.name,
        artifactHash: a.model.artifactHash,
        rank: a.spec.rank,
        resident: this.weights.has(a.model.id),
        datanets: a.model.datanets.map((d) => ({
          datanetId: d.datanetId.toString(),
          version: d.version.toString(),
        })),
      })),
      cache: this.stats(),
    }
  }
}

export type { MfHex }
