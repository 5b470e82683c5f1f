/**
 * Inference provider: an HTTP service that answers prompts with the built-in n-gram model (or an
 * upstream OpenAI-compatible endpoint), attributes each output with the span engine over the
 * model's training corpus (rebuilt from chain data), and returns the output with an EIP-712
 * receipt signed by the model's provider key, ready for anyone to settle.
 *
 *   POST /v1/infer             {prompt, maxTokens?, seed?, payer?} → {output, receipt, signature, receiptId, evidence, …}
 *   POST /v1/chat/completions  OpenAI-style request → chat.completion + `openledger` {receipt, signature, …}
 *   GET  /v1/model             the served model, its training data and fee
 *   GET  /health
 * Long file: one HTTP service; its four routes share the model, the span index and the receipt signer.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { SpanIndex } from '@openledger/attribution'
import {
  hashInferenceReceipt,
  type InferenceReceipt,
  signInferenceReceipt,
} from '@openledger/attribution/sdk'
import { type Address, getAddress, type Hex, isAddress, keccak256, stringToBytes, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { type ChainContext, sameAddress } from './chain.ts'
import { type Corpus, type ModelOnChain, readCorpus, readModel } from './corpus.ts'
import { PayableError } from './errors.ts'
import { NgramModel } from './ngram.ts'
import {
  attributeOutput,
  DEFAULT_K,
  type EvidenceJson,
  evidenceToJson,
  type ReceiptJson,
  receiptEntriesFor,
  receiptToJson,
} from './receipts.ts'

export const MAX_BODY_BYTES = 64 * 1024
export const MAX_PROMPT_CHARS = 16 * 1024
export const MAX_TOKENS_LIMIT = 512
export const DEFAULT_MAX_TOKENS = 64

export interface UpstreamOptions {
  /** Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1 (POST {url}/chat/completions). */
  url: string
  model?: string
  apiKey?: string
  timeoutMs?: number
}

export interface ProviderOptions {
  modelId: bigint
  /** Model version to serve (default: the latest). */
  modelVersion?: number
  privateKey: Hex
  /** Artifact file of the built-in model (default: the model's file: artifact URI). */
  artifactPath?: string
  upstream?: UpstreamOptions
  contentDir?: string
  /** Fee asked per inference in wei (default: the model's minimum fee). */
  fee?: bigint
  /** Receipt validity in seconds (default 600). */
  ttlSeconds?: number
  k?: number
  onPhase?: (phase: string, detail?: string) => void
  onProgress?: (phase: 'read', done: number, total: number) => void
}

export interface InferResult {
  output: string
  receipt: InferenceReceipt
  signature: Hex
  receiptId: Hex
  evidence: EvidenceJson
}

export interface InferResponseJson {
  output: string
  receipt: ReceiptJson
  signature: Hex
  receiptId: Hex
  chainId: number
  model: { id: string; version: number; name: string }
  evidence: EvidenceJson
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** A loaded provider: the model, its corpus index and the signing key. */
export class Provider {
  private constructor(
    readonly ctx: ChainContext,
    readonly model: ModelOnChain,
    readonly corpus: Corpus,
    readonly index: SpanIndex,
    private readonly lm: NgramModel | undefined,
    private readonly upstream: UpstreamOptions | undefined,
    private readonly privateKey: Hex,
    readonly fee: bigint,
    readonly ttlSeconds: number,
    readonly k: number,
    private clockFloor: bigint,
  ) {}

  static async load(ctx: ChainContext, o: ProviderOptions): Promise<Provider> {
    const signer = privateKeyToAccount(o.privateKey)
    o.onPhase?.('model', `reading model ${o.modelId} from chain`)
    const model = await readModel(ctx, o.modelId, o.modelVersion)
    if (!sameAddress(model.provider, signer.address)) {
      throw new PayableError(
        `the key's address ${signer.address} is not model ${model.id}'s provider ${model.provider}`,
      )
    }
    const fee = o.fee ?? model.minFeePerInference
    if (fee < model.minFeePerInference) {
      throw new PayableError(`--fee ${fee} is below the model's minimum fee ${model.minFeePerInference} wei`)
    }
    let lm: NgramModel | undefined
    if (o.upstream === undefined) {
      const path = o.artifactPath ?? artifactPathFromUri(model.artifactURI)
      let bytes: Uint8Array
      try {
        bytes = new Uint8Array(await readFile(path))
      } catch (err) {
        throw new PayableError(
          `cannot read the model artifact ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        )
      }
      if (keccak256(bytes) !== model.artifactHash.toLowerCase()) {
        throw new PayableError(
          `artifact ${path} does not match model ${model.id}'s artifact hash ${model.artifactHash}`,
        )
      }
      lm = NgramModel.fromBytes(bytes)
    }
    o.onPhase?.('corpus', `rebuilding the training corpus of model ${model.id} v${model.version} from chain`)
    const corpus = await readCorpus(ctx, model.datanets, {
      contentDir: o.contentDir,
      onProgress: (d, t) => o.onProgress?.('read', d, t),
    })
    o.onPhase?.('index', `indexing ${corpus.records.length} records`)
    const index = SpanIndex.build(corpus.records)
    const head = await ctx.client.getBlock({ blockTag: 'latest' })
    return new Provider(
      ctx,
      model,
      corpus,
      index,
      lm,
      o.upstream,
      o.privateKey,
      fee,
      o.ttlSeconds ?? 600,
      o.k ?? DEFAULT_K,
      head.timestamp,
    )
  }

  get address(): Address {
    return privateKeyToAccount(this.privateKey).address
  }

  /** Generates, attributes and signs. `inputHash` commits to the request (prompt or messages). */
  async infer(req: {
    prompt: string
    messages?: ChatMessage[]
    maxTokens: number
    seed: bigint
    payer: Address
    inputHash: Hex
  }): Promise<InferResult> {
    const output =
      this.lm !== undefined
        ? this.lm.generate(req.prompt, { maxTokens: req.maxTokens, seed: req.seed })
        : await callUpstream(
            this.upstream as UpstreamOptions,
            req.messages ?? [{ role: 'user', content: req.prompt }],
            req.maxTokens,
          )
    const result = attributeOutput(this.index, output, this.corpus.fallbackShares, this.k)
    const now = BigInt(Math.floor(Date.now() / 1000))
    const receipt: InferenceReceipt = {
      modelId: this.model.id,
      modelVersion: this.model.version,
      inputHash: req.inputHash,
      outputHash: toHex(result.outputHash),
      entries: receiptEntriesFor(result, this.corpus.versions),
      // 128 random bits: unique per model without coordination between provider replicas.
      nonce: BigInt(toHex(randomBytes(16))),
      deadline: (now > this.clockFloor ? now : this.clockFloor) + BigInt(this.ttlSeconds),
      payer: req.payer,
      fee: this.fee,
      attributionCommitment: toHex(result.commitment),
    }
    const signature = await signInferenceReceipt(this.privateKey, receipt, this.ctx.chainId)
    return {
      output,
      receipt,
      signature,
      receiptId: hashInferenceReceipt(receipt, this.ctx.chainId),
      evidence: evidenceToJson(result),
    }
  }

  info(): Record<string, unknown> {
    return {
      modelId: this.model.id.toString(),
      modelVersion: this.model.version,
      name: this.model.name,
      baseModel: this.model.baseModel,
      provider: this.address,
      chainId: this.ctx.chainId,
      fee: this.fee.toString(),
      mode: this.lm !== undefined ? 'builtin-ngram' : 'upstream',
      attribution: {
        method: 'span',
        k: this.k,
        corpusCommitment: toHex(this.index.corpusCommitment),
        tokens: this.index.tokenCount,
      },
      datanets: this.corpus.datanets.map((d) => ({
        datanetId: d.datanetId.toString(),
        version: d.version.toString(),
        records: d.records.length,
      })),
    }
  }
}

function artifactPathFromUri(uri: string): string {
  if (uri.startsWith('file:')) {
    try {
      return fileURLToPath(uri)
    } catch {
      // fall through to the error below
    }
  }
  throw new PayableError(
    `the model's artifact URI "${uri}" is not a local file: pass --artifact <file> (or --upstream)`,
  )
}

export interface ChatMessage {
  role: string
  content: string
}

async function callUpstream(u: UpstreamOptions, messages: ChatMessage[], maxTokens: number): Promise<string> {
  const url = `${u.url.replace(/\/+$/, '')}/chat/completions`
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(u.apiKey ? { authorization: `Bearer ${u.apiKey}` } : {}),
      },
      body: JSON.stringify({ model: u.model ?? 'default', messages, max_tokens: maxTokens }),
      signal: AbortSignal.timeout(u.timeoutMs ?? 120_000),
    })
  } catch (err) {
    throw new HttpError(502, `upstream ${url} unreachable: ${(err as Error).message}`)
  }
  if (!res.ok) throw new HttpError(502, `upstream ${url} answered HTTP ${res.status}`)
  let body: unknown
  try {
    body = await res.json()
  } catch {
    throw new HttpError(502, 'upstream answered non-JSON')
  }
  const content = (body as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message
    ?.content
  if (typeof content !== 'string')
    throw new HttpError(502, 'upstream answer has no choices[0].message.content')
  return content
}

// ---- HTTP ----

export async function readBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    throw new HttpError(400, 'request body is not valid JSON')
  }
}

export function intField(
  o: Record<string, unknown>,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  const v = o[name]
  if (v === undefined || v === null) return def
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new HttpError(400, `${name} must be an integer in [${min}, ${max}]`)
  }
  return v
}

export function payerField(o: Record<string, unknown>, name: string): Address {
  const v = o[name]
  if (v === undefined || v === null) return '0x0000000000000000000000000000000000000000'
  if (typeof v !== 'string' || !isAddress(v, { strict: false }))
    throw new HttpError(400, `${name} must be an address`)
  return getAddress(v)
}

export function textField(v: unknown, name: string): string {
  if (typeof v !== 'string') throw new HttpError(400, `${name} must be a string`)
  if (v.length > MAX_PROMPT_CHARS)
    throw new HttpError(413, `${name} longer than ${MAX_PROMPT_CHARS} characters`)
  if (/[\uD800-\uDFFF]/u.test(v)) throw new HttpError(400, `${name} is not well-formed UTF-16`)
  return v
}

export function object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'request body must be a JSON object')
  return body as Record<string, unknown>
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** keccak256 of the canonical JSON of the chat messages (role and content only). */
export function messagesHash(messages: readonly ChatMessage[]): Hex {
  return keccak256(stringToBytes(JSON.stringify(messages.map((m) => ({ role: m.role, content: m.content })))))
}

async function handleInfer(p: Provider, body: unknown): Promise<InferResponseJson> {
  const o = object(body)
  const prompt = textField(o.prompt, 'prompt')
  const maxTokens = intField(o, 'maxTokens', DEFAULT_MAX_TOKENS, 1, MAX_TOKENS_LIMIT)
  const seed = BigInt(intField(o, 'seed', 0, 0, Number.MAX_SAFE_INTEGER))
  const r = await p.infer({
    prompt,
    maxTokens,
    seed,
    payer: payerField(o, 'payer'),
    inputHash: keccak256(stringToBytes(prompt)),
  })
  return {
    output: r.output,
    receipt: receiptToJson(r.receipt),
    signature: r.signature,
    receiptId: r.receiptId,
    chainId: p.ctx.chainId,
    model: { id: p.model.id.toString(), version: p.model.version, name: p.model.name },
    evidence: r.evidence,
  }
}

async function handleChat(p: Provider, body: unknown): Promise<unknown> {
  const o = object(body)
  if (!Array.isArray(o.messages) || o.messages.length === 0 || o.messages.length > 256) {
    throw new HttpError(400, 'messages must be a non-empty array (at most 256)')
  }
  const messages: ChatMessage[] = o.messages.map((m, i) => {
    if (m === null || typeof m !== 'object') throw new HttpError(400, `messages[${i}] must be an object`)
    const { role, content } = m as Record<string, unknown>
    if (typeof role !== 'string' || !['system', 'user', 'assistant'].includes(role)) {
      throw new HttpError(400, `messages[${i}].role must be system, user or assistant`)
    }
    return { role, content: textField(content, `messages[${i}].content`) }
  })
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')
  if (lastUser === undefined) throw new HttpError(400, 'messages hold no user message')
  const maxTokens = intField(o, 'max_tokens', DEFAULT_MAX_TOKENS, 1, MAX_TOKENS_LIMIT)
  const seed = BigInt(intField(o, 'seed', 0, 0, Number.MAX_SAFE_INTEGER))
  const r = await p.infer({
    prompt: lastUser.content,
    messages,
    maxTokens,
    seed,
    payer: payerField(o, 'payer'),
    inputHash: messagesHash(messages),
  })
  return {
    id: `chatcmpl-${r.receiptId.slice(2, 26)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: `openledger-model-${p.model.id}`,
    choices: [{ index: 0, message: { role: 'assistant', content: r.output }, finish_reason: 'stop' }],
    openledger: {
      receipt: receiptToJson(r.receipt),
      signature: r.signature,
      receiptId: r.receiptId,
      chainId: p.ctx.chainId,
      evidence: r.evidence,
    },
  }
}

export interface ProviderServer {
  url: string
  server: Server
  close(): Promise<void>
}

export function serveProvider(
  p: Provider,
  opts: { host?: string; port?: number; onRequest?: (line: string) => void } = {},
): Promise<ProviderServer> {
  const server = createServer((req, res) => {
    const started = Date.now()
    const path = (req.url ?? '/').split('?')[0]
    const route = async (): Promise<[number, unknown]> => {
      if (path === '/health') return [200, { ok: true }]
      if (path === '/v1/model') {
        if (req.method !== 'GET') throw new HttpError(405, 'use GET')
        return [200, p.info()]
      }
      if (path === '/v1/infer' || path === '/v1/chat/completions') {
        if (req.method !== 'POST') throw new HttpError(405, 'use POST')
        const body = await readBody(req)
        return [200, path === '/v1/infer' ? await handleInfer(p, body) : await handleChat(p, body)]
      }
      throw new HttpError(404, `no route ${path}`)
    }
    route().then(
      ([status, body]) => {
        send(res, status, body)
        opts.onRequest?.(`${req.method} ${path} ${status} ${Date.now() - started}ms`)
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500
        const message =
          err instanceof HttpError || err instanceof PayableError ? err.message : 'internal error'
        if (status === 500) opts.onRequest?.(`error: ${(err as Error).stack ?? String(err)}`)
        if (status === 413) res.setHeader('connection', 'close')
        send(res, status, { error: { status, message } })
        opts.onRequest?.(`${req.method} ${path} ${status} ${Date.now() - started}ms`)
      },
    )
  })
  return listenProvider(server, opts)
}

/** Applies the request timeouts both provider servers use, listens (loopback unless told
 * otherwise) and answers the URL and a close that also ends kept-alive connections. */
export function listenProvider(
  server: Server,
  opts: { host?: string; port?: number },
): Promise<ProviderServer> {
  server.headersTimeout = 30_000
  server.requestTimeout = 120_000
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new PayableError(`cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}: ${err.message}`),
      ),
    )
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const a = server.address() as AddressInfo
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
      resolve({
        url: `http://${host}:${a.port}`,
        server,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r())
            server.closeAllConnections()
          }),
      })
    })
  })
}
